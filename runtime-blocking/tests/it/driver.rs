//! Real `TokenFlow`s assembled by `FlowSetup` and driven end to end through `drive` and
//! `BlockingIo` on a temporary state directory (file backend, no network); `status`'s
//! reads through `FlowSetup::session_status`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use llmauth_blocking::{BlockingIo, FlowSetup, IoOptions, Paths, drive, now};
use llmauth_core::error::{FlowError, NeedsLogin};
use llmauth_core::flow::{
    FlowResult, FlowSettings, Goal, Interaction, LoggedOut, LogoutGoal, TokenGoal,
};
use llmauth_core::intent::{Intent, IntentResult, LockOutcome};
use llmauth_core::provider::{AudienceVia, CallbackHost, IssuerMatch, Redirect, TokenKind};
use llmauth_core::secret::{AccessToken, RefreshToken};
use llmauth_core::store::{
    AccessRecord, Backend, LockName, RefreshRecord, SessionKey, SessionRecords, Slot,
};

use crate::support::{quiet_io, temp_paths};

fn settings() -> FlowSettings {
    FlowSettings {
        session_key: SessionKey::derive(
            "https://llm.example.com",
            "https://auth.example.com",
            "llmauth-test",
            "",
        ),
        issuer: "https://auth.example.com".to_owned(),
        issuer_match: IssuerMatch::Exact,
        client_id: "llmauth-test".to_owned(),
        client_secret: false,
        audience: String::new(),
        audience_via: AudienceVia::Resource,
        scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
        authorization_params: Vec::new(),
        redirect: Redirect::Loopback {
            host: CallbackHost::Localhost,
            port: 0,
        },
        resend_scope: false,
        token_kind: TokenKind::Access,
        refresh_window: Duration::from_secs(600),
        session_end_cause: None,
        tenants: Default::default(),
    }
}

fn setup(paths: &Paths) -> FlowSetup {
    FlowSetup {
        settings: settings(),
        backend: Backend::File,
        interaction: Interaction::NONE,
        paths: paths.clone(),
        io_options: IoOptions::default(),
    }
}

/// Runs a non-interactive flow for `goal` with an 8-second budget; `io` picks where its
/// notices go.
fn run<G: Goal>(
    paths: &Paths,
    goal: G,
    io: impl FnOnce(BlockingIo) -> BlockingIo,
) -> FlowResult<G> {
    let (flow, blocking) = setup(paths)
        .start(goal, true, Some(Duration::from_secs(8)))
        .unwrap();
    drive(flow, &mut io(blocking))
}

fn quiet(io: BlockingIo) -> BlockingIo {
    io.with_notice_sink(|_| {})
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
            nonce: None,
        }),
        access: Some(AccessRecord {
            access_token: AccessToken::new("CANARY-access.token"),
            expires_at: Some(t.saturating_add(Duration::from_secs(3600))),
            issued_at: t,
            lifetime: Some(Duration::from_secs(3600)),
            generation: 4,
            id_token: None,
        }),
    };
    let slot = Slot::SessionFile(settings().session_key);
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
    let status = setup(&paths).session_status().unwrap();
    assert!(!status.refresh_token);
    assert_eq!(status.access_expires_at, None);
    assert_eq!(status.corrupt, None);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn inspect_reports_a_stored_session() {
    let (_dir, paths) = temp_paths();
    store_fresh_session(&paths);
    let status = setup(&paths).session_status().unwrap();
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
    let credential = run(&paths, TokenGoal::default(), |io| {
        io.with_notice_sink(move |n| sink.lock().unwrap().push(n.to_string()))
    })
    .unwrap();
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
    let err = run(&paths, TokenGoal::default(), quiet).unwrap_err();
    assert!(
        matches!(err, FlowError::NeedsLogin(NeedsLogin::NoSession)),
        "{err:?}"
    );
    // The flow locked (the lock file exists) and unlocked (another holder gets it).
    let name = LockName::Session(settings().session_key);
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
        .slot_file(&Slot::SessionFile(settings().session_key))
        .unwrap();
    assert!(file.exists());
    let outcome = run(&paths, LogoutGoal { revoke: false }, quiet).unwrap();
    assert_eq!(
        outcome,
        LoggedOut {
            had_session: true,
            revoked: None
        }
    );
    assert!(!file.exists());
}

#[test]
fn a_session_file_with_exposed_permissions_is_not_served() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, paths) = temp_paths();
    store_fresh_session(&paths);
    let file = paths
        .slot_file(&Slot::SessionFile(settings().session_key))
        .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let result = run(&paths, TokenGoal::default(), quiet);
    assert!(result.is_err(), "{result:?}");
    assert!(!format!("{result:?}").contains("CANARY"));
}
