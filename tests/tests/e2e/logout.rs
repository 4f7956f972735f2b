//! `logout --revoke`: the session is gone here and at the provider.

use std::time::Duration;

use super::harness::E2e;

#[test]
fn logout_revoke_ends_the_session_here_and_at_the_provider() {
    let e2e = E2e::start(Duration::from_secs(300));
    e2e.login();
    let token = e2e.token(&[]);
    e2e.assert_gateway_accepts(&token);
    let refresh_token = e2e.stored_refresh_token();

    let logout = e2e.run(&["logout", "--revoke"]);
    e2e.expect_exit("logout --revoke", &logout, 0);
    assert!(
        logout.stderr.contains("revoked"),
        "logout did not say the token was revoked: {}",
        logout.stderr
    );
    assert!(
        e2e.provider.log().contains("POST /token/revocation"),
        "no revocation request reached the provider"
    );
    assert!(
        e2e.sandbox.files_containing(&refresh_token).is_empty(),
        "the refresh token is still stored: {:?}",
        e2e.sandbox.files_containing(&refresh_token)
    );
    assert!(
        e2e.sandbox.files_containing(&token).is_empty(),
        "the access token is still cached: {:?}",
        e2e.sandbox.files_containing(&token)
    );

    let after = e2e.run(&["token", "--non-interactive"]);
    e2e.expect_exit("token --non-interactive after logout", &after, 3);
    assert!(after.stdout.is_empty(), "{}", after.stdout);
    assert!(after.stderr.contains("llmauth login"), "{}", after.stderr);
    assert_eq!(
        e2e.sandbox.browser_visits().len(),
        1,
        "token --non-interactive opened a browser"
    );

    // The provider revoked it: using it directly fails.
    let (status, answer) = e2e.refresh_directly(&refresh_token);
    assert_eq!((status, &answer["error"]), (400, &"invalid_grant".into()));
}
