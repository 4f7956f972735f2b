//! Provider metadata for a flow: the 24-hour cache first, then discovery (OIDC, then the
//! RFC 8414 location).

use super::{Purpose, State, TokenFlow};
use crate::discovery;
use crate::error::FlowError;
use crate::http::{HttpRequest, HttpResponse, TransportError};
use crate::intent::Intent;
use crate::secret::SecretBytes;
use crate::store::{Slot, StoreError, discovery_key};
use crate::time::UnixTime;

impl TokenFlow {
    /// Makes sure provider metadata is known, then continues with `purpose`.
    pub(super) fn ensure_metadata(&mut self, now: UnixTime, purpose: Purpose) {
        if self.metadata.is_some() {
            return self.with_metadata(now, purpose);
        }
        let slot = Slot::Discovery(discovery_key(&self.settings.issuer));
        self.perform(Intent::Read(slot), State::DiscoveryCacheRead(purpose));
    }

    pub(super) fn on_discovery_cache(
        &mut self,
        now: UnixTime,
        purpose: Purpose,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        let cached = match read {
            Ok(Some(bytes)) => {
                discovery::decode_cache(bytes.expose_secret(), &self.settings.issuer, now)
            }
            Ok(None) | Err(_) => None,
        };
        match cached {
            Some(metadata) => {
                self.metadata = Some(metadata);
                self.with_metadata(now, purpose);
            }
            None => self.fetch_discovery(now, purpose, false),
        }
    }

    fn fetch_discovery(&mut self, now: UnixTime, purpose: Purpose, fallback: bool) {
        let Some(limits) = self.limits(now) else {
            return self.metadata_failed(now, purpose, Self::budget_spent());
        };
        let [oidc, rfc8414] = discovery::well_known_urls(&self.settings.issuer);
        let url = if fallback { rfc8414 } else { oidc };
        self.perform(
            Intent::Http(HttpRequest::get(&url, limits)),
            State::DiscoveryFetched { purpose, fallback },
        );
    }

    pub(super) fn on_discovery_fetched(
        &mut self,
        now: UnixTime,
        purpose: Purpose,
        fallback: bool,
        http: Result<HttpResponse, TransportError>,
    ) {
        let response = match http {
            Ok(response) => response,
            Err(error) => {
                let error = FlowError::Transient(format!(
                    "could not reach the IdP for its discovery document: {error}"
                ));
                return self.metadata_failed(now, purpose, error);
            }
        };
        // RFC 8414 servers that are not OpenID Providers answer 404 at the OIDC location.
        if !fallback && matches!(response.status, 400 | 404 | 405) {
            return self.fetch_discovery(now, purpose, true);
        }
        match discovery::parse(&response, &self.settings.issuer) {
            Ok(metadata) => {
                let slot = Slot::Discovery(discovery_key(&self.settings.issuer));
                let bytes = SecretBytes::new(discovery::encode_cache(&metadata, now));
                self.fire(Intent::Write { slot, bytes });
                self.metadata = Some(metadata);
                self.with_metadata(now, purpose);
            }
            Err(error) => {
                self.metadata_failed(now, purpose, FlowError::from_discovery(error));
            }
        }
    }

    fn with_metadata(&mut self, now: UnixTime, purpose: Purpose) {
        match purpose {
            Purpose::Refresh => self.send_refresh(now),
            Purpose::Login => self.continue_login(now),
            Purpose::Revoke => self.send_revocation(now),
        }
    }

    fn metadata_failed(&mut self, now: UnixTime, purpose: Purpose, error: FlowError) {
        match purpose {
            // A refresh that cannot find the token endpoint is a failed refresh.
            Purpose::Refresh => {
                if let FlowError::Transient(reason) = error {
                    self.serve_cached_or_fail(now, reason);
                } else {
                    self.finish(Err(error));
                }
            }
            Purpose::Login => self.finish(Err(error)),
            Purpose::Revoke => self.revocation_done(Some(Err(error.to_string()))),
        }
    }
}
