//! `llmauth doctor`: the judgement of every check, as pure functions of the facts the
//! runtime gathered.
//!
//! The runtime (`llmauth_blocking::doctor`) gathers [`Facts`] — the configuration, the
//! IdP's discovery documents and `Date` header, the keychain, a token obtained the way a
//! tool's helper gets one, an authenticated request to the gateway, each configured
//! tool's helper run the way the tool runs it, the proxy's health — and [`judge`] turns
//! them into [`Finding`]s: one per entry of [`CHECKS`] (one per tool for the helpers),
//! each a status, a message and the fix. [`Report::exit_class`] is the worst failure's
//! [`ErrorClass`], from which the command line derives its exit code as for every other
//! error (SPEC §2).
//!
//! Secrets never reach a finding: the access token is read only for its `iss`, `aud`,
//! `exp` and scopes ([`TokenClaims`]); a helper's output is judged, never shown; a tool's
//! helper command line is not quoted (it is the user's and may hold anything).

mod checks;
mod claims;
mod facts;
mod helper;
mod requests;

use crate::error::ErrorClass;

pub use claims::TokenClaims;
pub use facts::{
    Answer, CaFile, DiscoveryFacts, Exchange, Facts, GatewayFacts, HelperFacts, HelperOutcome,
    HelperRun, KeychainFacts, Problem, ProxyFacts, SessionFacts, TlsFacts, TokenFacts, ToolFacts,
};
pub use helper::{Invocation, ToolFile, invocation};
pub use requests::{
    BadProbePath, DEFAULT_PROBE_PATH, HELPER_CAP, PROXY_PROBE, TOKEN_BUDGET, discovery_requests,
    gateway_probe, wants_rfc8414,
};

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// All is well.
    Pass,
    /// Works, but something deserves attention; does not change the exit code.
    Warn,
    /// Broken; the class decides the exit code.
    Fail(ErrorClass),
    /// Not checked, because what it needs is missing (said why).
    Skip,
}

impl Status {
    /// The word printed for it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail(_) => "fail",
            Self::Skip => "skip",
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The check's name (a tool's name for its helper).
    pub check: String,
    /// The verdict.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do about it, when something can be done.
    pub fix: Option<String>,
}

/// One check: its name and its judgement.
#[derive(Clone, Copy)]
pub struct Check {
    /// The name of its findings (the helpers' are named by tool).
    pub name: &'static str,
    /// The judgement: facts in, findings out (one, or one per tool).
    pub judge: fn(&Facts) -> Vec<Finding>,
}

impl core::fmt::Debug for Check {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every check, in the order the report lists them: from what everything else needs
/// (configuration, IdP, trust, keychain) to what uses it (session, token, gateway, tools,
/// proxy).
pub const CHECKS: [Check; 11] = [
    Check {
        name: "config",
        judge: checks::config,
    },
    Check {
        name: "provider",
        judge: checks::provider,
    },
    Check {
        name: "discovery",
        judge: checks::discovery,
    },
    Check {
        name: "clock",
        judge: checks::clock,
    },
    Check {
        name: "tls",
        judge: checks::tls,
    },
    Check {
        name: "keychain",
        judge: checks::keychain,
    },
    Check {
        name: "session",
        judge: checks::session,
    },
    Check {
        name: "token",
        judge: checks::token,
    },
    Check {
        name: "gateway",
        judge: checks::gateway,
    },
    Check {
        name: "helpers",
        judge: checks::helpers,
    },
    Check {
        name: "proxy",
        judge: checks::proxy,
    },
];

/// The findings of every check, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// One per check (one per tool for the helpers).
    pub findings: Vec<Finding>,
}

/// Judges `facts` with every check.
pub fn judge(facts: &Facts) -> Report {
    Report {
        findings: CHECKS
            .iter()
            .flat_map(|check| (check.judge)(facts))
            .collect(),
    }
}

impl Report {
    /// The class of the worst failure, `None` when nothing failed (warnings do not
    /// count). Worst first: a bug, then a configuration to fix (nothing works until it
    /// is), then something outside that must come back (the IdP, the network, the
    /// keychain — a sign-in cannot succeed before it does), then a sign-in, then a lock
    /// held too long.
    pub fn exit_class(&self) -> Option<ErrorClass> {
        self.findings
            .iter()
            .filter_map(|finding| match finding.status {
                Status::Fail(class) => Some(class),
                Status::Pass | Status::Warn | Status::Skip => None,
            })
            .min_by_key(|class| severity(*class))
    }

    /// The checks that failed, in order.
    pub fn failed(&self) -> Vec<&str> {
        self.findings
            .iter()
            .filter(|f| matches!(f.status, Status::Fail(_)))
            .map(|f| f.check.as_str())
            .collect()
    }
}

/// Rank of a failure class, worst first (see [`Report::exit_class`]).
fn severity(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Bug => 0,
        ErrorClass::Config => 1,
        ErrorClass::Transient => 2,
        ErrorClass::AuthRequired => 3,
        ErrorClass::LockTimeout => 4,
    }
}

/// The class of a helper's exit code: the inverse of SPEC §2's table (`llmauth token`'s
/// own codes), plus a shell's 126 and 127 (the program is not executable, or gone).
pub fn class_of_exit_code(code: i32) -> ErrorClass {
    match code {
        2 | 126 | 127 => ErrorClass::Config,
        3 => ErrorClass::AuthRequired,
        4 => ErrorClass::Transient,
        5 => ErrorClass::LockTimeout,
        _ => ErrorClass::Bug,
    }
}

#[cfg(test)]
mod tests;
