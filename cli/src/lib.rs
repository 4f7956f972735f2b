//! The `llmauth` command line: argument parsing, output and exit codes. Every decision is
//! made in `llmauth-core`; I/O is done by `llmauth-blocking` (and, for the proxy,
//! `llmauth-async`).
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod app;
pub mod args;
mod client_secret;
mod commands;
mod config_file;
mod failure;
pub mod lean;
mod output;
mod service;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command};
use crate::failure::Failure;

/// What `llmauth --version` prints: clap's version line, which a test holds this to.
const VERSION: &str = concat!("llmauth ", env!("CARGO_PKG_VERSION"));

/// Runs the command line of this process and returns its exit code.
pub fn run() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    match argv.as_slice() {
        // Answered before clap builds its parser, which would be a third of the process's
        // instructions (SPEC §10: start-up ≤ 1 ms).
        [only] if only == "--version" || only == "-V" => {
            return finish(output::print_line(VERSION));
        }
        // The call tools make every few minutes skips the full parser too.
        [first, rest @ ..] if first == "token" => {
            if let Ok(token) = args::TokenOnly::try_parse_from(rest) {
                let result = app::App::new(token.globals.config, token.globals.verbose)
                    .and_then(|app| commands::token::run(&app, &token.args));
                return finish(result);
            }
        }
        _ => {}
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version exit 0; usage errors exit 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    finish(dispatch(cli))
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "llmauth",
            &mut std::io::stdout(),
        );
        return Ok(());
    }
    let app = app::App::new(cli.globals.config, cli.globals.verbose)?;
    match &cli.command {
        Command::Config(command) => commands::config::run(&app, command),
        Command::Login(args) => commands::login::run(&app, args),
        Command::Token(args) => commands::token::run(&app, args),
        Command::Logout(args) => commands::logout::run(&app, args),
        Command::Status(args) => commands::status::run(&app, args),
        Command::Setup(args) => commands::setup::run(&app, args),
        Command::Teardown(args) => commands::teardown::run(&app, args),
        Command::Doctor(args) => commands::doctor::run(&app, args),
        Command::Proxy(command) => commands::proxy::run(&app, command),
        Command::Completions { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_early_version_line_is_claps() {
        assert_eq!(format!("{VERSION}\n"), Cli::command().render_version());
    }
}
