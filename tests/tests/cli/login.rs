//! `llmauth login`: the browser flow, the device flow, and a busy callback port.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use llmauth_tests::browser;
use llmauth_tests::idp::{GrantType, IdpEndpoint};
use llmauth_tests::sandbox::wait;
use serde_json::Value;

use super::common::{Running, World, expect_exit, jwt_claims, printed_token, rfc3339_utc_to_unix};

#[test]
fn browser_login_gives_a_token_the_gateway_accepts() {
    let world = World::new();
    world.login();

    let visits = world.sandbox.browser_visits();
    assert_eq!(visits.len(), 1, "exactly one browser visit: {visits:?}");
    assert_eq!(visits[0]["reached_callback"], Value::Bool(true));
    assert_eq!(
        visits[0]["status"], 200,
        "the callback page: {:?}",
        visits[0]
    );
    assert_eq!(world.idp.token_requests(GrantType::AuthorizationCode), 1);
    assert!(
        !world.lock_file().with_extension("login").exists(),
        "the login marker is removed when the login ends"
    );

    let first = world.run(&["token"]);
    let token = printed_token(&first);
    assert_eq!(first.stderr, "", "a cached token is printed silently");
    assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
    assert_eq!(
        world.idp.token_requests(GrantType::RefreshToken),
        0,
        "a fresh token needs no refresh"
    );
    assert_eq!(jwt_claims(&token)["sub"], "test-user");
    assert_eq!(world.gateway_status(&token), 200);
    let seen = world
        .gateway
        .last_request()
        .expect("the gateway saw the request");
    assert_eq!(seen.bearer_token(), Some(token.as_str()));

    let json = world.run(&["token", "--format", "json"]);
    expect_exit(&json, 0, "token --format json");
    assert_eq!(
        json.stdout.matches('\n').count(),
        1,
        "one line: {}",
        json.stdout
    );
    let parsed: Value = serde_json::from_str(&json.stdout).expect("token --format json");
    assert_eq!(parsed["access_token"], token.as_str());
    assert_eq!(parsed["token_type"], "Bearer");
    let expires_at = parsed["expires_at"].as_str().expect("expires_at string");
    let expires_at = rfc3339_utc_to_unix(expires_at)
        .unwrap_or_else(|| panic!("expires_at is not RFC 3339 UTC: {expires_at}"));
    let exp = jwt_claims(&token)["exp"].as_i64().expect("exp claim");
    assert!(
        (expires_at - exp).abs() <= 2,
        "expires_at {expires_at} should match the JWT's exp {exp}"
    );
    world.assert_browser_visits(1, "token opened no browser");
}

#[test]
fn device_login_shows_a_code_and_completes_once_approved() {
    let world = World::new();
    let mut child = Running::new(world.sandbox.spawn(&["login", "--device"]));
    let stderr = child.child().stderr.take().expect("login stderr");
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen = Vec::new();
    let mut user_code = None;
    let mut complete_uri = None;
    while user_code.is_none() || complete_uri.is_none() {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no device code shown; stderr so far: {seen:?}"));
        if let Some((_, code)) = line.split_once("enter the code: ") {
            user_code = Some(code.trim().to_owned());
        }
        if let Some(uri) = line.trim().strip_prefix("(or open ") {
            complete_uri = Some(uri.trim_end_matches(')').to_owned());
        }
        seen.push(line);
    }
    let user_code = user_code.unwrap_or_default();
    let complete_uri = complete_uri.unwrap_or_default();
    assert_eq!(Some(&user_code), world.idp.last_user_code().as_ref());
    assert!(
        complete_uri.starts_with(world.idp.issuer()) && complete_uri.contains(&user_code),
        "verification_uri_complete: {complete_uri}"
    );

    // The person approves on another device.
    let visit = browser::visit(&complete_uri, std::slice::from_ref(world.idp.ca().ca_der()))
        .expect("visit the verification page");
    assert_eq!(visit.status, 200, "{}", visit.body);
    assert!(visit.body.contains("Device approved"), "{}", visit.body);

    let finished = wait(child.into_child(), Duration::from_secs(60));
    drop(received);
    let _ = reader.join();
    expect_exit(&finished, 0, "login --device");
    assert!(world.idp.token_requests(GrantType::DeviceCode) >= 1);
    assert_eq!(world.idp.token_requests(GrantType::AuthorizationCode), 0);
    assert_eq!(world.idp.requests(IdpEndpoint::Authorize), 0);
    world.assert_browser_visits(0, "the device flow opens no browser");

    let token = printed_token(&world.run(&["token"]));
    assert_eq!(Some(&token), world.idp.last_access_token().as_ref());
    assert_eq!(world.gateway_status(&token), 200);
}

#[test]
fn a_busy_callback_port_is_a_configuration_error_naming_the_port() {
    let world = World::new();
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = busy.local_addr().expect("local address").port().to_string();
    let set = world.run(&["config", "set", "--callback-port", &port]);
    expect_exit(&set, 0, "config set --callback-port");

    let login = world.run(&["login"]);
    expect_exit(&login, 2, "login with a busy callback port");
    assert!(
        login.stderr.contains(&port),
        "stderr names port {port}: {}",
        login.stderr
    );
    world.assert_browser_visits(0, "no browser");
    assert_eq!(world.idp.requests(IdpEndpoint::Authorize), 0);
    drop(busy);
}
