//! The broker driven by scripts with simulated time: every decision, and the properties
//! that must hold for any sequence of inputs (single flight, no refresh storm, every
//! waiting request answered).

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::error::{IdpUnavailable, NeedsLogin, RefreshFailure};
use crate::http::{TransportError, TransportErrorKind};
use crate::provider::TokenKind;
use crate::store::SessionKey;
use crate::testing::T0;

const LIFETIME: Duration = Duration::from_secs(300);

fn settings() -> BrokerSettings {
    BrokerSettings {
        refresh_window: Duration::from_secs(600),
        access_slot: Slot::SessionFile(SessionKey::derive("g", "i", "c", "")),
        token_wait: REQUEST_TOKEN_WAIT,
        token_kind: TokenKind::Access,
    }
}

/// A flow's error when the IdP is down.
fn idp_down() -> FlowError {
    FlowError::IdpUnavailable(IdpUnavailable::Refresh(RefreshFailure::Unreachable(
        TransportError {
            kind: TransportErrorKind::Connect,
            request_sent: false,
            detail: "connection refused".to_owned(),
        },
    )))
}

/// Drives a broker and records what it asks for.
struct Script {
    broker: TokenBroker,
    now: UnixTime,
    /// Flows started, in order: (id, goal, login).
    flows: Vec<(FlowId, TokenGoal, bool)>,
    /// The flow started last and not finished.
    running: Option<FlowId>,
    /// The store read in flight.
    reading: Option<ReadId>,
    reads: usize,
    answers: BTreeMap<WaiterId, Result<Lease, Refusal>>,
    generation: u64,
}

impl Script {
    fn new() -> Self {
        let mut script = Self {
            broker: TokenBroker::new(settings(), T0),
            now: T0,
            flows: Vec::new(),
            running: None,
            reading: None,
            reads: 0,
            answers: BTreeMap::new(),
            generation: 0,
        };
        script.drain();
        script
    }

    /// A broker holding `token` (valid for LIFETIME from now), already used once.
    fn serving(token: &str) -> Self {
        let mut script = Self::new();
        script.finish_with_token(token);
        assert!(matches!(script.request(), Decision::Serve(_)));
        script
    }

    fn drain(&mut self) {
        while let Some(action) = self.broker.poll_action() {
            match action {
                Action::StartFlow { id, goal, login } => {
                    assert!(self.running.is_none(), "two flows at once");
                    self.running = Some(id);
                    self.flows.push((id, goal, login));
                }
                Action::ReadStore { id, slot } => {
                    assert_eq!(slot, settings().access_slot);
                    self.reading = Some(id);
                    self.reads += 1;
                }
            }
        }
        while let Some(answer) = self.broker.poll_answer() {
            let previous = self.answers.insert(answer.waiter, answer.result);
            assert!(previous.is_none(), "answered twice");
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now = self.now.saturating_add(by);
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    fn request(&mut self) -> Decision {
        let decision = self.broker.handle_request(self.now);
        self.drain();
        decision
    }

    fn reject(&mut self, token: &str) -> Option<Decision> {
        let decision = self
            .broker
            .handle_rejected(&AccessToken::new(token), self.now);
        self.drain();
        decision
    }

    fn credential(&mut self, token: &str) -> Credential {
        self.generation += 1;
        Credential {
            access_token: AccessToken::new(token),
            expires_at: Some(self.now.saturating_add(LIFETIME)),
            lifetime: Some(LIFETIME),
            generation: self.generation,
            newly_issued: true,
        }
    }

    fn finish(&mut self, outcome: Result<Credential, FlowError>) {
        let id = self.running.take().expect("a running flow");
        self.broker.handle_flow_done(id, outcome, self.now);
        self.drain();
    }

    fn finish_with_token(&mut self, token: &str) {
        let credential = self.credential(token);
        self.finish(Ok(credential));
    }

    fn finish_with(&mut self, credential: Credential) {
        self.finish(Ok(credential));
    }

    fn stored(&mut self, read: Result<Option<SecretBytes>, StoreError>) {
        let id = self.reading.take().expect("a store read in flight");
        self.broker.handle_stored(id, read, self.now);
        self.drain();
    }

    fn record_bytes(credential: &Credential, issued_at: UnixTime) -> SecretBytes {
        SessionRecords {
            refresh: None,
            access: Some(AccessRecord {
                access_token: credential.access_token.clone(),
                expires_at: credential.expires_at,
                issued_at,
                lifetime: credential.lifetime,
                generation: credential.generation,
                id_token: None,
            }),
        }
        .encode()
    }

    fn last_goal(&self) -> &TokenGoal {
        &self.flows.last().expect("a flow").1
    }

    fn answer(&self, decision: &Decision) -> &Result<Lease, Refusal> {
        let Decision::Wait(id) = decision else {
            panic!("not waiting: {decision:?}");
        };
        self.answers.get(id).expect("answered")
    }
}

fn token_of(decision: &Decision) -> &str {
    match decision {
        Decision::Serve(lease) => lease.token.expose_secret(),
        other => panic!("not served: {other:?}"),
    }
}

fn leased(result: &Result<Lease, Refusal>) -> &str {
    match result {
        Ok(lease) => lease.token.expose_secret(),
        Err(refusal) => panic!("refused: {refusal:?}"),
    }
}

#[test]
fn prefetches_without_login_then_serves_from_memory() {
    let mut s = Script::new();
    assert_eq!(
        s.flows,
        [(
            FlowId(1),
            TokenGoal {
                min_valid: Duration::ZERO,
                force_refresh: false
            },
            false
        )]
    );
    s.finish_with_token("A");
    for _ in 0..100 {
        assert_eq!(token_of(&s.request()), "A");
    }
    assert_eq!(s.flows.len(), 1);
    assert_eq!(s.reads, 0, "the flow just read the store");
}

#[test]
fn requests_during_the_first_flow_share_it() {
    let mut s = Script::new();
    let waiting: Vec<Decision> = (0..10).map(|_| s.request()).collect();
    assert_eq!(s.flows.len(), 1);
    s.finish_with_token("A");
    for decision in &waiting {
        assert_eq!(leased(s.answer(decision)), "A");
    }
}

#[test]
fn the_store_is_checked_at_most_once_a_second() {
    let mut s = Script::serving("A");
    s.advance(Duration::from_millis(999));
    assert_eq!(token_of(&s.request()), "A");
    assert_eq!(s.reads, 0);
    s.advance(Duration::from_millis(1));
    let first = s.request();
    let second = s.request();
    assert_eq!(s.reads, 1, "one read for both");
    let credential = s.credential("A");
    // Same token and generation as held (generation 1): unchanged.
    let unchanged = Credential {
        generation: 1,
        ..credential
    };
    s.stored(Ok(Some(Script::record_bytes(&unchanged, T0))));
    assert_eq!(leased(s.answer(&first)), "A");
    assert_eq!(leased(s.answer(&second)), "A");
    for _ in 0..10 {
        assert_eq!(token_of(&s.request()), "A");
    }
    assert_eq!(s.reads, 1);
    assert_eq!(s.flows.len(), 1);
}

#[test]
fn a_logout_elsewhere_takes_effect_on_the_next_request() {
    let mut s = Script::serving("A");
    s.advance(Duration::from_secs(2));
    let waiting = s.request();
    s.stored(Ok(None));
    assert_eq!(s.flows.len(), 2, "a flow that may sign in");
    assert!(s.flows[1].2, "may sign in");
    s.broker.handle_notice(&Notice::SignInUrl {
        url: "https://idp/authorize?x".to_owned(),
        browser_opened: false,
    });
    s.advance(REQUEST_TOKEN_WAIT);
    let Err(refusal) = s.answer(&waiting) else {
        panic!("served after logout");
    };
    assert_eq!(refusal.status(), 401);
    assert!(
        refusal.message.contains("https://idp/authorize?x"),
        "{refusal:?}"
    );
    // The login goes on; once it completes, requests are served again.
    let later = s.request();
    assert_eq!(s.flows.len(), 2, "still the same login");
    s.finish_with_token("B");
    assert_eq!(leased(s.answer(&later)), "B");
}

#[test]
fn a_refresh_elsewhere_is_adopted_without_a_flow() {
    let mut s = Script::serving("A");
    s.advance(Duration::from_secs(5));
    let waiting = s.request();
    let newer = s.credential("B");
    s.stored(Ok(Some(Script::record_bytes(&newer, s.now))));
    assert_eq!(leased(s.answer(&waiting)), "B");
    assert_eq!(s.flows.len(), 1);
}

#[test]
fn a_changed_but_stale_record_is_dropped() {
    let mut s = Script::serving("A");
    s.advance(Duration::from_secs(200));
    let waiting = s.request();
    let stale = Credential {
        expires_at: Some(s.now.saturating_add(Duration::from_secs(20))),
        ..s.credential("B")
    };
    s.stored(Ok(Some(Script::record_bytes(&stale, T0))));
    assert_eq!(s.flows.len(), 2, "a flow decides");
    assert!(!s.answers.contains_key(&match waiting {
        Decision::Wait(id) => id,
        _ => panic!(),
    }));
    s.finish_with_token("C");
    assert_eq!(leased(s.answer(&waiting)), "C");
}

#[test]
fn a_store_error_keeps_the_token() {
    let mut s = Script::serving("A");
    s.advance(Duration::from_secs(2));
    let waiting = s.request();
    s.stored(Err(StoreError {
        kind: crate::store::StoreErrorKind::Io,
        detail: "disk".to_owned(),
    }));
    assert_eq!(leased(s.answer(&waiting)), "A");
}

#[test]
fn refreshes_ahead_of_the_margin_only_after_use() {
    let mut s = Script::new();
    s.finish_with_token("A");
    assert_eq!(s.broker.poll_timeout(), None, "unused: no refresh ahead");
    assert_eq!(token_of(&s.request()), "A");
    // Margin min(600 s, 300 s / 2) = 150 s; lead min(30 s, 150 s / 4) = 30 s.
    assert_eq!(
        s.broker.poll_timeout(),
        Some(T0.saturating_add(Duration::from_secs(120)))
    );
    s.advance(Duration::from_secs(119));
    assert_eq!(s.flows.len(), 1);
    s.advance(Duration::from_secs(1));
    assert_eq!(s.flows.len(), 2);
    assert_eq!(
        s.last_goal(),
        &TokenGoal {
            min_valid: Duration::from_secs(180),
            force_refresh: false
        }
    );
    // While it runs, requests are served from memory (never waiting on the IdP).
    s.advance(Duration::from_secs(1));
    let during = s.request();
    assert_eq!(s.reads, 1);
    s.stored(Ok(Some(Script::record_bytes(
        &Credential {
            access_token: AccessToken::new("A"),
            expires_at: Some(T0.saturating_add(LIFETIME)),
            lifetime: Some(LIFETIME),
            generation: 1,
            newly_issued: true,
        },
        T0,
    ))));
    assert_eq!(leased(s.answer(&during)), "A");
    s.finish_with_token("B");
    assert_eq!(token_of(&s.request()), "B");
}

#[test]
fn an_idp_outage_backs_off_and_keeps_serving() {
    let mut s = Script::serving("A");
    let a = Credential {
        access_token: AccessToken::new("A"),
        expires_at: Some(T0.saturating_add(LIFETIME)),
        lifetime: Some(LIFETIME),
        generation: 1,
        newly_issued: true,
    };
    s.advance(Duration::from_secs(120));
    assert_eq!(s.flows.len(), 2);
    // The flow could not refresh and handed back the still-valid cached token.
    s.finish_with(a.clone());
    assert_eq!(
        s.broker.poll_timeout(),
        Some(s.now.saturating_add(Duration::from_secs(2)))
    );
    s.advance(Duration::from_secs(1));
    assert_eq!(s.flows.len(), 2, "backing off");
    s.advance(Duration::from_secs(1));
    assert_eq!(s.flows.len(), 3);
    s.finish_with(a.clone());
    assert_eq!(
        s.broker.poll_timeout(),
        Some(s.now.saturating_add(Duration::from_secs(4)))
    );
    // Requests keep working all along.
    let decision = s.request();
    if let Decision::Wait(_) = decision {
        s.stored(Ok(Some(Script::record_bytes(&a, T0))));
        assert_eq!(leased(s.answer(&decision)), "A");
    } else {
        assert_eq!(token_of(&decision), "A");
    }
}

#[test]
fn an_expired_token_makes_requests_wait_for_one_flow() {
    let mut s = Script::new();
    s.finish_with_token("A");
    s.advance(LIFETIME);
    let a = s.request();
    let b = s.request();
    assert_eq!(s.flows.len(), 2);
    assert!(s.flows[1].2, "may sign in");
    s.finish_with_token("B");
    assert_eq!(leased(s.answer(&a)), "B");
    assert_eq!(leased(s.answer(&b)), "B");
}

#[test]
fn a_gateway_401_forces_one_refresh_and_everyone_retries_with_its_result() {
    let mut s = Script::serving("A");
    let retry = s.reject("A").expect("a retry");
    assert_eq!(
        s.last_goal(),
        &TokenGoal {
            min_valid: Duration::ZERO,
            force_refresh: true
        }
    );
    let other_retry = s.reject("A").expect("joins the forced refresh");
    let fresh_request = s.request();
    assert_eq!(s.flows.len(), 2);
    s.finish_with_token("B");
    for decision in [&retry, &other_retry, &fresh_request] {
        assert_eq!(leased(s.answer(decision)), "B");
    }
    // A late 401 for the old token: retry with the current one, no refresh.
    assert_eq!(token_of(&s.reject("A").expect("retry")), "B");
    // The new token rejected soon after: passed through (spacing), no storm.
    assert_eq!(s.reject("B"), None);
    assert_eq!(s.flows.len(), 2);
}

#[test]
fn a_token_is_never_force_refreshed_twice() {
    let mut s = Script::serving("A");
    let a = Credential {
        access_token: AccessToken::new("A"),
        expires_at: Some(T0.saturating_add(LIFETIME)),
        lifetime: Some(LIFETIME),
        generation: 1,
        newly_issued: true,
    };
    let retry = s.reject("A").expect("a retry");
    s.finish_with(a);
    assert_eq!(leased(s.answer(&retry)), "A");
    s.advance(Duration::from_secs(31));
    assert_eq!(s.reject("A"), None);
    assert_eq!(s.flows.len(), 2);
}

#[test]
fn a_401_during_another_flow_forces_a_refresh_after_it_if_needed() {
    let mut s = Script::serving("A");
    s.advance(Duration::from_secs(120));
    assert_eq!(s.flows.len(), 2, "refresh ahead running");
    let a = Credential {
        access_token: AccessToken::new("A"),
        expires_at: Some(T0.saturating_add(LIFETIME)),
        lifetime: Some(LIFETIME),
        generation: 1,
        newly_issued: true,
    };
    let retry = s.reject("A").expect("a retry");
    s.finish_with(a);
    assert_eq!(s.flows.len(), 3, "forced refresh follows");
    assert_eq!(
        s.last_goal(),
        &TokenGoal {
            min_valid: Duration::ZERO,
            force_refresh: true
        }
    );
    s.finish_with_token("B");
    assert_eq!(leased(s.answer(&retry)), "B");
}

#[test]
fn an_idp_outage_without_a_token_is_held_briefly() {
    let mut s = Script::new();
    let waiting = s.request();
    s.finish(Err(idp_down()));
    let Err(refusal) = s.answer(&waiting).clone() else {
        panic!("served");
    };
    assert_eq!(refusal.status(), 502);
    let Decision::Refuse(held) = s.request() else {
        panic!("not held");
    };
    assert_eq!(held, refusal);
    assert_eq!(s.flows.len(), 1);
    s.advance(Duration::from_secs(1));
    assert!(matches!(s.request(), Decision::Wait(_)));
    assert_eq!(s.flows.len(), 2);
}

#[test]
fn a_prefetch_that_needs_a_login_hands_over_to_one_that_may() {
    let mut s = Script::new();
    let waiting = s.request();
    s.finish(Err(FlowError::NeedsLogin(NeedsLogin::NoSession)));
    assert!(s.answers.is_empty());
    assert_eq!(s.flows.len(), 2);
    assert!(s.flows[1].2, "may sign in");
    s.finish_with_token("A");
    assert_eq!(leased(s.answer(&waiting)), "A");
}

#[test]
fn a_prefetch_that_needs_a_login_waits_for_a_request() {
    let mut s = Script::new();
    s.finish(Err(FlowError::NeedsLogin(NeedsLogin::NoSession)));
    assert_eq!(s.flows.len(), 1, "no login nobody asked for");
    let waiting = s.request();
    assert_eq!(s.flows.len(), 2);
    assert!(s.flows[1].2, "may sign in");
    s.finish(Err(FlowError::LoginFailed(
        crate::error::LoginFailure::TimedOut { minutes: 5 },
    )));
    let Err(refusal) = s.answer(&waiting) else {
        panic!("served");
    };
    assert_eq!(refusal.status(), 401);
}

#[test]
fn waiters_time_out_and_cancelled_waiters_get_nothing() {
    let mut s = Script::new();
    let a = s.request();
    s.advance(Duration::from_secs(30));
    let b = s.request();
    let Decision::Wait(b_id) = b else { panic!() };
    s.broker.cancel(b_id);
    s.advance(Duration::from_secs(30));
    let Err(refusal) = s.answer(&a) else {
        panic!("served");
    };
    assert_eq!(refusal.status(), 504);
    assert!(s.broker.flow_running(), "the flow is not cancelled");
    s.finish_with_token("A");
    assert!(!s.answers.contains_key(&b_id));
}

#[test]
fn device_codes_are_named_in_refusals() {
    let mut s = Script::new();
    s.finish(Err(FlowError::NeedsLogin(NeedsLogin::NoSession)));
    let waiting = s.request();
    s.broker.handle_notice(&Notice::DeviceCode {
        verification_uri: "https://idp/device".to_owned(),
        complete_uri: None,
        user_code: "ABCD-EFGH".to_owned(),
    });
    s.advance(REQUEST_TOKEN_WAIT);
    let Err(refusal) = s.answer(&waiting) else {
        panic!("served");
    };
    assert!(
        refusal
            .message
            .contains("https://idp/device with the code ABCD-EFGH")
    );
}

#[test]
fn stale_results_are_ignored() {
    let mut s = Script::serving("A");
    s.broker
        .handle_flow_done(FlowId(99), Err(idp_down()), s.now);
    s.broker.handle_stored(ReadId(99), Ok(None), s.now);
    s.drain();
    assert_eq!(token_of(&s.request()), "A");
}

#[test]
fn health_shows_the_expiry_of_the_held_token() {
    let mut s = Script::new();
    assert_eq!(s.broker.token_expires_at(), None);
    s.finish_with_token("A");
    assert_eq!(
        s.broker.token_expires_at(),
        Some(T0.saturating_add(LIFETIME))
    );
}

#[test]
fn debug_output_never_shows_tokens() {
    let mut s = Script::new();
    s.finish_with_token("CANARY-token");
    let decision = s.request();
    assert!(!format!("{decision:?}").contains("CANARY"));
    assert!(!format!("{:?}", s.broker).contains("CANARY"));
}

/// One step of a generated script.
#[derive(Clone, Debug)]
enum Step {
    Request,
    RejectCurrent,
    RejectOld,
    FinishNew,
    FinishSame,
    FinishTransient,
    FinishNeedsLogin,
    StoreSame,
    StoreDeleted,
    StoreChanged,
    Advance(u64),
    CancelOldest,
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => Just(Step::Request),
        3 => Just(Step::RejectCurrent),
        1 => Just(Step::RejectOld),
        2 => Just(Step::FinishNew),
        1 => Just(Step::FinishSame),
        1 => Just(Step::FinishTransient),
        1 => Just(Step::FinishNeedsLogin),
        1 => Just(Step::StoreSame),
        1 => Just(Step::StoreDeleted),
        1 => Just(Step::StoreChanged),
        3 => (0u64..90_000).prop_map(Step::Advance),
        1 => Just(Step::CancelOldest),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

    /// For any sequence: at most one flow at a time (asserted in `drain`); a token is
    /// force-refreshed at most once and forced refreshes are spaced out (no storm);
    /// nobody is answered twice; everyone waiting is answered once flows end and the
    /// login wait passes.
    #[test]
    fn no_storm_single_flight_everyone_answered(steps in proptest::collection::vec(step(), 1..80)) {
        let mut s = Script::new();
        let mut current: Option<String> = None;
        let mut old: Vec<String> = Vec::new();
        let mut minted = 0u32;
        let mut waiting: BTreeSet<WaiterId> = BTreeSet::new();
        let mut cancelled: BTreeSet<WaiterId> = BTreeSet::new();
        let mut forced_for: BTreeMap<String, u32> = BTreeMap::new();
        let mut forced_at: Vec<UnixTime> = Vec::new();
        let mut flows_seen = s.flows.len();
        for step in steps {
            let holder = s.broker.held_token().map(str::to_owned);
            let decision = match step {
                Step::Request => Some(s.request()),
                Step::RejectCurrent => holder.as_deref().and_then(|t| s.reject(t)),
                Step::RejectOld => old.last().cloned().and_then(|t| s.reject(&t)),
                Step::FinishNew | Step::FinishSame | Step::FinishTransient | Step::FinishNeedsLogin if s.running.is_some() => {
                    match step {
                        Step::FinishNew => {
                            minted += 1;
                            let token = format!("T{minted}");
                            s.finish_with_token(&token);
                            if let Some(previous) = current.replace(token) {
                                old.push(previous);
                            }
                        }
                        Step::FinishSame => match &holder {
                            Some(token) => {
                                let credential = s.credential(token);
                                s.finish_with(credential);
                            }
                            None => s.finish(Err(idp_down())),
                        },
                        Step::FinishTransient => s.finish(Err(idp_down())),
                        _ => s.finish(Err(FlowError::NeedsLogin(NeedsLogin::NoSession))),
                    }
                    None
                }
                Step::StoreSame | Step::StoreDeleted | Step::StoreChanged if s.reading.is_some() => {
                    match step {
                        Step::StoreDeleted => s.stored(Ok(None)),
                        Step::StoreChanged => {
                            minted += 1;
                            let token = format!("T{minted}");
                            let credential = s.credential(&token);
                            let bytes = Script::record_bytes(&credential, s.now);
                            s.stored(Ok(Some(bytes)));
                        }
                        _ => s.stored(Err(StoreError { kind: crate::store::StoreErrorKind::Io, detail: "x".to_owned() })),
                    }
                    // What the broker holds now, as far as the model can tell.
                    match step {
                        Step::StoreDeleted => {
                            if let Some(previous) = current.take() {
                                old.push(previous);
                            }
                        }
                        Step::StoreChanged => {
                            if let Some(previous) = current.replace(format!("T{minted}")) {
                                old.push(previous);
                            }
                        }
                        _ => {}
                    }
                    None
                }
                Step::Advance(ms) => {
                    s.advance(Duration::from_millis(ms));
                    None
                }
                Step::CancelOldest => {
                    if let Some(id) = waiting.iter().next().copied() {
                        waiting.remove(&id);
                        cancelled.insert(id);
                        s.broker.cancel(id);
                    }
                    None
                }
                _ => None,
            };
            if let Some(Decision::Wait(id)) = decision {
                waiting.insert(id);
            }
            // Which token was held when each forced refresh started.
            for (_, goal, _) in &s.flows[flows_seen..] {
                if goal.force_refresh {
                    // A forced refresh starts while the rejected token is still held.
                    let rejected = s.broker.held_token().unwrap_or_default().to_owned();
                    let count = forced_for.entry(rejected).or_insert(0);
                    *count += 1;
                    proptest::prop_assert!(*count <= 1, "token force-refreshed twice");
                    forced_at.push(s.now);
                    // At most one forced refresh per 30 s, however many 401s came.
                    let windows = s.now.since(T0).as_secs() / 30;
                    proptest::prop_assert!(forced_at.len() as u64 <= 1 + windows, "refresh storm");
                }
            }
            flows_seen = s.flows.len();
            for id in s.answers.keys() {
                proptest::prop_assert!(!cancelled.contains(id), "a cancelled waiter was answered");
                waiting.remove(id);
            }
        }
        // Let every flow and read end, then the login wait pass.
        for _ in 0..4 {
            if s.reading.is_some() {
                s.stored(Ok(None));
            }
            if s.running.is_some() {
                s.finish(Err(idp_down()));
            }
        }
        s.advance(REQUEST_TOKEN_WAIT);
        for id in s.answers.keys() {
            waiting.remove(id);
        }
        proptest::prop_assert!(waiting.is_empty(), "unanswered: {waiting:?}");
    }
}
