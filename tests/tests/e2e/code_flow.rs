//! Sign-in with the authorization-code flow and PKCE, through the scripted browser.

use std::time::Duration;

use serde_json::Value;

use super::harness::{E2e, jwt_claims, parse_rfc3339_utc};

#[test]
fn login_then_token_is_accepted_by_the_gateway() {
    let e2e = E2e::start(Duration::from_secs(300));

    let login = e2e.login();
    assert!(
        login.stderr.contains("Signed in as e2e-user"),
        "{}",
        login.stderr
    );
    assert!(
        login.stdout.is_empty(),
        "login printed on stdout: {}",
        login.stdout
    );
    let visits = e2e.sandbox.browser_visits();
    assert_eq!(visits.len(), 1, "one browser visit: {visits:?}");
    assert_eq!(
        visits[0]["reached_callback"], true,
        "{:?}",
        visits[0]["hops"]
    );
    assert_eq!(visits[0]["status"], 200);
    // The provider saw PKCE and consent: one code exchange, answered 200.
    assert_eq!(
        e2e.provider.token_requests("authorization_code"),
        [(200, None)]
    );
    // offline_access survived (prompt=consent), so there is a refresh token.
    assert!(!e2e.stored_refresh_token().is_empty());

    let token = e2e.token(&[]);
    let claims = e2e.assert_gateway_accepts(&token);
    assert_eq!(claims["sub"], "e2e-user");
    assert_eq!(claims["client_id"], e2e.provider.client_id());
    let (header, _) = llmauth_tests::jwt::decode_unverified(&token).unwrap();
    assert_eq!(header["alg"], "RS256");
    // The token came from the login, not from a refresh.
    assert!(
        e2e.refresh_requests().is_empty(),
        "{:?}",
        e2e.refresh_requests()
    );

    let status = e2e.run(&["status"]);
    e2e.expect_exit("status", &status, 0);
    assert!(
        !status.stdout.contains(&token) && !status.stderr.contains(&token),
        "status printed the token"
    );
}

#[test]
fn token_json_expiry_matches_the_jwt() {
    let e2e = E2e::start(Duration::from_secs(300));
    e2e.login();

    let finished = e2e.run(&["token", "--format", "json"]);
    e2e.expect_exit("token --format json", &finished, 0);
    let lines: Vec<&str> = finished.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line: {:?}", finished.stdout);
    let printed: Value = serde_json::from_str(lines[0]).expect("JSON");
    assert_eq!(printed["token_type"], "Bearer");
    let token = printed["access_token"].as_str().expect("access_token");
    let expires_at = printed["expires_at"].as_str().expect("expires_at");
    let exp = jwt_claims(token)["exp"].as_u64().expect("exp");
    let printed_secs = parse_rfc3339_utc(expires_at)
        .unwrap_or_else(|| panic!("expires_at {expires_at:?} is not RFC 3339 UTC"));
    assert!(
        printed_secs.abs_diff(exp) <= 2,
        "expires_at {expires_at} ({printed_secs}) is not within 2 s of the JWT's exp {exp}"
    );
    e2e.assert_gateway_accepts(token);
}
