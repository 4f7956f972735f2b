//! The session's life: rotation across processes, logout (with and without revocation),
//! `status` exit codes, and the read-only environment token.

use std::path::Path;

use llmauth_tests::idp::GrantType;
use llmauth_tests::sandbox::Sandbox;
use serde_json::Value;

use super::common::{LLMAUTH, World, expect_exit, jwt_claims, printed_token};

#[test]
fn forced_refreshes_store_each_rotated_refresh_token() {
    let world = World::new();
    world.login();
    let mut chain = vec![world.stored_refresh_token()];
    let mut printed = vec![printed_token(&world.run(&["token"]))];

    for round in 1..=3 {
        let finished = world.run(&["token", "--force-refresh"]);
        let token = printed_token(&finished);
        let stored = world.stored_refresh_token();
        assert_eq!(
            Some(&stored),
            world.idp.current_refresh_token().as_ref(),
            "round {round}: the newest refresh token is stored"
        );
        assert!(!chain.contains(&stored), "round {round}: the token rotated");
        assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
        assert!(
            !printed.contains(&token),
            "round {round}: a new access token"
        );
        chain.push(stored);
        printed.push(token);
    }

    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 3);
    assert_eq!(
        world.idp.presented_refresh_tokens(),
        chain[..3].to_vec(),
        "each refresh presented the token the previous one stored"
    );
    assert_eq!(world.idp.reuse_detections(), 0);
    assert_eq!(world.idp.revoked_grants(), 0);
    let last = printed.last().expect("a token");
    assert_eq!(world.gateway_status(last), 200);
    // And the next plain call uses the cached newest token without a request.
    assert_eq!(&printed_token(&world.run(&["token"])), last);
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 3);
}

#[test]
fn logout_ends_the_session_although_an_access_token_was_cached() {
    let world = World::new();
    world.login();
    printed_token(&world.run(&["token"]));
    let refresh_token = world.stored_refresh_token();

    let logout = world.run(&["logout"]);
    expect_exit(&logout, 0, "logout");
    assert_eq!(logout.stdout, "");
    assert!(
        !world.session_file().exists(),
        "the session file is deleted"
    );

    let token = world.run(&["token", "--non-interactive"]);
    expect_exit(&token, 3, "token after logout");
    assert_eq!(token.stdout, "");
    assert!(token.stderr.contains("llmauth login"), "{}", token.stderr);
    assert_eq!(world.idp.token_requests(GrantType::RefreshToken), 0);
    assert!(
        world.idp.revoked_tokens().is_empty(),
        "no --revoke, no revocation"
    );
    assert_eq!(world.idp.is_grant_revoked(&refresh_token), Some(false));
}

#[test]
fn logout_revoke_revokes_the_grant_at_the_idp() {
    let world = World::new();
    world.login();
    printed_token(&world.run(&["token"]));
    let refresh_token = world.stored_refresh_token();

    let logout = world.run(&["logout", "--revoke"]);
    expect_exit(&logout, 0, "logout --revoke");
    assert!(logout.stderr.contains("revoked"), "{}", logout.stderr);
    assert_eq!(world.idp.revoked_tokens(), vec![refresh_token.clone()]);
    assert_eq!(world.idp.is_grant_revoked(&refresh_token), Some(true));
    assert!(!world.session_file().exists());

    let token = world.run(&["token", "--non-interactive"]);
    expect_exit(&token, 3, "token after logout --revoke");
    assert_eq!(token.stdout, "");
}

#[test]
fn an_access_token_from_the_environment_needs_no_config() {
    let mut sandbox = Sandbox::new(Path::new(LLMAUTH), None);
    sandbox.set_env("LLMAUTH_ACCESS_TOKEN", "abc");

    let raw = sandbox.run(&["token"]);
    expect_exit(&raw, 0, "token from LLMAUTH_ACCESS_TOKEN");
    assert_eq!(raw.stdout, "abc\n");
    assert_eq!(raw.stderr, "");

    let json = sandbox.run(&["token", "--format", "json"]);
    expect_exit(&json, 0, "token --format json from LLMAUTH_ACCESS_TOKEN");
    let parsed: Value = serde_json::from_str(&json.stdout).expect("JSON line");
    assert_eq!(parsed["access_token"], "abc");
    assert_eq!(parsed["token_type"], "Bearer");
    assert_eq!(parsed["expires_at"], Value::Null);
    assert!(!sandbox.config_file().exists());

    // A token tools would reject is not printed at all.
    sandbox.set_env("LLMAUTH_ACCESS_TOKEN", "two words");
    let rejected = sandbox.run(&["token"]);
    expect_exit(&rejected, 1, "token with whitespace");
    assert_eq!(rejected.stdout, "");
    assert!(
        !rejected.stderr.contains("two words"),
        "{}",
        rejected.stderr
    );
}

#[test]
fn status_exit_codes_follow_the_session_and_never_show_tokens() {
    let world = World::new();
    world.login();
    let access = printed_token(&world.run(&["token"]));
    let refresh = world.stored_refresh_token();
    let secret_free = |text: &str, what: &str| {
        assert!(!text.contains(&access), "{what} shows the access token");
        assert!(!text.contains(&refresh), "{what} shows the refresh token");
    };

    let text = world.run(&["status"]);
    expect_exit(&text, 0, "status when signed in");
    assert!(
        text.stdout.contains("signed in as test-user"),
        "{}",
        text.stdout
    );
    secret_free(&text.stdout, "status");
    secret_free(&text.stderr, "status stderr");

    let json = world.run(&["status", "--format", "json"]);
    expect_exit(&json, 0, "status --format json when signed in");
    let parsed: Value = serde_json::from_str(&json.stdout).expect("status JSON");
    assert_eq!(parsed["session"]["refresh_token"], true);
    assert_eq!(parsed["session"]["access_token_valid"], true);
    assert_eq!(parsed["session"]["sub"], "test-user");
    assert_eq!(parsed["secrets_backend"], "file");
    secret_free(&json.stdout, "status --format json");

    expect_exit(&world.run(&["logout"]), 0, "logout");
    let after = world.run(&["status", "--format", "json"]);
    expect_exit(&after, 3, "status after logout");
    let parsed: Value = serde_json::from_str(&after.stdout).expect("status JSON");
    assert_eq!(parsed["session"]["refresh_token"], false);
    assert_eq!(parsed["session"]["access_token_cached"], false);
    // The state is the report, and the exit code says it: no `error:` line on top.
    assert!(!after.stderr.contains("error:"), "{}", after.stderr);
    let text_after = world.run(&["status"]);
    expect_exit(&text_after, 3, "status (text) after logout");
    assert!(
        text_after.stdout.contains("not signed in"),
        "{}",
        text_after.stdout
    );
    assert!(
        !text_after.stderr.contains("error:"),
        "{}",
        text_after.stderr
    );

    std::fs::write(world.sandbox.config_file(), "llm: [not, a, mapping\n").expect("break config");
    let broken = world.run(&["status"]);
    expect_exit(&broken, 2, "status with a broken config");
    let broken_json = world.run(&["status", "--format", "json"]);
    expect_exit(&broken_json, 2, "status --format json with a broken config");
}

#[test]
fn a_refresh_for_another_user_is_never_served() {
    let world = World::new();
    world.login();
    printed_token(&world.run(&["token"]));
    // The IdP now answers refreshes of this grant for a different user (SPEC §6: on
    // refresh, the ID token's `sub` must equal the stored `sub`).
    world.idp.set_subject("mallory");

    let refused = world.run(&["token", "--force-refresh"]);
    assert_ne!(
        refused.code, 0,
        "the refresh is rejected: {}",
        refused.stderr
    );
    assert_eq!(refused.stdout, "");
    assert!(refused.stderr.contains("sub"), "{}", refused.stderr);

    // Whatever the next call does, it must not hand out the other user's token.
    let next = world.run(&["token"]);
    if next.code == 0 {
        let token = printed_token(&next);
        assert_eq!(
            jwt_claims(&token)["sub"],
            "test-user",
            "the next call served the other user's access token"
        );
    }
    let cached = world.stored_session()["access"]["access_token"]
        .as_str()
        .map(jwt_claims);
    if let Some(claims) = cached {
        assert_eq!(
            claims["sub"], "test-user",
            "the other user's token is cached"
        );
    }
}
