//! How a command fails: one line on stderr, `error: <what went wrong> — <what to do>`, and
//! the documented exit code (SPEC §2). Every error type maps here, in one place.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use llmauth_core::config::ConfigError;
use llmauth_core::error::{ErrorClass, FlowError};
use llmauth_core::setup::error::SetupError;
use llmauth_core::text::{MAX_ERROR_LINE, excerpt};

/// Exit codes of SPEC §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 1: a bug or an unclassified error.
    Unexpected = 1,
    /// 2: usage or configuration error.
    Usage = 2,
    /// 3: authentication required.
    AuthRequired = 3,
    /// 4: the IdP, the network or the keychain failed transiently.
    Transient = 4,
    /// 5: the session lock was held too long.
    LockTimeout = 5,
}

impl From<ErrorClass> for Exit {
    fn from(class: ErrorClass) -> Self {
        match class {
            ErrorClass::AuthRequired => Self::AuthRequired,
            ErrorClass::Transient => Self::Transient,
            ErrorClass::Config => Self::Usage,
            ErrorClass::LockTimeout => Self::LockTimeout,
            ErrorClass::Bug => Self::Unexpected,
        }
    }
}

impl Exit {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        self as u8
    }
}

/// A failed command.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The exit code.
    pub(crate) exit: Exit,
    /// What went wrong.
    pub(crate) message: String,
    /// What to do, when there is something.
    pub(crate) hint: Option<String>,
    /// The command has already said what is wrong on stdout (`status`): only the exit
    /// code is left to give.
    reported: bool,
}

impl Failure {
    /// A failure with a message and an optional hint.
    pub(crate) fn new(exit: Exit, message: impl Into<String>, hint: Option<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint,
            reported: false,
        }
    }

    /// An exit code for a state the command has reported already; nothing more is
    /// printed.
    pub(crate) fn reported(exit: Exit) -> Self {
        Self {
            reported: true,
            ..Self::new(exit, "", None)
        }
    }

    /// A configuration problem in the file at `path`.
    pub(crate) fn config(path: &Path, error: &ConfigError) -> Self {
        let message = error.in_file(&path.display().to_string());
        Self::new(Exit::Usage, message, Some(error.hint()))
    }

    /// Writes the failure to stderr and returns its exit code.
    pub(crate) fn report(&self) -> ExitCode {
        if !self.reported {
            eprintln!("{self}");
        }
        ExitCode::from(self.exit.code())
    }
}

impl fmt::Display for Failure {
    /// What goes to stderr and `last-error.json`: messages quote the IdP, files and
    /// paths, so each line is made printable and bounded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", for_terminal(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " — {}", for_terminal(hint))?;
        }
        Ok(())
    }
}

/// `text` line by line (a config error may list several fields), each made printable and
/// at most [`MAX_ERROR_LINE`] characters.
fn for_terminal(text: &str) -> String {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| excerpt(l, MAX_ERROR_LINE))
        .collect();
    lines.join("\n")
}

impl From<FlowError> for Failure {
    fn from(error: FlowError) -> Self {
        Self::new(error.class().into(), error.to_string(), error.hint())
    }
}

impl From<SetupError> for Failure {
    fn from(error: SetupError) -> Self {
        Self::new(error.class().into(), error.to_string(), error.hint())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use llmauth_core::setup::edit::PatchError;

    use super::*;
    use llmauth_core::error::{IdpUnavailable, Internal, Misconfiguration, NeedsLogin};
    use llmauth_core::oauth::TokenFailure;

    #[test]
    fn flow_errors_map_to_documented_codes() {
        let cases = [
            (FlowError::NeedsLogin(NeedsLogin::NoSession), 3),
            (FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent), 4),
            (
                FlowError::Misconfigured(Misconfiguration::RefreshRejected(TokenFailure::Status(
                    400,
                ))),
                2,
            ),
            (FlowError::CallbackPortInUse { port: 8666 }, 2),
            (FlowError::LockTimeout, 5),
            (FlowError::Internal(Internal::UnexpectedResult), 1),
        ];
        for (error, code) in cases {
            assert_eq!(Failure::from(error).exit.code(), code);
        }
    }

    /// `doctor` reads a helper's exit code back into its class: the two tables agree.
    #[test]
    fn doctor_reads_every_exit_code_back_into_its_class() {
        use llmauth_core::doctor::class_of_exit_code;
        for class in [
            ErrorClass::AuthRequired,
            ErrorClass::Transient,
            ErrorClass::Config,
            ErrorClass::LockTimeout,
            ErrorClass::Bug,
        ] {
            let code = i32::from(Exit::from(class).code());
            assert_eq!(class_of_exit_code(code), class, "exit {code}");
        }
    }

    #[test]
    fn one_line_with_a_next_step() {
        let failure = Failure::from(FlowError::NeedsLogin(NeedsLogin::NoSession));
        assert_eq!(
            failure.to_string(),
            "error: not signed in to this gateway — run `llmauth login`"
        );
    }

    #[test]
    fn setup_errors_map_to_documented_codes() {
        let cases = [
            (SetupError::UnknownTool("x".into()), 2),
            (SetupError::ReadOnly(PathBuf::from("/f")), 2),
            (
                SetupError::Unparsable {
                    path: PathBuf::from("/f"),
                    error: PatchError::WrongFormat,
                },
                1,
            ),
            (SetupError::LockBusy("/l".into()), 5),
            (
                SetupError::ChangedNothing(Box::new(SetupError::LockBusy("/l".into()))),
                5,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(Failure::from(error).exit.code(), code);
        }
    }

    #[test]
    fn a_file_that_does_not_parse_says_what_to_do() {
        let failure = Failure::from(SetupError::Unparsable {
            path: PathBuf::from("/h/.claude/settings.json"),
            error: PatchError::NotUtf8 { line: 3 },
        });
        assert_eq!(
            failure.to_string(),
            "error: /h/.claude/settings.json: line 3: the file is not valid UTF-8 — the file was left untouched; fix it and run the command again"
        );
    }
}
