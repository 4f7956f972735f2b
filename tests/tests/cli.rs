//! End-to-end tests of the `llmauth` command line: the real binary, run in sandboxes
//! against the test IdP and gateway, asserting exit codes, outputs, files and what the
//! IdP saw (SPEC §2, §4, §5, §6, §8).
//!
//! One test binary with modules, to keep link times down.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod cli {
    mod browser_only;
    pub(crate) mod common;
    pub(crate) mod concurrency;
    mod corruption;
    mod doctor;
    mod failures;
    mod flags;
    mod keyring;
    mod last_error;
    mod leaks;
    mod lean;
    mod login;
    mod ownership;
    mod providers;
    mod proxies;
    mod proxy_start;
    mod session;
    mod terminal;
    mod tool_ttl;
}
