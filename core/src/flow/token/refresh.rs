//! Refreshing (RFC 6749 §6) with rotation safety and failure classes (SPEC §5): part of
//! the token goal. The refresh token sent travels with the step that waits for its
//! answer, and is dropped with it.

use super::{AfterDelete, AfterPersist, ReadPurpose, Refreshing, Step, Token, TokenStep};
use crate::error::{FlowError, Misconfiguration, NeedsLogin, RefreshFailure};
use crate::flow::persist;
use crate::flow::session;
use crate::flow::shell::Progress;
use crate::http::{HttpResponse, TransportError};
use crate::id_token::NonceRule;
use crate::intent::Intent;
use crate::oauth::{FailureClass, OAuthError, TokenFailure, TokenResponse, parse_token_response};
use crate::secret::RefreshToken;
use crate::store::{RefreshRecord, SessionRecords};
use crate::time::UnixTime;
use crate::token::{self, Credential};

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
        // Requirement 12: Keycloak 26.7 drops `openid` from a refresh that does not
        // re-send the scope; the scopes of the sign-in request are always allowed
        // (RFC 6749 §6: equal to or narrower than the grant).
        let scope = shell.settings.scopes.join(" ");
        let mut fields = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", record.refresh_token.expose_secret()),
        ];
        if shell.settings.resend_scope {
            fields.push(("scope", scope.as_str()));
        }
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
        // Requirement 11: an ID token on refresh is optional; when present it names the
        // same user (OIDC Core §12.2) and carries no nonce, or the sign-in's.
        // Its tenant is checked against the allow-list too: a session of another tenant
        // (or one signed in before the list named its tenant) keeps no new token.
        let id_check = tokens.id_token.as_ref().map(|id_token| {
            let nonce = old
                .nonce
                .as_deref()
                .map_or(NonceRule::Any, NonceRule::AbsentOr);
            settings.check_id_token(id_token, nonce, Some(&old.sub), now)
        });
        let generation = self.shell.next_generation();
        // Requirement 9: a refresh answer without a refresh token keeps the old one.
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
        let verified = match id_check {
            // A rotated refresh token is persisted whatever the ID token says (it is the
            // only one that still works), but an access token whose ID token names someone
            // else, or a tenant the allow-list does not name, is never stored or served.
            Some(Err(error)) => {
                let records = SessionRecords {
                    refresh: Some(refresh),
                    access: self.shell.session.access.clone(),
                };
                return self.persist(records, true, AfterPersist::Fail(error));
            }
            Some(Ok(verified)) => Some(verified),
            None => None,
        };
        // Without a new ID token, the one kept from before goes on being handed out
        // (PingFederate sends none on refresh) while it lasts.
        let kind = self.shell.settings.token_kind;
        let id_token = token::id_token_record(kind, tokens.id_token, verified, now).or_else(|| {
            self.shell
                .session
                .access
                .as_ref()
                .and_then(|access| access.id_token.clone())
        });
        let access = token::access_record(
            tokens.access_token,
            tokens.expires_in,
            now,
            generation,
            id_token,
        );
        let after = match self.hand_out(&access, now) {
            Ok(credential) => AfterPersist::Serve(credential),
            Err(error) => AfterPersist::Fail(error),
        };
        let records = SessionRecords {
            refresh: Some(refresh),
            access: Some(access),
        };
        self.persist(records, refresh_changed, after)
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
                self.session_ended(error, maybe_spent)
            }
        }
    }

    /// The IdP ended the session (SPEC §5: `invalid_grant` → sign in, or exit 3). The
    /// cached access token goes too: a provider that detects refresh-token reuse revokes
    /// the whole family, access tokens included, and an introspecting gateway would refuse
    /// it for the rest of its life while a tool kept being handed it.
    fn session_ended(&mut self, error: OAuthError, maybe_spent: bool) -> Progress<Credential> {
        let then = AfterDelete::SessionEnded { error, maybe_spent };
        persist::delete(self.shell, then, false);
        Ok(None)
    }
}
