//! When the IdP is down, slow or cut off mid-request, and when there is no session:
//! the exit codes of SPEC §2 and the failure classes of SPEC §5.

use std::time::{Duration, Instant};

use llmauth_tests::faults::Fault;
use llmauth_tests::idp::{GrantType, IdpEndpoint, IdpOptions, RefreshPolicy};
use llmauth_tests::sandbox::{Finished, wait};
use serde_json::Value;

use super::common::{Running, World, expect_exit, printed_token, unix_ms};

/// `$STATE/last-error.json`, parsed.
fn last_error(world: &World) -> Value {
    let bytes = std::fs::read(world.last_error_file()).expect("last-error.json exists");
    serde_json::from_slice(&bytes).expect("last-error.json is JSON")
}

/// The cached access token of the file-backend session.
fn stored_access_token(world: &World) -> String {
    world.stored_session()["access"]["access_token"]
        .as_str()
        .expect("a cached access token")
        .to_owned()
}

fn assert_served_cached_with_warning(world: &World, finished: &Finished, cached: &str) {
    let warning = "warning: could not refresh";
    let token = printed_token(finished);
    assert_eq!(token, cached, "the still-valid cached token is served");
    assert!(
        finished.stderr.contains(warning),
        "{warning:?} on stderr: {}",
        finished.stderr
    );
    world.assert_browser_visits(1, "no browser beyond the login");
}

#[test]
fn idp_down_inside_the_refresh_margin_serves_the_cached_token_with_a_warning() {
    // 16 s tokens: refresh margin min(10 min, 8 s) = 8 s, still valid while more than
    // the 5 s skew is left. Wait until 6.5 s are left: due for a refresh, still valid.
    let options = IdpOptions {
        access_token_lifetime: Duration::from_secs(16),
        ..IdpOptions::default()
    };
    let world = World::with(options, "file");
    world.login();
    let cached = stored_access_token(&world);
    let target = world.stored_access_expiry_ms() - 6_500;
    let now = unix_ms();
    if target > now {
        std::thread::sleep(Duration::from_millis(target - now));
    }
    world.idp.down();

    let finished = world.run(&["token"]);

    assert_served_cached_with_warning(&world, &finished, &cached);
    let left_ms = world.stored_access_expiry_ms().saturating_sub(unix_ms());
    assert!(
        left_ms > 5_000,
        "the test ran too slowly to prove anything: {left_ms} ms left"
    );
}

/// `--min-valid` is a promise (issue 8): with the IdP down, a cached token with less
/// left than asked is not printed; exit 4 says why the refresh failed and what was asked.
#[test]
fn idp_down_with_a_raised_min_valid_fails_saying_why() {
    let world = World::new();
    world.login();
    world.idp.down();

    let finished = world.run(&["token", "--min-valid", "10m"]);

    expect_exit(&finished, 4, "token --min-valid 10m with the IdP down");
    assert_eq!(
        finished.stdout, "",
        "no token with less than 10 minutes left"
    );
    assert!(
        finished
            .stderr
            .contains("less than the 600s --min-valid asks for")
            && finished.stderr.contains("could not refresh"),
        "{}",
        finished.stderr
    );
    // Asked for less, the same cached token is served with a warning.
    let cached = stored_access_token(&world);
    let relaxed = world.run(&["token", "--min-valid", "1m", "--force-refresh"]);
    assert_served_cached_with_warning(&world, &relaxed, &cached);
}

/// `--min-valid` is a promise even without a refresh token: a cached token with less left
/// is not printed (exit 3, naming `llmauth login`).
#[test]
fn min_valid_without_a_refresh_token_never_prints_a_shorter_token() {
    let options = IdpOptions {
        refresh_requires_offline_consent: true,
        ..IdpOptions::default()
    };
    let world = World::with(options, "file");
    world.login();
    assert!(world.stored_session()["refresh"].is_null());

    let finished = world.run(&["token", "--non-interactive", "--min-valid", "1h"]);

    expect_exit(&finished, 3, "token --min-valid 1h without a refresh token");
    assert_eq!(finished.stdout, "");
    assert!(
        finished.stderr.contains("no refresh token is stored")
            && finished.stderr.contains("3600s --min-valid"),
        "{}",
        finished.stderr
    );
    printed_token(&world.run(&["token", "--non-interactive"]));
}

#[test]
fn idp_down_after_expiry_is_exit_4_without_a_browser() {
    let world = World::new();
    world.login_expired();
    world.idp.down();

    let finished = world.run(&["token"]);

    expect_exit(
        &finished,
        4,
        "token with the IdP down and the token expired",
    );
    assert_eq!(finished.stdout, "");
    assert!(
        finished.stderr.starts_with("error: "),
        "{}",
        finished.stderr
    );
    assert_eq!(
        finished.stderr.trim().lines().count(),
        1,
        "{}",
        finished.stderr
    );
    world.assert_browser_visits(1, "no browser beyond the login");
    assert_eq!(last_error(&world)["exit_code"], 4);
    assert_eq!(last_error(&world)["message"], finished.stderr.trim());
}

#[test]
fn no_session_and_no_terminal_is_exit_3_at_once() {
    let world = World::new();
    for args in [&["token", "--non-interactive"][..], &["token"][..]] {
        let finished = world.run(args);
        expect_exit(&finished, 3, &args.join(" "));
        assert_eq!(finished.stdout, "");
        assert!(
            finished.elapsed < Duration::from_secs(1),
            "{args:?} took {:?}",
            finished.elapsed
        );
        assert!(
            finished.stderr.contains("llmauth login"),
            "names `llmauth login`: {}",
            finished.stderr
        );
        let recorded = last_error(&world);
        assert_eq!(recorded["exit_code"], 3);
        assert_eq!(recorded["message"], finished.stderr.trim());
        assert!(recorded["time"].is_string());
    }
    // Other ways of saying "no person here" (SPEC §2), even with a browser available.
    for (name, value) in [
        ("LLMAUTH_NON_INTERACTIVE", "1"),
        ("CLAUDE_HELPER_CONTEXT", "apiKeyHelper"),
    ] {
        let child = world
            .sandbox
            .command(&["token"])
            .env(name, value)
            .spawn()
            .expect("start llmauth");
        let finished = wait(child, Duration::from_secs(30));
        expect_exit(&finished, 3, &format!("token with {name}={value}"));
        assert!(
            finished.stderr.contains("llmauth login"),
            "{}",
            finished.stderr
        );
    }
    world.assert_browser_visits(0, "no browser");
    assert_eq!(
        world.idp.discovery_requests(),
        0,
        "no network for a missing session"
    );
    assert_eq!(world.idp.requests(IdpEndpoint::Token), 0);
}

#[test]
fn a_token_process_killed_mid_refresh_leaves_the_session_usable() {
    let world = World::new();
    world.login_expired();
    let refresh_token = world.stored_refresh_token();
    // The IdP holds the refresh request without acting on it.
    world.idp.push_fault(
        IdpEndpoint::Token,
        Fault::StallBeforeProcessing(Duration::from_secs(60)),
    );
    let mut child = Running::new(world.sandbox.spawn(&["token", "--non-interactive"]));
    let start = Instant::now();
    while world.idp.token_requests(GrantType::RefreshToken) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the refresh request never arrived"
        );
        if let Ok(Some(status)) = child.child().try_wait() {
            panic!("token exited ({status}) before its refresh reached the IdP");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.child().kill().expect("kill -9 the token process");
    let _ = child.child().wait();
    assert_eq!(
        world.stored_refresh_token(),
        refresh_token,
        "nothing stored yet"
    );

    let next = world.run(&["token", "--non-interactive"]);

    let token = printed_token(&next);
    assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 2);
    assert_eq!(
        world.idp.presented_refresh_tokens(),
        vec![refresh_token.clone(), refresh_token],
        "the unanswered request's token was used once more"
    );
    assert_eq!(world.idp.reuse_detections(), 0);
    assert_eq!(world.idp.revoked_grants(), 0, "the grant is not revoked");
    let current = world.stored_refresh_token();
    assert_eq!(Some(&current), world.idp.current_refresh_token().as_ref());
    assert_eq!(world.idp.is_grant_revoked(&current), Some(false));
    assert_eq!(world.gateway_status(&token), 200);
}

#[test]
fn a_stalled_idp_is_cut_off_by_the_timeout() {
    let world = World::new();
    world.login_expired();
    world.idp.set_sticky_fault(
        IdpEndpoint::Token,
        Some(Fault::Stall(Duration::from_secs(30))),
    );

    let finished = world.run(&["token", "--non-interactive", "--timeout", "2s"]);

    expect_exit(&finished, 4, "token against a stalled IdP");
    assert_eq!(finished.stdout, "");
    assert!(
        finished.elapsed < Duration::from_secs(6),
        "gave up near --timeout 2s, not after the 30 s stall: {:?}",
        finished.elapsed
    );
    assert!(world.idp.token_requests(GrantType::RefreshToken) >= 1);
    world.assert_browser_visits(1, "no browser beyond the login");
    assert_eq!(last_error(&world)["exit_code"], 4);
    // It connected; the IdP never answered (issue 9.9).
    assert!(
        finished.stderr.contains("before the IdP answered"),
        "{}",
        finished.stderr
    );
    assert!(
        !finished.stderr.contains("connecting"),
        "{}",
        finished.stderr
    );
}

#[test]
fn an_idp_that_accepts_the_connection_but_never_answers_is_named_as_such() {
    let world = World::new();
    // The kernel accepts the connection; nothing ever answers the TLS handshake.
    let silent = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let port = silent.local_addr().expect("address").port();

    let finished = login_with_issuer(&world, &format!("https://127.0.0.1:{port}"));
    drop(silent);

    expect_exit(&finished, 4, "login against a silent IdP");
    assert!(
        finished.stderr.contains(&format!(
            "https://127.0.0.1:{port}/.well-known/openid-configuration: timed out waiting for the IdP to answer"
        )),
        "{}",
        finished.stderr
    );
    assert!(
        !finished.stderr.contains("connecting"),
        "{}",
        finished.stderr
    );
}

/// `login` with the issuer set to `issuer`.
fn login_with_issuer(world: &World, issuer: &str) -> Finished {
    let set = world.run(&["config", "set", "--issuer", issuer]);
    expect_exit(&set, 0, "config set --issuer");
    world.run(&["login", "--skip-browser"])
}

#[test]
fn a_mistyped_issuer_names_the_url_that_was_tried() {
    let world = World::new();
    let closed_port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();

    // Nobody listens there: worth checking the issuer, not only retrying.
    let refused = login_with_issuer(&world, &format!("https://127.0.0.1:{closed_port}/realm"));
    expect_exit(&refused, 4, "login with nothing at the issuer");
    let tried = format!("https://127.0.0.1:{closed_port}/realm/.well-known/openid-configuration");
    assert!(refused.stderr.contains(&tried), "{}", refused.stderr);
    assert!(refused.stderr.contains("issuer"), "{}", refused.stderr);

    // A name that does not resolve.
    let unresolved = login_with_issuer(&world, "https://idp.llmauth-test.invalid");
    expect_exit(&unresolved, 4, "login with an issuer that does not resolve");
    assert!(
        unresolved
            .stderr
            .contains("https://idp.llmauth-test.invalid/.well-known/openid-configuration"),
        "{}",
        unresolved.stderr
    );

    // The IdP answers, but serves no document there: a configuration error naming both
    // places looked at.
    let typo = format!("{}/typo", world.idp.issuer());
    let missing = login_with_issuer(&world, &typo);
    expect_exit(&missing, 2, "login with an issuer path that does not exist");
    assert!(
        missing
            .stderr
            .contains(&format!("{typo}/.well-known/openid-configuration")),
        "{}",
        missing.stderr
    );
    assert!(missing.stderr.contains("HTTP 404"), "{}", missing.stderr);
    world.assert_browser_visits(0, "no browser for an issuer that does not work");
}

#[test]
fn an_unanswered_refresh_is_marked_and_retried_by_the_next_call() {
    let world = World::new();
    world.login_expired();
    let refresh_token = world.stored_refresh_token();
    world.idp.push_fault(
        IdpEndpoint::Token,
        Fault::StallBeforeProcessing(Duration::from_secs(30)),
    );

    let first = world.run(&["token", "--non-interactive", "--timeout", "2s"]);
    expect_exit(&first, 4, "token whose refresh got no answer");
    assert_eq!(world.stored_session()["refresh"]["maybe_spent"], true);
    let status = world.run(&["status", "--format", "json"]);
    let status: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(status["session"]["maybe_spent"], true);

    let second = world.run(&["token", "--non-interactive"]);
    let token = printed_token(&second);
    assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
    assert_eq!(
        world.idp.presented_refresh_tokens(),
        vec![refresh_token.clone(), refresh_token],
        "the possibly spent token was tried once more"
    );
    assert_ne!(
        world.stored_session()["refresh"]["maybe_spent"],
        true,
        "a successful refresh clears the mark"
    );
    assert_eq!(world.idp.reuse_detections(), 0);
    assert_eq!(world.idp.revoked_grants(), 0);
}

#[test]
fn a_lost_refresh_answer_is_retried_once_under_the_lock() {
    // An IdP that keeps refresh tokens valid: the retry of a lost answer succeeds.
    let options = IdpOptions {
        refresh_policy: RefreshPolicy::ReuseAndEcho,
        ..IdpOptions::default()
    };
    let world = World::with(options, "file");
    world.login_expired();
    world
        .idp
        .push_fault(IdpEndpoint::Token, Fault::CloseAfterProcessing);

    let finished = world.run(&["token", "--non-interactive"]);

    let token = printed_token(&finished);
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 2);
    assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
    assert_ne!(world.stored_session()["refresh"]["maybe_spent"], true);
    assert_eq!(world.gateway_status(&token), 200);
}

#[test]
fn a_lost_refresh_answer_that_ends_the_grant_ends_the_session() {
    // A rotating IdP with reuse detection: the answer to the refresh is lost, so the
    // retry presents a spent token and the IdP ends the grant — access tokens included.
    // An ended session is ended (issue 8): the cached access token, though it has not
    // expired, is not handed out any more; SPEC §5: `invalid_grant` → sign in or exit 3.
    let world = World::new();
    world.login();
    let cached = stored_access_token(&world);
    world
        .idp
        .push_fault(IdpEndpoint::Token, Fault::CloseAfterProcessing);

    let finished = world.run(&["token", "--non-interactive", "--min-valid", "10m"]);

    expect_exit(&finished, 3, "token after the grant ended");
    assert_eq!(finished.stdout, "");
    assert!(
        finished.stderr.contains("the sign-in session has ended")
            && finished.stderr.contains("answer was lost"),
        "{}",
        finished.stderr
    );
    let again = world.run(&["token", "--non-interactive"]);
    expect_exit(&again, 3, "token on the next call");
    assert!(!again.stdout.contains(&cached));
    assert!(
        !world.session_file().exists(),
        "the ended session is deleted, cached token included"
    );
}
