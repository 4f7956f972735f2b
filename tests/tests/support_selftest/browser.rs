//! The scripted browser: the library and the `fake-browser` binary.

use std::path::Path;
use std::process::Command;

use llmauth_tests::browser::{Browser, first_form, visit};
use llmauth_tests::idp::{IdpEndpoint, IdpOptions, TestIdp};
use serde_json::Value;

use super::common::{CallbackListener, authorize_url, idp, param, pkce};

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fake_browser(url: &str, ca_file: &Path, log: &Path, mode: Option<&str>) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fake-browser"));
    command
        .arg(url)
        .env("LLMAUTH_TEST_CA", ca_file)
        .env("FAKE_BROWSER_LOG", log)
        .env_remove("SSL_CERT_FILE")
        .env_remove("FAKE_BROWSER_MODE");
    if let Some(mode) = mode {
        command.env("FAKE_BROWSER_MODE", mode);
    }
    command.output().unwrap()
}

#[test]
fn fake_browser_follows_the_authorize_redirect_to_the_callback() {
    let idp = idp();
    let listener = CallbackListener::start();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = idp.ca().write_ca_pem(dir.path()).unwrap();
    let log = dir.path().join("browser.log");
    let (_, challenge) = pkce("browser");
    let url = authorize_url(&idp, &listener.redirect_uri(), &challenge, &[]);

    let output = fake_browser(&url, &ca_file, &log, None);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.is_empty(),
        "with a log file, nothing goes to stdout"
    );
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["url"], url.as_str());
    assert_eq!(line["status"], 200);
    assert_eq!(line["reached_callback"], true);
    assert!(line["body"].as_str().unwrap().contains("Signed in"));
    assert_eq!(line["hops"].as_array().unwrap().len(), 2);

    let seen = listener.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "/callback");
    let query: Vec<(String, String)> = url::form_urlencoded::parse(seen[0].1.as_bytes())
        .into_owned()
        .collect();
    assert!(param(&query, "code").is_some());
    assert_eq!(param(&query, "state"), Some("state-123"));
    assert_eq!(param(&query, "iss"), Some(idp.issuer()));
}

#[test]
fn fake_browser_ignore_and_fail_modes_do_not_visit() {
    let idp = idp();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = idp.ca().write_ca_pem(dir.path()).unwrap();
    let log = dir.path().join("browser.log");
    let url = idp.authorization_endpoint();

    assert!(
        fake_browser(&url, &ca_file, &log, Some("ignore"))
            .status
            .success()
    );
    assert!(
        !fake_browser(&url, &ca_file, &log, Some("fail"))
            .status
            .success()
    );
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["mode"], "ignore");
    assert_eq!(lines[1]["mode"], "fail");
    assert!(lines[0].get("status").is_none());
    assert_eq!(idp.requests(IdpEndpoint::Authorize), 0);

    // Without a log file: status and body on stdout. An unreachable URL: exit 1.
    let listener = CallbackListener::start();
    let output = Command::new(env!("CARGO_BIN_EXE_fake-browser"))
        .arg(listener.redirect_uri())
        .env_remove("FAKE_BROWSER_LOG")
        .env_remove("FAKE_BROWSER_MODE")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("200\n"), "{stdout}");
    assert!(stdout.contains("Signed in"));
    let port = listener.server.port();
    drop(listener);
    let output = Command::new(env!("CARGO_BIN_EXE_fake-browser"))
        .arg(format!("http://127.0.0.1:{port}/callback"))
        .env("FAKE_BROWSER_LOG", &log)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        log_lines(&log)[2]["error"]
            .as_str()
            .unwrap()
            .contains("failed")
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_fake-browser"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn browser_submits_login_forms_with_their_cookie() {
    let idp = TestIdp::start(IdpOptions {
        interactive_login: true,
        issuer_path: "/realms/test".into(),
        ..IdpOptions::default()
    });
    let listener = CallbackListener::start();
    let (_, challenge) = pkce("forms");
    let url = authorize_url(&idp, &listener.redirect_uri(), &challenge, &[]);
    let mut browser = Browser::new(std::slice::from_ref(idp.ca().ca_der()));
    let visited = browser.visit(&url).unwrap();
    assert!(visited.reached_callback, "{visited:?}");
    let methods: Vec<&str> = visited.hops.iter().map(|h| h.method.as_str()).collect();
    assert_eq!(methods, ["GET", "POST", "GET"]);
    assert!(visited.hops[1].url.ends_with("/realms/test/login"));
    assert_eq!(browser.cookies("127.0.0.1").len(), 1);
    assert_eq!(listener.seen.lock().unwrap().len(), 1);

    // The same form submitted without the cookie is refused.
    let agent = idp.ca().agent();
    let page = super::common::get(&agent, &url);
    assert_eq!(page.status, 200);
    let form = first_form(&page.text).unwrap();
    assert_eq!(form.method, "post");
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let target = url::Url::parse(&url)
        .unwrap()
        .join(form.action.as_deref().unwrap())
        .unwrap();
    let refused = super::common::post_form(&agent, target.as_str(), &fields);
    assert_eq!(refused.status, 400);
    assert!(refused.location.is_none());
}

#[test]
fn browser_approves_a_device_code_and_stops_on_plain_pages() {
    let idp = idp();
    let agent = idp.ca().agent();
    let start = super::common::post_form(
        &agent,
        &idp.device_authorization_endpoint(),
        &[("client_id", idp.client_id()), ("scope", "openid")],
    )
    .json;
    let complete = start["verification_uri_complete"].as_str().unwrap();
    let visited = visit(complete, std::slice::from_ref(idp.ca().ca_der())).unwrap();
    assert_eq!(visited.status, 200);
    assert!(!visited.reached_callback);
    assert!(visited.body.contains("approved"));
    assert_eq!(idp.requests(IdpEndpoint::DeviceVerification), 1);

    // A TLS failure (no trust in the test CA) is an error, not a page.
    let untrusted = visit(&idp.discovery_url(), &[]);
    assert!(untrusted.is_err());
}
