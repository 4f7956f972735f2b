//! Every fault kind, on the token endpoint and on discovery, plus outages.

use std::time::{Duration, Instant};

use llmauth_tests::faults::Fault;
use llmauth_tests::idp::{IdpEndpoint, TestIdp};

use super::common::{get, idp, refresh, str_field, try_post_form};

/// An IdP with a session; returns it and the session's refresh token.
fn with_session() -> (TestIdp, String) {
    let idp = idp();
    let rt = idp
        .create_session("openid offline_access", None)
        .refresh_token
        .unwrap();
    (idp, rt)
}

fn try_refresh(
    idp: &TestIdp,
    agent: &ureq::Agent,
    rt: &str,
) -> Result<super::common::Answer, ureq::Error> {
    try_post_form(
        agent,
        &idp.token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", idp.client_id()),
        ],
    )
}

#[test]
fn answer_faults_do_not_consume_the_refresh_token() {
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Token, Fault::Status(500));
    idp.push_fault(IdpEndpoint::Token, Fault::Garbage);
    idp.push_fault(IdpEndpoint::Token, Fault::InvalidGrant);
    idp.push_fault(IdpEndpoint::Token, Fault::TemporarilyUnavailable);

    let status = refresh(&idp, &agent, &rt);
    assert_eq!(status.status, 500);
    assert!(status.json.is_null(), "a generic body, not OAuth JSON");
    let garbage = refresh(&idp, &agent, &rt);
    assert_eq!(garbage.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&garbage.text).is_err());
    let invalid = refresh(&idp, &agent, &rt);
    assert_eq!(invalid.status, 400);
    assert_eq!(str_field(&invalid.json, "error"), "invalid_grant");
    let unavailable = refresh(&idp, &agent, &rt);
    assert_eq!(unavailable.status, 503);
    assert_eq!(
        str_field(&unavailable.json, "error"),
        "temporarily_unavailable"
    );

    // None of them touched the grant: the same refresh token still works.
    assert_eq!(refresh(&idp, &agent, &rt).status, 200);
    assert_eq!(idp.faults_injected(IdpEndpoint::Token), 4);
    assert_eq!(idp.presented_refresh_tokens().len(), 5);
}

#[test]
fn timing_faults_differ_in_whether_the_request_took_effect() {
    let hold = Duration::from_millis(300);

    // Stall: held, then processed and answered.
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Token, Fault::Stall(hold));
    let started = Instant::now();
    let answer = refresh(&idp, &agent, &rt);
    assert!(started.elapsed() >= hold);
    assert_eq!(answer.status, 200);
    assert_ne!(idp.current_refresh_token().unwrap(), rt, "rotated");

    // Delay: processed at once, answered late.
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Token, Fault::Delay(hold));
    let started = Instant::now();
    let answer = refresh(&idp, &agent, &rt);
    assert!(started.elapsed() >= hold);
    assert_eq!(answer.status, 200);
    assert_ne!(idp.current_refresh_token().unwrap(), rt);

    // StallBeforeProcessing: held, then the connection drops; nothing consumed.
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Token, Fault::StallBeforeProcessing(hold));
    let started = Instant::now();
    assert!(try_refresh(&idp, &agent, &rt).is_err());
    assert!(started.elapsed() >= hold);
    assert_eq!(idp.current_refresh_token().unwrap(), rt);
    assert_eq!(refresh(&idp, &agent, &rt).status, 200);

    // CloseConnection: dropped at once; nothing consumed.
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Token, Fault::CloseConnection);
    assert!(try_refresh(&idp, &agent, &rt).is_err());
    assert_eq!(idp.current_refresh_token().unwrap(), rt);
    assert_eq!(refresh(&idp, &agent, &rt).status, 200);

    // CloseAfterProcessing: the answer is lost but the token was rotated, so the client's
    // retry with the old token is reuse.
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Token, Fault::CloseAfterProcessing);
    assert!(try_refresh(&idp, &agent, &rt).is_err());
    assert_ne!(idp.current_refresh_token().unwrap(), rt);
    let retry = refresh(&idp, &agent, &rt);
    assert_eq!(str_field(&retry.json, "error"), "invalid_grant");
    assert_eq!(idp.reuse_detections(), 1);
}

#[test]
fn sticky_faults_last_until_cleared_and_follow_one_shot_faults() {
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    idp.push_fault(IdpEndpoint::Discovery, Fault::Garbage);
    idp.set_sticky_fault(IdpEndpoint::Discovery, Some(Fault::Status(502)));
    let first = get(&agent, &idp.discovery_url());
    assert_eq!(first.status, 200);
    assert!(first.json.is_null());
    assert_eq!(get(&agent, &idp.discovery_url()).status, 502);
    assert_eq!(get(&agent, &idp.discovery_url()).status, 502);
    idp.set_sticky_fault(IdpEndpoint::Discovery, None);
    assert_eq!(get(&agent, &idp.discovery_url()).status, 200);
    assert_eq!(idp.discovery_requests(), 4);
    assert_eq!(idp.faults_injected(IdpEndpoint::Discovery), 3);

    // Faults are per endpoint: the token endpoint was never affected.
    assert_eq!(refresh(&idp, &agent, &rt).status, 200);
    idp.set_sticky_fault(IdpEndpoint::Token, Some(Fault::TemporarilyUnavailable));
    idp.clear_faults();
    assert_eq!(get(&agent, &idp.discovery_url()).status, 200);
}

#[test]
fn down_refuses_connections_and_up_restores_the_same_idp() {
    let (idp, rt) = with_session();
    let agent = idp.ca().agent();
    let issuer = idp.issuer().to_string();
    assert_eq!(get(&agent, &idp.discovery_url()).status, 200);
    idp.down();
    assert!(!idp.server().is_up());
    let refused = std::net::TcpStream::connect(("127.0.0.1", idp.port()));
    assert!(refused.is_err(), "the listener must be closed");
    // The pooled keep-alive connection was cut too.
    assert!(agent.get(&idp.discovery_url()).call().is_err());
    idp.down(); // idempotent
    idp.up().unwrap();
    idp.up().unwrap(); // idempotent
    assert_eq!(idp.issuer(), issuer);
    assert_eq!(get(&agent, &idp.discovery_url()).status, 200);
    assert_eq!(
        refresh(&idp, &agent, &rt).status,
        200,
        "state survived the outage"
    );
}
