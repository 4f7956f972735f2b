//! [`TokenBroker`]: the proxy's token policy, as a sans-IO machine that owns no I/O and
//! starts [`TokenFlow`](crate::flow::TokenFlow)s only through the runtime.
//!
//! The proxy serves many requests at once from one in-memory credential. The broker
//! decides, for every request, whether that credential can be used now, and tells the
//! runtime what I/O to do to keep it usable:
//!
//! ```text
//!  handle_request ──usable, store checked < 1 s ago──▶ Serve(lease)       (no I/O)
//!        │ usable, check due                  │ not usable / none / rejected
//!        ▼                                    ▼
//!  ReadStore(access slot) ─▶ handle_stored   StartFlow (one at a time) ─▶ handle_flow_done
//!   same record: serve                        every waiter gets the flow's result
//!   deleted / changed: drop (adopt a fresh one)
//!
//!  poll_timeout ─▶ refresh ahead of expiry (only after the credential was used),
//!                  waiters past the login wait get a 401 naming the sign-in URL
//!  handle_rejected (gateway 401) ─▶ one forced refresh per token, spaced out
//! ```
//!
//! Inputs are `handle_*` calls stamped with `now`; outputs are drained with
//! [`poll_action`](TokenBroker::poll_action) (I/O to perform) and
//! [`poll_answer`](TokenBroker::poll_answer) (waiting requests to answer), and
//! [`poll_timeout`](TokenBroker::poll_timeout) says when to call
//! [`handle_timeout`](TokenBroker::handle_timeout). After every input the driver drains
//! both queues. Nothing here reads a clock, a file or a socket.

pub mod admission;
pub mod connections;
pub mod health;
pub mod local_key;
pub(crate) mod path;
pub mod rules;
pub mod workers;

use core::fmt;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::error::{ErrorClass, FlowError};
use crate::flow::TokenGoal;
use crate::intent::Notice;
use crate::provider::TokenKind;
use crate::secret::{AccessToken, SecretBytes};
use crate::store::{AccessRecord, SessionRecords, Slot, StoreError};
use crate::time::UnixTime;
use crate::token::{self, Credential};

/// How often, at most, the stored session is re-read to notice a logout, a re-login or a
/// refresh by another process (SPEC §7).
pub const STORE_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long a proxied request waits for a token (a login in particular) before it is
/// refused; a sign-in itself may take up to [`SIGN_IN_TIME_LIMIT`](crate::flow::SIGN_IN_TIME_LIMIT).
pub const REQUEST_TOKEN_WAIT: Duration = Duration::from_secs(60);
/// Longest head start of a refresh ahead of the refresh margin.
const REFRESH_LEAD_MAX: Duration = Duration::from_secs(30);
/// At most one forced refresh (after a gateway 401) in this long, whatever the token: a
/// gateway that rejects every token then costs one refresh per interval, not one per
/// request.
const FORCED_REFRESH_SPACING: Duration = Duration::from_secs(30);
/// First pause before retrying a refresh ahead of expiry that did not renew the token.
const RETRY_BACKOFF_MIN: Duration = Duration::from_secs(2);
/// Longest such pause.
const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// After the IdP failed transiently, requests arriving this soon are refused at once
/// instead of each starting another flow against an IdP that is down.
const FAILURE_HOLD: Duration = Duration::from_secs(1);

/// What the broker needs to know about the installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerSettings {
    /// `oidc.refresh_window` (the refresh margin's upper bound, SPEC §5).
    pub refresh_window: Duration,
    /// The slot holding the access-token record (the backend's access slot), re-read to
    /// notice changes made by other processes.
    pub access_slot: Slot,
    /// How long requests wait for a token; [`REQUEST_TOKEN_WAIT`] outside tests.
    pub token_wait: Duration,
    /// Which token is handed out (`llm.oidc.token_kind`): the stored record is judged by
    /// it.
    pub token_kind: TokenKind,
}

/// Identifies a request waiting for a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WaiterId(u64);

/// Identifies a flow the broker asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowId(u64);

/// Identifies a store read the broker asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadId(u64);

/// A token handed to one request.
#[derive(Clone, PartialEq, Eq)]
pub struct Lease {
    /// The bearer token to inject (shared: every request holds the same one).
    pub token: Arc<AccessToken>,
    /// Changes whenever the broker adopts another credential (lets a runtime cache what
    /// it derives from the token, such as the header value).
    pub serial: u64,
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("token", &self.token)
            .field("serial", &self.serial)
            .finish()
    }
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Forward it with this token now.
    Serve(Lease),
    /// Hold it until [`poll_answer`](TokenBroker::poll_answer) yields an answer for this id.
    Wait(WaiterId),
    /// Answer it with this error without forwarding.
    Refuse(Refusal),
}

/// I/O the runtime performs for the broker and reports back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run a [`TokenFlow`](crate::flow::TokenFlow) for `goal` to its end (rooted in the
    /// proxy, never cancelled by a client), then call
    /// [`handle_flow_done`](TokenBroker::handle_flow_done) with `id`, and pass the flow's
    /// notices to [`handle_notice`](TokenBroker::handle_notice) while it runs.
    StartFlow {
        /// Echo this back.
        id: FlowId,
        /// What the flow is for.
        goal: TokenGoal,
        /// Whether the flow may start an interactive login (browser or printed URL).
        login: bool,
    },
    /// Read this slot (like `Intent::Read`) and call
    /// [`handle_stored`](TokenBroker::handle_stored) with `id`.
    ReadStore {
        /// Echo this back.
        id: ReadId,
        /// The slot.
        slot: Slot,
    },
}

/// The answer for a waiting request.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// The request.
    pub waiter: WaiterId,
    /// Forward with this lease, or answer with this error.
    pub result: Result<Lease, Refusal>,
}

/// Why a request gets no token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The kind, which decides the HTTP status.
    pub kind: RefusalKind,
    /// One line for the caller (never a secret).
    pub message: String,
}

/// Kinds of [`Refusal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalKind {
    /// A sign-in is needed (401).
    SignInRequired,
    /// The IdP, the network or the session store failed in a way that may pass (502).
    IdpUnavailable,
    /// No token came within the wait (504).
    TimedOut,
    /// The configuration or the client registration is wrong, or llmauth has a bug (500).
    Failed,
}

impl Refusal {
    /// The HTTP status to answer with (SPEC §7).
    pub fn status(&self) -> u16 {
        match self.kind {
            RefusalKind::SignInRequired => 401,
            RefusalKind::IdpUnavailable => 502,
            RefusalKind::TimedOut => 504,
            RefusalKind::Failed => 500,
        }
    }

    fn sign_in(url: Option<&str>) -> Self {
        let message = match url {
            Some(url) => {
                format!("sign-in required: finish signing in at {url}, then retry")
            }
            None => "sign-in required: run `llmauth login`, then retry".to_owned(),
        };
        Self {
            kind: RefusalKind::SignInRequired,
            message,
        }
    }

    /// The refusal for a flow's error: its kind (and so its status) follows from the
    /// error's class, exactly as the exit code does.
    fn from_flow_error(error: &FlowError) -> Self {
        let message = match error.hint() {
            Some(hint) => format!("{error} — {hint}"),
            None => error.to_string(),
        };
        Self {
            kind: RefusalKind::from(error.class()),
            message,
        }
    }
}

impl From<ErrorClass> for RefusalKind {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::AuthRequired => Self::SignInRequired,
            ErrorClass::Transient => Self::IdpUnavailable,
            ErrorClass::LockTimeout => Self::TimedOut,
            ErrorClass::Config | ErrorClass::Bug => Self::Failed,
        }
    }
}

/// Why a flow was started; decides its goal and how its result is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlowKind {
    /// At start-up, to have a token before the first request (no login).
    Prefetch,
    /// A request needs a token that is not in memory.
    Demand,
    /// The credential nears its refresh margin and was used.
    RefreshAhead,
    /// The gateway rejected the current token.
    Forced,
}

struct RunningFlow {
    id: FlowId,
    kind: FlowKind,
    login: bool,
}

/// The credential in memory.
struct Held {
    record: AccessRecord,
    /// The record's token, shared with the leases handed out.
    token: Arc<AccessToken>,
    serial: u64,
    /// A forced refresh was already started for this token: never again.
    forced: bool,
    /// The gateway rejected it and a forced refresh is running: requests wait for it.
    rejected: bool,
    /// A request was served with it (only then is it refreshed ahead of expiry).
    used: bool,
}

/// What a waiting request waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WaitOn {
    /// The store read in flight.
    Store,
    /// The flow in flight.
    Flow,
}

struct Waiter {
    deadline: UnixTime,
    on: WaitOn,
}

/// The proxy's token policy. See the module docs.
pub struct TokenBroker {
    settings: BrokerSettings,
    now: UnixTime,
    held: Option<Held>,
    next_serial: u64,
    flow: Option<RunningFlow>,
    next_flow: u64,
    /// A forced refresh must follow the running flow if that one does not renew the token.
    pending_force: bool,
    last_forced: Option<UnixTime>,
    read: Option<ReadId>,
    next_read: u64,
    last_check: Option<UnixTime>,
    waiters: BTreeMap<WaiterId, Waiter>,
    next_waiter: u64,
    actions: VecDeque<Action>,
    answers: VecDeque<Answer>,
    /// Where the running login can be completed, from its notices.
    login_url: Option<String>,
    /// Refreshes ahead of expiry that did not renew the token, in a row.
    refresh_failures: u32,
    /// No refresh ahead before this time (backoff).
    retry_at: Option<UnixTime>,
    /// A transient failure answered until this time.
    hold: Option<(UnixTime, Refusal)>,
}

impl TokenBroker {
    /// A broker with no credential yet. It asks at once for a flow that reads (or
    /// refreshes) the stored session without starting a login, so the first request
    /// usually finds a token ready.
    pub fn new(settings: BrokerSettings, now: UnixTime) -> Self {
        let mut broker = Self {
            settings,
            now,
            held: None,
            next_serial: 0,
            flow: None,
            next_flow: 0,
            pending_force: false,
            last_forced: None,
            read: None,
            next_read: 0,
            last_check: None,
            waiters: BTreeMap::new(),
            next_waiter: 0,
            actions: VecDeque::new(),
            answers: VecDeque::new(),
            login_url: None,
            refresh_failures: 0,
            retry_at: None,
            hold: None,
        };
        broker.start_flow(FlowKind::Prefetch);
        broker
    }

    /// A request wants a token.
    pub fn handle_request(&mut self, now: UnixTime) -> Decision {
        self.now = self.now.max(now);
        let now = self.now;
        if let Some(lease) = self.usable_lease(now) {
            if self.store_check_due(now) {
                let id = self.add_waiter(now, WaitOn::Store);
                self.start_store_read();
                return Decision::Wait(id);
            }
            self.mark_used();
            self.maybe_refresh_ahead(now);
            return Decision::Serve(lease);
        }
        if let Some((until, refusal)) = &self.hold
            && now < *until
        {
            return Decision::Refuse(refusal.clone());
        }
        let id = self.add_waiter(now, WaitOn::Flow);
        self.ensure_flow(FlowKind::Demand);
        Decision::Wait(id)
    }

    /// The gateway answered 401 to a request sent with `token`. Returns what to do for
    /// the one retry, or `None` when the 401 should go back to the client as it is (the
    /// token was already force-refreshed once, or a forced refresh happened recently).
    pub fn handle_rejected(&mut self, token: &AccessToken, now: UnixTime) -> Option<Decision> {
        self.now = self.now.max(now);
        let now = self.now;
        let current = self
            .held
            .as_ref()
            .is_some_and(|held| held.record.access_token == *token);
        if !current {
            // Replaced (or dropped) since: one retry with whatever is current now.
            return Some(self.handle_request(now));
        }
        let spaced_out = self
            .last_forced
            .is_none_or(|at| now >= at.saturating_add(FORCED_REFRESH_SPACING));
        let held = self.held.as_mut()?;
        if held.rejected {
            // A forced refresh for this very token is running: retry with its result.
            let id = self.add_waiter(now, WaitOn::Flow);
            return Some(Decision::Wait(id));
        }
        if held.forced || !spaced_out {
            return None;
        }
        held.forced = true;
        held.rejected = true;
        self.last_forced = Some(now);
        let id = self.add_waiter(now, WaitOn::Flow);
        if self.flow.is_some() {
            self.pending_force = true;
        } else {
            self.start_flow(FlowKind::Forced);
        }
        Some(Decision::Wait(id))
    }

    /// A flow the broker asked for ended.
    pub fn handle_flow_done(
        &mut self,
        id: FlowId,
        outcome: Result<Credential, FlowError>,
        now: UnixTime,
    ) {
        self.now = self.now.max(now);
        let now = self.now;
        let Some(flow) = self.flow.take_if(|flow| flow.id == id) else {
            return;
        };
        self.login_url = None;
        match outcome {
            Ok(credential) => self.on_flow_token(flow, credential, now),
            Err(error) => self.on_flow_error(flow, &error, now),
        }
    }

    /// The result of a [`Action::ReadStore`].
    pub fn handle_stored(
        &mut self,
        id: ReadId,
        read: Result<Option<SecretBytes>, StoreError>,
        now: UnixTime,
    ) {
        self.now = self.now.max(now);
        let now = self.now;
        if self.read != Some(id) {
            // Superseded: a flow ended meanwhile and re-read the store itself.
            return;
        }
        self.read = None;
        self.last_check = Some(now);
        match read {
            // A store hiccup is not a logout: keep serving what we have.
            Err(_) => {}
            Ok(None) => self.held = None,
            Ok(Some(bytes)) => {
                let stored = SessionRecords::decode(bytes.expose_secret())
                    .ok()
                    .and_then(|records| records.access?.handout(self.settings.token_kind));
                self.compare_stored(stored, now);
            }
        }
        let store_waiters: Vec<WaiterId> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.on == WaitOn::Store)
            .map(|(id, _)| *id)
            .collect();
        if store_waiters.is_empty() {
            return;
        }
        match self.usable_lease(now) {
            Some(lease) => {
                self.mark_used();
                for waiter in store_waiters {
                    self.answer(waiter, Ok(lease.clone()));
                }
                self.maybe_refresh_ahead(now);
            }
            None => {
                for waiter in store_waiters {
                    if let Some(w) = self.waiters.get_mut(&waiter) {
                        w.on = WaitOn::Flow;
                    }
                }
                self.ensure_flow(FlowKind::Demand);
            }
        }
    }

    /// A notice the running flow printed: sign-in URLs are remembered for refusals.
    pub fn handle_notice(&mut self, notice: &Notice) {
        // Notice is non-exhaustive: other notices carry nothing the broker uses.
        #[allow(clippy::wildcard_enum_match_arm)]
        match notice {
            Notice::SignInUrl { url, .. } | Notice::LoginInProgressElsewhere { url, .. } => {
                self.login_url = Some(url.clone());
            }
            Notice::DeviceCode {
                verification_uri,
                complete_uri,
                user_code,
            } => {
                self.login_url = Some(match complete_uri {
                    Some(complete) => complete.clone(),
                    None => format!("{verification_uri} with the code {user_code}"),
                });
            }
            _ => {}
        }
    }

    /// Time passed: waiters past their wait are refused, a refresh ahead of expiry may
    /// start.
    pub fn handle_timeout(&mut self, now: UnixTime) {
        self.now = self.now.max(now);
        let now = self.now;
        let expired: Vec<WaiterId> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for waiter in expired {
            let refusal = match &self.login_url {
                Some(url) => Refusal::sign_in(Some(url)),
                None => Refusal {
                    kind: RefusalKind::TimedOut,
                    message: format!(
                        "no access token within {} s: the IdP or the session lock is slow",
                        self.settings.token_wait.as_secs()
                    ),
                },
            };
            self.answer(waiter, Err(refusal));
        }
        self.maybe_refresh_ahead(now);
    }

    /// A waiting request went away (the client disconnected). The flow it waited for
    /// keeps running.
    pub fn cancel(&mut self, waiter: WaiterId) {
        self.waiters.remove(&waiter);
        self.answers.retain(|answer| answer.waiter != waiter);
    }

    /// The next I/O to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next waiting request to answer.
    pub fn poll_answer(&mut self) -> Option<Answer> {
        self.answers.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<UnixTime> {
        let waiter = self.waiters.values().map(|w| w.deadline).min();
        let refresh = self.refresh_ahead_at();
        match (waiter, refresh) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When the credential in memory expires (for the health endpoint), if one is held.
    pub fn token_expires_at(&self) -> Option<UnixTime> {
        self.held.as_ref().map(|held| token::expiry(&held.record))
    }

    /// Whether a flow is running (for tests and diagnostics).
    pub fn flow_running(&self) -> bool {
        self.flow.is_some()
    }

    /// The token held in memory (white-box tests).
    #[cfg(test)]
    fn held_token(&self) -> Option<&str> {
        self.held
            .as_ref()
            .map(|held| held.record.access_token.expose_secret())
    }

    fn usable_lease(&self, now: UnixTime) -> Option<Lease> {
        let held = self.held.as_ref()?;
        if held.rejected || !token::is_valid(&held.record, now) {
            return None;
        }
        Some(held.lease())
    }

    fn mark_used(&mut self) {
        if let Some(held) = &mut self.held {
            held.used = true;
        }
    }

    fn store_check_due(&self, now: UnixTime) -> bool {
        self.read.is_some()
            || self
                .last_check
                .is_none_or(|at| now >= at.saturating_add(STORE_CHECK_INTERVAL))
    }

    fn start_store_read(&mut self) {
        if self.read.is_some() {
            return;
        }
        self.next_read += 1;
        let id = ReadId(self.next_read);
        self.read = Some(id);
        self.actions.push_back(Action::ReadStore {
            id,
            slot: self.settings.access_slot.clone(),
        });
    }

    /// Judges the stored access record against the one in memory.
    fn compare_stored(&mut self, stored: Option<AccessRecord>, now: UnixTime) {
        let Some(held) = &self.held else {
            return;
        };
        let Some(stored) = stored else {
            // The record is gone or unreadable: logged out (or broken) elsewhere.
            self.held = None;
            return;
        };
        if stored.generation == held.record.generation
            && stored.access_token == held.record.access_token
        {
            return;
        }
        // Refreshed, or signed in again, elsewhere: the stored token is the current one.
        if token::is_fresh(&stored, now, self.settings.refresh_window, Duration::ZERO) {
            self.adopt(stored);
        } else {
            self.held = None;
        }
    }

    fn on_flow_token(&mut self, flow: RunningFlow, credential: Credential, now: UnixTime) {
        // The flow just read the store under the lock: a read still in flight is stale,
        // and whoever waits for it waits for the flows from now on.
        self.last_check = Some(now);
        if self.read.take().is_some() {
            for waiter in self.waiters.values_mut() {
                waiter.on = WaitOn::Flow;
            }
        }
        self.hold = None;
        let same = self
            .held
            .as_ref()
            .is_some_and(|held| held.record.access_token == credential.access_token);
        if same {
            if self.pending_force {
                // The token the gateway rejected came back: force the refresh now, and
                // let the waiters wait for it.
                self.pending_force = false;
                self.start_flow(FlowKind::Forced);
                return;
            }
            if let Some(held) = &mut self.held {
                held.rejected = false;
            }
            if matches!(flow.kind, FlowKind::RefreshAhead | FlowKind::Forced) {
                self.back_off(now);
            }
        } else {
            self.adopt(record_of(credential, now));
            self.refresh_failures = 0;
            self.retry_at = None;
        }
        let Some(lease) = self.held.as_ref().map(Held::lease) else {
            return;
        };
        let waiters: Vec<WaiterId> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.on == WaitOn::Flow)
            .map(|(id, _)| *id)
            .collect();
        if !waiters.is_empty() {
            self.mark_used();
        }
        for waiter in waiters {
            self.answer(waiter, Ok(lease.clone()));
        }
    }

    fn on_flow_error(&mut self, flow: RunningFlow, error: &FlowError, now: UnixTime) {
        let flow_waiters: Vec<WaiterId> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.on == WaitOn::Flow)
            .map(|(id, _)| *id)
            .collect();
        let needs_login = matches!(error, FlowError::NeedsLogin(_));
        if needs_login && !flow.login && !flow_waiters.is_empty() {
            // A flow that could not sign in found that it must: requests are waiting,
            // so now run one that may.
            self.start_flow(FlowKind::Demand);
            return;
        }
        if let Some(held) = &mut self.held {
            held.rejected = false;
        }
        self.pending_force = false;
        if matches!(flow.kind, FlowKind::RefreshAhead | FlowKind::Forced) {
            self.back_off(now);
        }
        let refusal = Refusal::from_flow_error(error);
        if matches!(error, FlowError::IdpUnavailable(_)) {
            self.hold = Some((now.saturating_add(FAILURE_HOLD), refusal.clone()));
        }
        for waiter in flow_waiters {
            self.answer(waiter, Err(refusal.clone()));
        }
        // Requests waiting for a store read that is still in flight keep waiting for it.
    }

    /// Holds `record` from now on. A forced refresh still pending was for the token the
    /// gateway rejected, which this one replaces: it is dropped, or a token nobody
    /// rejected would be force-refreshed (and later, once rejected itself, again).
    fn adopt(&mut self, record: AccessRecord) {
        self.pending_force = false;
        self.next_serial += 1;
        self.held = Some(Held {
            token: Arc::new(record.access_token.clone()),
            record,
            serial: self.next_serial,
            forced: false,
            rejected: false,
            used: false,
        });
    }

    fn back_off(&mut self, now: UnixTime) {
        let factor = 1u32 << self.refresh_failures.min(5);
        let pause = RETRY_BACKOFF_MIN
            .saturating_mul(factor)
            .min(RETRY_BACKOFF_MAX);
        self.refresh_failures = self.refresh_failures.saturating_add(1);
        self.retry_at = Some(now.saturating_add(pause));
    }

    /// When the held credential should be refreshed ahead of expiry: a little before its
    /// refresh margin starts (SPEC §5), so requests never wait on the IdP.
    fn refresh_ahead_at(&self) -> Option<UnixTime> {
        let held = self.held.as_ref()?;
        if !held.used || self.flow.is_some() {
            return None;
        }
        let lead = self.lead(&held.record);
        let at =
            token::refresh_due_at(&held.record, self.settings.refresh_window).saturating_sub(lead);
        Some(self.retry_at.map_or(at, |retry| at.max(retry)))
    }

    fn lead(&self, record: &AccessRecord) -> Duration {
        (token::refresh_margin(record.lifetime, self.settings.refresh_window) / 4)
            .min(REFRESH_LEAD_MAX)
    }

    fn maybe_refresh_ahead(&mut self, now: UnixTime) {
        if self.refresh_ahead_at().is_some_and(|at| now >= at) {
            self.start_flow(FlowKind::RefreshAhead);
        }
    }

    fn ensure_flow(&mut self, kind: FlowKind) {
        if self.flow.is_none() {
            self.start_flow(kind);
        }
    }

    fn start_flow(&mut self, kind: FlowKind) {
        if self.flow.is_some() {
            return;
        }
        let goal = match kind {
            FlowKind::Prefetch | FlowKind::Demand => TokenGoal::default(),
            // Ask for more validity than the cached token has, so the flow refreshes
            // unless another process already did.
            FlowKind::RefreshAhead => {
                let min_valid = self.held.as_ref().map_or(Duration::ZERO, |held| {
                    token::refresh_margin(held.record.lifetime, self.settings.refresh_window)
                        + self.lead(&held.record)
                });
                TokenGoal {
                    min_valid,
                    force_refresh: false,
                }
            }
            FlowKind::Forced => TokenGoal {
                min_valid: Duration::ZERO,
                force_refresh: true,
            },
        };
        let login = kind != FlowKind::Prefetch;
        self.next_flow += 1;
        let id = FlowId(self.next_flow);
        self.flow = Some(RunningFlow { id, kind, login });
        self.actions
            .push_back(Action::StartFlow { id, goal, login });
    }

    fn add_waiter(&mut self, now: UnixTime, on: WaitOn) -> WaiterId {
        self.next_waiter += 1;
        let id = WaiterId(self.next_waiter);
        let deadline = now.saturating_add(self.settings.token_wait);
        self.waiters.insert(id, Waiter { deadline, on });
        id
    }

    fn answer(&mut self, waiter: WaiterId, result: Result<Lease, Refusal>) {
        if self.waiters.remove(&waiter).is_some() {
            self.answers.push_back(Answer { waiter, result });
        }
    }
}

impl Held {
    fn lease(&self) -> Lease {
        Lease {
            token: Arc::clone(&self.token),
            serial: self.serial,
        }
    }
}

/// The access record for a credential a flow just handed over.
fn record_of(credential: Credential, now: UnixTime) -> AccessRecord {
    let issued_at = match (credential.expires_at, credential.lifetime) {
        (Some(expires_at), Some(lifetime)) => expires_at.saturating_sub(lifetime),
        _ => now,
    };
    AccessRecord {
        access_token: credential.access_token,
        expires_at: credential.expires_at,
        issued_at,
        lifetime: credential.lifetime,
        generation: credential.generation,
        id_token: None,
    }
}

impl fmt::Debug for TokenBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBroker")
            .field("holds_token", &self.held.is_some())
            .field("flow_running", &self.flow.is_some())
            .field("waiters", &self.waiters.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
