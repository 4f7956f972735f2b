//! Sign-in from a tool's helper call with no terminal (SPEC §2, browser-only login): with
//! a graphical session (`DISPLAY`) the browser opens and the call waits for the sign-in;
//! told not to, it never opens anything; any number of concurrent helpers share one
//! browser; a sign-in nobody completed starts a cooldown that `llmauth login` ends.

use std::time::Duration;

use llmauth_tests::idp::GrantType;
use serde_json::Value;

use super::common::{World, expect_exit, printed_token};

/// A world whose helper calls run in a desktop session (`DISPLAY`), with the scripted
/// browser as `$BROWSER`, and no session yet.
fn desktop_world() -> World {
    let mut world = World::new();
    world.sandbox.set_env("DISPLAY", ":99");
    world
}

/// `$STATE/locks/<key>.cooldown`.
fn cooldown_file(world: &World) -> std::path::PathBuf {
    world.lock_file().with_extension("cooldown")
}

#[test]
fn a_helper_with_no_terminal_but_a_display_signs_in_through_the_browser() {
    let world = desktop_world();

    let finished = world.run(&["token"]);

    let token = printed_token(&finished);
    world.await_browser_visits(1);
    world.assert_browser_visits(1, "one browser for the sign-in");
    assert_eq!(world.idp.token_requests(GrantType::AuthorizationCode), 1);
    assert_eq!(world.gateway_status(&token), 200);
    // The session is stored: the next helper call is the cached fast path.
    assert_eq!(printed_token(&world.run(&["token"])), token);
    world.assert_browser_visits(1, "no second browser");
}

#[test]
fn a_helper_told_not_to_sign_in_exits_3_and_opens_nothing() {
    let mut world = desktop_world();
    let finished = world.run(&["token", "--non-interactive"]);
    expect_exit(&finished, 3, "token --non-interactive with a display");
    for (name, value) in [
        ("CLAUDE_HELPER_CONTEXT", "background"),
        ("CLAUDE_HELPER_CONTEXT", "mid-session-refresh"),
        ("LLMAUTH_NON_INTERACTIVE", "1"),
    ] {
        world.sandbox.set_env(name, value);
        let finished = world.run(&["token"]);
        expect_exit(&finished, 3, &format!("{name}={value} with a display"));
        assert!(
            finished.elapsed < Duration::from_secs(2),
            "at once: {:?}",
            finished.elapsed
        );
        assert!(
            finished.stderr.contains("llmauth login"),
            "{}",
            finished.stderr
        );
        world.sandbox.unset_env(name);
    }
    world.assert_browser_visits(0, "never a browser");
    // Claude Desktop's interactive context with no terminal may sign in.
    world
        .sandbox
        .set_env("CLAUDE_HELPER_CONTEXT", "interactive");
    printed_token(&world.run(&["token"]));
    world.await_browser_visits(1);
}

#[test]
fn a_headless_helper_still_exits_3_naming_llmauth_login() {
    let world = World::new();
    let finished = world.run(&["token"]);
    expect_exit(&finished, 3, "token with neither a terminal nor a display");
    assert!(
        finished.stderr.contains("llmauth login"),
        "{}",
        finished.stderr
    );
    world.assert_browser_visits(0, "no display, no browser");
}

#[test]
fn five_concurrent_helpers_open_the_browser_exactly_once() {
    let world = desktop_world();

    let finished = world.concurrent_tokens(5, &[]);

    let tokens: Vec<String> = finished.iter().map(printed_token).collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "every helper prints the one sign-in's token"
    );
    world.await_browser_visits(1);
    world.assert_browser_visits(1, "five helpers, one browser");
    assert_eq!(world.idp.token_requests(GrantType::AuthorizationCode), 1);
}

#[test]
fn an_abandoned_sign_in_holds_helpers_back_until_llmauth_login() {
    let mut world = desktop_world();
    // The person never signs in: the browser opens and nothing comes back.
    world.sandbox.set_env("FAKE_BROWSER_MODE", "ignore");
    let abandoned = world.run(&["token", "--timeout", "3s"]);
    expect_exit(&abandoned, 3, "a sign-in nobody completed");
    assert!(
        abandoned.elapsed >= Duration::from_secs(2),
        "it waited for the sign-in: {:?}",
        abandoned.elapsed
    );
    assert!(
        abandoned
            .stderr
            .contains("will not open the browser again before")
            && abandoned.stderr.contains("llmauth login"),
        "{}",
        abandoned.stderr
    );
    world.await_browser_visits(1);
    let cooldown: Value =
        serde_json::from_slice(&std::fs::read(cooldown_file(&world)).expect("a cooldown")).unwrap();
    assert!(cooldown["until"].as_u64().is_some(), "{cooldown}");

    // Right after: no second browser, exit 3 at once, naming `llmauth login` and when
    // the cooldown ends.
    world.sandbox.unset_env("FAKE_BROWSER_MODE");
    let held = world.run(&["token"]);
    expect_exit(&held, 3, "a helper during the cooldown");
    assert!(
        held.elapsed < Duration::from_secs(2),
        "at once: {:?}",
        held.elapsed
    );
    assert!(
        held.stderr.contains("llmauth login") && held.stderr.contains("before 20"),
        "{}",
        held.stderr
    );
    world.assert_browser_visits(1, "no browser during the cooldown");
    let status = world.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("tools will not open the browser again before"),
        "{}",
        status.stdout
    );

    // `llmauth login` works at once, and ends the cooldown.
    world.login();
    assert!(!cooldown_file(&world).exists(), "login ends the cooldown");
    printed_token(&world.run(&["token"]));
    world.assert_browser_visits(2, "the login's browser only");
}
