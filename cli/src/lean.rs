//! `llmauth-token`: `llmauth token` for tools, in a binary that loads little. It answers a
//! call from the stored token when core's read-only flow can
//! ([`llmauth_blocking::read_only`]), and otherwise runs the full `llmauth token` with the
//! same arguments — which then does everything, from the start, exactly as if it had been
//! called directly (refresh, sign-in, errors, `last-error`).
//!
//! It hands over for any argument `llmauth token` would not take as a plain token call
//! (`-v`, `--help`, a typo), with `LLMAUTH_ACCESS_TOKEN` set or `LLMAUTH_LOG=debug`, without a
//! current configuration snapshot, and at the first step that needs more than reading a
//! file.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use llmauth_blocking::Paths;
use llmauth_blocking::paths::full_binary_of;
use llmauth_blocking::read_only::{Cached, cached_token};
use llmauth_core::config::parse_duration;
use llmauth_core::flow::TokenGoal;
use llmauth_core::provider::TokenKind;

use crate::app::log_requested;
use crate::args::TokenFormat;
use crate::commands::token::print;
use crate::failure::{Exit, Failure};

/// Runs `llmauth-token` with this process's arguments and returns its exit code.
pub fn run() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match answer(&args) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(failure)) => failure.report(),
        None => hand_over(args),
    }
}

/// The call answered from the store (printed, or the printing failed), or `None` to
/// hand it over.
fn answer(args: &[OsString]) -> Option<Result<(), Failure>> {
    if std::env::var_os("LLMAUTH_ACCESS_TOKEN").is_some() || log_requested() {
        return None;
    }
    let call = Call::parse(args)?;
    let mut paths = Paths::from_env().ok()?;
    if let Some(config) = call.config {
        paths.config_file = config;
    }
    match cached_token(&paths, call.goal, call.kind) {
        Cached::Token(credential, kind) => Some(print(
            &credential.access_token,
            credential.expires_at,
            kind,
            call.format,
        )),
        Cached::HandOver => None,
    }
}

/// A plain token call: `llmauth token`'s options, each at most once, with values
/// `llmauth token` accepts. Parsed by hand because clap's start-up is a sixth of this
/// binary's instructions; `the_same_calls_as_llmauth_token` holds the two parsers to the
/// same language.
#[derive(Debug, PartialEq)]
struct Call {
    goal: TokenGoal,
    kind: Option<TokenKind>,
    format: TokenFormat,
    config: Option<PathBuf>,
}

impl Call {
    /// The call, or `None` for anything else (`-v`, `--help`, a repeated or unknown
    /// option, a value `llmauth token` would refuse): the full binary answers those.
    fn parse(args: &[OsString]) -> Option<Self> {
        let mut call = Self {
            goal: TokenGoal::default(),
            kind: None,
            format: TokenFormat::Raw,
            config: None,
        };
        let mut seen: Vec<&str> = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let arg = arg.to_str()?;
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (arg, None),
            };
            if seen.contains(&name) {
                return None;
            }
            seen.push(name);
            match name {
                // Whether a sign-in may start matters only after a hand-over.
                "--non-interactive" | "--skip-browser" | "--force-refresh" => {
                    if inline.is_some() {
                        return None;
                    }
                    call.goal.force_refresh |= name == "--force-refresh";
                }
                "--config" => {
                    let value = match inline {
                        Some(value) => OsString::from(value),
                        None => args.next()?.clone(),
                    };
                    let usable = !value.is_empty() && !value.as_encoded_bytes().starts_with(b"-");
                    call.config = Some(PathBuf::from(usable.then_some(value)?));
                }
                "--min-valid" | "--timeout" | "--format" | "--kind" => {
                    let value = match inline {
                        Some(value) => value,
                        None => args.next()?.to_str()?,
                    };
                    match name {
                        "--min-valid" => call.goal.min_valid = parse_duration(value).ok()?,
                        "--timeout" => {
                            parse_duration(value).ok()?;
                        }
                        "--format" => {
                            call.format = match value {
                                "raw" => TokenFormat::Raw,
                                "json" => TokenFormat::Json,
                                _ => return None,
                            }
                        }
                        _ => call.kind = Some(value.parse().ok()?),
                    }
                }
                _ => return None,
            }
        }
        Some(call)
    }
}

/// Runs the full `llmauth token` with `args` in place of this process (Unix), or as a
/// child whose exit code becomes this one's (Windows).
fn hand_over(args: Vec<OsString>) -> ExitCode {
    let full = match full_binary() {
        Ok(full) => full,
        Err(failure) => return failure.report(),
    };
    let mut command = Command::new(&full);
    command.arg("token").args(args);
    let cannot_run = |error: std::io::Error| {
        Failure::new(
            Exit::Unexpected,
            format!("cannot run {}: {error}", full.display()),
            Some("install llmauth and llmauth-token together (`cargo install --path cli` installs both)".to_owned()),
        )
        .report()
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        cannot_run(command.exec())
    }
    #[cfg(not(unix))]
    match command.status() {
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|code| u8::try_from(code).ok())
                .unwrap_or(Exit::Unexpected.code()),
        ),
        Err(error) => cannot_run(error),
    }
}

/// The full binary beside this one.
fn full_binary() -> Result<PathBuf, Failure> {
    let failure = |why: String| {
        Failure::new(
            Exit::Unexpected,
            why,
            Some("run `llmauth token` instead, or reinstall llmauth".to_owned()),
        )
    };
    let exe = std::env::current_exe()
        .map_err(|e| failure(format!("cannot locate llmauth-token itself: {e}")))?;
    full_binary_of(&exe).ok_or_else(|| {
        failure(format!(
            "{} is not named <llmauth>-token, so the llmauth beside it is unknown",
            exe.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::args::TokenOnly;

    /// What `llmauth token` makes of `args`, in this parser's terms.
    fn full(args: &[&str]) -> Option<Call> {
        let parsed = TokenOnly::try_parse_from(args).ok()?;
        (parsed.globals.verbose == 0).then(|| Call {
            goal: TokenGoal {
                min_valid: parsed.args.min_valid.unwrap_or_default(),
                force_refresh: parsed.args.force_refresh,
            },
            kind: parsed.args.kind.map(|kind| kind.parse().unwrap()),
            format: parsed.args.format,
            config: parsed.globals.config,
        })
    }

    #[test]
    fn the_same_calls_as_llmauth_token() {
        let cases: &[&[&str]] = &[
            &[],
            &["--non-interactive"],
            &["--skip-browser", "--non-interactive", "--force-refresh"],
            &["--min-valid", "5m"],
            &["--min-valid=90s", "--timeout", "2m"],
            &["--format", "json", "--kind", "id"],
            &["--format=raw", "--kind=access"],
            &["--config", "/c/config.yaml", "--non-interactive"],
            &["--config=/c/x.yaml", "--format", "json"],
            &["--kind", "id", "--config", "rel.yaml", "--min-valid", "1h"],
        ];
        for args in cases {
            let os: Vec<OsString> = args.iter().map(OsString::from).collect();
            let lean = Call::parse(&os);
            assert!(lean.is_some(), "{args:?} is a plain call");
            assert_eq!(lean, full(args), "{args:?}");
        }
    }

    #[test]
    fn anything_else_is_handed_over() {
        let cases: &[&[&str]] = &[
            &["-v"],
            &["--verbose"],
            &["--help"],
            &["-h"],
            &["--version"],
            &["--bogus"],
            &["token"],
            &["--"],
            &["--format"],
            &["--format", "yaml"],
            &["--format", "JSON"],
            &["--format=json", "--format=json"],
            &["--force-refresh", "--force-refresh"],
            &["--force-refresh=true"],
            &["--kind", "refresh"],
            &["--min-valid", "soon"],
            &["--min-valid", "-5m"],
            &["--timeout="],
            &["--config"],
            &["--config="],
            &["--config", "--non-interactive"],
            &["--non-interactive", "-v"],
        ];
        for args in cases {
            let os: Vec<OsString> = args.iter().map(OsString::from).collect();
            // Handing over is always correct (`llmauth token` then parses it): only
            // what this parser accepts must mean the same.
            assert_eq!(Call::parse(&os), None, "{args:?}");
        }
    }
}
