//! [`World`]: the simulated surroundings of a flow.

use core::fmt;
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::{CANARY, ISSUER, T0, settings};
use crate::error::{FlowError, Misuse};
use crate::flow::{
    Goal, Interaction, LoggedOut, LoginGoal, LogoutGoal, SessionStatus, SignedIn, TokenFlow,
    TokenGoal,
};
use crate::http::{HttpRequest, HttpResponse, TransportError, TransportErrorKind};
use crate::intent::{
    BindError, CallbackEvent, Input, Intent, IntentResult, LockOutcome, Notice, Output,
};
use crate::secret::{AccessToken, Entropy, RefreshToken, SecretBytes, SecretUrl};
use crate::store::{
    AccessRecord, Backend, RefreshRecord, SessionRecords, Slot, StoreError, StoreErrorKind,
};
use crate::time::{UnixTime, WaitReason};
use crate::token::Credential;

/// The starting point of a simulation.
#[derive(Clone, Debug)]
pub struct WorldSetup {
    /// Where the session lives.
    pub backend: Backend,
    /// What is stored at the start.
    pub session: InitialSession,
    /// What is asked for.
    pub task: Task,
    /// What the person can do.
    pub interaction: Interaction,
}

/// What a simulation runs: a flow for one of the goals, or `status`'s reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// A token flow.
    Token(TokenGoal),
    /// A login flow.
    Login(LoginGoal),
    /// A logout flow.
    Logout(LogoutGoal),
    /// `status`: the records read and judged, without a flow.
    Status,
}

/// What any task ends in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finished {
    /// A token flow's token.
    Token(Credential),
    /// A login flow's sign-in.
    SignedIn(SignedIn),
    /// A logout flow's report.
    LoggedOut(LoggedOut),
    /// What `status` shows.
    Status(SessionStatus),
}

/// What is stored when the simulation starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialSession {
    /// Nothing.
    None,
    /// A refresh token and an access token with most of its life left.
    Fresh,
    /// A refresh token and an access token inside the refresh margin, still valid.
    Stale,
    /// A refresh token and an expired access token.
    Expired,
    /// An unreadable record.
    Corrupt,
    /// Like `Stale`, with the refresh token marked `maybe_spent`.
    MaybeSpent,
    /// Only a still-valid access token inside the margin.
    AccessOnly,
}

impl WorldSetup {
    /// Derives a setup from four script bytes (for property tests and fuzzing).
    pub fn from_bytes(bytes: [u8; 4]) -> Self {
        let backend = if bytes[0].is_multiple_of(2) {
            Backend::File
        } else {
            Backend::Keyring
        };
        let session = [
            InitialSession::None,
            InitialSession::Fresh,
            InitialSession::Stale,
            InitialSession::Expired,
            InitialSession::Corrupt,
            InitialSession::MaybeSpent,
            InitialSession::AccessOnly,
        ][usize::from(bytes[1]) % 7];
        let task = match bytes[2] % 6 {
            0 | 1 => Task::Token(TokenGoal::default()),
            2 => Task::Token(TokenGoal {
                min_valid: Duration::ZERO,
                force_refresh: true,
            }),
            3 => Task::Login(LoginGoal {
                device: bytes[2] % 12 == 3,
            }),
            4 => Task::Logout(LogoutGoal { revoke: true }),
            _ => Task::Status,
        };
        let interaction = match bytes[3] % 4 {
            0 => Interaction::NONE,
            1 => super::INTERACTIVE,
            2 => Interaction::BROWSER_ONLY,
            _ => Interaction {
                login: true,
                open_browser: false,
                paste_back: false,
                show_device_code: true,
                browser_only: false,
            },
        };
        Self {
            backend,
            session,
            task,
            interaction,
        }
    }
}

/// Kinds of intent whose answers a test can plan separately from the positional script.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Discovery GETs.
    Discovery,
    /// Refresh-token grants.
    Refresh,
    /// Authorization-code exchanges.
    CodeExchange,
    /// Device authorization requests.
    DeviceAuthorization,
    /// Device-code polls.
    DevicePoll,
    /// Revocations.
    Revoke,
    /// `AwaitCallback`.
    Callback,
    /// `OpenBrowser`.
    Browser,
    /// `BindCallback`.
    Bind,
    /// `Lock`.
    Lock,
    /// `Read`.
    Read,
    /// `Write`, `Delete`, `MoveAside`.
    Store,
    /// Anything else.
    Other,
}

/// A refresh token moving between the IdP and the flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshEvent {
    /// The IdP delivered this new refresh token in a readable answer.
    Delivered(String),
    /// The flow presented this refresh token.
    Presented(String),
}

/// Methods that pick one kind of intent (and what it carries) out of a run, in order.
macro_rules! intents_of {
    ($($(#[$doc:meta])* $name:ident -> $item:ty: $pattern:pat => $picked:expr;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> impl Iterator<Item = $item> {
            self.intents.iter().filter_map(|intent| {
                if let $pattern = intent { Some($picked) } else { None }
            })
        }
    )*};
}

/// The result of running a flow (or `status`) in a [`World`].
#[derive(Debug)]
pub struct Run<O = Finished> {
    /// The outcome, if the flow finished within the step limit.
    pub outcome: Option<Result<O, FlowError>>,
    /// Every intent the flow issued, in order (what tests look at).
    pub intents: Vec<Intent>,
    /// Every wait the flow asked for, in order.
    pub waits: Vec<WaitReason>,
    /// Every intent (as `Debug`), notice (as `Display`), result and wait, in order: what
    /// a log could show.
    pub transcript: Vec<String>,
    /// A misuse error, which would be a bug in the flow.
    pub misuse: Option<Misuse>,
}

impl<O> Run<O> {
    fn new() -> Self {
        Self {
            outcome: None,
            intents: Vec::new(),
            waits: Vec::new(),
            transcript: Vec::new(),
            misuse: None,
        }
    }

    /// The same run with its outcome mapped.
    pub fn map<P>(self, f: impl FnOnce(O) -> P) -> Run<P> {
        Run {
            outcome: self.outcome.map(|outcome| outcome.map(f)),
            intents: self.intents,
            waits: self.waits,
            transcript: self.transcript,
            misuse: self.misuse,
        }
    }

    /// How many intents match.
    pub fn count(&self, matches: impl Fn(&Intent) -> bool) -> usize {
        self.intents.iter().filter(|intent| matches(intent)).count()
    }

    /// How many intents are of this kind.
    pub fn count_kind(&self, kind: Kind) -> usize {
        self.count(|intent| Kind::of(intent) == kind)
    }

    /// Where the first matching intent is.
    pub fn position(&self, matches: impl Fn(&Intent) -> bool) -> Option<usize> {
        self.intents.iter().position(matches)
    }

    /// Where the last matching intent is.
    pub fn last_position(&self, matches: impl Fn(&Intent) -> bool) -> Option<usize> {
        self.intents.iter().rposition(matches)
    }

    intents_of! {
        /// The notices shown, in order.
        notices -> &Notice: Intent::Notify(notice) => notice;
        /// The requests sent to the IdP, in order.
        requests -> &HttpRequest: Intent::Http(request) => request;
        /// The URLs a browser was opened at, in order.
        browser_urls -> &str: Intent::OpenBrowser { url } => url.as_str();
        /// The statuses of the answers given to the browser, in order.
        answer_statuses -> u16: Intent::RespondCallback { status, .. } => *status;
    }

    /// Everything a user or a log could ever see of this run.
    pub fn visible_text(&self) -> String
    where
        O: fmt::Debug,
    {
        let mut text = self.transcript.join("\n");
        if let Some(outcome) = &self.outcome {
            text.push_str(&format!("\n{outcome:?}"));
            if let Err(error) = outcome {
                text.push_str(&format!("\n{error}\n{:?}", error.hint()));
            }
        }
        text
    }
}

/// What the simulated IdP remembers about the authorization request.
#[derive(Clone, Debug, Default)]
struct AuthRequest {
    state: String,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

/// An in-memory world: store, locks, IdP, browser and listener.
pub struct World {
    /// The simulated clock.
    pub now: UnixTime,
    script: VecDeque<u8>,
    slots: BTreeMap<Slot, Vec<u8>>,
    /// What `MoveAside` set aside, in order.
    moved_aside: Vec<(Slot, Vec<u8>)>,
    counter: u32,
    /// Refresh tokens the IdP issued, oldest first; the last one is current.
    pub issued_refresh_tokens: Vec<String>,
    /// The grant was revoked (reuse detected, or revocation).
    pub grant_revoked: bool,
    /// Refresh tokens presented to the token endpoint, in order.
    pub presented_refresh_tokens: Vec<String>,
    /// Refresh tokens delivered to the flow and presented by it, in order.
    pub refresh_log: Vec<RefreshEvent>,
    /// Authorization codes issued with the right `state`.
    pub codes_issued: Vec<String>,
    /// Code exchanges: (code, verifier matched the challenge).
    pub code_exchanges: Vec<(String, bool)>,
    /// Times a browser was opened.
    pub browsers_opened: u32,
    /// The `sub` of the ID tokens the IdP issues.
    pub subject: String,
    /// Whether discovery advertises a revocation endpoint (Entra ID and Dex do not).
    pub advertise_revocation: bool,
    /// Whether refresh answers carry an ID token (PingFederate's often do not).
    pub id_token_on_refresh: bool,
    /// The `nonce` of ID tokens issued on refresh (Keycloak and Entra repeat the sign-in's).
    pub refresh_nonce: Option<String>,
    /// The `tid` of the ID tokens the IdP issues (Entra's tenant), if any.
    pub tenant: Option<String>,
    /// A refresh request is being answered.
    refreshing: bool,
    auth: Option<AuthRequest>,
    holding_lock: bool,
    plans: BTreeMap<Kind, VecDeque<u8>>,
}

impl World {
    /// Builds a world from a setup and a script steering every answer.
    pub fn new(setup: &WorldSetup, script: &[u8]) -> Self {
        let mut world = Self {
            now: T0,
            script: script.iter().copied().collect(),
            slots: BTreeMap::new(),
            moved_aside: Vec::new(),
            counter: 0,
            issued_refresh_tokens: Vec::new(),
            grant_revoked: false,
            presented_refresh_tokens: Vec::new(),
            refresh_log: Vec::new(),
            codes_issued: Vec::new(),
            code_exchanges: Vec::new(),
            browsers_opened: 0,
            subject: "user-1".to_owned(),
            advertise_revocation: true,
            id_token_on_refresh: true,
            refresh_nonce: None,
            tenant: None,
            refreshing: false,
            auth: None,
            holding_lock: false,
            plans: BTreeMap::new(),
        };
        world.store_initial(setup);
        world
    }

    fn store_initial(&mut self, setup: &WorldSetup) {
        let key = settings().session_key;
        let age = match setup.session {
            InitialSession::None => return,
            InitialSession::Corrupt => {
                let slot = setup.backend.refresh_slot(&key);
                self.slots
                    .insert(slot, b"{\"version\":1,\"refresh\":".to_vec());
                return;
            }
            InitialSession::Fresh => 10,
            InitialSession::Stale | InitialSession::MaybeSpent | InitialSession::AccessOnly => 200,
            InitialSession::Expired => 400,
        };
        let refresh_token = format!("{CANARY}-rt-0");
        self.issued_refresh_tokens.push(refresh_token.clone());
        let issued_at = T0.saturating_sub(Duration::from_secs(age));
        let refresh = (setup.session != InitialSession::AccessOnly).then(|| RefreshRecord {
            refresh_token: RefreshToken::new(refresh_token),
            scopes: vec!["openid".into(), "offline_access".into()],
            sub: "user-1".into(),
            issuer: ISSUER.into(),
            obtained_at: issued_at,
            generation: 1,
            maybe_spent: setup.session == InitialSession::MaybeSpent,
            nonce: None,
        });
        let access = AccessRecord {
            access_token: AccessToken::new(format!("{CANARY}-at-0")),
            expires_at: Some(issued_at.saturating_add(Duration::from_secs(300))),
            issued_at,
            lifetime: Some(Duration::from_secs(300)),
            generation: 1,
            id_token: None,
        };
        match setup.backend {
            Backend::File => {
                let records = SessionRecords {
                    refresh,
                    access: Some(access),
                };
                self.slots.insert(
                    Slot::SessionFile(key),
                    records.encode().expose_secret().to_vec(),
                );
            }
            Backend::Keyring => {
                if refresh.is_some() {
                    let records = SessionRecords {
                        refresh,
                        access: None,
                    };
                    self.slots.insert(
                        Slot::Keychain(key.clone()),
                        records.encode().expose_secret().to_vec(),
                    );
                }
                let records = SessionRecords {
                    refresh: None,
                    access: Some(access),
                };
                self.slots.insert(
                    Slot::AccessCache(key),
                    records.encode().expose_secret().to_vec(),
                );
            }
        }
    }

    /// Starts a flow for `goal` with the backend and interaction of `setup`, at the
    /// world's time.
    pub fn start<G: Goal>(&self, setup: &WorldSetup, goal: G) -> TokenFlow<G> {
        let ctx = super::context(setup.backend, setup.interaction, self.now);
        TokenFlow::new(settings(), ctx, goal, Entropy::new([42; 64]), self.now)
    }

    /// Runs the task of `setup` to the end (or `max_steps`), answering from the script.
    pub fn run_task(&mut self, setup: &WorldSetup, max_steps: usize) -> Run {
        match setup.task {
            Task::Token(goal) => {
                let mut flow = self.start(setup, goal);
                self.run(&mut flow, max_steps).map(Finished::Token)
            }
            Task::Login(goal) => {
                let mut flow = self.start(setup, goal);
                self.run(&mut flow, max_steps).map(Finished::SignedIn)
            }
            Task::Logout(goal) => {
                let mut flow = self.start(setup, goal);
                self.run(&mut flow, max_steps).map(Finished::LoggedOut)
            }
            Task::Status => self.status(setup.backend),
        }
    }

    /// `status`: reads the slots core names the way the runtime does (a failed refresh-slot
    /// read is the error, a failed cache read is no token), and judges them.
    fn status(&mut self, backend: Backend) -> Run {
        let key = settings().session_key;
        let mut run = Run::new();
        let mut read = |world: &mut Self, slot: Slot| {
            let intent = Intent::Read(slot.clone());
            let choice = world.choice(&intent);
            let read = world.read(&slot, choice);
            run.transcript.push(format!("{intent:?}"));
            run.transcript.push(format!("-> {read:?}"));
            run.intents.push(intent);
            read
        };
        let (refresh_slot, cache_slot) = SessionStatus::slots(backend, &key);
        let refresh = match read(self, refresh_slot) {
            Ok(refresh) => refresh,
            Err(error) => {
                run.outcome = Some(Err(FlowError::Store(error)));
                return run;
            }
        };
        let cache = cache_slot.and_then(|slot| read(self, slot).ok().flatten());
        let status = SessionStatus::of(
            refresh.as_ref().map(SecretBytes::expose_secret),
            cache.as_ref().map(SecretBytes::expose_secret),
            self.now,
            settings().token_kind,
        );
        run.outcome = Some(Ok(Finished::Status(status)));
        run
    }

    /// Drives `flow` to the end (or `max_steps`), answering from the script.
    pub fn run<G: Goal>(&mut self, flow: &mut TokenFlow<G>, max_steps: usize) -> Run<G::Outcome> {
        let mut run = Run::new();
        let transcript = &mut run.transcript;
        for _ in 0..max_steps {
            let input = match flow.poll_output() {
                Output::Perform { id, intent } => {
                    run.intents.push(intent.clone());
                    transcript.push(format!("{intent:?}"));
                    if let Intent::Notify(notice) = intent {
                        transcript.push(notice.to_string());
                    }
                    let result = self.perform(intent);
                    transcript.push(format!("-> {result:?}"));
                    self.now = self.now.saturating_add(Duration::from_millis(7));
                    Input::Completed {
                        id,
                        now: self.now,
                        result,
                    }
                }
                Output::WaitUntil { deadline, reason } => {
                    run.waits.push(reason);
                    transcript.push(format!("wait until {deadline:?} ({reason:?})"));
                    self.now = self.now.max(deadline);
                    Input::Timeout { now: self.now }
                }
                Output::Done(outcome) => {
                    run.outcome = Some(outcome);
                    return run;
                }
            };
            if let Err(misuse) = flow.handle_input(input) {
                run.misuse = Some(misuse);
                return run;
            }
        }
        run
    }

    /// Replaces a slot's content, as another process would.
    pub fn put(&mut self, slot: &Slot, bytes: &[u8]) {
        self.slots.insert(slot.clone(), bytes.to_vec());
    }

    /// A slot's content.
    pub fn get(&self, slot: &Slot) -> Option<&[u8]> {
        self.slots.get(slot).map(Vec::as_slice)
    }

    /// Whether a slot exists.
    pub fn contains(&self, slot: &Slot) -> bool {
        self.slots.contains_key(slot)
    }

    /// The refresh token currently stored, if any (looking in every slot).
    pub fn stored_refresh_token(&self) -> Option<String> {
        self.stored_sessions().find_map(|records| {
            records
                .refresh
                .map(|r| r.refresh_token.expose_secret().to_owned())
        })
    }

    /// The access token of the stored session, if any (the access cache aside).
    pub fn stored_access_token(&self) -> Option<String> {
        self.stored_sessions().find_map(|records| {
            records
                .access
                .map(|a| a.access_token.expose_secret().to_owned())
        })
    }

    /// The readable session records of every slot but the access cache.
    fn stored_sessions(&self) -> impl Iterator<Item = SessionRecords> + '_ {
        self.slots
            .iter()
            .filter(|(slot, _)| !matches!(slot, Slot::AccessCache(_)))
            .filter_map(|(_, bytes)| SessionRecords::decode(bytes).ok())
    }

    /// Whether any slot still holds an access token.
    pub fn has_stored_access_token(&self) -> bool {
        self.slots
            .values()
            .any(|bytes| SessionRecords::decode(bytes).is_ok_and(|r| r.access.is_some()))
    }

    /// Whether the lock is held at the end.
    pub fn lock_held(&self) -> bool {
        self.holding_lock
    }

    /// The `nonce` of the last authorization request the browser was sent with.
    pub fn login_nonce(&self) -> Option<String> {
        self.auth.as_ref().map(|auth| auth.nonce.clone())
    }

    /// Plans the answers to the next intents of one kind; they take precedence over the
    /// positional script.
    pub fn plan(&mut self, kind: Kind, choices: &[u8]) -> &mut Self {
        self.plans.entry(kind).or_default().extend(choices);
        self
    }

    fn choice(&mut self, intent: &Intent) -> u8 {
        let kind = Kind::of(intent);
        if let Some(choice) = self.plans.get_mut(&kind).and_then(VecDeque::pop_front) {
            return choice;
        }
        self.script.pop_front().unwrap_or(0)
    }

    fn next(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    /// Performs one intent.
    pub fn perform(&mut self, intent: &Intent) -> IntentResult {
        let choice = self.choice(intent);
        match intent {
            Intent::Http(request) => IntentResult::Http(self.http(request, choice)),
            Intent::Read(slot) => IntentResult::Read(self.read(slot, choice)),
            Intent::Write { slot, bytes } => IntentResult::Stored(if choice % 8 == 7 {
                Err(store_error())
            } else {
                if let Slot::LoginMarker(_) = slot {
                    self.remember_authorization(bytes);
                }
                self.slots
                    .insert(slot.clone(), bytes.expose_secret().to_vec());
                Ok(())
            }),
            Intent::Delete(slot) => IntentResult::Stored(if choice % 8 == 7 {
                Err(store_error())
            } else {
                self.slots.remove(slot);
                Ok(())
            }),
            Intent::MoveAside(slot) => IntentResult::Stored(if choice % 8 == 7 {
                Err(store_error())
            } else {
                if let Some(bytes) = self.slots.remove(slot) {
                    self.moved_aside.push((slot.clone(), bytes));
                }
                Ok(())
            }),
            Intent::Lock { until, .. } => IntentResult::Lock(match choice % 8 {
                3 | 7 => {
                    // A busy lock is waited for until the deadline, as a real one is.
                    if let Some(until) = until {
                        self.now = self.now.max(*until);
                    }
                    Ok(LockOutcome::Busy)
                }
                6 => Err(store_error()),
                _ => {
                    self.holding_lock = true;
                    Ok(LockOutcome::Acquired)
                }
            }),
            Intent::Unlock(_) => {
                self.holding_lock = false;
                IntentResult::Done
            }
            Intent::OpenBrowser { .. } => IntentResult::Browser(if choice % 3 == 2 {
                Err("no opener".to_owned())
            } else {
                self.browsers_opened += 1;
                Ok(())
            }),
            Intent::BindCallback { port } => IntentResult::Bound(if choice % 5 == 4 {
                Err(BindError {
                    port: *port,
                    in_use: true,
                    detail: "in use".into(),
                })
            } else {
                Ok(if *port == 0 { 50123 } else { *port })
            }),
            Intent::AwaitCallback {
                accept_paste,
                deadline,
            } => {
                let event = self.callback(choice, *accept_paste);
                // Redirects arrive a person's second apart; a timeout comes at the deadline.
                self.now = match event {
                    CallbackEvent::TimedOut => self.now.max(*deadline),
                    CallbackEvent::Request(_) | CallbackEvent::Pasted(_) => {
                        self.now.saturating_add(Duration::from_secs(1))
                    }
                };
                IntentResult::Callback(event)
            }
            Intent::RespondCallback { .. } | Intent::CloseCallback | Intent::Notify(_) => {
                IntentResult::Done
            }
        }
    }

    fn read(&self, slot: &Slot, choice: u8) -> Result<Option<SecretBytes>, StoreError> {
        if choice % 8 == 7 {
            return Err(store_error());
        }
        Ok(self.slots.get(slot).map(|b| SecretBytes::new(b.clone())))
    }

    fn remember_authorization(&mut self, marker: &SecretBytes) {
        let Ok(marker) =
            serde_json::from_slice::<crate::store::LoginMarker>(marker.expose_secret())
        else {
            return;
        };
        let Some((_, query)) = marker.url.split_once('?') else {
            return;
        };
        let mut auth = AuthRequest::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "state" => auth.state = value.into_owned(),
                "nonce" => auth.nonce = value.into_owned(),
                "code_challenge" => auth.challenge = value.into_owned(),
                "redirect_uri" => auth.redirect_uri = value.into_owned(),
                _ => {}
            }
        }
        self.auth = Some(auth);
    }

    fn callback(&mut self, choice: u8, accept_paste: bool) -> CallbackEvent {
        let Some(auth) = self.auth.clone() else {
            return CallbackEvent::TimedOut;
        };
        let iss = url::form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>();
        match choice % 6 {
            1 => CallbackEvent::Request(SecretUrl::new(format!(
                "/callback?code={CANARY}-forged&state=wrong&iss={iss}"
            ))),
            2 => CallbackEvent::Request(SecretUrl::new("/favicon.ico")),
            3 => CallbackEvent::Request(SecretUrl::new(format!(
                "/callback?error=access_denied&state={}&iss={iss}",
                auth.state
            ))),
            4 => CallbackEvent::TimedOut,
            n => {
                let code = format!("{CANARY}-code-{}", self.next());
                self.codes_issued.push(code.clone());
                let target = format!("/callback?code={code}&state={}&iss={iss}", auth.state);
                if n == 5 && accept_paste {
                    CallbackEvent::Pasted(SecretUrl::new(format!(
                        "{}?{}",
                        auth.redirect_uri,
                        &target[10..]
                    )))
                } else {
                    CallbackEvent::Request(SecretUrl::new(target))
                }
            }
        }
    }

    fn http(&mut self, request: &HttpRequest, choice: u8) -> Result<HttpResponse, TransportError> {
        let form = form(request);
        if request.url.contains("/.well-known/") {
            return self.discovery(request, choice);
        }
        if request.url.ends_with("/device") {
            return match choice % 6 {
                1 => Ok(HttpResponse::json(400, r#"{"error":"invalid_client"}"#)),
                2 => Err(transport(false)),
                // A hostile IdP: terminal escapes in every string a person is shown.
                3 => Ok(HttpResponse::json(
                    200,
                    &format!(
                        r#"{{"device_code":"{CANARY}-dc","user_code":"ABCD\r\u001b[2K-EFGH","verification_uri":"https://idp.test/device\u001b]8;;https://evil.test/\u0007","verification_uri_complete":"https://idp.test/device?user_code=ABCD-EFGH\u001b]0;title\u0007","expires_in":600,"interval":5}}"#
                    ),
                )),
                // A verification URL a person must not be sent to.
                4 => Ok(HttpResponse::json(
                    200,
                    &format!(
                        r#"{{"device_code":"{CANARY}-dc","user_code":"ABCD-EFGH","verification_uri":"http://idp.test/device","expires_in":600,"interval":5}}"#
                    ),
                )),
                _ => Ok(HttpResponse::json(
                    200,
                    &format!(
                        r#"{{"device_code":"{CANARY}-dc","user_code":"ABCD-EFGH","verification_uri":"https://idp.test/device","verification_uri_complete":"https://idp.test/device?user_code=ABCD-EFGH","expires_in":600,"interval":5}}"#
                    ),
                )),
            };
        }
        if request.url.ends_with("/revoke") {
            return match choice % 3 {
                1 => Ok(HttpResponse::json(503, "")),
                2 => Err(transport(true)),
                _ => {
                    self.grant_revoked = true;
                    Ok(HttpResponse::json(200, ""))
                }
            };
        }
        match form.get("grant_type").map(String::as_str) {
            Some("refresh_token") => self.refresh(
                form.get("refresh_token").cloned().unwrap_or_default(),
                choice,
            ),
            Some("authorization_code") => self.exchange(&form, choice),
            Some(_) => self.device_poll(choice),
            None => Ok(HttpResponse::json(400, r#"{"error":"invalid_request"}"#)),
        }
    }

    fn discovery(
        &mut self,
        request: &HttpRequest,
        choice: u8,
    ) -> Result<HttpResponse, TransportError> {
        let issuer = if choice % 8 == 5 {
            "https://other.test"
        } else {
            ISSUER
        };
        let revocation = if self.advertise_revocation {
            r#","revocation_endpoint":"https://idp.test/revoke""#
        } else {
            ""
        };
        let document = format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"https://idp.test/auth","token_endpoint":"https://idp.test/token","device_authorization_endpoint":"https://idp.test/device"{revocation},"authorization_response_iss_parameter_supported":true}}"#
        );
        match choice % 8 {
            1 if request.url.contains("openid-configuration") => Ok(HttpResponse::json(404, "")),
            2 => Ok(HttpResponse::json(500, "")),
            3 => Ok(HttpResponse::json(200, "<html>")),
            4 => Err(transport(false)),
            _ => Ok(HttpResponse::json(200, &document)),
        }
    }

    fn refresh(&mut self, presented: String, choice: u8) -> Result<HttpResponse, TransportError> {
        self.refreshing = true;
        let answer = self.refresh_answer(presented, choice);
        self.refreshing = false;
        answer
    }

    fn refresh_answer(
        &mut self,
        presented: String,
        choice: u8,
    ) -> Result<HttpResponse, TransportError> {
        self.presented_refresh_tokens.push(presented.clone());
        self.refresh_log
            .push(RefreshEvent::Presented(presented.clone()));
        let current = self.issued_refresh_tokens.last().cloned();
        if self.grant_revoked || !self.issued_refresh_tokens.contains(&presented) {
            return Ok(invalid_grant());
        }
        if current.as_deref() != Some(presented.as_str()) {
            // Reuse of a rotated refresh token: the whole grant dies (like oidc-provider).
            self.grant_revoked = true;
            return Ok(invalid_grant());
        }
        let nonce = self.refresh_nonce.clone();
        match choice % 10 {
            1 => Ok(self.tokens(false, nonce)),
            2 => {
                self.grant_revoked = true;
                Ok(invalid_grant())
            }
            3 => Ok(HttpResponse::json(500, "")),
            4 => {
                // The IdP rotated, but its answer was unreadable.
                self.rotate();
                Ok(HttpResponse::json(200, "{\"access_token\":"))
            }
            5 => Err(transport(false)),
            6 => {
                self.rotate();
                Err(transport(true))
            }
            7 => Err(transport(true)),
            _ => Ok(self.tokens(true, nonce)),
        }
    }

    fn exchange(
        &mut self,
        form: &BTreeMap<String, String>,
        choice: u8,
    ) -> Result<HttpResponse, TransportError> {
        let code = form.get("code").cloned().unwrap_or_default();
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let auth = self.auth.clone().unwrap_or_default();
        let verifier_ok =
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == auth.challenge;
        self.code_exchanges.push((code.clone(), verifier_ok));
        if !verifier_ok
            || !self.codes_issued.contains(&code)
            || form.get("redirect_uri") != Some(&auth.redirect_uri)
        {
            return Ok(invalid_grant());
        }
        match choice % 6 {
            1 => Ok(self.tokens(false, Some(auth.nonce))),
            2 => Ok(invalid_grant()),
            3 => Ok(HttpResponse::json(500, "")),
            4 => Err(transport(true)),
            _ => {
                self.grant_revoked = false;
                Ok(self.tokens(true, Some(auth.nonce)))
            }
        }
    }

    fn device_poll(&mut self, choice: u8) -> Result<HttpResponse, TransportError> {
        match choice % 6 {
            1 | 5 => Ok(HttpResponse::json(
                400,
                r#"{"error":"authorization_pending"}"#,
            )),
            2 => Ok(HttpResponse::json(400, r#"{"error":"slow_down"}"#)),
            3 => Ok(HttpResponse::json(400, r#"{"error":"access_denied"}"#)),
            4 => Err(transport(false)),
            _ => {
                self.grant_revoked = false;
                Ok(self.tokens(true, None))
            }
        }
    }

    fn rotate(&mut self) -> String {
        let token = format!("{CANARY}-rt-{}", self.next());
        self.issued_refresh_tokens.push(token.clone());
        token
    }

    /// A token response; `nonce: None` on refresh answers without an ID token when the
    /// IdP issues none there.
    fn tokens(&mut self, new_refresh_token: bool, nonce: Option<String>) -> HttpResponse {
        let n = self.next();
        let refresh = if new_refresh_token {
            let token = self.rotate();
            self.refresh_log
                .push(RefreshEvent::Delivered(token.clone()));
            format!(r#","refresh_token":"{token}""#)
        } else {
            String::new()
        };
        let mut claims = serde_json::json!({
            "iss": ISSUER, "sub": self.subject, "aud": "llmauth-test",
            "exp": self.now.as_secs() + 300, "iat": self.now.as_secs(),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = serde_json::Value::String(nonce);
        }
        if let Some(tenant) = &self.tenant {
            claims["tid"] = serde_json::Value::String(tenant.clone());
        }
        let id_token = format!(
            "{}.{}.{CANARY}-sig",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let id_token = if self.refreshing && !self.id_token_on_refresh {
            String::new()
        } else {
            format!(r#","id_token":"{id_token}""#)
        };
        HttpResponse::json(
            200,
            &format!(
                r#"{{"access_token":"{CANARY}-at-{n}","token_type":"Bearer","expires_in":300{id_token}{refresh}}}"#
            ),
        )
    }
}

impl Kind {
    /// The kind of `intent`.
    pub fn of(intent: &Intent) -> Self {
        match intent {
            Intent::Http(request) => {
                if request.url.contains("/.well-known/") {
                    Kind::Discovery
                } else if request.url.ends_with("/device") {
                    Kind::DeviceAuthorization
                } else if request.url.ends_with("/revoke") {
                    Kind::Revoke
                } else {
                    match form(request).get("grant_type").map(String::as_str) {
                        Some("refresh_token") => Kind::Refresh,
                        Some("authorization_code") => Kind::CodeExchange,
                        _ => Kind::DevicePoll,
                    }
                }
            }
            Intent::Read(_) => Kind::Read,
            Intent::Write { .. } | Intent::Delete(_) | Intent::MoveAside(_) => Kind::Store,
            Intent::Lock { .. } => Kind::Lock,
            Intent::OpenBrowser { .. } => Kind::Browser,
            Intent::BindCallback { .. } => Kind::Bind,
            Intent::AwaitCallback { .. } => Kind::Callback,
            Intent::Unlock(_)
            | Intent::RespondCallback { .. }
            | Intent::CloseCallback
            | Intent::Notify(_) => Kind::Other,
        }
    }
}

/// The fields of a request's form body.
fn form(request: &HttpRequest) -> BTreeMap<String, String> {
    let Some(body) = &request.body else {
        return BTreeMap::new();
    };
    url::form_urlencoded::parse(body.expose_secret())
        .into_owned()
        .collect()
}

fn store_error() -> StoreError {
    StoreError {
        kind: StoreErrorKind::Io,
        detail: "simulated failure".into(),
    }
}

fn transport(request_sent: bool) -> TransportError {
    TransportError {
        kind: TransportErrorKind::Timeout,
        request_sent,
        detail: "waiting for the IdP to answer (simulated)".into(),
    }
}

fn invalid_grant() -> HttpResponse {
    HttpResponse::json(
        400,
        r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
    )
}
