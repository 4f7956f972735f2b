//! [`TokenSupply`]: runs core's [`TokenBroker`] for the proxy. The broker decides; this
//! module performs what it asks for (token flows through [`drive`], store reads), hands
//! its answers to waiting requests, and wakes it when its timers are due.
//!
//! Flows run on tasks of their own, rooted in the proxy: a client that disconnects only
//! withdraws its own wait, never a refresh or a sign-in other requests rely on.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use llmauth_blocking::{FlowSetup, file_store};
use llmauth_core::broker::{
    Action, BrokerSettings, Decision, FlowId, Lease, ReadId, Refusal, TokenBroker, WaiterId,
};
use llmauth_core::error::FlowError;
use llmauth_core::flow::TokenGoal;
use llmauth_core::secret::AccessToken;
use llmauth_core::store::{Slot, StoreError, StoreErrorKind};
use llmauth_core::time::UnixTime;
use llmauth_core::token::Credential;
use tokio::runtime::Handle;
use tokio::sync::{Notify, oneshot};

use crate::clock;
use crate::driver::drive;
use crate::io::AsyncIo;

/// The proxy's token source. Cheap to clone.
#[derive(Clone)]
pub struct TokenSupply {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the supervisor: new actions, or an earlier timeout.
    kick: Notify,
    setup: FlowSetup,
    /// Where flows and store reads run (the runtime the supply started on), whichever
    /// worker's request set them off.
    runtime: Handle,
}

struct State {
    broker: TokenBroker,
    waiters: HashMap<WaiterId, oneshot::Sender<Result<Lease, Refusal>>>,
    /// Actions taken from the broker, for the supervisor to start.
    actions: Vec<Action>,
    /// The time the supervisor sleeps until (`None`: no timer).
    armed: Option<UnixTime>,
}

impl TokenSupply {
    /// Starts the supply (and its first flow, which reads the stored session) on this
    /// thread's runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(setup: FlowSetup, token_wait: Duration) -> Self {
        let settings = BrokerSettings {
            refresh_window: setup.settings.refresh_window,
            access_slot: setup.backend.access_slot(&setup.settings.session_key),
            token_wait,
            token_kind: setup.settings.token_kind,
        };
        let broker = TokenBroker::new(settings, clock::now());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                broker,
                waiters: HashMap::new(),
                actions: Vec::new(),
                armed: None,
            }),
            kick: Notify::new(),
            setup,
            runtime: Handle::current(),
        });
        {
            let mut state = shared.lock();
            shared.pump(&mut state);
        }
        shared.runtime.spawn(supervise(Arc::clone(&shared)));
        Self { shared }
    }

    /// A token for one request: at once from memory when the broker allows, otherwise
    /// after the store read or the flow it waits for.
    ///
    /// # Errors
    /// The broker's [`Refusal`] (sign-in needed, IdP down, timed out).
    pub async fn lease(&self) -> Result<Lease, Refusal> {
        let waiting = {
            let mut state = self.shared.lock();
            let decision = state.broker.handle_request(clock::now());
            self.shared.settle(&mut state, decision)
        };
        waiting.await_answer().await
    }

    /// The gateway rejected `token`: a lease for the one retry, or `None` when the 401
    /// should go back to the client as it is.
    pub async fn after_rejection(&self, token: &AccessToken) -> Option<Result<Lease, Refusal>> {
        let waiting = {
            let mut state = self.shared.lock();
            let decision = state.broker.handle_rejected(token, clock::now())?;
            self.shared.settle(&mut state, decision)
        };
        Some(waiting.await_answer().await)
    }

    /// When the token in memory expires, if one is held.
    pub fn token_expires_at(&self) -> Option<UnixTime> {
        self.shared.lock().broker.token_expires_at()
    }
}

/// A request's wait for its answer; withdrawing it (dropping) tells the broker.
enum Waiting {
    Ready(Option<Result<Lease, Refusal>>),
    Pending {
        id: WaiterId,
        answer: oneshot::Receiver<Result<Lease, Refusal>>,
        shared: Arc<Shared>,
    },
}

impl Waiting {
    async fn await_answer(mut self) -> Result<Lease, Refusal> {
        match &mut self {
            Self::Ready(result) => result.take().unwrap_or_else(|| Err(internal_refusal())),
            Self::Pending { answer, .. } => {
                let result = answer.await;
                result.unwrap_or_else(|_| Err(internal_refusal()))
            }
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Self::Pending { id, answer, shared } = self
            && matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Empty))
        {
            // The request went away before its answer: withdraw it (the flow goes on).
            let mut state = shared.lock();
            state.waiters.remove(id);
            state.broker.cancel(*id);
        }
    }
}

fn internal_refusal() -> Refusal {
    Refusal {
        kind: llmauth_core::broker::RefusalKind::Failed,
        message: "internal error: the token supply stopped".to_owned(),
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug already reported; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns a decision into something to await, after running what it set in motion.
    fn settle(self: &Arc<Self>, state: &mut State, decision: Decision) -> Waiting {
        let waiting = match decision {
            Decision::Serve(lease) => Waiting::Ready(Some(Ok(lease))),
            Decision::Refuse(refusal) => Waiting::Ready(Some(Err(refusal))),
            Decision::Wait(id) => {
                let (sender, answer) = oneshot::channel();
                state.waiters.insert(id, sender);
                Waiting::Pending {
                    id,
                    answer,
                    shared: Arc::clone(self),
                }
            }
        };
        self.pump(state);
        waiting
    }

    /// Delivers the broker's answers and hands its actions (and a changed timer) to the
    /// supervisor. Called after every input to the broker.
    fn pump(&self, state: &mut State) {
        while let Some(answer) = state.broker.poll_answer() {
            if let Some(sender) = state.waiters.remove(&answer.waiter) {
                // A request that went away meanwhile simply does not read it.
                let _ = sender.send(answer.result);
            }
        }
        let mut wake = false;
        while let Some(action) = state.broker.poll_action() {
            state.actions.push(action);
            wake = true;
        }
        let timeout = state.broker.poll_timeout();
        if timeout.is_some() && state.armed.is_none_or(|armed| timeout < Some(armed)) {
            wake = true;
        }
        if wake {
            // Kept as a permit when the supervisor is busy.
            self.kick.notify_one();
        }
    }

    fn start_flow(self: &Arc<Self>, id: FlowId, goal: TokenGoal, login: bool) {
        let shared = Arc::clone(self);
        self.runtime.spawn(async move {
            let outcome = shared.run_flow(goal, login).await;
            if let Err(error) = &outcome {
                report(&format!("could not get an access token: {error}"));
            }
            let mut state = shared.lock();
            state.broker.handle_flow_done(id, outcome, clock::now());
            shared.pump(&mut state);
        });
    }

    async fn run_flow(
        self: &Arc<Self>,
        goal: TokenGoal,
        login: bool,
    ) -> Result<Credential, FlowError> {
        let (flow, io) = self.setup.start(goal, login, None)?;
        let notices = Arc::downgrade(self);
        let io = io.with_notice_sink(move |notice| {
            report(&notice.to_string());
            if let Some(shared) = notices.upgrade() {
                shared.lock().broker.handle_notice(notice);
            }
        });
        drive(flow, &mut AsyncIo::new(io)).await
    }

    fn start_read(self: &Arc<Self>, id: ReadId, slot: Slot) {
        let shared = Arc::clone(self);
        self.runtime.spawn(async move {
            let paths = shared.setup.paths.clone();
            let read = tokio::task::spawn_blocking(move || file_store::read_slot(&paths, &slot))
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError {
                        kind: StoreErrorKind::Io,
                        detail: "the store read stopped".to_owned(),
                    })
                });
            let mut state = shared.lock();
            state.broker.handle_stored(id, read, clock::now());
            shared.pump(&mut state);
        });
    }
}

/// Starts what the broker asked for and fires its timers, for the proxy's lifetime.
async fn supervise(shared: Arc<Shared>) {
    loop {
        let (actions, timeout) = {
            let mut state = shared.lock();
            let actions = std::mem::take(&mut state.actions);
            let timeout = state.broker.poll_timeout();
            state.armed = timeout;
            (actions, timeout)
        };
        for action in actions {
            match action {
                Action::StartFlow { id, goal, login } => shared.start_flow(id, goal, login),
                Action::ReadStore { id, slot } => shared.start_read(id, slot),
            }
        }
        let timer = async {
            match timeout {
                Some(deadline) => clock::sleep_until(deadline).await,
                None => std::future::pending::<()>().await,
            }
            true
        };
        let kick = async {
            shared.kick.notified().await;
            false
        };
        if futures_lite::future::or(kick, timer).await {
            let mut state = shared.lock();
            state.armed = None;
            state.broker.handle_timeout(clock::now());
            shared.pump(&mut state);
        }
    }
}

/// One line on stderr, prefixed so it stands out among a tool's output.
fn report(line: &str) {
    // Nothing useful can be done when stderr itself is gone.
    let _ = writeln!(std::io::stderr(), "llmauth proxy: {line}");
}
