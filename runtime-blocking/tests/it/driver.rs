//! Real `TokenFlow`s driven end to end through `drive` and `BlockingIo` on a temporary
//! state directory (file backend, no network).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmauth_blocking::{BlockingIo, IoOptions, Paths, drive, entropy, now};
use llmauth_core::error::{FlowError, NeedsLogin};
use llmauth_core::flow::{FlowContext, FlowSettings, Goal, Interaction, Outcome, TokenFlow};
use llmauth_core::intent::{Intent, IntentResult, LockOutcome};
use llmauth_core::secret::{AccessToken, RefreshToken};
use llmauth_core::store::{AccessRecord, Backend, LockName, RefreshRecord, SessionRecords, Slot};

use crate::support::{quiet_io, temp_paths};

fn settings() -> FlowSettings {
    FlowSettings {
        gateway_url: "https://llm.example.com".to_owned(),
        issuer: "https://auth.example.com".to_owned(),
        client_id: "llmauth-test".to_owned(),
        audience: String::new(),
        scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
        prompt: String::new(),
        auth_params: BTreeMap::new(),
        callback_port: 0,
        refresh_window: Duration::from_secs(600),
    }
}

fn flow(goal: Goal) -> TokenFlow {
    let ctx = FlowContext {
        backend: Backend::File,
        interaction: Interaction::NONE,
        deadline: Some(now().saturating_add(Duration::from_secs(8))),
        pid: std::process::id(),
    };
    TokenFlow::new(settings(), ctx, goal, entropy().unwrap(), now())
}

fn token_goal() -> Goal {
    Goal::Token {
        min_valid: Duration::ZERO,
        force_refresh: false,
    }
}

/// Stores a session whose access token is valid for another hour.
fn store_fresh_session(paths: &Paths) {
    let t = now();
    let records = SessionRecords {
        refresh: Some(RefreshRecord {
            refresh_token: RefreshToken::new("CANARY-refresh"),
            scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
            sub: "user-1".to_owned(),
            issuer: "https://auth.example.com".to_owned(),
            obtained_at: t,
            generation: 4,
            maybe_spent: false,
        }),
        access: Some(AccessRecord {
            access_token: AccessToken::new("CANARY-access.token"),
            expires_at: Some(t.saturating_add(Duration::from_secs(3600))),
            issued_at: t,
            lifetime: Some(Duration::from_secs(3600)),
            generation: 4,
        }),
    };
    let slot = Slot::SessionFile(settings().session_key());
    let mut io = quiet_io(paths.clone());
    match io.perform(&Intent::Write {
        slot,
        bytes: records.encode(),
    }) {
        IntentResult::Stored(Ok(())) => {}
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn inspect_on_an_empty_state_dir_finds_nothing_and_creates_nothing() {
    let (dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let outcome = drive(flow(Goal::Inspect), &mut io).unwrap();
    let Outcome::Inspected(status) = outcome else {
        panic!("unexpected {outcome:?}");
    };
    assert!(!status.refresh_token);
    assert_eq!(status.access_expires_at, None);
    assert_eq!(status.corrupt, None);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn inspect_reports_a_stored_session() {
    let (_dir, paths) = temp_paths();
    store_fresh_session(&paths);
    let mut io = quiet_io(paths);
    let Outcome::Inspected(status) = drive(flow(Goal::Inspect), &mut io).unwrap() else {
        panic!("not inspected");
    };
    assert!(status.refresh_token);
    assert!(status.access_valid);
    assert_eq!(status.sub.as_deref(), Some("user-1"));
}

#[test]
fn a_fresh_cached_token_is_served_without_lock_or_network() {
    let (_dir, paths) = temp_paths();
    store_fresh_session(&paths);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    let mut io = BlockingIo::new(paths.clone(), IoOptions::default())
        .with_notice_sink(move |n| sink.lock().unwrap().push(n.to_string()));
    let outcome = drive(flow(token_goal()), &mut io).unwrap();
    let Outcome::Token(credential) = outcome else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(
        credential.access_token.expose_secret(),
        "CANARY-access.token"
    );
    assert_eq!(credential.generation, 4);
    assert!(notices.lock().unwrap().is_empty());
    // The fast path took no lock: not even the locks directory exists.
    assert!(!paths.locks_dir().exists());
}

#[test]
fn no_session_non_interactive_needs_login_and_releases_the_lock() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    let err = drive(flow(token_goal()), &mut io).unwrap_err();
    assert!(
        matches!(err, FlowError::NeedsLogin(NeedsLogin::NoSession)),
        "{err:?}"
    );
    // The flow locked (the lock file exists) and unlocked (another holder gets it).
    let name = LockName::Session(settings().session_key());
    assert!(paths.lock_file(&name).exists());
    let mut other = quiet_io(paths);
    assert!(matches!(
        other.perform(&Intent::Lock { name, until: None }),
        IntentResult::Lock(Ok(LockOutcome::Acquired))
    ));
}

#[test]
fn logout_deletes_the_stored_session() {
    let (_dir, paths) = temp_paths();
    store_fresh_session(&paths);
    let file = paths
        .slot_file(&Slot::SessionFile(settings().session_key()))
        .unwrap();
    assert!(file.exists());
    let mut io = quiet_io(paths);
    let outcome = drive(flow(Goal::Logout { revoke: false }), &mut io).unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::LoggedOut {
                had_session: true,
                revoked: None
            }
        ),
        "{outcome:?}"
    );
    assert!(!file.exists());
}

#[test]
fn a_session_file_with_exposed_permissions_is_not_served() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, paths) = temp_paths();
    store_fresh_session(&paths);
    let file = paths
        .slot_file(&Slot::SessionFile(settings().session_key()))
        .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut io = quiet_io(paths);
    let result = drive(flow(token_goal()), &mut io);
    assert!(!matches!(result, Ok(Outcome::Token(_))), "{result:?}");
    assert!(!format!("{result:?}").contains("CANARY"));
}
