//! The token goal: the cached token when it is fresh (no lock, no network); otherwise,
//! under the lock, another process's fresh token, a refresh ([`refresh`]), a
//! still-valid token, or a sign-in when one is allowed.

mod refresh;

use super::authorize::{self, SignInStep, Verified};
use super::cooldown::{self, CooldownRead};
use super::lock::{self, LockStep};
use super::metadata::{self, Found, MetadataFailure, MetadataStep};
use super::persist::{self, DeleteStep, PersistStep};
use super::session::{self, SessionRead, SessionStep};
use super::shell::{Progress, Shell, Then};
use super::{TokenGoal, sealed};
use crate::error::{
    FlowError, IdpUnavailable, Internal, Misconfiguration, NeedsLogin, RefreshFailure,
};
use crate::intent::{Intent, IntentResult, Notice};
use crate::oauth::OAuthError;
use crate::provider::TokenKind;
use crate::secret::{Entropy, RefreshToken};
use crate::store::{AccessRecord, SessionRecords};
use crate::time::UnixTime;
use crate::token::{self, Credential};

/// What a token flow's intent continues with.
pub struct TokenStep(Step);

/// The steps of a token flow: its own, and those of the phases it uses.
enum Step {
    CacheRead,
    Lock(LockStep),
    Session(SessionStep<ReadPurpose>),
    Metadata(MetadataStep<Purpose>),
    Refreshed {
        sent: RefreshToken,
        refreshing: Refreshing,
    },
    Persist(PersistStep<AfterPersist>),
    Delete(DeleteStep<AfterDelete>),
    Cooldown(CooldownRead),
    SignIn(SignInStep),
}

/// A refresh in progress (across its one retry).
#[derive(Default)]
struct Refreshing {
    /// The one retry (after a lost answer, or with a token another process rotated) is
    /// used up.
    retried: bool,
}

/// What a token flow keeps throughout.
pub struct TokenState {
    goal: TokenGoal,
    /// For a sign-in, if one starts.
    entropy: Option<Entropy>,
}

/// Why the session is being (re-)read under the lock.
enum ReadPurpose {
    /// Decide what the goal needs.
    Decide,
    /// The IdP said `invalid_grant` for `sent`: was the token rotated meanwhile?
    AfterInvalidGrant {
        sent: RefreshToken,
        error: OAuthError,
        refreshing: Refreshing,
    },
}

/// Why metadata is being fetched, i.e. where to continue.
enum Purpose {
    Refresh(Refreshing),
    SignIn,
}

/// What happens once the session is persisted.
enum AfterPersist {
    /// Hand out this token.
    Serve(Credential),
    /// The answer to a refresh was lost: try once more.
    RetryRefresh(Refreshing),
    /// The records are safe, but the flow fails (a refreshed ID token named someone else).
    Fail(FlowError),
}

/// What happens once the session is deleted.
enum AfterDelete {
    /// The IdP ended the session: sign in, or say so.
    SessionEnded {
        error: OAuthError,
        maybe_spent: bool,
    },
}

steps_from!(TokenStep {
    LockStep => Lock,
    SessionStep<ReadPurpose> => Session,
    MetadataStep<Purpose> => Metadata,
    PersistStep<AfterPersist> => Persist,
    DeleteStep<AfterDelete> => Delete,
    CooldownRead => Cooldown,
    SignInStep => SignIn,
});

/// The token flow's steps with what they work on.
struct Token<'a> {
    state: &'a mut TokenState,
    shell: &'a mut Shell<TokenStep>,
}

impl sealed::Machine<Credential> for TokenGoal {
    type Step = TokenStep;
    type State = TokenState;

    fn start(
        self,
        shell: &mut Shell<TokenStep>,
        entropy: Entropy,
        _now: UnixTime,
    ) -> (TokenState, Progress<Credential>) {
        start(self, shell, Some(entropy))
    }

    fn on_result(
        state: &mut TokenState,
        shell: &mut Shell<TokenStep>,
        TokenStep(step): TokenStep,
        now: UnixTime,
        result: IntentResult,
    ) -> Progress<Credential> {
        let mut token = Token { state, shell };
        match step {
            Step::CacheRead => token.on_cache_read(now, result),
            Step::Lock(step) => {
                if lock::on_result(token.shell, step, now, result)?.is_some() {
                    session::start(token.shell, ReadPurpose::Decide);
                }
                Ok(None)
            }
            Step::Session(step) => session::on_result(token.shell, step, result)
                .then(|read| token.on_session_read(now, read)),
            Step::Metadata(step) => metadata::on_result(token.shell, step, now, result)
                .then(|found| token.with_metadata(now, found)),
            Step::Refreshed { sent, refreshing } => {
                token.on_refreshed(now, sent, refreshing, result.into_http()?)
            }
            Step::Persist(step) => persist::on_written(token.shell, step, result)
                .then(|after| token.after_persist(after)),
            Step::Delete(step) => match persist::on_deleted(token.shell, step, result)? {
                None => Ok(None),
                // A dead session that could not be deleted is still dead.
                Some(AfterDelete::SessionEnded { error, maybe_spent }) => {
                    let provider_cause = token.shell.settings.session_end_cause;
                    token.login_or_fail(NeedsLogin::SessionEnded {
                        error,
                        maybe_spent,
                        provider_cause,
                    })
                }
            },
            Step::Cooldown(CooldownRead) => {
                cooldown::on_read(now, result).then(|()| token.sign_in_now())
            }
            Step::SignIn(step) => authorize::on_result(token.shell, step, now, result)
                .then(|verified| token.persist_sign_in(verified)),
        }
    }

    fn on_wake(
        state: &mut TokenState,
        shell: &mut Shell<TokenStep>,
        TokenStep(step): TokenStep,
        now: UnixTime,
    ) -> Progress<Credential> {
        let Step::SignIn(step) = step else {
            return Err(Internal::UnexpectedWakeUp.into());
        };
        authorize::on_wake(shell, step, now)
            .then(|verified| Token { state, shell }.persist_sign_in(verified))
    }
}

/// Reads the stored access token first. Without `entropy` the flow can never sign in
/// ([`TokenFlow::read_only`](super::TokenFlow::read_only)).
pub(super) fn start(
    goal: TokenGoal,
    shell: &mut Shell<TokenStep>,
    entropy: Option<Entropy>,
) -> (TokenState, Progress<Credential>) {
    let slot = shell.ctx.backend.access_slot(shell.key());
    shell.perform(Intent::Read(slot), TokenStep(Step::CacheRead));
    (TokenState { goal, entropy }, Ok(None))
}

impl Token<'_> {
    /// The fast path: a fresh cached token is returned with no lock and no network.
    fn on_cache_read(&mut self, now: UnixTime, result: IntentResult) -> Progress<Credential> {
        // An unreadable cache is only a miss: the session is re-read and judged under the lock.
        self.shell.cached = session::access_record(result.into_read()?);
        let goal = self.state.goal;
        if let Some(cached) = self.handout(self.shell.cached.as_ref())
            && !goal.force_refresh
            && token::is_fresh(
                &cached,
                now,
                self.shell.settings.refresh_window,
                goal.min_valid,
            )
        {
            return Ok(Some(Credential::from(&cached)));
        }
        lock::start(self.shell, now);
        Ok(None)
    }

    /// What `record` hands out: the access token, or the ID token kept beside it.
    fn handout(&self, record: Option<&AccessRecord>) -> Option<AccessRecord> {
        record?.handout(self.shell.settings.token_kind)
    }

    /// The credential for a record just received: what it hands out, if that keeps the
    /// `--min-valid` promise.
    ///
    /// # Errors
    /// [`Misconfiguration::NoIdToken`] when the ID token is handed out and there is none
    /// left that is valid; [`IdpUnavailable::ShortLived`] when the token does not last as
    /// long as asked.
    fn hand_out(&self, record: &AccessRecord, now: UnixTime) -> Result<Credential, FlowError> {
        let min_valid = self.state.goal.min_valid;
        let kind = self.shell.settings.token_kind;
        // An ID token kept from before (no new one came) may have expired meanwhile.
        let Some(handout) = self
            .handout(Some(record))
            .filter(|handout| kind == TokenKind::Access || token::expiry(handout) > now)
        else {
            return Err(FlowError::Misconfigured(Misconfiguration::NoIdToken));
        };
        if !min_valid.is_zero() && !token::is_valid_for(&handout, now, min_valid) {
            return Err(FlowError::IdpUnavailable(IdpUnavailable::ShortLived {
                valid_for: token::expiry(&handout).since(now),
                min_valid,
            }));
        }
        Ok(Credential::issued(&handout))
    }

    fn on_session_read(
        &mut self,
        now: UnixTime,
        read: SessionRead<ReadPurpose>,
    ) -> Progress<Credential> {
        match read {
            SessionRead::AccessCache(ReadPurpose::Decide) => {
                if let Some(credential) = self.cached_answer(now) {
                    return Ok(Some(credential));
                }
                session::read_refresh_slot(self.shell, ReadPurpose::Decide);
                Ok(None)
            }
            SessionRead::AccessCache(purpose @ ReadPurpose::AfterInvalidGrant { .. }) => {
                session::read_refresh_slot(self.shell, purpose);
                Ok(None)
            }
            SessionRead::Complete(ReadPurpose::Decide) => self.decide(now),
            SessionRead::Complete(ReadPurpose::AfterInvalidGrant {
                sent,
                error,
                refreshing,
            }) => self.after_invalid_grant_reread(now, &sent, error, refreshing),
            SessionRead::MovedAside => self.start_sign_in(),
        }
    }

    /// The stored access token, when it answers without a refresh: fresh enough, and —
    /// for `--force-refresh` — written after the one this flow saw first (another
    /// process already refreshed).
    fn cached_answer(&self, now: UnixTime) -> Option<Credential> {
        let goal = self.state.goal;
        let access = self.handout(self.shell.session.access.as_ref())?;
        let refreshed_elsewhere = self
            .shell
            .cached
            .as_ref()
            .is_none_or(|c| access.generation > c.generation);
        let fresh = token::is_fresh(
            &access,
            now,
            self.shell.settings.refresh_window,
            goal.min_valid,
        );
        (fresh && (!goal.force_refresh || refreshed_elsewhere)).then(|| Credential::from(&access))
    }

    /// What the goal needs, now that the session is known and the lock held.
    fn decide(&mut self, now: UnixTime) -> Progress<Credential> {
        if let Some(credential) = self.cached_answer(now) {
            return Ok(Some(credential));
        }
        if self.shell.session.refresh.is_some() {
            let refreshing = Refreshing::default();
            return metadata::ensure(self.shell, Purpose::Refresh(refreshing))
                .then(|found| self.with_metadata(now, found));
        }
        // Without a refresh token, a token that still works beats a login — when it keeps
        // the `--min-valid` promise.
        if let Some(access) = self.handout(self.shell.session.access.as_ref())
            && token::is_valid(&access, now)
        {
            let min_valid = self.state.goal.min_valid;
            if token::is_valid_for(&access, now, min_valid) {
                return Ok(Some(Credential::from(&access)));
            }
            let valid_for = token::expiry(&access).since(now);
            let reason = NeedsLogin::CannotRenew {
                valid_for,
                min_valid,
            };
            return self.login_or_fail(reason);
        }
        self.login_or_fail(NeedsLogin::NoSession)
    }

    fn with_metadata(&mut self, now: UnixTime, found: Found<Purpose>) -> Progress<Credential> {
        match found {
            (Purpose::Refresh(refreshing), Ok(())) => self.send_refresh(now, refreshing),
            // A refresh that cannot find the token endpoint is a failed refresh.
            (Purpose::Refresh(_), Err(MetadataFailure::BudgetSpent)) => {
                self.serve_cached_or_fail(now, RefreshFailure::BudgetSpent)
            }
            (Purpose::Refresh(_), Err(MetadataFailure::Unavailable(failure))) => {
                self.serve_cached_or_fail(now, RefreshFailure::Discovery(failure))
            }
            (Purpose::Refresh(_) | Purpose::SignIn, Err(failure)) => Err(failure.into()),
            (Purpose::SignIn, Ok(())) => {
                let Some(entropy) = self.state.entropy.take() else {
                    return Err(Internal::LoginStartedTwice.into());
                };
                authorize::start(self.shell, now, entropy, false)
                    .then(|verified| self.persist_sign_in(verified))
            }
        }
    }

    /// Starts an interactive sign-in when allowed; otherwise ends with `reason`.
    fn login_or_fail(&mut self, reason: NeedsLogin) -> Progress<Credential> {
        if self.shell.interactive() {
            self.start_sign_in()
        } else {
            Err(FlowError::NeedsLogin(reason))
        }
    }

    /// Signs in, unless a browser-only sign-in is held back by the cooldown.
    fn start_sign_in(&mut self) -> Progress<Credential> {
        cooldown::check(self.shell).then(|()| self.sign_in_now())
    }

    fn sign_in_now(&mut self) -> Progress<Credential> {
        let now = self.shell.now;
        metadata::ensure(self.shell, Purpose::SignIn).then(|found| self.with_metadata(now, found))
    }

    fn persist_sign_in(&mut self, verified: Verified) -> Progress<Credential> {
        let now = self.shell.now;
        let handed_out = verified
            .records
            .access
            .as_ref()
            .map(|access| self.hand_out(access, now));
        let after = match handed_out {
            Some(Ok(credential)) => AfterPersist::Serve(credential),
            Some(Err(error)) => AfterPersist::Fail(error),
            None => AfterPersist::Serve(verified.signed_in.credential),
        };
        self.persist(verified.records, true, after)
    }

    /// Persists `records`, then continues with `after`.
    fn persist(
        &mut self,
        records: SessionRecords,
        refresh_changed: bool,
        after: AfterPersist,
    ) -> Progress<Credential> {
        persist::write(self.shell, records, refresh_changed, after)
            .then(|after| self.after_persist(after))
    }

    fn after_persist(&mut self, after: AfterPersist) -> Progress<Credential> {
        match after {
            AfterPersist::Serve(credential) => Ok(Some(credential)),
            AfterPersist::RetryRefresh(refreshing) => {
                let now = self.shell.now;
                self.send_refresh(now, refreshing)
            }
            AfterPersist::Fail(error) => Err(error),
        }
    }

    /// A transient failure: a still-valid cached token is served with a warning when it
    /// keeps the `--min-valid` promise; a transient failure never opens a browser.
    fn serve_cached_or_fail(
        &mut self,
        now: UnixTime,
        reason: RefreshFailure,
    ) -> Progress<Credential> {
        let shell = &*self.shell;
        let candidate = self.handout(shell.session.access.as_ref().or(shell.cached.as_ref()));
        let Some(access) = candidate.filter(|access| token::is_valid(access, now)) else {
            return Err(FlowError::IdpUnavailable(IdpUnavailable::Refresh(reason)));
        };
        let valid_for = token::expiry(&access).since(now);
        let min_valid = self.state.goal.min_valid;
        if !token::is_valid_for(&access, now, min_valid) {
            return Err(FlowError::IdpUnavailable(
                IdpUnavailable::RefreshedNotInTime {
                    reason,
                    valid_for,
                    min_valid,
                },
            ));
        }
        self.shell.notify(Notice::ServingCachedToken {
            reason: reason.to_string(),
            valid_for,
        });
        Ok(Some(Credential::from(&access)))
    }
}
