//! [`TokenFlow`]: the resumable state machine behind `token`, `login`, `logout` and the
//! proxy's token supply, typed by its [`Goal`]: a [`TokenGoal`] ends in a [`Credential`],
//! a [`LoginGoal`] in [`SignedIn`], a [`LogoutGoal`] in [`LoggedOut`]. (`status` needs no
//! flow: [`SessionStatus::of`] reads the records.)
//!
//! ```text
//!  Token goal:
//!   read cached access token ──fresh──▶ Done(token)            (no lock, no network)
//!        │ miss / stale / --force-refresh
//!        ▼
//!   try session lock ──busy──▶ read login marker ──login elsewhere──▶ exit 3 / show its URL
//!        │                          │                                 (browser-only: wait for it)
//!        │                          └──▶ wait for the lock (slices) ──budget spent──▶ LockTimeout
//!        ▼ acquired
//!   re-read session ──another process refreshed──▶ Done(token)
//!        │ refresh token                    │ none / corrupt
//!        ▼                                  ▼
//!   [discovery cache] ─▶ refresh ─▶ persist rotated refresh token ─▶ Done(token)
//!        │ invalid_grant → re-read → same token → session dead ─▶ login or NeedsLogin
//!        │ transient → still-valid cached token with a warning, or IdpUnavailable
//!        │ answer lost → mark maybe_spent → retry once
//!        ▼
//!   login: [browser-only: read cooldown ──active──▶ exit 3]
//!          discovery ─▶ bind callback ─▶ marker ─▶ browser/URL ─▶ await redirect
//!          ─▶ check state, iss ─▶ code exchange ─▶ ID token checks ─▶ end cooldown
//!          ─▶ persist ─▶ Done        (browser-only, no redirect in time: start cooldown)
//!          (device flow: device authorization ─▶ show code ─▶ poll at interval)
//!
//!  Login goal:  lock ─▶ re-read session ─▶ login (as above) ─▶ Done(signed in)
//!  Logout goal: lock ─▶ read session ─▶ [discovery ─▶ revoke] ─▶ delete ─▶ Done(logged out)
//! ```
//!
//! Each goal's machine (`token.rs` with its child `token/refresh.rs`, `login.rs`,
//! `logout.rs`) composes shared phases — the lock, the session read, metadata, sign-in
//! (`authorize.rs` with its child `authorize/device.rs`, `cooldown.rs`), persisting and
//! deleting — over one shell (`shell.rs`) that holds the intent queue, the ids and the
//! resources to release. A phase's data (the PKCE verifier, the device code, the refresh
//! token sent) travels with the step that waits for its result, so it is dropped when the
//! phase ends. Every exit path that took the lock releases it, deletes the login marker it
//! wrote and closes the listener it opened, before reporting `Done`.

/// Lets the phases a goal uses queue their intents: `From` each phase's step type into
/// the goal's step type (a newtype over its private `Step` enum).
macro_rules! steps_from {
    ($goal:ident { $($phase:ty => $variant:ident),* $(,)? }) => {$(
        impl From<$phase> for $goal {
            fn from(step: $phase) -> Self {
                Self(Step::$variant(step))
            }
        }
    )*};
}

mod authorize;
mod cooldown;
mod lock;
mod login;
mod logout;
mod metadata;
mod payload;
mod persist;
mod read_only;
mod session;
mod shell;
mod status;
mod token;

use core::fmt;
use core::time::Duration;

use crate::error::{FlowError, Internal, Misuse};
use crate::id_token::{self, Expectations, NonceRule};
use crate::intent::{Input, IntentResult, Output};
use crate::provider::{AudienceVia, IssuerMatch, Redirect, Tenants, TokenKind};
use crate::secret::Entropy;
use crate::secret::IdToken;
use crate::setup::tool::Platform;
use crate::store::{Backend, SessionKey};
use crate::time::UnixTime;
use crate::token::Credential;

pub use read_only::ReadOnlyStep;
pub use status::SessionStatus;

use shell::{Progress, Shell};

/// How long a person has to complete a sign-in in the browser or on another device
/// (SPEC §6); the proxy's [`REQUEST_TOKEN_WAIT`](crate::broker::REQUEST_TOKEN_WAIT) is
/// how long one request waits for a token.
pub const SIGN_IN_TIME_LIMIT: Duration = Duration::from_secs(300);

/// The settings a flow needs, taken from the validated configuration and its provider
/// preset: everything provider-specific a flow does is decided by these values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSettings {
    /// The session the flow works on: derived from the gateway, the issuer, the client
    /// and the audience ([`Config::session_key`](crate::config::Config::session_key)), so
    /// a token for one gateway is never sent to another.
    pub session_key: SessionKey,
    /// The issuer, exactly as configured.
    pub issuer: String,
    /// How issuers compare (exactly, or Entra's and Google's documented exceptions).
    pub issuer_match: IssuerMatch,
    /// The client id.
    pub client_id: String,
    /// A client secret is stored for this issuer and client, and goes into every
    /// token-endpoint request (`client_secret_post`); otherwise none is ever sent.
    pub client_secret: bool,
    /// The gateway's audience; empty when unset.
    pub audience: String,
    /// How the audience is requested.
    pub audience_via: AudienceVia,
    /// Scopes to request (with `openid`, the audience scope and `offline_access` as the
    /// provider needs them).
    pub scopes: Vec<String>,
    /// Extra authorization request parameters, in order (`prompt`, Google's
    /// `access_type`, `auth_params`).
    pub authorization_params: Vec<(String, String)>,
    /// The loopback redirect.
    pub redirect: Redirect,
    /// Refreshes re-send the requested `scope` (Keycloak 26.7 drops `openid` otherwise).
    pub resend_scope: bool,
    /// Which token is handed out.
    pub token_kind: TokenKind,
    /// Upper bound of the refresh margin.
    pub refresh_window: Duration,
    /// Why this provider may end a session early, said when it does
    /// ([`session_end_cause`](crate::provider::session_end_cause)).
    pub session_end_cause: Option<&'static str>,
    /// The tenants whose accounts may sign in (`llm.oidc.tenants`; empty: any).
    pub tenants: Tenants,
}

impl FlowSettings {
    /// The parameter naming the audience in the authorization and device authorization
    /// requests: RFC 8707 `resource`, Auth0's `audience` or PingFederate's `aud`.
    pub(crate) fn audience_parameter(&self) -> Option<(&'static str, &str)> {
        let name = match self.audience_via {
            AudienceVia::Resource => "resource",
            AudienceVia::Audience => "audience",
            AudienceVia::Aud => "aud",
            AudienceVia::Scope | AudienceVia::None => return None,
        };
        (!self.audience.is_empty()).then_some((name, self.audience.as_str()))
    }

    /// The parameter naming the audience in token-endpoint requests: only RFC 8707's
    /// `resource` (§2.2: some IdPs issue the gateway's JWT only when every token request
    /// names it).
    pub(crate) fn token_audience(&self) -> Option<(&'static str, &str)> {
        self.audience_parameter()
            .filter(|_| self.audience_via == AudienceVia::Resource)
    }

    /// An audience an ID token may be issued to on this client's behalf: the gateway,
    /// when it was requested as a scope (Dex's cross-client trust puts it in `aud` and
    /// this client in `azp`).
    pub(crate) fn on_behalf_of(&self) -> Option<&str> {
        (self.audience_via == AudienceVia::Scope && !self.audience.is_empty())
            .then_some(self.audience.as_str())
    }

    /// Checks an ID token from the token endpoint — its claims (OIDC Core §3.1.3.7, §12.2
    /// on refresh), then its tenant against the allow-list — so that neither a sign-in
    /// nor a refresh keeps a token the checks refuse.
    pub(crate) fn check_id_token(
        &self,
        token: &IdToken,
        nonce: NonceRule<'_>,
        sub: Option<&str>,
        now: UnixTime,
    ) -> Result<id_token::Verified, FlowError> {
        let expect = Expectations {
            issuer: &self.issuer,
            issuer_match: self.issuer_match,
            client_id: &self.client_id,
            on_behalf_of: self.on_behalf_of(),
            nonce,
            sub,
        };
        let verified = id_token::verify(token, &expect, now).map_err(FlowError::IdToken)?;
        self.tenants
            .admit(verified.tenant.as_deref())
            .map_err(FlowError::TenantRefused)?;
        Ok(verified)
    }
}

impl From<&crate::config::Config> for FlowSettings {
    fn from(config: &crate::config::Config) -> Self {
        let provider = &config.provider;
        Self {
            session_key: config.session_key(),
            issuer: config.issuer.clone(),
            issuer_match: provider.issuer_match,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret,
            audience: config.audience.clone(),
            audience_via: provider.audience_via.value,
            scopes: config.scopes.clone(),
            authorization_params: provider
                .authorization_extras(&config.prompt, &config.auth_params),
            redirect: provider.redirect(),
            resend_scope: provider.resend_scope.value,
            token_kind: provider.token_kind.value,
            refresh_window: config.refresh_window,
            session_end_cause: crate::provider::session_end_cause(provider.preset),
            tenants: provider.tenants.clone(),
        }
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
    /// Nobody reads this process's terminal, but a browser can be shown to the person at
    /// the desktop (a tool's helper call, SPEC §2): the sign-in happens in the browser
    /// alone, within the call's budget; a sign-in in progress elsewhere is waited for
    /// instead of given up on; and one nobody completed starts the sign-in cooldown,
    /// which holds such calls back.
    pub browser_only: bool,
}

/// How long a helper call with no terminal waits for the person to sign in in the
/// browser (its whole budget, SPEC §2). It fits the helpers' own limits as setup writes
/// them: Claude Code waits 10 minutes for `apiKeyHelper`; Codex's `auth.timeout_ms` and
/// Claude Desktop's `inferenceCredentialHelperTimeoutSec` are set to
/// [`HELPER_TIMEOUT`](crate::setup::wiring::HELPER_TIMEOUT).
pub const BROWSER_SIGN_IN_WAIT: Duration = Duration::from_secs(120);

/// How long a call that may not sign in takes at most (`token --timeout`'s default):
/// Codex's app-server gives a helper 10 s.
pub const HELPER_BUDGET: Duration = Duration::from_secs(8);

impl Interaction {
    /// A caller that may never start a login (tools' helper calls, CI).
    pub const NONE: Self = Self {
        login: false,
        open_browser: false,
        paste_back: false,
        show_device_code: false,
        browser_only: false,
    };

    /// A sign-in in the browser alone: no terminal to paste into or read a code from.
    pub const BROWSER_ONLY: Self = Self {
        login: true,
        open_browser: true,
        paste_back: false,
        show_device_code: false,
        browser_only: true,
    };

    /// Decides what a `token` call may do (SPEC §2). Never a login with
    /// `--non-interactive`, `LLMAUTH_NON_INTERACTIVE=1`, or `CLAUDE_HELPER_CONTEXT` set to
    /// anything but `interactive`. With a terminal on stdin or stderr, a terminal login
    /// (browser, paste-back, device code). Without one, a browser-only login when a
    /// graphical session can show the browser (and `--skip-browser` was not given);
    /// otherwise none (headless).
    pub fn decide(facts: &TerminalFacts<'_>) -> Self {
        let helper_context_blocks = facts
            .claude_helper_context
            .is_some_and(|c| c != "interactive");
        let told_not_to = facts.non_interactive_flag
            || facts
                .non_interactive_env
                .is_some_and(|v| !v.is_empty() && v != "0")
            || helper_context_blocks;
        if told_not_to {
            return Self::NONE;
        }
        if facts.stdin_terminal || facts.stderr_terminal {
            return Self {
                login: true,
                open_browser: !facts.skip_browser,
                paste_back: facts.stdin_terminal,
                show_device_code: facts.stderr_terminal,
                browser_only: false,
            };
        }
        if !facts.skip_browser && facts.desktop.graphical() {
            return Self::BROWSER_ONLY;
        }
        Self::NONE
    }

    /// Whether a person at this process's terminal follows the call: failures are told
    /// there, and the call waits as long as the person does. Otherwise a tool waits for
    /// it, which hides its stderr (so failures are recorded for `status`) and needs it
    /// to finish within a budget.
    pub fn attended(&self) -> bool {
        self.login && !self.browser_only
    }

    /// The time budget of a call: none for a person at a terminal (who decides how long
    /// to wait); otherwise `timeout` (`token --timeout`) when given, else
    /// [`BROWSER_SIGN_IN_WAIT`] for a browser-only sign-in and [`HELPER_BUDGET`] for a
    /// call that may not sign in.
    pub fn budget(&self, timeout: Option<Duration>) -> Option<Duration> {
        if self.attended() {
            return None;
        }
        let default = if self.browser_only {
            BROWSER_SIGN_IN_WAIT
        } else {
            HELPER_BUDGET
        };
        Some(timeout.unwrap_or(default))
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
    /// What the environment says about a graphical session.
    pub desktop: DesktopFacts<'a>,
}

/// What the environment says about a graphical session a browser could open in.
#[derive(Clone, Copy, Debug, Default)]
pub struct DesktopFacts<'a> {
    /// The operating system family; `None` for one llmauth does not know.
    pub platform: Option<Platform>,
    /// `DISPLAY` (X11).
    pub display: Option<&'a str>,
    /// `WAYLAND_DISPLAY`.
    pub wayland_display: Option<&'a str>,
    /// `SSH_CONNECTION` or `SSH_TTY` is set: the process runs in a remote login.
    pub ssh: bool,
    /// `SESSIONNAME` (Windows: `Console` or `RDP-Tcp#…` in a user's desktop session,
    /// unset for services).
    pub windows_session: Option<&'a str>,
}

impl DesktopFacts<'_> {
    /// Whether a browser opened now would be seen by the person: an X11 or Wayland
    /// display on Linux (and other Unix-likes), the user's desktop session on macOS and
    /// Windows unless the process came in over SSH.
    pub fn graphical(&self) -> bool {
        let set = |value: Option<&str>| value.is_some_and(|v| !v.is_empty());
        match self.platform {
            Some(Platform::Linux) | None => set(self.display) || set(self.wayland_display),
            Some(Platform::Mac) => !self.ssh,
            Some(Platform::Windows) => !self.ssh && set(self.windows_session),
        }
    }
}

/// What a flow is for, and so what it ends in ([`Goal::Outcome`]). Implemented by
/// [`TokenGoal`], [`LoginGoal`] and [`LogoutGoal`] only.
pub trait Goal: sealed::Machine<<Self as Goal>::Outcome> {
    /// What the flow hands over when it succeeds.
    type Outcome: Clone + fmt::Debug;
}

/// What a flow for `G` ends in.
pub type FlowResult<G> = Result<<G as Goal>::Outcome, FlowError>;

/// A token with enough validity left (`llmauth token`, the proxy, `setup`); signs in
/// first when the session has ended and the [`Interaction`] allows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenGoal {
    /// Raise the refresh margin to at least this for this call (`--min-valid`).
    pub min_valid: Duration,
    /// Refresh even if the cached token is fresh (`--force-refresh`, gateway 401).
    pub force_refresh: bool,
}

impl Goal for TokenGoal {
    type Outcome = Credential;
}

/// A new interactive sign-in, whatever is stored (`llmauth login`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginGoal {
    /// Use the device authorization grant.
    pub device: bool,
}

impl Goal for LoginGoal {
    type Outcome = SignedIn;
}

/// Delete the session, optionally revoking the refresh token first (`llmauth logout`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogoutGoal {
    /// Revoke at the IdP first.
    pub revoke: bool,
}

impl Goal for LogoutGoal {
    type Outcome = LoggedOut;
}

/// A completed sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// The new token.
    pub credential: Credential,
    /// The user (`sub`), empty when the IdP sent no ID token.
    pub sub: String,
    /// Whether a refresh token came with it.
    pub refresh_token: bool,
}

/// A deleted session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedOut {
    /// Something was stored.
    pub had_session: bool,
    /// Revocation at the IdP: `None` when not asked or nothing to revoke.
    pub revoked: Option<Result<(), String>>,
}

/// The state machine for one goal. See the module docs for the graph and the driving
/// rules in [`crate`].
pub struct TokenFlow<G: Goal> {
    shell: Shell<G::Step>,
    state: G::State,
    outcome: Option<FlowResult<G>>,
}

impl<G: Goal> TokenFlow<G> {
    /// Starts a flow. Everything non-deterministic comes in as an argument: the entropy
    /// for PKCE, `state` and `nonce` (used only if a sign-in starts), and the current time.
    pub fn new(
        settings: FlowSettings,
        ctx: FlowContext,
        goal: G,
        entropy: Entropy,
        now: UnixTime,
    ) -> Self {
        Self::start(settings, ctx, |shell| goal.start(shell, entropy, now), now)
    }

    /// Builds the shell, lets `begin` issue the goal's first intent, and settles.
    fn start(
        settings: FlowSettings,
        ctx: FlowContext,
        begin: impl FnOnce(&mut Shell<G::Step>) -> (G::State, Progress<G::Outcome>),
        now: UnixTime,
    ) -> Self {
        let mut shell = Shell::new(settings, ctx, now);
        let (state, progress) = begin(&mut shell);
        let mut flow = Self {
            shell,
            state,
            outcome: None,
        };
        flow.settle(progress);
        flow
    }

    /// What the driver must do next. Returns the same answer until `handle_input`.
    pub fn poll_output(&self) -> Output<'_, FlowResult<G>> {
        if let Some(output) = self.shell.poll() {
            return output;
        }
        // Every step either queues an intent, waits or finishes, so an idle flow has an
        // outcome; if a bug broke that, the flow says so instead of hanging.
        let outcome = self.outcome.clone();
        Output::Done(outcome.unwrap_or(Err(FlowError::Internal(Internal::Stalled))))
    }

    /// Feeds back the result of the outstanding intent, or a timeout.
    ///
    /// # Errors
    /// [`Misuse`] when the input does not fit (wrong id, wrong kind of result, a timeout
    /// while an intent is outstanding, input after `Done`); the state is unchanged.
    pub fn handle_input(&mut self, input: Input) -> Result<(), Misuse> {
        let progress = match input {
            Input::Completed { id, now, result } => {
                let Some(step) = self.shell.complete(id, now, &result)? else {
                    self.shell.advance();
                    return Ok(());
                };
                G::on_result(&mut self.state, &mut self.shell, step, now, result)
            }
            Input::Timeout { now } => {
                let Some(step) = self.shell.wake(now)? else {
                    return Ok(());
                };
                G::on_wake(&mut self.state, &mut self.shell, step, now)
            }
        };
        self.settle(progress);
        Ok(())
    }

    /// The session key this flow works on.
    pub fn session_key(&self) -> &SessionKey {
        self.shell.key()
    }

    /// Ends the flow when the step did, releasing what it holds first, then moves the
    /// next intent into place.
    fn settle(&mut self, progress: Progress<G::Outcome>) {
        let ended = match progress {
            Ok(None) => None,
            Ok(Some(outcome)) => Some(Ok(outcome)),
            Err(error) => Some(Err(error)),
        };
        if let Some(outcome) = ended
            && self.outcome.is_none()
        {
            self.shell.release();
            self.outcome = Some(outcome);
        }
        self.shell.advance();
    }
}

impl<G: Goal> fmt::Debug for TokenFlow<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFlow")
            .field("session", self.shell.key())
            .field("finished", &self.outcome.is_some())
            .finish_non_exhaustive()
    }
}

/// The machinery behind [`Goal`], sealed so that only this module's goals exist.
mod sealed {
    use super::{Entropy, IntentResult, Progress, Shell, UnixTime};

    /// A goal's state machine over the shared [`Shell`].
    pub trait Machine<O>: Sized {
        /// What an intent's result continues with: the goal's own step enum, built from
        /// the steps of the phases it uses.
        type Step;
        /// What the goal keeps for the whole flow (beyond the shell).
        type State;

        /// Issues the first intent (or ends at once).
        fn start(
            self,
            shell: &mut Shell<Self::Step>,
            entropy: Entropy,
            now: UnixTime,
        ) -> (Self::State, Progress<O>);

        /// Handles the result of the intent issued with `step`.
        fn on_result(
            state: &mut Self::State,
            shell: &mut Shell<Self::Step>,
            step: Self::Step,
            now: UnixTime,
            result: IntentResult,
        ) -> Progress<O>;

        /// Continues after a `WaitUntil` issued with `step`.
        fn on_wake(
            state: &mut Self::State,
            shell: &mut Shell<Self::Step>,
            step: Self::Step,
            now: UnixTime,
        ) -> Progress<O>;
    }
}

#[cfg(test)]
mod tests;
