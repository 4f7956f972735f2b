//! What the IdP or a state file says reaches the terminal cleaned of control characters
//! and escape sequences (SPEC §8, issue 9.5), and a device sign-in page must be https.

use std::path::Path;
use std::sync::Arc;

use llmauth_tests::http_server::{HttpServer, Response, ServerOptions};
use llmauth_tests::idp::IdpOptions;
use llmauth_tests::sandbox::Sandbox;
use serde_json::{Value, json};

use super::common::{BROWSER, LLMAUTH, World, expect_exit, hold_lock};

/// A plain-http IdP on loopback that offers the device flow, answers its device
/// authorization request with `device`, and refuses every poll with `access_denied`.
fn device_idp(device: Value) -> HttpServer {
    HttpServer::start(ServerOptions::default(), move |addr| {
        let issuer = format!("http://{addr}");
        Arc::new(move |request| match request.path.as_str() {
            "/.well-known/openid-configuration" => Response::json(
                200,
                &json!({
                    "issuer": issuer,
                    "authorization_endpoint": format!("{issuer}/auth"),
                    "token_endpoint": format!("{issuer}/token"),
                    "device_authorization_endpoint": format!("{issuer}/device"),
                }),
            ),
            "/device" => Response::json(200, &device),
            _ => Response::json(400, &json!({"error": "access_denied"})),
        })
    })
    .expect("start the device IdP")
}

fn sandbox_for(idp: &HttpServer) -> Sandbox {
    let sandbox = Sandbox::new(Path::new(LLMAUTH), Some(Path::new(BROWSER)));
    let set = sandbox.run(&[
        "config",
        "set",
        "--gateway-url",
        "https://gw.example",
        "--issuer",
        &idp.base_url(),
        "--client-id",
        "c",
        "--secrets-backend",
        "file",
    ]);
    expect_exit(&set, 0, "config set");
    sandbox
}

fn assert_clean(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control characters reach the terminal: {text:?}"
    );
}

#[test]
fn a_device_code_from_the_idp_is_shown_without_its_escape_sequences() {
    let idp = device_idp(json!({
        "device_code": "dc",
        "user_code": "WDJB\r\u{1b}[2K-MJHT",
        "verification_uri": "https://idp.example/device\u{1b}]8;;https://evil.example/\u{7}",
        "verification_uri_complete": "https://idp.example/device?user_code=WDJB-MJHT\u{1b}]0;pwned\u{7}",
        "expires_in": 60,
        "interval": 1,
    }));
    let sandbox = sandbox_for(&idp);

    let finished = sandbox.run(&["login", "--device"]);

    expect_exit(&finished, 3, "login --device, denied");
    assert_clean(&finished.stderr);
    assert!(
        !finished.stderr.contains("evil.example"),
        "{}",
        finished.stderr
    );
    assert!(
        finished
            .stderr
            .contains("visit https://idp.example/device and enter the code: WDJB-MJHT"),
        "{}",
        finished.stderr
    );
}

#[test]
fn a_device_sign_in_page_that_is_not_https_stops_the_login() {
    let idp = device_idp(json!({
        "device_code": "dc",
        "user_code": "WDJB-MJHT",
        "verification_uri": "http://idp.example/device",
        "expires_in": 60,
        "interval": 1,
    }));
    let sandbox = sandbox_for(&idp);

    let finished = sandbox.run(&["login", "--device"]);

    expect_exit(&finished, 1, "login --device with an http sign-in page");
    assert!(
        finished.stderr.contains(
            "the IdP's device sign-in page is not an https URL: http://idp.example/device"
        ),
        "{}",
        finished.stderr
    );
    assert!(
        !finished.stderr.contains("WDJB"),
        "no code to type in there"
    );
}

#[test]
fn a_login_marker_url_is_shown_without_its_escape_sequences() {
    let world = World::with(IdpOptions::default(), "file");
    world.login_expired();
    let lock = hold_lock(&world);
    let marker = world.lock_file().with_extension("login");
    let written = json!({
        "pid": 1,
        "url": "https://idp.example/auth\u{1b}]8;;https://evil.example/\u{7}?x=1\r",
        "user_code": null,
    });
    std::fs::write(&marker, written.to_string()).expect("write the marker");

    let finished = world.run(&["token", "--non-interactive"]);
    drop(lock);

    expect_exit(&finished, 3, "token while another process signs in");
    assert_clean(&finished.stderr);
    assert!(
        !finished.stderr.contains("evil.example"),
        "{}",
        finished.stderr
    );
    assert!(
        finished.stderr.contains("https://idp.example/auth?x=1"),
        "{}",
        finished.stderr
    );
    let recorded = std::fs::read_to_string(world.last_error_file()).expect("last-error.json");
    let recorded: Value = serde_json::from_str(&recorded).expect("JSON");
    assert_clean(recorded["message"].as_str().expect("message"));
}
