//! Canary test (SPEC §8): every secret the IdP handed out or received — access tokens,
//! refresh tokens, authorization codes, PKCE verifiers — must appear in no output but the
//! stdout of `token`, and in no file once the session is gone.

use std::collections::BTreeSet;

use llmauth_tests::faults::Fault;
use llmauth_tests::idp::IdpEndpoint;
use llmauth_tests::sandbox::Finished;
use serde_json::Value;

use super::common::{World, expect_exit, printed_token};

/// Everything people and scripts were shown, except `token`'s stdout.
#[derive(Default)]
struct Shown {
    texts: Vec<(String, String)>,
}

impl Shown {
    fn all(&mut self, what: &str, finished: &Finished) {
        self.texts
            .push((format!("{what} stdout"), finished.stdout.clone()));
        self.stderr(what, finished);
    }

    fn stderr(&mut self, what: &str, finished: &Finished) {
        self.texts
            .push((format!("{what} stderr"), finished.stderr.clone()));
    }
}

#[test]
fn secrets_appear_only_on_the_stdout_of_token() {
    let world = World::new();
    let mut shown = Shown::default();
    let mut access_tokens = BTreeSet::new();
    let mut refresh_tokens = BTreeSet::new();

    let login = world.login_with(&["-vv", "login"]);
    shown.all("login", &login);
    refresh_tokens.insert(world.stored_refresh_token());

    for args in [
        &["-vv", "token"][..],
        &["-vv", "token", "--force-refresh"][..],
        &["token", "--format", "json"][..],
    ] {
        let finished = world.run(args);
        expect_exit(&finished, 0, &args.join(" "));
        shown.stderr(&args.join(" "), &finished);
        refresh_tokens.insert(world.stored_refresh_token());
    }
    // A transient refresh failure: the cached token is served with a warning.
    world
        .idp
        .push_fault(IdpEndpoint::Token, Fault::TemporarilyUnavailable);
    let warned = world.run(&["-vv", "token", "--force-refresh"]);
    let served = printed_token(&warned);
    assert!(warned.stderr.contains("warning"), "{}", warned.stderr);
    shown.stderr("token during an outage", &warned);
    access_tokens.insert(served);

    for args in [
        &["status"][..],
        &["status", "--format", "json"][..],
        &["config", "show"][..],
        &["config", "show", "--format", "json"][..],
    ] {
        let finished = world.run(args);
        expect_exit(&finished, 0, &args.join(" "));
        shown.all(&args.join(" "), &finished);
    }
    let logout = world.run(&["-vv", "logout", "--revoke"]);
    expect_exit(&logout, 0, "logout --revoke");
    shown.all("logout --revoke", &logout);

    // A second session that the IdP ends after its access token expired: the failure goes
    // to last-error.json.
    world.login_expired();
    refresh_tokens.insert(world.stored_refresh_token());
    world
        .idp
        .push_fault(IdpEndpoint::Token, Fault::InvalidGrant);
    let ended = world.run(&["-vv", "token", "--non-interactive"]);
    expect_exit(&ended, 3, "token after the IdP ended the session");
    shown.all("token after invalid_grant", &ended);
    let status = world.run(&["status"]);
    shown.all("status after invalid_grant", &status);
    let last_error = std::fs::read_to_string(world.last_error_file()).expect("last-error.json");
    shown.texts.push(("last-error.json".to_owned(), last_error));
    let logout = world.run(&["logout"]);
    shown.all("final logout", &logout);
    let browser_log = std::fs::read_to_string(world.sandbox.browser_log()).expect("browser log");
    shown
        .texts
        .push(("browser log".to_owned(), browser_log.clone()));

    // What the IdP knows it handed out or received.
    refresh_tokens.extend(world.idp.presented_refresh_tokens());
    refresh_tokens.extend(world.idp.revoked_tokens());
    refresh_tokens.extend(world.idp.current_refresh_token());
    access_tokens.extend(world.idp.last_access_token());
    let mut codes = BTreeSet::new();
    for form in world.idp.token_forms() {
        for (name, value) in form {
            match name.as_str() {
                "code" | "code_verifier" => {
                    codes.insert(value);
                }
                "refresh_token" => {
                    refresh_tokens.insert(value);
                }
                _ => {}
            }
        }
    }
    assert_eq!(codes.len(), 4, "two logins: two codes, two verifiers");
    assert!(refresh_tokens.len() >= 3);

    let tokens: Vec<(&str, &String)> = access_tokens
        .iter()
        .map(|t| ("an access token", t))
        .chain(refresh_tokens.iter().map(|t| ("a refresh token", t)))
        .collect();
    for (kind, secret) in &tokens {
        assert!(secret.len() >= 16, "canaries must be distinctive");
        for (what, text) in &shown.texts {
            assert!(!text.contains(secret.as_str()), "{what} contains {kind}");
        }
        let files = world.sandbox.files_containing(secret);
        assert!(files.is_empty(), "{kind} is left in {files:?} after logout");
    }
    // The browser necessarily sees the code in its redirect; the page it ends on must not
    // repeat it, and no output or file of llmauth may hold a code or verifier.
    let pages: Vec<String> = world
        .sandbox
        .browser_visits()
        .iter()
        .map(|v| v["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(pages.len(), 2);
    for code in &codes {
        assert!(code.len() >= 16, "canaries must be distinctive");
        for (what, text) in &shown.texts {
            if what != "browser log" {
                assert!(
                    !text.contains(code.as_str()),
                    "{what} contains a code or verifier"
                );
            }
        }
        for page in &pages {
            assert!(
                !page.contains(code.as_str()),
                "the callback page repeats the code"
            );
        }
        let files: Vec<_> = world
            .sandbox
            .files_containing(code)
            .into_iter()
            .filter(|f| *f != world.sandbox.browser_log())
            .collect();
        assert!(
            files.is_empty(),
            "a code or verifier is stored in {files:?}"
        );
    }
    let visits: Vec<Value> = world.sandbox.browser_visits();
    assert!(visits.iter().all(|v| v["reached_callback"] == true));
}

/// `last-error.json`'s message.
fn recorded_message(world: &World) -> String {
    let text = std::fs::read_to_string(world.last_error_file()).expect("last-error.json");
    let json: Value = serde_json::from_str(&text).expect("last-error.json is JSON");
    json["message"].as_str().expect("message").to_owned()
}

#[test]
fn an_idp_that_echoes_the_refresh_form_never_gets_the_token_shown_or_stored() {
    let world = World::new();
    world.login_expired();
    let refresh_token = world.stored_refresh_token();
    world.idp.push_fault(IdpEndpoint::Token, Fault::EchoForm);

    let finished = world.run(&["token", "--non-interactive"]);

    expect_exit(&finished, 2, "token against an IdP that echoes its form");
    assert_eq!(finished.stdout, "");
    // The echo itself is shown, with the secret taken out.
    assert!(
        finished
            .stderr
            .contains("grant_type=refresh_token&refresh_token=[redacted]"),
        "{}",
        finished.stderr
    );
    assert!(
        !finished.stderr.contains(&refresh_token),
        "{}",
        finished.stderr
    );
    let recorded = recorded_message(&world);
    assert!(recorded.contains("refresh_token=[redacted]"), "{recorded}");
    assert!(!recorded.contains(&refresh_token), "{recorded}");
}

#[test]
fn an_idp_that_echoes_the_code_exchange_never_gets_the_code_or_verifier_shown() {
    let world = World::new();
    world.idp.push_fault(IdpEndpoint::Token, Fault::EchoForm);

    let finished = world.run(&["login"]);

    assert_ne!(finished.code, 0, "the exchange was refused");
    let stderr = &finished.stderr;
    assert!(stderr.contains("grant_type=authorization_code"), "{stderr}");
    assert!(stderr.contains("code=[redacted]"), "{stderr}");
    assert!(stderr.contains("code_verifier=[redacted]"), "{stderr}");
}
