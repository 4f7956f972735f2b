//! [`TokenFlow`]: the one resumable state machine behind `token`, `login`, `logout`,
//! `status` and the proxy's token supply.
//!
//! ```text
//!  Token goal:
//!   read cached access token ──fresh──▶ Done(token)            (no lock, no network)
//!        │ miss / stale / --force-refresh
//!        ▼
//!   try session lock ──busy──▶ read login marker ──login elsewhere──▶ exit 3 / show its URL
//!        │                          └──▶ wait for the lock (slices) ──budget spent──▶ LockTimeout
//!        ▼ acquired
//!   re-read session ──another process refreshed──▶ Done(token)
//!        │ refresh token                    │ none / corrupt
//!        ▼                                  ▼
//!   [discovery cache] ─▶ refresh ─▶ persist rotated refresh token ─▶ Done(token)
//!        │ invalid_grant → re-read → same token → session dead ─▶ login or NeedsLogin
//!        │ transient → still-valid cached token with a warning, or Transient
//!        │ answer lost → mark maybe_spent → retry once
//!        ▼
//!   login: discovery ─▶ bind callback ─▶ marker ─▶ browser/URL ─▶ await redirect
//!          ─▶ check state, iss ─▶ code exchange ─▶ ID token checks ─▶ persist ─▶ Done
//!          (device flow: device authorization ─▶ show code ─▶ poll at interval)
//! ```
//!
//! Every exit path that took the lock releases it, deletes the login marker it wrote and
//! closes the listener it opened, before reporting `Done`.

mod device;
mod login;
mod logout;
mod metadata;
mod refresh;
mod session;

use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};

use crate::discovery::ProviderMetadata;
use crate::error::{FlowError, Internal, Misuse};
use crate::http::Limits;
use crate::intent::{Input, Intent, IntentId, IntentResult, Notice, Output};
use crate::oauth::OAuthError;
use crate::pkce::LoginSecrets;
use crate::secret::{DeviceCode, Entropy, RefreshToken};
use crate::store::{AccessRecord, Backend, LockName, SessionKey, SessionRecords, Slot};
use crate::time::{UnixTime, WaitReason};
use crate::token::Credential;

/// How long a person has to complete a sign-in in the browser or on another device
/// (SPEC §6); the proxy's [`REQUEST_TOKEN_WAIT`](crate::broker::REQUEST_TOKEN_WAIT) is
/// how long one request waits for a token.
pub const SIGN_IN_TIME_LIMIT: Duration = Duration::from_secs(300);
/// Slice of a lock wait between checks of the login marker.
const LOCK_SLICE: Duration = Duration::from_millis(250);
/// How long an interactive caller waits for another process's login to finish.
const INTERACTIVE_LOCK_WAIT: Duration = Duration::from_secs(360);
/// Per-request limits for IdP calls (SPEC §8).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const INTERACTIVE_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const INTERACTIVE_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings a flow needs, taken from the validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSettings {
    /// The gateway the tokens are for (part of the session key).
    pub gateway_url: String,
    /// The issuer, exactly as configured.
    pub issuer: String,
    /// The public client id.
    pub client_id: String,
    /// RFC 8707 resource; empty when unset.
    pub audience: String,
    /// Scopes to request (always includes `openid` and `offline_access`).
    pub scopes: Vec<String>,
    /// `prompt` to send; empty for none.
    pub prompt: String,
    /// Extra authorization parameters.
    pub auth_params: BTreeMap<String, String>,
    /// Redirect listener port (0: any free port).
    pub callback_port: u16,
    /// Upper bound of the refresh margin.
    pub refresh_window: Duration,
}

impl From<&crate::config::Config> for FlowSettings {
    fn from(config: &crate::config::Config) -> Self {
        Self {
            gateway_url: config.gateway_url.clone(),
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            audience: config.audience.clone(),
            scopes: config.scopes.clone(),
            prompt: config.prompt.clone(),
            auth_params: config.auth_params.clone(),
            callback_port: config.callback_port,
            refresh_window: config.refresh_window,
        }
    }
}

impl FlowSettings {
    /// The session these settings select.
    pub fn session_key(&self) -> SessionKey {
        SessionKey::derive(
            &self.gateway_url,
            &self.issuer,
            &self.client_id,
            &self.audience,
        )
    }
}

/// Facts about the environment the driver determined; none of them is policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowContext {
    /// Where the session lives.
    pub backend: Backend,
    /// What the person at the terminal can do.
    pub interaction: Interaction,
    /// When a non-interactive call must have finished (its `--timeout`).
    pub deadline: Option<UnixTime>,
    /// This process's id, written into the login marker.
    pub pid: u32,
}

/// What the person at the terminal can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// An interactive login may start.
    pub login: bool,
    /// A browser may be opened (`--skip-browser` clears it).
    pub open_browser: bool,
    /// Standard input is a terminal: a pasted redirect URL is accepted.
    pub paste_back: bool,
    /// Standard error is a terminal: a device code can be read by someone.
    pub show_device_code: bool,
}

impl Interaction {
    /// A caller that may never start a login (tools' helper calls, CI).
    pub const NONE: Self = Self {
        login: false,
        open_browser: false,
        paste_back: false,
        show_device_code: false,
    };

    /// Decides whether a `token` call may log in (SPEC §2): not with `--non-interactive`,
    /// `LLMAUTH_NON_INTERACTIVE=1`, stdin and stderr both not terminals, or
    /// `CLAUDE_HELPER_CONTEXT` set to anything but `interactive`.
    pub fn decide(facts: &TerminalFacts<'_>) -> Self {
        let helper_context_blocks = facts
            .claude_helper_context
            .is_some_and(|c| c != "interactive");
        let non_interactive = facts.non_interactive_flag
            || facts
                .non_interactive_env
                .is_some_and(|v| !v.is_empty() && v != "0")
            || (!facts.stdin_terminal && !facts.stderr_terminal)
            || helper_context_blocks;
        if non_interactive {
            return Self::NONE;
        }
        Self {
            login: true,
            open_browser: !facts.skip_browser,
            paste_back: facts.stdin_terminal,
            show_device_code: facts.stderr_terminal,
        }
    }
}

/// What the driver knows about the process's terminal and flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct TerminalFacts<'a> {
    /// `--non-interactive` was given.
    pub non_interactive_flag: bool,
    /// `LLMAUTH_NON_INTERACTIVE`.
    pub non_interactive_env: Option<&'a str>,
    /// `CLAUDE_HELPER_CONTEXT`.
    pub claude_helper_context: Option<&'a str>,
    /// Standard input is a terminal.
    pub stdin_terminal: bool,
    /// Standard error is a terminal.
    pub stderr_terminal: bool,
    /// `--skip-browser` was given.
    pub skip_browser: bool,
}

/// What the flow is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Goal {
    /// A token with enough validity left (`llmauth token`, the proxy).
    Token {
        /// Raise the refresh margin to at least this for this call (`--min-valid`).
        min_valid: Duration,
        /// Refresh even if the cached token is fresh (`--force-refresh`, gateway 401).
        force_refresh: bool,
    },
    /// A new interactive login (`llmauth login`).
    Login {
        /// Use the device authorization grant.
        device: bool,
    },
    /// Delete the session, optionally revoking the refresh token (`llmauth logout`).
    Logout {
        /// Revoke at the IdP first.
        revoke: bool,
    },
    /// Read what is stored, without locking or network (`llmauth status`).
    Inspect,
}

/// What a flow produced.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// A token to use.
    Token(Credential),
    /// A login completed.
    LoggedIn {
        /// The new token.
        credential: Credential,
        /// The user (`sub`), empty when the IdP sent no ID token.
        sub: String,
        /// Whether a refresh token came with it.
        refresh_token: bool,
    },
    /// The session was deleted.
    LoggedOut {
        /// Something was stored.
        had_session: bool,
        /// Revocation at the IdP: `None` when not asked or nothing to revoke.
        revoked: Option<Result<(), String>>,
    },
    /// What is stored.
    Inspected(SessionStatus),
}

/// The stored session as `status` shows it (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SessionStatus {
    /// A refresh token is stored.
    pub refresh_token: bool,
    /// The previous refresh's answer was lost.
    pub maybe_spent: bool,
    /// The stored user.
    pub sub: Option<String>,
    /// An access token is cached, expiring then.
    pub access_expires_at: Option<Option<UnixTime>>,
    /// The access token is still valid now.
    pub access_valid: bool,
    /// Why the stored session is unreadable, if it is.
    pub corrupt: Option<String>,
}

impl SessionStatus {
    /// Whether `token` can answer without a login: a valid access token, or a readable
    /// session with a refresh token.
    pub fn is_usable(&self) -> bool {
        self.access_valid || (self.refresh_token && self.corrupt.is_none())
    }
}

/// The state machine. See the module docs for the graph and the driving rules in
/// [`crate`].
pub struct TokenFlow {
    settings: FlowSettings,
    ctx: FlowContext,
    goal: Goal,
    key: SessionKey,
    entropy: Option<Entropy>,
    /// The time of the latest input.
    now: UnixTime,
    next_id: u64,
    current: Option<Current>,
    queue: VecDeque<Queued>,
    wait: Option<Wait>,
    outcome: Option<Result<Outcome, FlowError>>,
    // What the flow has learned and holds.
    cached: Option<AccessRecord>,
    session: SessionRecords,
    holding_lock: bool,
    marker_written: bool,
    listener_open: bool,
    lock_deadline: UnixTime,
    told_login_elsewhere: bool,
    metadata: Option<ProviderMetadata>,
    refresh_retried: bool,
    had_session: bool,
    inspect_corrupt: Option<String>,
    login: Option<LoginAttempt>,
    device: Option<DevicePoll>,
}

struct Current {
    id: IntentId,
    intent: Intent,
    then: Option<State>,
}

struct Queued {
    intent: Intent,
    then: Option<State>,
}

struct Wait {
    deadline: UnixTime,
    reason: WaitReason,
    then: State,
}

/// An authorization-code login in progress.
struct LoginAttempt {
    secrets: LoginSecrets,
    redirect_uri: String,
    url: String,
    deadline: UnixTime,
    /// The last callback event was a request that still awaits its answer page.
    request_open: bool,
}

/// A device-flow login in progress.
struct DevicePoll {
    device_code: DeviceCode,
    interval: Duration,
    expires_at: UnixTime,
}

/// Why metadata is being fetched, i.e. where to continue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Refresh,
    Login,
    Revoke,
}

/// Why the session is being (re-)read under the lock.
#[derive(Debug)]
enum ReadPurpose {
    /// Decide what the goal needs.
    Decide,
    /// The IdP said `invalid_grant` for `sent`: was the token rotated meanwhile?
    AfterInvalidGrant {
        sent: RefreshToken,
        error: OAuthError,
    },
}

/// What happens once the session is persisted.
enum AfterPersist {
    ServeToken(Credential),
    LoggedIn {
        credential: Credential,
        sub: String,
        refresh_token: bool,
    },
    RetryRefresh,
    Fail(FlowError),
}

/// What happens once the session is deleted.
enum AfterDelete {
    LoggedOut {
        revoked: Option<Result<(), String>>,
    },
    SessionEnded {
        error: OAuthError,
        maybe_spent: bool,
    },
    /// The dead refresh token is gone; serve the still-valid access token.
    Serve(Credential),
}

/// What to do with the result of the current intent.
enum State {
    CacheRead,
    LockTried,
    LockWaited,
    MarkerRead,
    RefreshSlotRead(ReadPurpose),
    AccessSlotRead(ReadPurpose),
    MovedAside {
        reason: String,
    },
    AccessCacheDeleted(AfterDelete),
    SessionDeleted(AfterDelete),
    DiscoveryCacheRead(Purpose),
    DiscoveryFetched {
        purpose: Purpose,
        fallback: bool,
    },
    Refreshed {
        sent: RefreshToken,
    },
    KeychainWritten {
        access: Option<SecretBytesBox>,
        after: AfterPersist,
    },
    SessionWritten(AfterPersist),
    AccessCacheWritten(AfterPersist),
    CallbackBound,
    BrowserOpened,
    CallbackEvent,
    CodeExchanged,
    DeviceAuthorized,
    DevicePollDue,
    DevicePolled,
    Revoked,
    LogoutRead,
    InspectRefreshRead,
    InspectAccessRead,
}

/// Boxed so `State` stays small.
type SecretBytesBox = Box<crate::secret::SecretBytes>;

impl TokenFlow {
    /// Starts a flow. Everything non-deterministic comes in as an argument: the entropy
    /// for PKCE, `state` and `nonce`, and the current time.
    pub fn new(
        settings: FlowSettings,
        ctx: FlowContext,
        goal: Goal,
        entropy: Entropy,
        now: UnixTime,
    ) -> Self {
        let key = settings.session_key();
        let mut flow = Self {
            settings,
            ctx,
            goal,
            key,
            entropy: Some(entropy),
            now,
            next_id: 0,
            current: None,
            queue: VecDeque::new(),
            wait: None,
            outcome: None,
            cached: None,
            session: SessionRecords::default(),
            holding_lock: false,
            marker_written: false,
            listener_open: false,
            lock_deadline: now,
            told_login_elsewhere: false,
            metadata: None,
            refresh_retried: false,
            had_session: false,
            inspect_corrupt: None,
            login: None,
            device: None,
        };
        flow.start(now);
        flow.advance();
        flow
    }

    /// What the driver must do next. Returns the same answer until `handle_input`.
    pub fn poll_output(&self) -> Output<'_> {
        if let Some(current) = &self.current {
            return Output::Perform {
                id: current.id,
                intent: &current.intent,
            };
        }
        if let Some(wait) = &self.wait {
            return Output::WaitUntil {
                deadline: wait.deadline,
                reason: wait.reason,
            };
        }
        Output::Done
    }

    /// Feeds back the result of the outstanding intent, or a timeout.
    ///
    /// # Errors
    /// [`Misuse`] when the input does not fit (wrong id, wrong kind of result, a timeout
    /// while an intent is outstanding, input after `Done`); the state is unchanged.
    pub fn handle_input(&mut self, input: Input) -> Result<(), Misuse> {
        match input {
            Input::Completed { id, now, result } => {
                let Some(current) = &self.current else {
                    return Err(if self.wait.is_none() {
                        Misuse::AfterDone
                    } else {
                        Misuse::WrongId {
                            expected: None,
                            got: id,
                        }
                    });
                };
                if current.id != id {
                    return Err(Misuse::WrongId {
                        expected: Some(current.id),
                        got: id,
                    });
                }
                if !result.answers(&current.intent) {
                    return Err(Misuse::WrongResultKind);
                }
                let Some(current) = self.current.take() else {
                    return Err(Misuse::AfterDone);
                };
                self.now = self.now.max(now);
                if let Some(state) = current.then {
                    self.dispatch(state, now, result);
                }
            }
            Input::Timeout { now } => {
                if self.current.is_some() {
                    return Err(Misuse::UnexpectedTimeout);
                }
                let Some(wait) = self.wait.take() else {
                    return Err(Misuse::AfterDone);
                };
                if now < wait.deadline {
                    self.wait = Some(wait);
                    return Ok(());
                }
                self.now = self.now.max(now);
                self.resume(wait.then, now);
            }
        }
        self.advance();
        Ok(())
    }

    /// The outcome, once [`poll_output`](Self::poll_output) says `Done`; `None` before.
    pub fn take_outcome(&mut self) -> Option<Result<Outcome, FlowError>> {
        if self.current.is_some() || self.wait.is_some() {
            return None;
        }
        self.outcome.take()
    }

    /// The session key this flow works on.
    pub fn session_key(&self) -> &SessionKey {
        &self.key
    }

    fn start(&mut self, now: UnixTime) {
        match self.goal {
            Goal::Token { .. } => {
                let slot = self.ctx.backend.access_slot(&self.key);
                self.perform(Intent::Read(slot), State::CacheRead);
            }
            Goal::Login { .. } | Goal::Logout { .. } => self.try_lock(now),
            Goal::Inspect => {
                let slot = self.ctx.backend.refresh_slot(&self.key);
                self.perform(Intent::Read(slot), State::InspectRefreshRead);
            }
        }
    }

    fn dispatch(&mut self, state: State, now: UnixTime, result: IntentResult) {
        match (state, result) {
            (State::CacheRead, IntentResult::Read(read)) => self.on_cache_read(now, read),
            (State::LockTried | State::LockWaited, IntentResult::Lock(Ok(outcome))) => {
                self.on_lock(now, outcome);
            }
            (State::LockTried | State::LockWaited, IntentResult::Lock(Err(error))) => {
                self.finish(Err(FlowError::Store(error)));
            }
            (State::MarkerRead, IntentResult::Read(read)) => self.on_marker_read(now, read),
            (State::RefreshSlotRead(purpose), IntentResult::Read(read)) => {
                self.on_refresh_slot_read(now, purpose, read)
            }
            (State::AccessSlotRead(purpose), IntentResult::Read(read)) => {
                self.on_access_slot_read(now, purpose, read)
            }
            (State::MovedAside { reason }, IntentResult::Stored(stored)) => {
                self.on_moved_aside(now, reason, stored)
            }
            (State::AccessCacheDeleted(then), IntentResult::Stored(stored)) => {
                self.on_access_cache_deleted(then, stored);
            }
            (State::SessionDeleted(then), IntentResult::Stored(stored)) => {
                self.on_session_deleted(now, then, stored)
            }
            (State::DiscoveryCacheRead(purpose), IntentResult::Read(read)) => {
                self.on_discovery_cache(now, purpose, read)
            }
            (State::DiscoveryFetched { purpose, fallback }, IntentResult::Http(http)) => {
                self.on_discovery_fetched(now, purpose, fallback, http);
            }
            (State::Refreshed { sent }, IntentResult::Http(http)) => {
                self.on_refreshed(now, sent, http)
            }
            (State::KeychainWritten { access, after }, IntentResult::Stored(stored)) => {
                self.on_keychain_written(access, after, stored);
            }
            (State::SessionWritten(after), IntentResult::Stored(stored)) => {
                self.on_session_written(after, stored)
            }
            (State::AccessCacheWritten(after), IntentResult::Stored(stored)) => {
                self.on_access_cache_written(after, stored);
            }
            (State::CallbackBound, IntentResult::Bound(bound)) => {
                self.on_callback_bound(now, bound)
            }
            (State::BrowserOpened, IntentResult::Browser(opened)) => self.on_browser(now, opened),
            (State::CallbackEvent, IntentResult::Callback(event)) => {
                self.on_callback_event(now, event)
            }
            (State::CodeExchanged, IntentResult::Http(http)) => self.on_code_exchanged(now, http),
            (State::DeviceAuthorized, IntentResult::Http(http)) => {
                self.on_device_authorized(now, http)
            }
            (State::DevicePolled, IntentResult::Http(http)) => self.on_device_polled(now, http),
            (State::Revoked, IntentResult::Http(http)) => self.on_revoked(http),
            (State::LogoutRead, IntentResult::Read(read)) => self.on_logout_read(now, read),
            (State::InspectRefreshRead, IntentResult::Read(read)) => {
                self.on_inspect_refresh_read(now, read)
            }
            (State::InspectAccessRead, IntentResult::Read(read)) => {
                self.on_inspect_access_read(now, read)
            }
            // `handle_input` checked that the result answers the intent, and every intent
            // is issued together with the state that expects its result.
            _ => self.finish(Err(FlowError::Internal(Internal::UnexpectedResult))),
        }
    }

    /// Continues after a `WaitUntil`.
    fn resume(&mut self, state: State, now: UnixTime) {
        if let State::DevicePollDue = state {
            self.poll_device(now);
        } else {
            self.finish(Err(FlowError::Internal(Internal::UnexpectedWakeUp)));
        }
    }

    /// Issues an intent whose result `state` handles.
    fn perform(&mut self, intent: Intent, state: State) {
        self.queue.push_back(Queued {
            intent,
            then: Some(state),
        });
    }

    /// Issues an intent whose result does not matter (notices, cleanup, answer pages).
    fn fire(&mut self, intent: Intent) {
        self.queue.push_back(Queued { intent, then: None });
    }

    fn notify(&mut self, notice: Notice) {
        self.fire(Intent::Notify(notice));
    }

    fn wait_until(&mut self, deadline: UnixTime, reason: WaitReason, then: State) {
        self.wait = Some(Wait {
            deadline,
            reason,
            then,
        });
    }

    /// Moves the next queued intent into place.
    fn advance(&mut self) {
        if self.current.is_some() {
            return;
        }
        if let Some(next) = self.queue.pop_front() {
            self.next_id += 1;
            self.current = Some(Current {
                id: IntentId(self.next_id),
                intent: next.intent,
                then: next.then,
            });
        }
    }

    /// Ends the flow: releases what it holds (marker, listener, lock), then reports.
    fn finish(&mut self, outcome: Result<Outcome, FlowError>) {
        if self.outcome.is_some() {
            return;
        }
        if self.marker_written {
            self.marker_written = false;
            self.fire(Intent::Delete(Slot::LoginMarker(self.key.clone())));
        }
        if self.listener_open {
            self.listener_open = false;
            self.fire(Intent::CloseCallback);
        }
        if self.holding_lock {
            self.holding_lock = false;
            self.fire(Intent::Unlock(self.lock_name()));
        }
        self.wait = None;
        self.outcome = Some(outcome);
    }

    fn lock_name(&self) -> LockName {
        LockName::Session(self.key.clone())
    }

    fn interactive(&self) -> bool {
        self.ctx.interaction.login
    }

    /// Limits for the next IdP request, or `None` when the time budget is spent.
    fn limits(&self, now: UnixTime) -> Option<Limits> {
        let (connect, total) = if self.interactive() {
            (INTERACTIVE_CONNECT_TIMEOUT, INTERACTIVE_REQUEST_TIMEOUT)
        } else {
            (CONNECT_TIMEOUT, REQUEST_TIMEOUT)
        };
        let mut deadline = now.saturating_add(total);
        if let Some(budget) = self.ctx.deadline {
            if budget <= now {
                return None;
            }
            deadline = deadline.min(budget);
        }
        Some(Limits {
            connect_timeout: connect.min(deadline.since(now)),
            deadline,
        })
    }

    /// A form POST of a public client (`client_id`) to the IdP, naming the gateway as the
    /// RFC 8707 `resource` when an audience is configured: some IdPs issue the gateway's
    /// JWT only when every token request names it (§2.2).
    fn idp_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        limits: Limits,
    ) -> crate::http::HttpRequest {
        let mut all = fields.to_vec();
        all.push(("client_id", &self.settings.client_id));
        if !self.settings.audience.is_empty() {
            all.push(("resource", &self.settings.audience));
        }
        crate::http::HttpRequest::post_form(url, &all, limits)
    }

    /// The generation for the next write: above anything seen.
    fn next_generation(&self) -> u64 {
        let cached = self.cached.as_ref().map_or(0, |c| c.generation);
        self.session.generation().max(cached) + 1
    }
}

#[cfg(test)]
mod tests;
