//! Logout: revoke (RFC 7009) when asked and possible, then delete the session under the
//! lock, access-token cache first so no process can hand out the old token.

use super::{AfterDelete, Goal, Outcome, Purpose, State, TokenFlow};
use crate::error::{FlowError, NeedsLogin};
use crate::http::{HttpRequest, HttpResponse, TransportError};
use crate::intent::{Intent, Notice};
use crate::oauth::parse_error;
use crate::secret::SecretBytes;
use crate::store::{Backend, SessionRecords, Slot, StoreError};
use crate::time::UnixTime;

impl TokenFlow {
    pub(super) fn on_logout_read(
        &mut self,
        now: UnixTime,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        match read {
            Err(error) => return self.finish(Err(FlowError::Store(error))),
            Ok(None) => {}
            Ok(Some(bytes)) => {
                self.had_session = true;
                // A corrupt record is deleted all the same: logging out means wiping.
                self.session = SessionRecords::decode(bytes.expose_secret()).unwrap_or_default();
            }
        }
        let revoke = matches!(self.goal, Goal::Logout { revoke: true });
        if revoke && self.session.refresh.is_some() {
            self.ensure_metadata(now, Purpose::Revoke);
        } else {
            self.delete_session(AfterDelete::LoggedOut { revoked: None });
        }
    }

    pub(super) fn send_revocation(&mut self, now: UnixTime) {
        let endpoint = self
            .metadata
            .as_ref()
            .and_then(|m| m.revocation_endpoint.clone());
        let (Some(endpoint), Some(record), Some(limits)) =
            (endpoint, &self.session.refresh, self.limits(now))
        else {
            let reason = "the IdP advertises no revocation endpoint".to_owned();
            return self.revocation_done(Some(Err(reason)));
        };
        let fields = [
            ("token", record.refresh_token.expose_secret()),
            ("token_type_hint", "refresh_token"),
            ("client_id", self.settings.client_id.as_str()),
        ];
        let request = HttpRequest::post_form(&endpoint, &fields, limits);
        self.perform(Intent::Http(request), State::Revoked);
    }

    pub(super) fn on_revoked(&mut self, http: Result<HttpResponse, TransportError>) {
        let revoked = match http {
            // RFC 7009 §2.2: 200 whether or not the token was still valid.
            Ok(response) if response.status == 200 => Ok(()),
            Ok(response) => Err(parse_error(&response).to_string()),
            Err(error) => Err(error.to_string()),
        };
        self.revocation_done(Some(revoked));
    }

    pub(super) fn revocation_done(&mut self, revoked: Option<Result<(), String>>) {
        if let Some(Err(reason)) = &revoked {
            self.notify(Notice::RevocationFailed {
                reason: reason.clone(),
            });
        }
        self.delete_session(AfterDelete::LoggedOut { revoked });
    }

    /// Deletes the session's records: the access-token cache first, then the refresh
    /// token.
    pub(super) fn delete_session(&mut self, then: AfterDelete) {
        match self.ctx.backend {
            Backend::Keyring => {
                let slot = Slot::AccessCache(self.key.clone());
                self.perform(Intent::Delete(slot), State::AccessCacheDeleted(then));
            }
            Backend::File => {
                let slot = Slot::SessionFile(self.key.clone());
                self.perform(Intent::Delete(slot), State::SessionDeleted(then));
            }
        }
    }

    pub(super) fn on_access_cache_deleted(
        &mut self,
        then: AfterDelete,
        stored: Result<(), StoreError>,
    ) {
        if let (Err(error), AfterDelete::LoggedOut { .. }) = (&stored, &then) {
            return self.finish(Err(FlowError::Store(error.clone())));
        }
        let slot = Slot::Keychain(self.key.clone());
        self.perform(Intent::Delete(slot), State::SessionDeleted(then));
    }

    pub(super) fn on_session_deleted(
        &mut self,
        now: UnixTime,
        then: AfterDelete,
        stored: Result<(), StoreError>,
    ) {
        self.session = SessionRecords::default();
        match then {
            AfterDelete::LoggedOut { revoked } => match stored {
                Ok(()) => self.finish(Ok(Outcome::LoggedOut {
                    had_session: self.had_session,
                    revoked,
                })),
                Err(error) => self.finish(Err(FlowError::Store(error))),
            },
            AfterDelete::Serve(credential) => self.finish(Ok(Outcome::Token(credential))),
            // A dead session that could not be deleted is still dead.
            AfterDelete::SessionEnded { error, maybe_spent } => {
                self.login_or_fail(now, NeedsLogin::SessionEnded { error, maybe_spent });
            }
        }
    }
}
