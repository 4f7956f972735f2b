//! Refresh with rotation: an access token inside its refresh margin is replaced, the
//! provider's rotated refresh token is stored, and the grant stays alive.

use std::time::Duration;

use super::harness::E2e;

#[test]
fn token_refreshes_inside_the_margin_and_rotation_keeps_the_grant() {
    // 10 s tokens: llmauth uses one for 5 s (margin = max(lifetime / 2, 5 s)).
    let e2e = E2e::start(Duration::from_secs(10));
    e2e.login();
    let first = e2e.token(&[]);
    assert!(
        e2e.refresh_requests().is_empty(),
        "a fresh token was refreshed: {:?}",
        e2e.refresh_requests()
    );
    let first_refresh_token = e2e.stored_refresh_token();
    let first_session = std::fs::read(e2e.session_path()).unwrap();

    e2e.wait_until_refresh_due();
    let second = e2e.token(&[]);
    assert_ne!(
        second, first,
        "the token inside its margin was not refreshed"
    );
    assert_eq!(e2e.refresh_requests(), [(200, None)]);
    e2e.assert_gateway_accepts(&second);
    // The rotated refresh token was stored (the old one is spent at the provider).
    let second_refresh_token = e2e.stored_refresh_token();
    assert_ne!(second_refresh_token, first_refresh_token);
    assert_ne!(std::fs::read(e2e.session_path()).unwrap(), first_session);

    // The new token is fresh: served from the cache, no request.
    assert_eq!(e2e.token(&[]), second);
    assert_eq!(e2e.refresh_requests().len(), 1);

    // The grant is alive: the rotated refresh token works again.
    let third = e2e.token(&["--force-refresh"]);
    assert_ne!(third, second);
    assert_eq!(e2e.refresh_requests(), [(200, None), (200, None)]);
    assert_ne!(e2e.stored_refresh_token(), second_refresh_token);
    e2e.assert_gateway_accepts(&third);

    // The first refresh token is spent: the provider refuses it (and, being a replay,
    // revokes the grant — so this comes last).
    let (status, answer) = e2e.refresh_directly(&first_refresh_token);
    assert_eq!((status, &answer["error"]), (400, &"invalid_grant".into()));
}
