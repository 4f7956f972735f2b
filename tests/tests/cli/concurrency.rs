//! Many processes, one session: single-flight refresh, the session lock and the login
//! marker (SPEC §5).

use std::time::{Duration, Instant};

use llmauth_tests::faults::Fault;
use llmauth_tests::idp::{GrantType, IdpEndpoint};
use serde_json::Value;

use super::common::{Running, World, expect_exit, hold_lock, printed_token};

/// Fifty `llmauth token <args>` processes started together on an expired session:
/// exactly one refresh request reaches the IdP and all fifty print the token it returned.
pub(crate) fn fifty_at_expiry_make_one_refresh(world: &World, args: &[&str]) {
    world.login_expired();
    let before = world.idp.token_requests(GrantType::RefreshToken);
    // The one refresh answer is held back a little, so the other processes pile up on the
    // lock instead of finding a fresh token on the fast path.
    world
        .idp
        .push_fault(IdpEndpoint::Token, Fault::Delay(Duration::from_millis(500)));

    let finished = world.concurrent_tokens(50, args);

    let tokens: Vec<String> = finished.iter().map(printed_token).collect();
    assert_eq!(world.idp.faults_injected(IdpEndpoint::Token), 1);
    let refreshes = world.idp.token_requests(GrantType::RefreshToken) - before;
    assert_eq!(
        refreshes, 1,
        "fifty processes must make exactly one refresh"
    );
    let newest = world.idp.last_access_token().expect("an access token");
    assert!(
        tokens.iter().all(|t| *t == newest),
        "every process prints the refreshed token"
    );
    assert_eq!(world.idp.reuse_detections(), 0);
    assert_eq!(world.gateway_status(&newest), 200);
}

#[test]
fn fifty_concurrent_token_calls_at_expiry_make_one_refresh() {
    let world = World::new();
    // The default 8 s budget: waiters only read a file under the lock.
    fifty_at_expiry_make_one_refresh(&world, &[]);
}

#[test]
fn a_fresh_token_needs_neither_the_lock_nor_the_idp() {
    let world = World::new();
    world.login();
    let lock = hold_lock(&world);
    world.idp.down();
    let requests_before = world.idp.requests(IdpEndpoint::Token);

    let finished = world.run(&["token", "--non-interactive", "--timeout", "20s"]);

    let token = printed_token(&finished);
    assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
    assert!(
        finished.elapsed < Duration::from_secs(2),
        "no waiting for the lock: {:?}",
        finished.elapsed
    );
    assert_eq!(finished.stderr, "");
    assert_eq!(world.idp.requests(IdpEndpoint::Token), requests_before);
    drop(lock);
}

#[test]
fn a_lock_held_too_long_is_exit_5_within_the_timeout() {
    let world = World::new();
    world.login_expired();
    let lock = hold_lock(&world);

    let finished = world.run(&["token", "--non-interactive", "--timeout", "1s"]);
    expect_exit(&finished, 5, "token while another process holds the lock");
    assert_eq!(finished.stdout, "");
    assert!(
        finished.elapsed >= Duration::from_millis(900),
        "waited for the lock up to --timeout, not less: {:?}",
        finished.elapsed
    );
    assert!(
        finished.elapsed < Duration::from_secs(5),
        "gave up at --timeout: {:?}",
        finished.elapsed
    );
    assert!(finished.stderr.contains("lock"), "{}", finished.stderr);
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 0);
    let recorded: Value =
        serde_json::from_slice(&std::fs::read(world.last_error_file()).expect("last-error.json"))
            .expect("last-error.json is JSON");
    assert_eq!(recorded["exit_code"], 5);

    // Once the holder is gone, the session works again.
    drop(lock);
    let after = world.run(&["token", "--non-interactive"]);
    printed_token(&after);
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 1);
}

#[test]
fn a_login_in_progress_elsewhere_is_exit_3_at_once_naming_its_url() {
    let world = World::new();
    let url = "https://idp.example/authorize?client_id=elsewhere&state=in-progress";
    let lock = hold_lock(&world);
    let marker = world.lock_file().with_extension("login");
    std::fs::write(
        &marker,
        format!(r#"{{"pid":1,"url":"{url}","user_code":null}}"#),
    )
    .expect("write the login marker");

    let finished = world.run(&["token", "--non-interactive", "--timeout", "20s"]);
    expect_exit(&finished, 3, "token while a login is in progress");
    assert!(
        finished.elapsed < Duration::from_secs(3),
        "exit at once, not after --timeout: {:?}",
        finished.elapsed
    );
    assert!(
        finished.stderr.contains(url),
        "stderr names the login's URL: {}",
        finished.stderr
    );
    assert_eq!(finished.stdout, "");
    world.assert_browser_visits(0, "no browser");

    // The marker is trusted only while its lock is held.
    drop(lock);
    let stale = world.run(&["token", "--non-interactive"]);
    expect_exit(&stale, 3, "token with a stale login marker");
    assert!(
        !stale.stderr.contains(url),
        "a stale marker is ignored: {}",
        stale.stderr
    );
    assert!(stale.stderr.contains("llmauth login"), "{}", stale.stderr);
}

#[test]
fn a_real_login_in_progress_makes_token_exit_3_with_its_url() {
    let world = World::new();
    // A person who never finishes signing in: the browser only logs the URL.
    let mut login = Running::new(
        world
            .sandbox
            .command(&["login"])
            .env("FAKE_BROWSER_MODE", "ignore")
            .spawn()
            .expect("start login"),
    );
    let marker = world.lock_file().with_extension("login");
    let start = Instant::now();
    let url = loop {
        let parsed = std::fs::read(&marker)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        // Ready once the marker is written and the browser has been opened.
        if let Some(url) = parsed.as_ref().and_then(|m| m["url"].as_str())
            && !world.sandbox.browser_visits().is_empty()
        {
            break url.to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "login wrote no marker or opened no browser"
        );
        if let Ok(Some(status)) = login.child().try_wait() {
            panic!("login exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(
        url.starts_with(&world.idp.authorization_endpoint()),
        "{url}"
    );

    let finished = world.run(&["token", "--non-interactive", "--timeout", "20s"]);
    expect_exit(&finished, 3, "token during another process's login");
    assert!(
        finished.elapsed < Duration::from_secs(3),
        "{:?}",
        finished.elapsed
    );
    assert!(finished.stderr.contains(&url), "{}", finished.stderr);
    world.assert_browser_visits(1, "only the login opened a browser");
    assert_eq!(world.sandbox.browser_visits()[0]["url"], url.as_str());

    drop(login); // kill -9

    // The dead login's lock is gone, so its marker is no longer trusted.
    let after = world.run(&["token", "--non-interactive"]);
    expect_exit(&after, 3, "token after the login died");
    assert!(!after.stderr.contains(&url), "{}", after.stderr);
}
