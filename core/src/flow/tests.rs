//! Scripted transcripts through every branch of the flow, and the properties of
//! STYLE.md §4.8, against the simulated [`World`].

use core::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::error::{ErrorClass, IdpUnavailable, LoginFailure, Misconfiguration, NeedsLogin};
use crate::intent::{Input, Intent, IntentId, IntentResult, Output};
use crate::intent::{LockOutcome, Notice};
use crate::secret::{Entropy, RefreshToken};
use crate::setup::tool::Platform;
use crate::store::{AccessRecord, Backend, SessionRecords, Slot};
use crate::store::{LoginMarker, RefreshRecord};
use crate::testing::{
    CANARY, Finished, INTERACTIVE, InitialSession, Kind, RefreshEvent, Run, T0, Task, World,
    WorldSetup, settings,
};
use crate::time::WaitReason;

const TOKEN_GOAL: TokenGoal = TokenGoal {
    min_valid: Duration::ZERO,
    force_refresh: false,
};
const TOKEN: Task = Task::Token(TOKEN_GOAL);
const LOGIN: Task = Task::Login(LoginGoal { device: false });
const DEVICE_LOGIN: Task = Task::Login(LoginGoal { device: true });
const LOGOUT_REVOKING: Task = Task::Logout(LogoutGoal { revoke: true });

fn setup(
    backend: Backend,
    session: InitialSession,
    task: Task,
    interaction: Interaction,
) -> WorldSetup {
    WorldSetup {
        backend,
        session,
        task,
        interaction,
    }
}

fn run(setup: &WorldSetup, plans: &[(Kind, &[u8])]) -> (World, Run) {
    let mut world = World::new(setup, &[]);
    for (kind, choices) in plans {
        world.plan(*kind, choices);
    }
    let run = world.run_task(setup, 400);
    assert!(
        run.misuse.is_none(),
        "misuse: {:?}\n{}",
        run.misuse,
        run.transcript.join("\n")
    );
    assert!(
        run.outcome.is_some(),
        "did not finish:\n{}",
        run.transcript.join("\n")
    );
    assert!(
        !world.lock_held(),
        "lock not released:\n{}",
        run.transcript.join("\n")
    );
    (world, run)
}

/// The slot an intent reads, writes, deletes or moves aside.
fn slot_of(intent: &Intent) -> Option<&Slot> {
    match intent {
        Intent::Read(slot)
        | Intent::Write { slot, .. }
        | Intent::Delete(slot)
        | Intent::MoveAside(slot) => Some(slot),
        _ => None,
    }
}

fn is_http(intent: &Intent) -> bool {
    matches!(intent, Intent::Http(_))
}

fn token(run: &Run) -> String {
    match &run.outcome {
        Some(Ok(Finished::Token(credential) | Finished::SignedIn(SignedIn { credential, .. }))) => {
            credential.access_token.expose_secret().to_owned()
        }
        other => panic!("no token: {other:?}\n{}", run.transcript.join("\n")),
    }
}

fn error<O: fmt::Debug>(run: &Run<O>) -> FlowError {
    match &run.outcome {
        Some(Err(error)) => error.clone(),
        other => panic!("no error: {other:?}\n{}", run.transcript.join("\n")),
    }
}

// ---- fast path -----------------------------------------------------------------------

#[test]
fn fresh_cached_token_is_one_read_and_nothing_else() {
    for backend in [Backend::File, Backend::Keyring] {
        let (_, run) = run(
            &setup(backend, InitialSession::Fresh, TOKEN, Interaction::NONE),
            &[],
        );
        assert_eq!(token(&run), format!("{CANARY}-at-0"));
        let expected = backend.access_slot(&settings().session_key);
        assert_eq!(run.intents, [Intent::Read(expected)]);
    }
}

#[test]
fn min_valid_raises_the_margin() {
    let goal = Task::Token(TokenGoal {
        min_valid: Duration::from_secs(295),
        force_refresh: false,
    });
    let (_, run) = run(
        &setup(
            Backend::File,
            InitialSession::Fresh,
            goal,
            Interaction::NONE,
        ),
        &[],
    );
    assert_eq!(run.count_kind(Kind::Refresh), 1);
}

#[test]
fn force_refresh_refreshes_a_fresh_token() {
    let goal = Task::Token(TokenGoal {
        min_valid: Duration::ZERO,
        force_refresh: true,
    });
    let (world, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::Fresh,
            goal,
            Interaction::NONE,
        ),
        &[],
    );
    assert_eq!(run.count_kind(Kind::Refresh), 1);
    assert_ne!(token(&run), format!("{CANARY}-at-0"));
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

// ---- refresh -------------------------------------------------------------------------

#[test]
fn stale_token_refreshes_once_and_persists_the_rotated_refresh_token_first() {
    let (world, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::Stale,
            TOKEN,
            Interaction::NONE,
        ),
        &[],
    );
    let order = [
        run.position(|i| matches!(i, Intent::Lock { .. })),
        run.position(|i| matches!(i, Intent::Read(Slot::Keychain(_)))),
        run.position(|i| Kind::of(i) == Kind::Refresh),
        run.position(|i| {
            matches!(
                i,
                Intent::Write {
                    slot: Slot::Keychain(_),
                    ..
                }
            )
        }),
        run.position(|i| {
            matches!(
                i,
                Intent::Write {
                    slot: Slot::AccessCache(_),
                    ..
                }
            )
        }),
        run.position(|i| matches!(i, Intent::Unlock(_))),
    ];
    assert!(
        order[0].is_some() && order.is_sorted_by(|a, b| a < b),
        "{order:?}: {:?}",
        run.intents
    );
    assert!(
        run.requests()
            .any(|r| r.form_field("resource").as_deref() == Some("https://gateway.test")),
        "resource on refresh"
    );
    assert_eq!(token(&run), format!("{CANARY}-at-1"));
    assert_eq!(world.issued_refresh_tokens.len(), 2);
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

#[test]
fn refresh_without_rotation_keeps_the_refresh_token_and_skips_the_keychain_write() {
    // Script: lock, keychain read, access read, discovery cache read, discovery GET, then
    // the refresh answers without a new refresh token (choice 1).
    let (world, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::Stale,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Refresh, &[1])],
    );
    assert_eq!(
        run.count(|i| matches!(
            i,
            Intent::Write {
                slot: Slot::Keychain(_),
                ..
            }
        )),
        0,
        "{:?}",
        run.intents
    );
    assert_eq!(
        world.stored_refresh_token().as_deref(),
        Some(format!("{CANARY}-rt-0").as_str())
    );
    assert!(token(&run).starts_with(CANARY));
}

#[test]
fn a_token_refreshed_by_another_process_is_used_without_a_request() {
    let s = setup(
        Backend::File,
        InitialSession::Stale,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    // The fast-path read happens; then another process refreshes before we get the lock.
    let partial = world.run(&mut flow, 1);
    assert!(partial.outcome.is_none());
    let key = settings().session_key;
    let records = SessionRecords {
        refresh: None,
        access: Some(AccessRecord {
            access_token: crate::secret::AccessToken::new("other-process-token"),
            expires_at: Some(world.now.saturating_add(Duration::from_secs(300))),
            issued_at: world.now,
            lifetime: Some(Duration::from_secs(300)),
            generation: 7,
            id_token: None,
        }),
    };
    world.put(&Slot::SessionFile(key), records.encode().expose_secret());
    let rest = world.run(&mut flow, 100).map(Finished::Token);
    assert_eq!(token(&rest), "other-process-token");
    assert_eq!(rest.count(is_http), 0);
    assert!(!world.lock_held());
}

#[test]
fn invalid_grant_ends_the_session_without_a_login_when_non_interactive() {
    // Refresh answer: invalid_grant (choice 2) at the 6th intent (lock, read, read cache,
    // discovery read, discovery GET, refresh).
    let (world, run) = run(
        &setup(
            Backend::File,
            InitialSession::Expired,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Refresh, &[2])],
    );
    assert!(
        matches!(
            error(&run),
            FlowError::NeedsLogin(NeedsLogin::SessionEnded {
                maybe_spent: false,
                ..
            })
        ),
        "{:?}",
        run.outcome
    );
    assert_eq!(run.count(|i| matches!(i, Intent::OpenBrowser { .. })), 0);
    assert_eq!(
        world.stored_refresh_token(),
        None,
        "the dead session is deleted"
    );
    assert!(
        run.count(|i| matches!(i, Intent::Read(Slot::SessionFile(_)))) >= 3,
        "the record is re-read after invalid_grant"
    );
}

#[test]
fn invalid_grant_starts_a_login_when_interactive() {
    let (world, run) = run(
        &setup(Backend::File, InitialSession::Expired, TOKEN, INTERACTIVE),
        &[(Kind::Refresh, &[2])],
    );
    assert_eq!(run.count(|i| matches!(i, Intent::OpenBrowser { .. })), 1);
    assert!(token(&run).starts_with(CANARY));
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

#[test]
fn invalid_grant_after_rotation_elsewhere_retries_with_the_newer_token() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    // The refresh (6th intent) answers invalid_grant; meanwhile another process rotated.
    let mut world = World::new(&s, &[]);
    world.plan(Kind::Refresh, &[2]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    // Up to and including the refresh request.
    let partial = world.run(&mut flow, 7);
    assert!(partial.outcome.is_none());
    // Another process rotated the token (the IdP knows the newer one).
    world.issued_refresh_tokens.push("newer-rt".to_owned());
    world.grant_revoked = false;
    let key = settings().session_key;
    let records = SessionRecords {
        refresh: Some(RefreshRecord {
            refresh_token: RefreshToken::new("newer-rt"),
            scopes: vec![],
            sub: "user-1".into(),
            issuer: crate::testing::ISSUER.into(),
            obtained_at: world.now,
            generation: 5,
            maybe_spent: false,
            nonce: None,
        }),
        access: None,
    };
    world.put(&Slot::SessionFile(key), records.encode().expose_secret());
    let rest = world.run(&mut flow, 100).map(Finished::Token);
    assert!(token(&rest).starts_with(CANARY));
    assert_eq!(
        world.presented_refresh_tokens.last().map(String::as_str),
        Some("newer-rt")
    );
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

/// An ended session is ended (issue 8): after `invalid_grant` (and the re-read under
/// the lock), the cached access token is not handed out either, though it has not expired:
/// a provider that detected reuse revoked it with the refresh token.
#[test]
fn an_ended_session_no_longer_serves_its_cached_token() {
    for backend in [Backend::File, Backend::Keyring] {
        let s = setup(backend, InitialSession::Stale, TOKEN, Interaction::NONE);
        let (world, run) = run(&s, &[(Kind::Refresh, &[2])]);
        let error = error(&run);
        assert!(
            matches!(
                error,
                FlowError::NeedsLogin(NeedsLogin::SessionEnded { .. })
            ),
            "{error:?}"
        );
        assert_eq!(error.class(), ErrorClass::AuthRequired);
        assert_eq!(
            world.stored_refresh_token(),
            None,
            "the dead refresh token is deleted"
        );
        assert!(
            !world.has_stored_access_token(),
            "the cached access token is deleted too"
        );
        assert_eq!(run.notices().count(), 0, "{:?}", run.intents);
        // The next call finds nothing to serve.
        let next = setup(backend, InitialSession::None, TOKEN, Interaction::NONE);
        let mut world = world;
        let again = world.run_task(&next, 100);
        assert!(
            matches!(
                again.outcome,
                Some(Err(FlowError::NeedsLogin(NeedsLogin::NoSession)))
            ),
            "{:?}",
            again.outcome
        );
    }
}

#[test]
fn a_refresh_naming_another_user_keeps_the_rotated_refresh_token_but_never_its_access_token() {
    let s = setup(
        Backend::File,
        InitialSession::Stale,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    world.subject = "someone-else".to_owned();
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 100).map(Finished::Token);
    let error = error(&run);
    assert!(
        matches!(error, FlowError::IdToken(_)) && error.to_string().contains("sub"),
        "{error:?}"
    );
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
    // The next call serves the original user's still-fresh-enough token, not the other one.
    let s = setup(
        Backend::File,
        InitialSession::Stale,
        Task::Status,
        Interaction::NONE,
    );
    let inspect = world.run_task(&s, 100);
    let Some(Ok(Finished::Status(status))) = inspect.outcome else {
        panic!()
    };
    assert_eq!(
        status.access_expires_at,
        Some(Some(T0.saturating_add(Duration::from_secs(100))))
    );
}

#[test]
fn keyring_waiters_take_a_refreshed_token_from_the_cache_without_the_keychain() {
    let s = setup(
        Backend::Keyring,
        InitialSession::Stale,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    let _ = world.run(&mut flow, 1);
    let key = settings().session_key;
    let records = SessionRecords {
        refresh: None,
        access: Some(AccessRecord {
            access_token: crate::secret::AccessToken::new("refreshed-elsewhere"),
            expires_at: Some(world.now.saturating_add(Duration::from_secs(300))),
            issued_at: world.now,
            lifetime: Some(Duration::from_secs(300)),
            generation: 9,
            id_token: None,
        }),
    };
    world.put(&Slot::AccessCache(key), records.encode().expose_secret());
    let rest = world.run(&mut flow, 100).map(Finished::Token);
    assert_eq!(token(&rest), "refreshed-elsewhere");
    assert_eq!(
        rest.count(|i| matches!(slot_of(i), Some(Slot::Keychain(_)))),
        0,
        "{:?}",
        rest.intents
    );
}

#[test]
fn transient_failure_serves_a_still_valid_token_with_a_warning() {
    // Refresh answers 500 (choice 3).
    let (_, run) = run(
        &setup(
            Backend::File,
            InitialSession::Stale,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Refresh, &[3])],
    );
    assert_eq!(token(&run), format!("{CANARY}-at-0"));
    assert!(
        run.notices()
            .any(|n| matches!(n, Notice::ServingCachedToken { .. })),
        "{:?}",
        run.intents
    );
}

#[test]
fn transient_failure_after_expiry_is_transient_and_never_opens_a_browser() {
    for interaction in [Interaction::NONE, INTERACTIVE] {
        let (world, run) = run(
            &setup(Backend::File, InitialSession::Expired, TOKEN, interaction),
            &[(Kind::Refresh, &[3])],
        );
        assert!(
            matches!(error(&run), FlowError::IdpUnavailable(_)),
            "{:?}",
            run.outcome
        );
        assert_eq!(world.browsers_opened, 0);
        assert_eq!(run.count(|i| matches!(i, Intent::BindCallback { .. })), 0);
        assert_eq!(
            world.stored_refresh_token().as_deref(),
            Some(format!("{CANARY}-rt-0").as_str())
        );
    }
}

#[test]
fn discovery_outage_during_refresh_serves_the_valid_token() {
    // Discovery GET times out before sending (choice 4).
    let (_, run) = run(
        &setup(
            Backend::File,
            InitialSession::Stale,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Discovery, &[4])],
    );
    assert_eq!(token(&run), format!("{CANARY}-at-0"));
}

#[test]
fn a_lost_answer_marks_maybe_spent_and_retries_once() {
    // Refresh: transport error after sending, not consumed (choice 7); then success.
    let (world, run) = run(
        &setup(
            Backend::File,
            InitialSession::Expired,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Refresh, &[7])],
    );
    assert_eq!(run.count_kind(Kind::Refresh), 2);
    assert!(token(&run).starts_with(CANARY));
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
    let marked = run.position(|i| {
        matches!(
            i,
            Intent::Write {
                slot: Slot::SessionFile(_),
                ..
            }
        )
    });
    let second = run.last_position(|i| Kind::of(i) == Kind::Refresh);
    assert!(marked < second, "maybe_spent is persisted before the retry");
}

#[test]
fn a_lost_answer_that_spent_the_token_ends_the_session_with_an_explanation() {
    // The IdP rotated but the answer was lost (choice 6); the retry gets invalid_grant.
    let (_, run) = run(
        &setup(
            Backend::File,
            InitialSession::Expired,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Refresh, &[6])],
    );
    let error = error(&run);
    assert!(
        matches!(
            error,
            FlowError::NeedsLogin(NeedsLogin::SessionEnded {
                maybe_spent: true,
                ..
            })
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("answer was lost"));
}

#[test]
fn an_unreadable_success_is_treated_as_a_lost_answer() {
    // Choice 4: the IdP rotated, answered garbage; the retry with the old token fails.
    let (_, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::Stale,
            TOKEN,
            Interaction::NONE,
        ),
        &[(Kind::Refresh, &[4])],
    );
    assert_eq!(run.count_kind(Kind::Refresh), 2);
    // The access token was still valid: served with a warning, although the session ended.
    assert!(
        matches!(run.outcome, Some(Err(FlowError::NeedsLogin(_))))
            || token(&run) == format!("{CANARY}-at-0")
    );
}

#[test]
fn refresh_config_errors_are_config_errors() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    // Cache, lock, session, discovery cache, discovery GET, discovery cache write.
    let _ = world.run(&mut flow, 6);
    let Output::Perform { id, intent } = flow.poll_output() else {
        panic!()
    };
    assert!(matches!(intent, Intent::Http(_)));
    let result = IntentResult::Http(Ok(crate::http::HttpResponse::json(
        401,
        r#"{"error":"invalid_client"}"#,
    )));
    flow.handle_input(Input::Completed {
        id,
        now: world.now,
        result,
    })
    .unwrap();
    let rest = world.run(&mut flow, 10).map(Finished::Token);
    assert!(matches!(error(&rest), FlowError::Misconfigured(_)));
}

#[test]
fn the_time_budget_bounds_a_refresh() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    let _ = world.run(&mut flow, 3);
    world.now = world.now.saturating_add(Duration::from_secs(60));
    let rest = world.run(&mut flow, 20).map(Finished::Token);
    assert!(matches!(error(&rest), FlowError::IdpUnavailable(_)));
    assert_eq!(rest.count(is_http), 0);
}

// ---- no session, corrupt session, locks ---------------------------------------------------

#[test]
fn no_session_non_interactive_needs_login_without_network() {
    let (_, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::None,
            TOKEN,
            Interaction::NONE,
        ),
        &[],
    );
    assert_eq!(error(&run), FlowError::NeedsLogin(NeedsLogin::NoSession));
    assert_eq!(run.count(is_http), 0);
    assert!(
        error(&run)
            .hint()
            .is_some_and(|h| h.contains("llmauth login"))
    );
}

#[test]
fn access_only_session_serves_its_valid_token() {
    let (_, run) = run(
        &setup(
            Backend::File,
            InitialSession::AccessOnly,
            TOKEN,
            Interaction::NONE,
        ),
        &[],
    );
    assert_eq!(token(&run), format!("{CANARY}-at-0"));
}

#[test]
fn corrupt_session_non_interactive_is_left_untouched() {
    let (world, run) = run(
        &setup(
            Backend::File,
            InitialSession::Corrupt,
            TOKEN,
            Interaction::NONE,
        ),
        &[],
    );
    assert!(matches!(
        error(&run),
        FlowError::NeedsLogin(NeedsLogin::CorruptSession { .. })
    ));
    assert_eq!(run.count_kind(Kind::Store), 0, "{:?}", run.intents);
    assert!(world.contains(&Slot::SessionFile(settings().session_key)));
}

#[test]
fn corrupt_session_interactive_is_moved_aside_before_a_login() {
    let (world, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::Corrupt,
            TOKEN,
            INTERACTIVE,
        ),
        &[],
    );
    let moved = run.position(|i| matches!(i, Intent::MoveAside(Slot::Keychain(_))));
    let bound = run.position(|i| matches!(i, Intent::BindCallback { .. }));
    assert!(moved.is_some() && moved < bound, "{:?}", run.intents);
    assert!(token(&run).starts_with(CANARY));
    assert!(
        run.notices()
            .any(|n| matches!(n, Notice::SessionMovedAside { .. }))
    );
    assert_eq!(
        world.stored_refresh_token(),
        world.issued_refresh_tokens.last().cloned()
    );
}

#[test]
fn a_login_elsewhere_ends_a_non_interactive_waiter_at_once() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    world.plan(Kind::Lock, &[3]);
    let marker = LoginMarker {
        pid: 1,
        url: "https://idp.test/auth?x".into(),
        user_code: None,
    };
    world.put(
        &Slot::LoginMarker(settings().session_key),
        &serde_json::to_vec(&marker).unwrap(),
    );
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 50).map(Finished::Token);
    let error = error(&run);
    assert!(
        matches!(
            error,
            FlowError::NeedsLogin(NeedsLogin::LoginInProgress { .. })
        ),
        "{error:?}"
    );
    assert!(
        error
            .hint()
            .is_some_and(|h| h.contains("https://idp.test/auth?x"))
    );
}

#[test]
fn an_interactive_waiter_shows_the_other_login_once_and_waits() {
    let s = setup(Backend::File, InitialSession::Expired, TOKEN, INTERACTIVE);
    // Lock busy (3), marker read, lock wait busy (3), marker read, lock wait acquired.
    let mut world = World::new(&s, &[]);
    world.plan(Kind::Lock, &[3, 3, 0]);
    let marker = LoginMarker {
        pid: 1,
        url: "https://idp.test/auth?x".into(),
        user_code: Some("WXYZ".into()),
    };
    world.put(
        &Slot::LoginMarker(settings().session_key),
        &serde_json::to_vec(&marker).unwrap(),
    );
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 100).map(Finished::Token);
    assert_eq!(
        run.notices()
            .filter(|n| matches!(n, Notice::LoginInProgressElsewhere { .. }))
            .count(),
        1
    );
    assert!(token(&run).starts_with(CANARY));
}

#[test]
fn an_unusable_lock_file_is_a_store_error() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let (_, run) = run(&s, &[(Kind::Lock, &[6])]);
    assert!(
        matches!(error(&run), FlowError::Store(_)),
        "{:?}",
        run.outcome
    );
}

#[test]
fn a_lock_held_past_the_budget_is_a_lock_timeout() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    let _ = world.run(&mut flow, 1);
    for _ in 0..100 {
        let (id, lock) = match flow.poll_output() {
            Output::Perform {
                id,
                intent: Intent::Lock { .. },
            } => (id, true),
            Output::Perform { id, .. } => (id, false),
            other => panic!("{other:?}"),
        };
        let result = if lock {
            world.now = world.now.saturating_add(Duration::from_millis(250));
            IntentResult::Lock(Ok(LockOutcome::Busy))
        } else {
            IntentResult::Read(Ok(None))
        };
        flow.handle_input(Input::Completed {
            id,
            now: world.now,
            result,
        })
        .unwrap();
        if let Output::Done(outcome) = flow.poll_output() {
            assert_eq!(outcome, Err(FlowError::LockTimeout));
            return;
        }
    }
    panic!("no lock timeout");
}

// ---- login ------------------------------------------------------------------------------

#[test]
fn login_runs_pkce_with_state_nonce_resource_and_cleans_up() {
    let login = LOGIN;
    let (world, run) = run(
        &setup(Backend::Keyring, InitialSession::Fresh, login, INTERACTIVE),
        &[],
    );
    let Some(Ok(Finished::SignedIn(SignedIn {
        sub,
        refresh_token: true,
        ..
    }))) = &run.outcome
    else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(sub, "user-1");
    assert_eq!(world.code_exchanges.len(), 1);
    assert!(
        world
            .code_exchanges
            .iter()
            .all(|(_, verifier_ok)| *verifier_ok)
    );
    let url = run.browser_urls().next().unwrap();
    for part in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "scope=openid+offline_access",
        "resource=https%3A%2F%2Fgateway.test",
    ] {
        assert!(url.contains(part), "{part}: {url}");
    }
    assert!(!url.contains("prompt="), "no prompt by default");
    assert!(
        matches!(
            &run.intents[run.intents.len() - 3..],
            [
                Intent::Delete(Slot::LoginMarker(_)),
                Intent::CloseCallback,
                Intent::Unlock(_)
            ]
        ),
        "{:?}",
        run.intents
    );
    assert!(run.answer_statuses().any(|status| status == 200));
}

#[test]
fn prompt_and_auth_params_reach_the_authorization_url() {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let mut world = World::new(&s, &[]);
    let mut settings = settings();
    settings.authorization_params = vec![
        ("prompt".into(), "consent".into()),
        ("access_type".into(), "offline".into()),
    ];
    let ctx = crate::testing::context(Backend::File, INTERACTIVE, world.now);
    let mut flow = TokenFlow::new(
        settings,
        ctx,
        LoginGoal { device: false },
        Entropy::new([1; 64]),
        world.now,
    );
    let run = world.run(&mut flow, 100).map(Finished::SignedIn);
    let url = run.browser_urls().next().unwrap();
    assert!(
        url.contains("prompt=consent") && url.contains("access_type=offline"),
        "{url}"
    );
}

#[test]
fn a_wrong_state_is_ignored_and_never_exchanged() {
    // Await answers: wrong state (1), favicon (2), then the real redirect (0).
    let login = LOGIN;
    let s = setup(Backend::File, InitialSession::None, login, INTERACTIVE);
    let (world, run) = run(&s, &[(Kind::Callback, &[1, 2, 0])]);
    assert!(
        matches!(run.outcome, Some(Ok(Finished::SignedIn(_)))),
        "{}",
        run.transcript.join("\n")
    );
    assert_eq!(run.count_kind(Kind::Callback), 3, "{:?}", run.intents);
    assert_eq!(world.code_exchanges.len(), 1);
    assert!(!world.code_exchanges[0].0.contains("forged"));
    assert!(run.answer_statuses().any(|status| status == 400));
    assert!(run.answer_statuses().any(|status| status == 404));
}

#[test]
fn an_idp_error_on_the_redirect_ends_the_login() {
    let s = setup(Backend::File, InitialSession::None, TOKEN, INTERACTIVE);
    let (world, run) = run(&s, &[(Kind::Callback, &[3])]);
    assert!(
        matches!(
            error(&run),
            FlowError::LoginFailed(LoginFailure::Callback(_))
        ),
        "{}",
        run.transcript.join("\n")
    );
    assert!(world.code_exchanges.is_empty());
    assert_eq!(world.browsers_opened, 1);
}

#[test]
fn a_login_nobody_completes_times_out() {
    let s = setup(Backend::File, InitialSession::None, TOKEN, INTERACTIVE);
    let (_, run) = run(&s, &[(Kind::Callback, &[4])]);
    assert_eq!(
        error(&run),
        FlowError::LoginFailed(LoginFailure::TimedOut { minutes: 5 })
    );
}

#[test]
fn a_busy_callback_port_is_named() {
    let s = setup(Backend::File, InitialSession::None, TOKEN, INTERACTIVE);
    let (_, run) = run(&s, &[(Kind::Bind, &[4])]);
    assert_eq!(error(&run), FlowError::CallbackPortInUse { port: 8666 });
}

#[test]
fn skip_browser_prints_the_url_and_accepts_a_pasted_redirect() {
    let interaction = Interaction {
        login: true,
        open_browser: false,
        paste_back: true,
        show_device_code: true,
        browser_only: false,
    };
    let s = setup(Backend::File, InitialSession::None, TOKEN, interaction);
    let (world, run) = run(&s, &[(Kind::Callback, &[5])]);
    assert_eq!(world.browsers_opened, 0);
    assert!(run.notices().any(|n| matches!(
        n,
        Notice::SignInUrl { url, browser_opened: false } if url.starts_with("https://idp.test/auth?")
    )));
    assert!(run.notices().any(|n| matches!(n, Notice::PasteBackHint)));
    assert!(token(&run).starts_with(CANARY));
}

#[test]
fn no_browser_falls_back_to_the_device_flow() {
    let s = setup(Backend::File, InitialSession::None, TOKEN, INTERACTIVE);
    // Browser fails (2) at the 9th intent.
    let (world, run) = run(&s, &[(Kind::Browser, &[2])]);
    assert_eq!(run.count(|i| matches!(i, Intent::CloseCallback)), 1);
    assert!(run.notices().any(|n| matches!(
        n,
        Notice::DeviceCode { verification_uri, user_code, .. }
            if verification_uri == "https://idp.test/device" && user_code == "ABCD-EFGH"
    )));
    assert!(token(&run).starts_with(CANARY));
    assert!(world.code_exchanges.is_empty());
}

#[test]
fn missing_refresh_token_is_explained() {
    let login = LOGIN;
    // Exchange answers without a refresh token (choice 1) at the 13th intent.
    let (world, run) = run(
        &setup(Backend::File, InitialSession::None, login, INTERACTIVE),
        &[(Kind::CodeExchange, &[1])],
    );
    assert!(
        matches!(
            run.outcome,
            Some(Ok(Finished::SignedIn(SignedIn {
                refresh_token: false,
                ..
            })))
        ),
        "{}",
        run.transcript.join("\n")
    );
    assert!(run.notices().any(|n| matches!(n, Notice::NoRefreshToken)));
    assert_eq!(world.stored_refresh_token(), None);
    assert!(world.has_stored_access_token());
}

#[test]
fn issuer_mismatch_in_discovery_is_a_config_error() {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let (_, run) = run(&s, &[(Kind::Discovery, &[5])]);
    let error = error(&run);
    assert!(
        matches!(error, FlowError::Misconfigured(_))
            && error.to_string().contains("https://other.test"),
        "{error:?}"
    );
}

#[test]
fn discovery_falls_back_to_rfc8414() {
    let s = setup(Backend::File, InitialSession::None, LOGIN, INTERACTIVE);
    let (_, run) = run(&s, &[(Kind::Discovery, &[1])]);
    assert!(
        run.requests()
            .any(|r| r.url == "https://idp.test/.well-known/oauth-authorization-server/realms/r")
    );
    assert!(matches!(run.outcome, Some(Ok(Finished::SignedIn(_)))));
}

// ---- device flow ------------------------------------------------------------------------

#[test]
fn device_flow_polls_pending_and_slows_down() {
    let s = setup(
        Backend::File,
        InitialSession::None,
        DEVICE_LOGIN,
        INTERACTIVE,
    );
    // lock, read, discovery read, GET, device auth, marker write, notice, polls: pending (1), slow_down (2), ok.
    let (_, run) = run(&s, &[(Kind::DevicePoll, &[1, 2, 0])]);
    assert!(
        matches!(run.outcome, Some(Ok(Finished::SignedIn(_)))),
        "{}",
        run.transcript.join("\n")
    );
    assert_eq!(run.waits, [WaitReason::DevicePoll; 3]);
    assert!(
        run.browser_urls().next().is_none()
            && run.requests().all(|r| r.form_field("nonce").is_none()),
        "device flow sends no nonce"
    );
}

#[test]
fn device_flow_denied_ends_the_login() {
    let s = setup(
        Backend::File,
        InitialSession::None,
        DEVICE_LOGIN,
        INTERACTIVE,
    );
    let (_, run) = run(&s, &[(Kind::DevicePoll, &[3])]);
    assert!(matches!(
        error(&run),
        FlowError::LoginFailed(LoginFailure::TokenEndpoint(_))
    ));
}

#[test]
fn a_device_code_nobody_enters_times_out_after_its_lifetime() {
    let s = setup(
        Backend::File,
        InitialSession::None,
        DEVICE_LOGIN,
        INTERACTIVE,
    );
    // The code lives 600 s and is polled every 5 s: pending until it expires.
    let (_, run) = run(&s, &[(Kind::DevicePoll, &[1; 130])]);
    let error = error(&run);
    assert_eq!(
        error,
        FlowError::LoginFailed(LoginFailure::TimedOut { minutes: 10 })
    );
    assert_eq!(
        error.to_string(),
        "the sign-in was not completed within 10 minutes"
    );
}

#[test]
fn idp_text_of_a_device_sign_in_reaches_the_terminal_clean() {
    let s = setup(
        Backend::File,
        InitialSession::None,
        DEVICE_LOGIN,
        INTERACTIVE,
    );
    let (_, run) = run(
        &s,
        &[(Kind::DeviceAuthorization, &[3]), (Kind::DevicePoll, &[0])],
    );
    let shown: Vec<String> = run.notices().map(ToString::to_string).collect();
    let shown = shown.join("\n");
    assert!(
        !shown.chars().any(|c| c.is_control() && c != '\n'),
        "{shown:?}"
    );
    assert!(!shown.contains("evil.test"), "{shown:?}");
    assert!(
        shown.contains("visit https://idp.test/device and enter the code: ABCD-EFGH"),
        "{shown:?}"
    );
}

#[test]
fn a_device_verification_url_that_is_not_https_stops_the_sign_in() {
    let s = setup(
        Backend::File,
        InitialSession::None,
        DEVICE_LOGIN,
        INTERACTIVE,
    );
    let (world, run) = run(&s, &[(Kind::DeviceAuthorization, &[4])]);
    let error = error(&run);
    assert_eq!(error.class(), ErrorClass::Bug, "{error}");
    assert!(
        error.to_string().contains("http://idp.test/device"),
        "{error}"
    );
    assert_eq!(run.notices().count(), 0, "nobody is sent there");
    assert_eq!(run.count_kind(Kind::DevicePoll), 0);
    assert!(!world.contains(&Slot::LoginMarker(settings().session_key)));
}

// ---- logout and inspect ---------------------------------------------------------------------

#[test]
fn logout_revokes_then_deletes_the_access_cache_first() {
    let (world, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::Fresh,
            LOGOUT_REVOKING,
            Interaction::NONE,
        ),
        &[],
    );
    assert_eq!(
        run.outcome,
        Some(Ok(Finished::LoggedOut(LoggedOut {
            had_session: true,
            revoked: Some(Ok(()))
        })))
    );
    assert!(world.grant_revoked);
    let cache = run.position(|i| matches!(i, Intent::Delete(Slot::AccessCache(_))));
    let keychain = run.position(|i| matches!(i, Intent::Delete(Slot::Keychain(_))));
    assert!(cache.is_some() && cache < keychain, "{:?}", run.intents);
    assert!(!world.has_stored_access_token() && world.stored_refresh_token().is_none());
}

#[test]
fn logout_deletes_even_when_revocation_fails() {
    // Revocation answers 503 (choice 1) at the 6th intent.
    let s = setup(
        Backend::File,
        InitialSession::Fresh,
        LOGOUT_REVOKING,
        Interaction::NONE,
    );
    let (world, run) = run(&s, &[(Kind::Revoke, &[1])]);
    assert!(
        matches!(
            run.outcome,
            Some(Ok(Finished::LoggedOut(LoggedOut {
                revoked: Some(Err(_)),
                ..
            })))
        ),
        "{:?}",
        run.outcome
    );
    assert!(
        run.notices()
            .any(|n| matches!(n, Notice::RevocationFailed { .. }))
    );
    assert!(world.stored_refresh_token().is_none());
}

#[test]
fn inspect_reads_without_lock_or_network() {
    let (_, run) = run(
        &setup(
            Backend::Keyring,
            InitialSession::MaybeSpent,
            Task::Status,
            Interaction::NONE,
        ),
        &[],
    );
    let Some(Ok(Finished::Status(status))) = &run.outcome else {
        panic!()
    };
    assert!(status.refresh_token && status.maybe_spent && status.access_valid);
    assert!(status.is_usable());
    let corrupt_without_access = SessionStatus {
        refresh_token: true,
        corrupt: Some("x".into()),
        ..SessionStatus::default()
    };
    assert!(!corrupt_without_access.is_usable());
    assert!(!SessionStatus::default().is_usable());
    assert_eq!(status.sub.as_deref(), Some("user-1"));
    assert_eq!(run.count_kind(Kind::Lock), 0);
    assert_eq!(run.count(is_http), 0);
}

// ---- misuse ---------------------------------------------------------------------------------

#[test]
fn misuse_is_reported_and_changes_nothing() {
    let s = setup(
        Backend::File,
        InitialSession::Expired,
        TOKEN,
        Interaction::NONE,
    );
    let mut world = World::new(&s, &[]);
    let mut flow = world.start(&s, TOKEN_GOAL);
    let before = format!("{:?}", flow.poll_output());
    let Output::Perform { id, .. } = flow.poll_output() else {
        panic!()
    };
    let wrong = IntentId(id.0 + 1);
    let err = flow
        .handle_input(Input::Completed {
            id: wrong,
            now: T0,
            result: IntentResult::Done,
        })
        .unwrap_err();
    assert!(matches!(err, Misuse::WrongId { .. }));
    assert_eq!(
        flow.handle_input(Input::Timeout { now: T0 }),
        Err(Misuse::UnexpectedTimeout)
    );
    assert_eq!(
        flow.handle_input(Input::Completed {
            id,
            now: T0,
            result: IntentResult::Done
        }),
        Err(Misuse::WrongResultKind)
    );
    assert_eq!(format!("{:?}", flow.poll_output()), before);
    let run = world.run(&mut flow, 100);
    assert!(run.outcome.is_some());
    assert_eq!(
        flow.handle_input(Input::Timeout { now: T0 }),
        Err(Misuse::AfterDone)
    );
}

// ---- properties --------------------------------------------------------------------------------

fn arbitrary_run(setup_bytes: [u8; 4], script: &[u8]) -> (WorldSetup, World, Run) {
    let setup = WorldSetup::from_bytes(setup_bytes);
    let mut world = World::new(&setup, script);
    let run = world.run_task(&setup, 20_000);
    (setup, world, run)
}

/// Feeds `flow` a wrong intent id after `at` steps: a misuse that changes nothing, and
/// the flow still finishes cleanly.
fn wrong_id_changes_nothing<G: Goal>(
    world: &mut World,
    setup: &WorldSetup,
    goal: G,
    at: usize,
) -> Result<(), TestCaseError> {
    let mut flow = world.start(setup, goal);
    let _ = world.run(&mut flow, at);
    let before = format!("{:?}", flow.poll_output());
    if let Output::Perform { id, .. } = flow.poll_output() {
        let wrong = IntentId(id.0.wrapping_add(17));
        let result = flow.handle_input(Input::Completed {
            id: wrong,
            now: world.now,
            result: IntentResult::Done,
        });
        let wrong_id = matches!(result, Err(Misuse::WrongId { .. }));
        prop_assert!(wrong_id);
        prop_assert_eq!(format!("{:?}", flow.poll_output()), before);
    }
    let rest = world.run(&mut flow, 500);
    prop_assert!(rest.misuse.is_none());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any answer sequence ends the flow without panic or misuse, with the lock released.
    #[test]
    fn every_script_terminates(setup in any::<[u8; 4]>(), script in proptest::collection::vec(any::<u8>(), 0..48)) {
        let (_, world, run) = arbitrary_run(setup, &script);
        prop_assert!(run.misuse.is_none(), "{:?}", run.misuse);
        prop_assert!(run.outcome.is_some(), "{}", run.transcript.join("\n"));
        prop_assert!(!world.lock_held());
    }

    /// No secret reaches a Debug, a notice, an error message or a hint.
    #[test]
    fn secrets_never_leak(setup in any::<[u8; 4]>(), script in proptest::collection::vec(any::<u8>(), 0..48)) {
        let (_, _, run) = arbitrary_run(setup, &script);
        let text = run.visible_text();
        prop_assert!(!text.contains(CANARY), "{}", text);
    }

    /// A rotated refresh token is persisted before success, and an older one is never sent
    /// after a newer one was delivered.
    #[test]
    fn rotation_is_never_lost(setup in any::<[u8; 4]>(), script in proptest::collection::vec(any::<u8>(), 0..48)) {
        let (_, world, run) = arbitrary_run(setup, &script);
        let mut latest: Option<&String> = None;
        for event in &world.refresh_log {
            match event {
                RefreshEvent::Delivered(token) => latest = Some(token),
                RefreshEvent::Presented(token) => {
                    if let Some(latest) = latest {
                        prop_assert_eq!(token, latest, "an older refresh token was sent again");
                    }
                }
            }
        }
        if let (Some(Ok(Finished::Token(_) | Finished::SignedIn(_))), Some(latest)) = (&run.outcome, latest) {
            let stored = world.stored_refresh_token();
            prop_assert_eq!(stored.as_ref(), Some(latest));
        }
    }

    /// Only codes that came with this login's state are exchanged, always with the verifier
    /// that hashes to the challenge sent.
    #[test]
    fn state_and_pkce_hold(setup in any::<[u8; 4]>(), script in proptest::collection::vec(any::<u8>(), 0..48)) {
        let (_, world, _) = arbitrary_run(setup, &script);
        for (code, verifier_ok) in &world.code_exchanges {
            prop_assert!(world.codes_issued.contains(code), "exchanged a code with a wrong state");
            prop_assert!(*verifier_ok, "verifier does not match the challenge");
        }
    }

    /// The same inputs give the same transcript.
    #[test]
    fn flows_are_deterministic(setup in any::<[u8; 4]>(), script in proptest::collection::vec(any::<u8>(), 0..48)) {
        let (_, _, first) = arbitrary_run(setup, &script);
        let (_, _, second) = arbitrary_run(setup, &script);
        prop_assert_eq!(first.transcript, second.transcript);
    }

    /// A wrong intent id at any point is Misuse and leaves the flow unchanged.
    #[test]
    fn wrong_ids_change_nothing(setup in any::<[u8; 4]>(), script in proptest::collection::vec(any::<u8>(), 0..48), at in 0usize..30) {
        let setup = WorldSetup::from_bytes(setup);
        let mut world = World::new(&setup, &script);
        match setup.task {
            Task::Token(goal) => wrong_id_changes_nothing(&mut world, &setup, goal, at)?,
            Task::Login(goal) => wrong_id_changes_nothing(&mut world, &setup, goal, at)?,
            Task::Logout(goal) => wrong_id_changes_nothing(&mut world, &setup, goal, at)?,
            // `status` runs no flow.
            Task::Status => {}
        }
    }
}

// ---- browser-only sign-in (a tool's helper call with no terminal, SPEC §2) ----------

fn desktop(platform: Platform) -> DesktopFacts<'static> {
    DesktopFacts {
        platform: Some(platform),
        ..Default::default()
    }
}

#[test]
fn no_terminal_signs_in_through_the_browser_only_where_a_desktop_can_show_it() {
    let helper = |desktop| TerminalFacts {
        desktop,
        ..TerminalFacts::default()
    };
    let x11 = DesktopFacts {
        display: Some(":0"),
        ..desktop(Platform::Linux)
    };
    let wayland = DesktopFacts {
        wayland_display: Some("wayland-0"),
        ..desktop(Platform::Linux)
    };
    for graphical in [x11, wayland, desktop(Platform::Mac)] {
        assert_eq!(
            Interaction::decide(&helper(graphical)),
            Interaction::BROWSER_ONLY
        );
    }
    let windows = DesktopFacts {
        windows_session: Some("Console"),
        ..desktop(Platform::Windows)
    };
    assert_eq!(
        Interaction::decide(&helper(windows)),
        Interaction::BROWSER_ONLY
    );
    // Headless: no display, an SSH login, a Windows service, an empty DISPLAY.
    let headless = [
        desktop(Platform::Linux),
        DesktopFacts {
            display: Some(""),
            ..desktop(Platform::Linux)
        },
        DesktopFacts {
            ssh: true,
            ..desktop(Platform::Mac)
        },
        DesktopFacts {
            ssh: true,
            ..windows
        },
        desktop(Platform::Windows),
    ];
    for facts in headless {
        assert_eq!(
            Interaction::decide(&helper(facts)),
            Interaction::NONE,
            "{facts:?}"
        );
    }
    // Told not to: never anything, whatever the desktop.
    let told = [
        TerminalFacts {
            non_interactive_flag: true,
            ..helper(x11)
        },
        TerminalFacts {
            non_interactive_env: Some("1"),
            ..helper(x11)
        },
        TerminalFacts {
            claude_helper_context: Some("background"),
            ..helper(x11)
        },
        TerminalFacts {
            claude_helper_context: Some("mid-session-refresh"),
            ..helper(x11)
        },
        TerminalFacts {
            skip_browser: true,
            ..helper(x11)
        },
    ];
    for facts in told {
        assert_eq!(Interaction::decide(&facts), Interaction::NONE, "{facts:?}");
    }
    // Claude Desktop's interactive context with no terminal: the browser.
    let interactive_context = TerminalFacts {
        claude_helper_context: Some("interactive"),
        ..helper(x11)
    };
    assert_eq!(
        Interaction::decide(&interactive_context),
        Interaction::BROWSER_ONLY
    );
    // A terminal: the terminal login, as before.
    let terminal = TerminalFacts {
        stderr_terminal: true,
        ..helper(x11)
    };
    let decided = Interaction::decide(&terminal);
    assert!(decided.attended() && !decided.browser_only && decided.show_device_code);
}

#[test]
fn budgets_fit_who_waits() {
    let eight = Some(Duration::from_secs(8));
    assert_eq!(Interaction::NONE.budget(None), eight);
    assert_eq!(
        Interaction::BROWSER_ONLY.budget(None),
        Some(BROWSER_SIGN_IN_WAIT)
    );
    assert_eq!(INTERACTIVE.budget(None), None);
    assert_eq!(INTERACTIVE.budget(Some(Duration::from_secs(1))), None);
    let three = Some(Duration::from_secs(3));
    assert_eq!(Interaction::BROWSER_ONLY.budget(three), three);
    assert!(
        BROWSER_SIGN_IN_WAIT < crate::setup::wiring::HELPER_TIMEOUT,
        "a helper's wait fits the timeout setup writes"
    );
}

fn browser_only(session: InitialSession) -> WorldSetup {
    setup(Backend::File, session, TOKEN, Interaction::BROWSER_ONLY)
}

fn cooldown_slot() -> Slot {
    Slot::SignInCooldown(settings().session_key)
}

#[test]
fn a_browser_only_call_signs_in_and_ends_any_cooldown() {
    let s = browser_only(InitialSession::None);
    let mut world = World::new(&s, &[]);
    let expired = crate::store::SignInCooldown {
        since: 0,
        until: T0.as_millis(),
    };
    world.put(&cooldown_slot(), &expired.encode());
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 100).map(Finished::Token);
    assert!(token(&run).starts_with(CANARY));
    assert_eq!(world.browsers_opened, 1);
    assert!(
        !world.contains(&cooldown_slot()),
        "{}",
        run.transcript.join("\n")
    );
    // Nobody reads stderr, so nobody is offered paste-back or a device code.
    assert!(run.intents.iter().all(|i| !matches!(
        i,
        Intent::AwaitCallback {
            accept_paste: true,
            ..
        }
    )));
    // The redirect is awaited within the call's budget, leaving time for the exchange.
    let deadline = run
        .intents
        .iter()
        .find_map(|i| match i {
            Intent::AwaitCallback { deadline, .. } => Some(*deadline),
            _ => None,
        })
        .unwrap();
    let budget_end = T0.saturating_add(BROWSER_SIGN_IN_WAIT);
    assert!(deadline < budget_end.saturating_sub(Duration::from_secs(9)));
}

#[test]
fn an_abandoned_browser_sign_in_starts_the_cooldown() {
    let s = browser_only(InitialSession::None);
    let (world, run) = run(&s, &[(Kind::Callback, &[4])]);
    let FlowError::NeedsLogin(NeedsLogin::SignInCoolingDown { until }) = error(&run) else {
        panic!("{:?}", run.outcome);
    };
    let stored = crate::store::SignInCooldown::decode(world.get(&cooldown_slot()).unwrap())
        .expect("a cooldown is recorded");
    assert_eq!(stored.until(), until);
    assert!(until > world.now.saturating_add(Duration::from_secs(9 * 60)));
    assert!(error(&run).to_string().contains(&until.to_rfc3339()));
    assert_eq!(error(&run).hint().as_deref(), Some("run `llmauth login`"));
    // The cooldown is written before the lock is released, so the next holder sees it.
    let written = run.position(|i| {
        matches!(
            i,
            Intent::Write {
                slot: Slot::SignInCooldown(_),
                ..
            }
        )
    });
    let unlocked = run.position(|i| matches!(i, Intent::Unlock(_)));
    assert!(written < unlocked, "{}", run.transcript.join("\n"));
}

#[test]
fn during_the_cooldown_a_browser_only_call_ends_at_once_without_a_browser() {
    let s = browser_only(InitialSession::None);
    let mut world = World::new(&s, &[]);
    let cooldown = crate::store::SignInCooldown::starting(T0);
    world.put(&cooldown_slot(), &cooldown.encode());
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 100).map(Finished::Token);
    assert_eq!(
        error(&run),
        FlowError::NeedsLogin(NeedsLogin::SignInCoolingDown {
            until: cooldown.until()
        })
    );
    assert_eq!(world.browsers_opened, 0);
    assert_eq!(run.count(is_http), 0);
    assert!(!world.lock_held());
    // A person at a terminal is not held back, and ends the cooldown by signing in.
    let terminal = setup(Backend::File, InitialSession::None, TOKEN, INTERACTIVE);
    let mut flow = world.start(&terminal, TOKEN_GOAL);
    let run = world.run(&mut flow, 100).map(Finished::Token);
    assert!(token(&run).starts_with(CANARY));
    assert!(!world.contains(&cooldown_slot()));
}

#[test]
fn a_call_that_may_not_sign_in_never_reads_the_cooldown() {
    let s = setup(
        Backend::File,
        InitialSession::None,
        TOKEN,
        Interaction::NONE,
    );
    let (_, run) = run(&s, &[]);
    assert_eq!(error(&run), FlowError::NeedsLogin(NeedsLogin::NoSession));
    assert_eq!(run.count(|i| slot_of(i) == Some(&cooldown_slot())), 0);
}

#[test]
fn a_browser_only_call_waits_for_a_sign_in_elsewhere_instead_of_giving_up() {
    let s = browser_only(InitialSession::Expired);
    let marker = LoginMarker {
        pid: 1,
        url: "https://idp.test/auth?x".into(),
        user_code: None,
    };
    // Busy twice (a sign-in elsewhere, announced by its marker), then acquired: the
    // session is re-read and refreshed, and no browser is opened here.
    let mut world = World::new(&s, &[]);
    world.plan(Kind::Lock, &[3, 3, 0]);
    world.put(
        &Slot::LoginMarker(settings().session_key),
        &serde_json::to_vec(&marker).unwrap(),
    );
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 100).map(Finished::Token);
    assert!(token(&run).starts_with(CANARY));
    assert_eq!(world.browsers_opened, 0);
    // Busy until the budget is spent: the sign-in elsewhere is still needed (exit 3).
    let mut world = World::new(&s, &[]);
    world.plan(Kind::Lock, &[3; 1000]);
    world.put(
        &Slot::LoginMarker(settings().session_key),
        &serde_json::to_vec(&marker).unwrap(),
    );
    let mut flow = world.start(&s, TOKEN_GOAL);
    let run = world.run(&mut flow, 2000).map(Finished::Token);
    assert!(
        matches!(
            error(&run),
            FlowError::NeedsLogin(NeedsLogin::LoginInProgress { .. })
        ),
        "{:?}",
        run.outcome
    );
    assert!(world.now <= T0.saturating_add(BROWSER_SIGN_IN_WAIT + Duration::from_secs(1)));
}

#[test]
fn a_browser_only_call_without_a_browser_fails_instead_of_printing_a_url() {
    let s = browser_only(InitialSession::None);
    let (_, run) = run(&s, &[(Kind::Browser, &[2])]);
    assert!(
        matches!(
            error(&run),
            FlowError::LoginFailed(LoginFailure::NoBrowser { .. })
        ),
        "{:?}",
        run.outcome
    );
    assert_eq!(error(&run).class(), ErrorClass::AuthRequired);
    assert_eq!(run.count_kind(Kind::Callback), 0);
}

mod providers;
mod read_only;
