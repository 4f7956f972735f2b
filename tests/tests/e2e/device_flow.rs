//! Sign-in with the device flow (RFC 8628): llmauth prints the verification URL and code,
//! and "another device" — the scripted browser in this process — confirms it.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use llmauth_tests::browser::Browser;
use llmauth_tests::sandbox::wait;

use super::harness::E2e;

/// How long llmauth may take to print the verification URL.
const CODE_SHOWN_WITHIN: Duration = Duration::from_secs(20);

#[test]
fn device_login_then_token_is_accepted_by_the_gateway() {
    let e2e = E2e::start(Duration::from_secs(300));

    let mut child = e2e.sandbox.spawn(&["login", "--device"]);
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines_tx, lines_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            all.push_str(&line);
            all.push('\n');
            // The receiver stops listening once it has the URL.
            let _ = lines_tx.send(line);
        }
        all
    });

    // "To sign in, visit <uri> and enter the code: <code>" then "  (or open <complete>)".
    let mut user_code = None;
    let complete_uri = loop {
        let line = match lines_rx.recv_timeout(CODE_SHOWN_WITHIN) {
            Ok(line) => line,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no verification URL on stderr ({e}); stderr so far: {}\n--- oidc-provider log ---\n{}",
                    reader.join().unwrap_or_default(),
                    e2e.provider.log()
                );
            }
        };
        if let Some((_, code)) = line.split_once("enter the code: ") {
            assert!(
                line.contains(&format!("{}/device", e2e.provider.issuer())),
                "{line}"
            );
            user_code = Some(code.trim().to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("(or open ") {
            break rest.trim_end_matches(')').to_owned();
        }
    };
    let user_code = user_code.expect("the user code was printed before the complete URL");
    assert!(
        complete_uri.starts_with(&format!("{}/device?user_code=", e2e.provider.issuer())),
        "{complete_uri}"
    );

    // Another device confirms: the confirmation forms, then the consent interaction.
    let visit = Browser::from_ca_pem(e2e.ca.ca_pem())
        .visit(&complete_uri)
        .unwrap_or_else(|e| panic!("device confirmation failed: {e}"));
    assert_eq!(visit.status, 200, "{visit:?}");
    assert!(
        visit.body.contains("Device sign-in complete"),
        "{visit:?}: {}",
        visit.body
    );

    let finished = wait(child, Duration::from_secs(60));
    let stderr = reader.join().unwrap_or_default();
    assert_eq!(
        finished.code,
        0,
        "login --device failed\n--- stderr ---\n{stderr}\n--- oidc-provider log ---\n{}",
        e2e.provider.log()
    );
    assert!(stderr.contains(&user_code), "{stderr}");
    assert!(stderr.contains("Signed in as e2e-user"), "{stderr}");
    assert!(finished.stdout.is_empty(), "{}", finished.stdout);
    // The scripted $BROWSER was never opened: this was the device flow.
    assert!(e2e.sandbox.browser_visits().is_empty());
    let polls = e2e
        .provider
        .token_requests("urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(polls.last(), Some(&(200, None)), "{polls:?}");
    assert!(
        polls[..polls.len() - 1]
            .iter()
            .all(|(_, error)| error.as_deref() == Some("authorization_pending")),
        "{polls:?}"
    );

    // The device flow keeps offline_access without prompt=consent: a refresh token.
    assert!(!e2e.stored_refresh_token().is_empty());
    let token = e2e.token(&[]);
    let claims = e2e.assert_gateway_accepts(&token);
    assert_eq!(claims["sub"], "e2e-user");
}
