//! Refreshing (RFC 6749 §6) with rotation safety and failure classes (SPEC §5): part of
//! the token goal. The refresh token sent travels with the step that waits for its
//! answer, and is dropped with it.

use super::persist;
use super::session;
use super::shell::Progress;
use super::token::{AfterDelete, AfterPersist, ReadPurpose, Step, Token, TokenStep};
use crate::error::{FlowError, Misconfiguration, NeedsLogin, RefreshFailure};
use crate::http::{HttpResponse, TransportError};
use crate::id_token::{self, Expectations};
use crate::intent::{Intent, Notice};
use crate::oauth::{FailureClass, OAuthError, TokenFailure, TokenResponse, parse_token_response};
use crate::secret::RefreshToken;
use crate::store::{Backend, RefreshRecord, SessionRecords};
use crate::time::UnixTime;
use crate::token::{self, Credential};

/// A refresh in progress (across its one retry).
#[derive(Default)]
pub(super) struct Refreshing {
    /// The one retry (after a lost answer, or with a token another process rotated) is
    /// used up.
    retried: bool,
}

impl Token<'_> {
    pub(super) fn send_refresh(
        &mut self,
        now: UnixTime,
        refreshing: Refreshing,
    ) -> Progress<Credential> {
        let shell = &mut *self.shell;
        let (Some(metadata), Some(record)) = (&shell.metadata, &shell.session.refresh) else {
            return self.login_or_fail(NeedsLogin::NoSession);
        };
        let Some(limits) = shell.limits(now) else {
            return self.serve_cached_or_fail(now, RefreshFailure::BudgetSpent);
        };
        let fields = [
            ("grant_type", "refresh_token"),
            ("refresh_token", record.refresh_token.expose_secret()),
        ];
        let request = shell.idp_form(&metadata.token_endpoint, &fields, limits);
        let sent = record.refresh_token.clone();
        shell.perform(
            Intent::Http(request),
            TokenStep(Step::Refreshed { sent, refreshing }),
        );
        Ok(None)
    }

    pub(super) fn on_refreshed(
        &mut self,
        now: UnixTime,
        sent: RefreshToken,
        refreshing: Refreshing,
        http: Result<HttpResponse, TransportError>,
    ) -> Progress<Credential> {
        let response = match http {
            Ok(response) => response,
            // The request may have reached the IdP, which may have rotated the token.
            Err(error) if error.request_sent => {
                return self.answer_lost(now, refreshing, RefreshFailure::Unreachable(error));
            }
            Err(error) => {
                return self.serve_cached_or_fail(now, RefreshFailure::Unreachable(error));
            }
        };
        let failure = match parse_token_response(&response, &self.shell.sent) {
            Ok(tokens) => return self.on_refresh_tokens(now, &sent, tokens),
            Err(failure) => failure,
        };
        match (failure.class(), failure) {
            (FailureClass::DeadSession, TokenFailure::OAuth { error, .. }) => {
                // Another process may have rotated the token meanwhile: look before
                // declaring the session dead (SPEC §5).
                let purpose = ReadPurpose::AfterInvalidGrant {
                    sent,
                    error,
                    refreshing,
                };
                session::start(self.shell, purpose);
                Ok(None)
            }
            // A 2xx the IdP processed but we could not read: the token may be spent.
            (FailureClass::Transient, failure @ TokenFailure::Malformed(_)) => {
                self.answer_lost(now, refreshing, RefreshFailure::Answered(failure))
            }
            (FailureClass::Transient, failure) => {
                self.serve_cached_or_fail(now, RefreshFailure::Answered(failure))
            }
            (_, failure) => Err(FlowError::Misconfigured(Misconfiguration::RefreshRejected(
                failure,
            ))),
        }
    }

    /// SPEC §5: mark the refresh token `maybe_spent`, then retry once under the lock.
    fn answer_lost(
        &mut self,
        now: UnixTime,
        refreshing: Refreshing,
        reason: RefreshFailure,
    ) -> Progress<Credential> {
        if refreshing.retried {
            return self.serve_cached_or_fail(now, reason);
        }
        let Some(mut record) = self.shell.session.refresh.clone() else {
            return self.serve_cached_or_fail(now, reason);
        };
        let generation = self.shell.next_generation();
        record.maybe_spent = true;
        record.generation = generation;
        let mut access = self.shell.session.access.clone();
        if let Some(access) = &mut access {
            access.generation = generation;
        }
        let records = SessionRecords {
            refresh: Some(record),
            access,
        };
        let retry = Refreshing { retried: true };
        self.persist(records, true, AfterPersist::RetryRefresh(retry))
    }

    fn on_refresh_tokens(
        &mut self,
        now: UnixTime,
        sent: &RefreshToken,
        tokens: TokenResponse,
    ) -> Progress<Credential> {
        let settings = &self.shell.settings;
        let Some(old) = self.shell.session.refresh.clone() else {
            return self.login_or_fail(NeedsLogin::NoSession);
        };
        // OIDC Core §12.2: a refreshed ID token names the same user.
        let id_check = tokens.id_token.as_ref().map(|id_token| {
            let expect = Expectations {
                issuer: &settings.issuer,
                client_id: &settings.client_id,
                nonce: None,
                sub: Some(&old.sub),
            };
            id_token::verify(id_token, &expect, now)
        });
        let generation = self.shell.next_generation();
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
        let access = token::access_record(tokens.access_token, tokens.expires_in, now, generation);
        let credential = Credential::issued(&access);
        match id_check {
            // A rotated refresh token is persisted whatever the ID token says (it is the
            // only one that still works), but an access token whose ID token names someone
            // else is never stored or served.
            Some(Err(error)) => {
                let records = SessionRecords {
                    refresh: Some(refresh),
                    access: self.shell.session.access.clone(),
                };
                self.persist(records, true, AfterPersist::Fail(FlowError::IdToken(error)))
            }
            Some(Ok(_)) | None => {
                let records = SessionRecords {
                    refresh: Some(refresh),
                    access: Some(access),
                };
                self.persist(records, refresh_changed, AfterPersist::Serve(credential))
            }
        }
    }

    pub(super) fn after_invalid_grant_reread(
        &mut self,
        now: UnixTime,
        sent: &RefreshToken,
        error: OAuthError,
        refreshing: Refreshing,
    ) -> Progress<Credential> {
        match &self.shell.session.refresh {
            // Rotated by someone else: never delete a newer refresh token; use it once.
            Some(current) if current.refresh_token != *sent && !refreshing.retried => {
                self.send_refresh(now, Refreshing { retried: true })
            }
            Some(current) if current.refresh_token != *sent => {
                self.serve_cached_or_fail(now, RefreshFailure::Refused(error))
            }
            current => {
                let maybe_spent = current.as_ref().is_some_and(|c| c.maybe_spent);
                self.session_ended(now, error, maybe_spent)
            }
        }
    }

    /// The IdP ended the session. A `token` caller keeps getting a still-valid access
    /// token (with a warning) until it expires, so a lost refresh answer or a revoked
    /// grant does not cut a tool off early; the dead refresh token is deleted either way.
    fn session_ended(
        &mut self,
        now: UnixTime,
        error: OAuthError,
        maybe_spent: bool,
    ) -> Progress<Credential> {
        let shell = &mut *self.shell;
        let valid = shell
            .session
            .access
            .as_ref()
            .or(shell.cached.as_ref())
            .filter(|a| token::is_valid(a, now));
        let Some(access) = valid.cloned() else {
            let then = AfterDelete::SessionEnded { error, maybe_spent };
            persist::delete(shell, then, false);
            return Ok(None);
        };
        let credential = Credential::from(&access);
        shell.notify(Notice::SessionEndedServingCachedToken {
            reason: error.to_string(),
            valid_for: token::expiry(&access).since(now),
        });
        match shell.ctx.backend {
            Backend::File => {
                let records = SessionRecords {
                    refresh: None,
                    access: Some(access),
                };
                self.persist(records, true, AfterPersist::Serve(credential))
            }
            Backend::Keyring => {
                persist::delete_keychain_record(shell, AfterDelete::Serve(credential));
                Ok(None)
            }
        }
    }
}
