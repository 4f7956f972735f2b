//! The checks: each a pure function from [`Facts`] to its findings.

mod gateway;
mod helpers;
mod idp;
mod session;
mod setup;
mod tls;

use core::time::Duration;

use super::{Finding, Status};
use crate::error::ErrorClass;

pub(super) use gateway::gateway;
pub(super) use helpers::{helpers, proxy};
pub(super) use idp::{clock, discovery};
pub(super) use session::{keychain, session, token};
pub(super) use setup::{config, provider};
pub(super) use tls::tls;

#[cfg(test)]
use super::Facts;

/// A finding of `check`.
fn finding(check: &str, status: Status, message: String, fix: Option<String>) -> Finding {
    Finding {
        check: check.to_owned(),
        status,
        message,
        fix,
    }
}

/// All is well.
fn pass(check: &str, message: String) -> Vec<Finding> {
    vec![finding(check, Status::Pass, message, None)]
}

/// Works, with something to look at.
fn warn(check: &str, message: String, fix: impl Into<String>) -> Vec<Finding> {
    vec![finding(check, Status::Warn, message, Some(fix.into()))]
}

/// Broken: `class` decides the exit code.
fn fail(check: &str, class: ErrorClass, message: String, fix: impl Into<String>) -> Vec<Finding> {
    vec![finding(
        check,
        Status::Fail(class),
        message,
        Some(fix.into()),
    )]
}

/// Not checked, and why.
fn skip(check: &str, why: &str) -> Vec<Finding> {
    vec![finding(
        check,
        Status::Skip,
        format!("not checked: {why}"),
        None,
    )]
}

/// Why a check that needs the configuration was not made.
const NO_CONFIG: &str = "llmauth has no usable configuration (see config)";

/// Where the TLS explanation is.
const SEE_TLS: &str = "see the tls line";

/// A duration for people: `45s`, `2m 10s`, `1h 0m`, `3d 4h`.
fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A list of values for a message: `"a", "b"` (or `none`).
fn listed(values: &[String]) -> String {
    if values.is_empty() {
        return "none".to_owned();
    }
    values
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one finding a single-finding check gives (tests).
#[cfg(test)]
fn only(findings: Vec<Finding>) -> Finding {
    assert_eq!(findings.len(), 1, "{findings:?}");
    findings.into_iter().next().unwrap()
}

/// Runs `check` on `facts` and returns its one finding (tests).
#[cfg(test)]
fn run(check: fn(&Facts) -> Vec<Finding>, facts: &Facts) -> Finding {
    only(check(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (130, "2m 10s"),
            (3600, "1h 0m"),
            (3 * 86_400 + 4 * 3600 + 5, "3d 4h"),
        ];
        for (secs, text) in cases {
            assert_eq!(human(Duration::from_secs(secs)), text);
        }
        assert_eq!(listed(&[]), "none");
        assert_eq!(listed(&["a".into(), "b c".into()]), "\"a\", \"b c\"");
    }
}
