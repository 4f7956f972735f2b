//! The device flow: pending, slow_down, approval (by method and by the verification
//! page), denial, expiry.

use std::time::Duration;

use llmauth_tests::idp::{DEVICE_CODE_GRANT, GrantType, IdpEndpoint, TestIdp};
use llmauth_tests::jwt::decode_unverified;

use super::common::{Answer, get, idp, post_form, str_field};

fn start_device(idp: &TestIdp, agent: &ureq::Agent) -> Answer {
    let answer = post_form(
        agent,
        &idp.device_authorization_endpoint(),
        &[
            ("client_id", idp.client_id()),
            ("scope", "openid offline_access"),
            ("resource", "https://gw.example"),
        ],
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

fn poll(idp: &TestIdp, agent: &ureq::Agent, device_code: &str) -> Answer {
    post_form(
        agent,
        &idp.token_endpoint(),
        &[
            ("grant_type", DEVICE_CODE_GRANT),
            ("device_code", device_code),
            ("client_id", idp.client_id()),
        ],
    )
}

#[test]
fn device_flow_pending_slow_down_approve_success() {
    let idp = idp();
    let agent = idp.ca().agent();
    let start = start_device(&idp, &agent).json;
    let device_code = str_field(&start, "device_code").to_string();
    let user_code = str_field(&start, "user_code").to_string();
    assert_eq!(start["interval"], 1);
    assert_eq!(start["expires_in"], 600);
    assert_eq!(str_field(&start, "verification_uri"), idp.url("/device"));
    assert!(str_field(&start, "verification_uri_complete").contains(&user_code));
    assert_eq!(idp.last_user_code().as_deref(), Some(user_code.as_str()));
    assert_eq!(idp.device_authorization_forms().len(), 1);

    let first = poll(&idp, &agent, &device_code);
    assert_eq!(first.status, 400);
    assert_eq!(str_field(&first.json, "error"), "authorization_pending");
    let too_fast = poll(&idp, &agent, &device_code);
    assert_eq!(str_field(&too_fast.json, "error"), "slow_down");
    std::thread::sleep(Duration::from_millis(1100));
    let patient = poll(&idp, &agent, &device_code);
    assert_eq!(str_field(&patient.json, "error"), "authorization_pending");

    // The scripted browser's way: open verification_uri_complete.
    let page = get(&agent, str_field(&start, "verification_uri_complete"));
    assert_eq!(page.status, 200);
    assert!(page.text.contains("approved"));

    std::thread::sleep(Duration::from_millis(1100));
    let tokens = poll(&idp, &agent, &device_code);
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert!(tokens.json.get("refresh_token").is_some());
    let claims = decode_unverified(str_field(&tokens.json, "access_token"))
        .unwrap()
        .1;
    assert_eq!(claims["aud"], "https://gw.example");
    let id = decode_unverified(str_field(&tokens.json, "id_token"))
        .unwrap()
        .1;
    assert!(id.get("nonce").is_none());

    std::thread::sleep(Duration::from_millis(1100));
    let again = poll(&idp, &agent, &device_code);
    assert_eq!(str_field(&again.json, "error"), "invalid_grant");
    assert_eq!(idp.token_requests(GrantType::DeviceCode), 5);
    assert_eq!(idp.requests(IdpEndpoint::DeviceVerification), 1);
}

#[test]
fn device_approval_denial_and_expiry_by_method() {
    let idp = idp();
    let agent = idp.ca().agent();

    let approved = start_device(&idp, &agent).json;
    // User codes are matched ignoring case and dashes.
    let sloppy = str_field(&approved, "user_code")
        .replace('-', "")
        .to_lowercase();
    assert!(idp.approve_device(&sloppy));
    assert!(
        !idp.approve_device(&sloppy),
        "only a pending code can be approved"
    );
    assert_eq!(
        poll(&idp, &agent, str_field(&approved, "device_code")).status,
        200
    );

    let denied = start_device(&idp, &agent).json;
    assert!(idp.deny_device(str_field(&denied, "user_code")));
    let answer = poll(&idp, &agent, str_field(&denied, "device_code"));
    assert_eq!(str_field(&answer.json, "error"), "access_denied");

    let expired = start_device(&idp, &agent).json;
    assert!(idp.expire_device(str_field(&expired, "user_code")));
    let answer = poll(&idp, &agent, str_field(&expired, "device_code"));
    assert_eq!(str_field(&answer.json, "error"), "expired_token");

    assert!(!idp.approve_device("ZZZZ-ZZZZ"));
    let unknown = poll(&idp, &agent, "no-such-device-code");
    assert_eq!(str_field(&unknown.json, "error"), "invalid_grant");
    let bad_page = get(&agent, &idp.url("/device?user_code=NOPE-NOPE"));
    assert_eq!(bad_page.status, 400);
    let wrong_client = post_form(
        &agent,
        &idp.device_authorization_endpoint(),
        &[("client_id", "intruder")],
    );
    assert_eq!(wrong_client.status, 401);
}
