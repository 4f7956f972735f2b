//! `cargo run -p llmauth-tests --bin demo`: llmauth end to end in a few seconds, on a
//! machine with nothing but cargo.
//!
//! It starts a loopback OpenID Provider ([`TestIdp`](llmauth_tests::idp::TestIdp)) and
//! an LLM gateway stand-in in this process, creates a throw-away sandbox (config, state,
//! CA file), and runs the **real** `llmauth` command line as child processes — signing
//! in, printing tokens, refreshing, revoking — showing each command and its result.
//!
//! `cargo run --bin demo` builds only this binary, so the demo re-executes itself in two
//! other roles:
//! * `LLMAUTH_DEMO_ROLE=cli`: it *is* `llmauth` (`llmauth::run()`, the same entry point
//!   as the real binary);
//! * `demo --scripted-browser <url>`: it is the browser `llmauth` opens (through
//!   `$BROWSER`), following the IdP's redirects to the local callback the way a person
//!   clicking "Sign in" would. This role is chosen by argument, not by environment,
//!   because the browser inherits the environment of the `llmauth` child that opens it.

#![allow(clippy::print_stdout)] // printing the walkthrough is what the demo is for

// A binary's root is `src/bin/demo.rs`, so its modules are named by path.
#[path = "demo/browser_role.rs"]
mod browser_role;
#[path = "demo/llmauth_runner.rs"]
mod llmauth_runner;
#[path = "demo/steps.rs"]
mod steps;

use std::process::ExitCode;

/// Selects the `llmauth` role.
const ROLE_VARIABLE: &str = "LLMAUTH_DEMO_ROLE";
/// Selects the scripted-browser role (first argument).
const BROWSER_FLAG: &str = "--scripted-browser";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The browser first: it inherits the `cli` role's environment from the `llmauth` that
    // opens it.
    if let [flag, url] = args.as_slice()
        && flag == BROWSER_FLAG
    {
        return browser_role::run(url);
    }
    if std::env::var(ROLE_VARIABLE).is_ok_and(|role| role == "cli") {
        return llmauth::run();
    }
    match args.as_slice() {
        [] => match steps::run() {
            Ok(()) => {
                println!("\nDemo complete: every step behaved as expected.");
                ExitCode::SUCCESS
            }
            Err(failure) => {
                println!("\nDemo FAILED {failure}");
                eprintln!("demo failed {failure}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo run -p llmauth-tests --bin demo   (takes no arguments)");
            ExitCode::from(2)
        }
    }
}
