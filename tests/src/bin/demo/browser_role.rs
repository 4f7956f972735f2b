//! The demo as `$BROWSER`: visits the sign-in URL with the scripted browser, trusting the
//! demo's CA, and records the outcome in the sandbox's browser log (llmauth discards a
//! browser's output) so the demo can show what the "user" did.

use std::io::Write as _;
use std::process::ExitCode;

use llmauth_tests::browser::Browser;
use llmauth_tests::client::certs_from_pem;

/// Where the outcome line goes (set by the sandbox).
const LOG_VARIABLE: &str = "FAKE_BROWSER_LOG";
/// The CA file to trust.
const CA_VARIABLE: &str = "LLMAUTH_TEST_CA";
/// Starts the log line of a visit that went wrong, so the demo can stop waiting for a
/// sign-in that will never finish.
pub(crate) const FAILED: &str = "FAILED: ";

/// Visits `url`; exit 0 when the local callback answered 200.
pub(crate) fn run(url: &str) -> ExitCode {
    let (code, line) = match visit(url) {
        Ok(line) => (ExitCode::SUCCESS, line),
        Err(line) => (ExitCode::FAILURE, format!("{FAILED}{line}")),
    };
    if let Some(path) = std::env::var_os(LOG_VARIABLE) {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            eprintln!("scripted browser: cannot write its log: {e}");
        }
    }
    code
}

/// One line describing the visit (URLs without their queries: they carry the code).
fn visit(url: &str) -> Result<String, String> {
    let ca_file = std::env::var_os(CA_VARIABLE).ok_or_else(|| format!("needs {CA_VARIABLE}"))?;
    let pem = std::fs::read(&ca_file)
        .map_err(|e| format!("cannot read {}: {e}", ca_file.to_string_lossy()))?;
    let visit = Browser::new(&certs_from_pem(&pem))
        .visit(url)
        .map_err(|e| format!("failed: {e}"))?;
    let pages = visit.hops.len();
    let end = visit
        .final_url
        .split_once('?')
        .map_or(visit.final_url.as_str(), |(base, _)| base);
    if visit.reached_callback && visit.status == 200 {
        Ok(format!(
            "followed {pages} requests and reached llmauth's callback {end} (200)"
        ))
    } else {
        Err(format!(
            "stopped after {pages} requests at {end} with status {} without reaching the callback",
            visit.status
        ))
    }
}
