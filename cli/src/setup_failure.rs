//! Setup's and teardown's errors as failures: the exit code follows the error's class.

use llmauth_core::error::ErrorClass;
use llmauth_core::setup::error::SetupError;

use crate::failure::{Exit, Failure};

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
