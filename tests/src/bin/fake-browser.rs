//! `fake-browser <url>`: the scripted browser as a program, for `$BROWSER`.
//!
//! Environment:
//! * `LLMAUTH_TEST_CA` (else `SSL_CERT_FILE`): PEM file of the CA to trust for HTTPS.
//! * `FAKE_BROWSER_LOG`: append one JSON line per invocation to this file instead of
//!   printing to stdout (tests count lines to see how often a browser was opened).
//! * `FAKE_BROWSER_MODE`: `visit` (default); `ignore` logs the URL and exits 0 without
//!   visiting (a user who never logs in); `fail` logs and exits 1 (a broken opener).
//! * `FAKE_BROWSER_DELAY_MS`: wait this long before visiting (a slow user).
//! * `FAKE_BROWSER_CALLBACK_PATH`: the loopback path to stop at (default `/callback`).
//!
//! Exit status: 0 when the visit completed (whatever the final status), 1 on failure,
//! 2 on bad usage.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llmauth_tests::browser::Browser;
use llmauth_tests::client::certs_from_pem;
use serde_json::{Value, json};

/// Longest page body written to the log.
const MAX_LOGGED_BODY: usize = 64 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url] = args.as_slice() else {
        let _ = writeln!(std::io::stderr(), "usage: fake-browser <url>");
        return ExitCode::from(2);
    };
    let mode = std::env::var("FAKE_BROWSER_MODE").unwrap_or_else(|_| "visit".to_string());
    let mut line = json!({
        "time_ms": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()),
        "pid": std::process::id(),
        "url": url,
        "mode": mode,
    });
    let code = match mode.as_str() {
        "ignore" => ExitCode::SUCCESS,
        "fail" => ExitCode::FAILURE,
        _ => run_visit(url, &mut line),
    };
    report(&line);
    code
}

fn run_visit(url: &str, line: &mut Value) -> ExitCode {
    if let Some(ms) = std::env::var("FAKE_BROWSER_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let ca_path = std::env::var_os("LLMAUTH_TEST_CA").or_else(|| std::env::var_os("SSL_CERT_FILE"));
    let roots = match &ca_path {
        Some(path) => match std::fs::read(path) {
            Ok(pem) => certs_from_pem(&pem),
            Err(e) => {
                line["error"] = json!(format!(
                    "cannot read CA file {}: {e}",
                    path.to_string_lossy()
                ));
                return ExitCode::FAILURE;
            }
        },
        None => Vec::new(),
    };
    let mut browser = Browser::new(&roots);
    if let Ok(path) = std::env::var("FAKE_BROWSER_CALLBACK_PATH") {
        browser = browser.with_callback_path(&path);
    }
    match browser.visit(url) {
        Ok(visit) => {
            let mut body = visit.body.clone();
            if body.len() > MAX_LOGGED_BODY {
                let mut cut = MAX_LOGGED_BODY;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
            }
            line["status"] = json!(visit.status);
            line["final_url"] = json!(visit.final_url);
            line["reached_callback"] = json!(visit.reached_callback);
            line["body"] = json!(body);
            line["hops"] = json!(visit.hops);
            ExitCode::SUCCESS
        }
        Err(e) => {
            line["error"] = json!(e.to_string());
            ExitCode::FAILURE
        }
    }
}

/// One JSON line to `$FAKE_BROWSER_LOG` (a single append write, so concurrent browsers
/// do not interleave), else the status and body to stdout.
fn report(line: &Value) {
    if let Some(path) = std::env::var_os("FAKE_BROWSER_LOG") {
        let text = format!("{line}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()));
        if let Err(e) = written {
            let _ = writeln!(std::io::stderr(), "fake-browser: cannot write log: {e}");
        }
        return;
    }
    let mut out = std::io::stdout().lock();
    match (line.get("status"), line.get("error")) {
        (Some(status), _) => {
            let body = line.get("body").and_then(Value::as_str).unwrap_or_default();
            let _ = writeln!(out, "{status}\n{body}");
        }
        (None, Some(error)) => {
            let _ = writeln!(
                std::io::stderr(),
                "fake-browser: {}",
                error.as_str().unwrap_or_default()
            );
        }
        (None, None) => {
            let _ = writeln!(out, "{line}");
        }
    }
}
