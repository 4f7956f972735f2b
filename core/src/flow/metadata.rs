//! Provider metadata for a flow: the 24-hour cache first, then discovery (OIDC, then the
//! RFC 8414 location).

use core::fmt;

use super::{Purpose, State, TokenFlow};
use crate::discovery::{self, DiscoveryError};
use crate::error::{
    DiscoveryUnavailable, FlowError, IdpUnavailable, Misconfiguration, RefreshFailure,
};
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
            return self.metadata_failed(now, purpose, MetadataFailure::BudgetSpent);
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
                let failure = DiscoveryUnavailable::Unreachable(error);
                return self.metadata_failed(now, purpose, MetadataFailure::Unavailable(failure));
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
            Err(error) => self.metadata_failed(now, purpose, MetadataFailure::from(error)),
        }
    }

    fn with_metadata(&mut self, now: UnixTime, purpose: Purpose) {
        match purpose {
            Purpose::Refresh => self.send_refresh(now),
            Purpose::Login => self.continue_login(now),
            Purpose::Revoke => self.send_revocation(now),
        }
    }

    fn metadata_failed(&mut self, now: UnixTime, purpose: Purpose, failure: MetadataFailure) {
        match (purpose, failure) {
            // A refresh that cannot find the token endpoint is a failed refresh.
            (Purpose::Refresh, MetadataFailure::BudgetSpent) => {
                self.serve_cached_or_fail(now, RefreshFailure::BudgetSpent);
            }
            (Purpose::Refresh, MetadataFailure::Unavailable(failure)) => {
                self.serve_cached_or_fail(now, RefreshFailure::Discovery(failure));
            }
            (Purpose::Refresh | Purpose::Login, failure) => self.finish(Err(failure.into())),
            (Purpose::Revoke, failure) => self.revocation_done(Some(Err(failure.to_string()))),
        }
    }
}

/// Why provider metadata is missing; what that means depends on what it was for.
enum MetadataFailure {
    /// The time budget ran out before discovery.
    BudgetSpent,
    /// Discovery failed in a way that may pass.
    Unavailable(DiscoveryUnavailable),
    /// The discovery document is unusable or not served.
    Unusable(DiscoveryError),
}

impl From<DiscoveryError> for MetadataFailure {
    fn from(error: DiscoveryError) -> Self {
        match error {
            DiscoveryError::Status { status } if status >= 500 || status == 429 => {
                Self::Unavailable(DiscoveryUnavailable::Answered(error))
            }
            DiscoveryError::Status { .. }
            | DiscoveryError::IssuerMismatch { .. }
            | DiscoveryError::Malformed(_)
            | DiscoveryError::InsecureEndpoint { .. } => Self::Unusable(error),
        }
    }
}

impl From<MetadataFailure> for FlowError {
    fn from(failure: MetadataFailure) -> Self {
        match failure {
            MetadataFailure::BudgetSpent => Self::IdpUnavailable(IdpUnavailable::BudgetSpent),
            MetadataFailure::Unavailable(failure) => {
                Self::IdpUnavailable(IdpUnavailable::Discovery(failure))
            }
            MetadataFailure::Unusable(error) => {
                Self::Misconfigured(Misconfiguration::Discovery(error))
            }
        }
    }
}

impl fmt::Display for MetadataFailure {
    /// What a revocation that could not find its endpoint reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BudgetSpent => write!(f, "{}", IdpUnavailable::BudgetSpent),
            Self::Unavailable(failure) => write!(f, "{failure}"),
            Self::Unusable(error) => write!(f, "{error}"),
        }
    }
}
