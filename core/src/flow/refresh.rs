//! Refreshing (RFC 6749 §6) with rotation safety and failure classes (SPEC §5).

use super::{AfterDelete, AfterPersist, Goal, ReadPurpose, State, TokenFlow};
use crate::error::{FlowError, IdpUnavailable, Misconfiguration, NeedsLogin, RefreshFailure};
use crate::http::{HttpResponse, TransportError};
use crate::id_token::{self, Expectations};
use crate::intent::{Intent, Notice};
use crate::oauth::{FailureClass, OAuthError, TokenFailure, TokenResponse, parse_token_response};
use crate::secret::RefreshToken;
use crate::store::{Backend, RefreshRecord, SessionRecords, Slot};
use crate::time::UnixTime;
use crate::token::{self, Credential};

impl TokenFlow {
    pub(super) fn send_refresh(&mut self, now: UnixTime) {
        let (Some(metadata), Some(record)) = (&self.metadata, &self.session.refresh) else {
            return self.login_or_fail(now, NeedsLogin::NoSession);
        };
        let Some(limits) = self.limits(now) else {
            return self.serve_cached_or_fail(now, RefreshFailure::BudgetSpent);
        };
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", record.refresh_token.expose_secret()),
        ];
        let request = self.idp_form(&metadata.token_endpoint, &fields, limits);
        let sent = record.refresh_token.clone();
        self.perform(Intent::Http(request), State::Refreshed { sent });
    }

    pub(super) fn on_refreshed(
        &mut self,
        now: UnixTime,
        sent: RefreshToken,
        http: Result<HttpResponse, TransportError>,
    ) {
        let response = match http {
            Ok(response) => response,
            // The request may have reached the IdP, which may have rotated the token.
            Err(error) if error.request_sent => {
                return self.answer_lost(now, RefreshFailure::Unreachable(error));
            }
            Err(error) => {
                return self.serve_cached_or_fail(now, RefreshFailure::Unreachable(error));
            }
        };
        let failure = match parse_token_response(&response) {
            Ok(tokens) => return self.on_refresh_tokens(now, &sent, tokens),
            Err(failure) => failure,
        };
        match (failure.class(), failure) {
            (FailureClass::DeadSession, TokenFailure::OAuth { error, .. }) => {
                // Another process may have rotated the token meanwhile: look before
                // declaring the session dead (SPEC §5).
                self.read_session(ReadPurpose::AfterInvalidGrant { sent, error });
            }
            // A 2xx the IdP processed but we could not read: the token may be spent.
            (FailureClass::Transient, failure @ TokenFailure::Malformed(_)) => {
                self.answer_lost(now, RefreshFailure::Answered(failure))
            }
            (FailureClass::Transient, failure) => {
                self.serve_cached_or_fail(now, RefreshFailure::Answered(failure))
            }
            (_, failure) => self.finish(Err(FlowError::Misconfigured(
                Misconfiguration::RefreshRejected(failure),
            ))),
        }
    }

    /// SPEC §5: mark the refresh token `maybe_spent`, then retry once under the lock.
    fn answer_lost(&mut self, now: UnixTime, reason: RefreshFailure) {
        if self.refresh_retried {
            return self.serve_cached_or_fail(now, reason);
        }
        self.refresh_retried = true;
        let Some(mut record) = self.session.refresh.clone() else {
            return self.serve_cached_or_fail(now, reason);
        };
        let generation = self.next_generation();
        record.maybe_spent = true;
        record.generation = generation;
        let mut access = self.session.access.clone();
        if let Some(access) = &mut access {
            access.generation = generation;
        }
        self.persist(
            SessionRecords {
                refresh: Some(record),
                access,
            },
            true,
            AfterPersist::RetryRefresh,
        );
    }

    /// A transient failure: a still-valid cached token is served with a warning; a
    /// transient failure never opens a browser.
    pub(super) fn serve_cached_or_fail(&mut self, now: UnixTime, reason: RefreshFailure) {
        let candidate = self.session.access.as_ref().or(self.cached.as_ref());
        if let Some(access) = candidate
            && token::is_valid(access, now)
        {
            let valid_for = token::expiry(access).since(now);
            let credential = Credential::from(access);
            self.notify(Notice::ServingCachedToken {
                reason: reason.to_string(),
                valid_for,
            });
            return self.finish(Ok(super::Outcome::Token(credential)));
        }
        self.finish(Err(FlowError::IdpUnavailable(IdpUnavailable::Refresh(
            reason,
        ))));
    }

    fn on_refresh_tokens(&mut self, now: UnixTime, sent: &RefreshToken, tokens: TokenResponse) {
        let Some(old) = self.session.refresh.clone() else {
            return self.login_or_fail(now, NeedsLogin::NoSession);
        };
        // OIDC Core §12.2: a refreshed ID token names the same user.
        let id_check = tokens.id_token.as_ref().map(|id_token| {
            let expect = Expectations {
                issuer: &self.settings.issuer,
                client_id: &self.settings.client_id,
                nonce: None,
                sub: Some(&old.sub),
            };
            id_token::verify(id_token, &expect, now)
        });
        let generation = self.next_generation();
        let rotated = tokens.refresh_token.as_ref().is_some_and(|new| new != sent);
        let refresh = RefreshRecord {
            refresh_token: tokens
                .refresh_token
                .clone()
                .unwrap_or_else(|| old.refresh_token.clone()),
            scopes: tokens.scope.clone().unwrap_or_else(|| old.scopes.clone()),
            obtained_at: if rotated { now } else { old.obtained_at },
            generation,
            maybe_spent: false,
            ..old.clone()
        };
        let refresh_changed = rotated || old.maybe_spent || refresh.scopes != old.scopes;
        let access = self.access_record(tokens.access_token, tokens.expires_in, now, generation);
        let credential = Credential::from(&access);
        match id_check {
            // A rotated refresh token is persisted whatever the ID token says (it is the
            // only one that still works), but an access token whose ID token names someone
            // else is never stored or served.
            Some(Err(error)) => {
                let records = SessionRecords {
                    refresh: Some(refresh),
                    access: self.session.access.clone(),
                };
                self.persist(records, true, AfterPersist::Fail(FlowError::IdToken(error)));
            }
            Some(Ok(_)) | None => {
                let records = SessionRecords {
                    refresh: Some(refresh),
                    access: Some(access),
                };
                self.persist(
                    records,
                    refresh_changed,
                    AfterPersist::ServeToken(credential),
                );
            }
        }
    }

    pub(super) fn after_invalid_grant_reread(
        &mut self,
        now: UnixTime,
        sent: RefreshToken,
        error: OAuthError,
    ) {
        match &self.session.refresh {
            // Rotated by someone else: never delete a newer refresh token; use it once.
            Some(current) if current.refresh_token != sent && !self.refresh_retried => {
                self.refresh_retried = true;
                self.send_refresh(now);
            }
            Some(current) if current.refresh_token != sent => {
                self.serve_cached_or_fail(now, RefreshFailure::Refused(error))
            }
            current => {
                let maybe_spent = current.as_ref().is_some_and(|c| c.maybe_spent);
                self.session_ended(now, error, maybe_spent);
            }
        }
    }

    /// The IdP ended the session. A `token` caller keeps getting a still-valid access
    /// token (with a warning) until it expires, so a lost refresh answer or a revoked
    /// grant does not cut a tool off early; the dead refresh token is deleted either way.
    fn session_ended(&mut self, now: UnixTime, error: OAuthError, maybe_spent: bool) {
        let valid = self
            .session
            .access
            .as_ref()
            .or(self.cached.as_ref())
            .filter(|a| token::is_valid(a, now));
        let (Goal::Token { .. }, Some(access)) = (&self.goal, valid) else {
            return self.delete_session(AfterDelete::SessionEnded { error, maybe_spent });
        };
        let access = access.clone();
        let credential = Credential::from(&access);
        self.notify(Notice::SessionEndedServingCachedToken {
            reason: error.to_string(),
            valid_for: token::expiry(&access).since(now),
        });
        match self.ctx.backend {
            Backend::File => {
                let records = SessionRecords {
                    refresh: None,
                    access: Some(access),
                };
                self.persist(records, true, AfterPersist::ServeToken(credential));
            }
            Backend::Keyring => {
                let slot = Slot::Keychain(self.key.clone());
                self.perform(
                    Intent::Delete(slot),
                    State::SessionDeleted(AfterDelete::Serve(credential)),
                );
            }
        }
    }
}
