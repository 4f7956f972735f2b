//! Why setup, teardown or `config reset` could not do (all of) their work, each with its
//! [`ErrorClass`], from which the command line derives the exit code.

use std::path::PathBuf;

use super::edit::PatchError;
use super::tool::Tool;
use crate::error::ErrorClass;

/// A setup or teardown failure. The message names the file, tool or lock concerned; OS
/// errors are carried as the OS worded them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The home directory is unknown, so the tools' files cannot be placed.
    #[error("cannot find the home directory (HOME is not set)")]
    NoHome,
    /// `--client` names no tool llmauth knows.
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    /// `--client` names a tool that is not installed.
    #[error(
        "{tool} does not seem to be installed (no {}{})",
        config_dir.display(),
        on_path(binaries)
    )]
    NotInstalled {
        /// The tool.
        tool: Tool,
        /// The directory that would show it is installed.
        config_dir: PathBuf,
        /// The commands that would show it is installed.
        binaries: &'static [&'static str],
    },
    /// Teardown was asked for a tool that has neither a receipt nor an index entry.
    #[error("{0} is not configured")]
    NotConfigured(String),
    /// The running llmauth binary cannot be located, so no helper command can name it.
    #[error("cannot locate the running llmauth binary: {0}")]
    RunningBinary(String),
    /// The proxy's local key cannot be read or created.
    #[error("cannot create the proxy's local key: {0}")]
    LocalKey(String),
    /// The OS random source failed (a new Claude Desktop document id).
    #[error("the OS random source failed: {0}")]
    Entropy(String),
    /// A proxy-mode tool was wired without the local key (a bug).
    #[error(transparent)]
    NeedsLocalKey(#[from] NeedsLocalKey),
    /// A tool file cannot be edited: it does not parse, or our keys have no place in it.
    #[error("{}: {error}", path.display())]
    Unparsable {
        /// The file (where its content really is).
        path: PathBuf,
        /// What is wrong.
        error: PatchError,
    },
    /// A tool file cannot be read.
    #[error("{}: {detail}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        detail: String,
    },
    /// A tool file no longer holds what setup wrote, so an automatic rewrite (the helper
    /// TTL following the token) leaves it to whoever changed it.
    #[error("{} changed since setup; llmauth leaves it as it is", .0.display())]
    ChangedSinceSetup(PathBuf),
    /// A tool file is read-only: someone made it so on purpose, and it is left alone.
    #[error("{} is read-only; llmauth leaves it alone (make it writable to let llmauth change it)", .0.display())]
    ReadOnly(PathBuf),
    /// The OS refused to write or delete a tool file.
    #[error("cannot write {}: {detail}", path.display())]
    Unwritable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        detail: String,
    },
    /// A receipt exists but cannot be read (or is readable by others).
    #[error("cannot read the receipt {}: {detail}", path.display())]
    ReceiptUnreadable {
        /// The receipt file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A receipt is not one this llmauth understands.
    #[error("cannot use the receipt {}: {detail}", path.display())]
    ReceiptInvalid {
        /// The receipt file.
        path: PathBuf,
        /// What is wrong (never its content).
        detail: String,
    },
    /// A receipt cannot be written.
    #[error("cannot write the receipt for {tool}: {detail}")]
    ReceiptUnwritable {
        /// The tool's name.
        tool: String,
        /// The OS error.
        detail: String,
    },
    /// Another llmauth process held a lock (receipts, a tool file) for too long.
    #[error("another llmauth process held the lock {0} for too long")]
    LockBusy(String),
    /// A lock file cannot be opened or locked.
    #[error("cannot use the lock file {0}")]
    LockUnusable(String),
    /// A tool could not be wired, so this run's changes were undone; the tool's own error
    /// was reported before.
    #[error("setup changed nothing: fix the problem above, or leave that tool out with --client")]
    ChangedNothing(Box<SetupError>),
    /// `config reset` could not revert every tool, so it kept the configuration.
    #[error("{0} — the configuration was kept, because the tools not reverted still use it")]
    ToolsKept(Box<SetupError>),
}

fn on_path(binaries: &[&str]) -> String {
    if binaries.is_empty() {
        String::new()
    } else {
        format!(" and no {} on PATH", binaries.join(" or "))
    }
}

impl SetupError {
    /// Whose move it is.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::NoHome
            | Self::UnknownTool(_)
            | Self::NotInstalled { .. }
            | Self::NotConfigured(_)
            | Self::ReadOnly(_)
            | Self::ChangedSinceSetup(_)
            | Self::Unwritable { .. }
            | Self::ReceiptUnreadable { .. }
            | Self::ReceiptInvalid { .. } => ErrorClass::Config,
            Self::Unparsable { error, .. } => match error {
                PatchError::Parse { .. }
                | PatchError::NotUtf8 { .. }
                | PatchError::NotAnObject { .. }
                | PatchError::NotAnArray { .. }
                | PatchError::Occupied { .. }
                | PatchError::WouldReorder { .. } => ErrorClass::Config,
                PatchError::WrongFormat => ErrorClass::Bug,
            },
            Self::RunningBinary(_)
            | Self::LocalKey(_)
            | Self::Entropy(_)
            | Self::NeedsLocalKey(_)
            | Self::Unreadable { .. }
            | Self::ReceiptUnwritable { .. } => ErrorClass::Bug,
            Self::LockBusy(_) => ErrorClass::LockTimeout,
            // A lock file that cannot be used: its directory is refused, or unwritable.
            Self::LockUnusable(_) => ErrorClass::Config,
            Self::ChangedNothing(first) | Self::ToolsKept(first) => first.class(),
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NotInstalled { tool, .. } => Some(format!(
                "install {tool} and run it once, then run setup again"
            )),
            Self::NotConfigured(_) => {
                Some("`llmauth status` lists the configured tools".to_owned())
            }
            Self::Unparsable { .. } => {
                Some("the file was left untouched; fix it and run the command again".to_owned())
            }
            Self::ChangedNothing(first) | Self::ToolsKept(first) => first.hint(),
            Self::NoHome
            | Self::UnknownTool(_)
            | Self::RunningBinary(_)
            | Self::LocalKey(_)
            | Self::Entropy(_)
            | Self::NeedsLocalKey(_)
            | Self::Unreadable { .. }
            | Self::ReadOnly(_)
            | Self::ChangedSinceSetup(_)
            | Self::Unwritable { .. }
            | Self::ReceiptUnreadable { .. }
            | Self::ReceiptInvalid { .. }
            | Self::ReceiptUnwritable { .. }
            | Self::LockBusy(_)
            | Self::LockUnusable(_) => None,
        }
    }
}

/// A proxy-mode tool was asked for without the local key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("internal error: {0} needs the proxy's local key")]
pub struct NeedsLocalKey(pub Tool);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_whose_move_it_is() {
        let parse = PatchError::Parse {
            line: 2,
            column: 3,
            message: "x".into(),
        };
        let file = SetupError::Unparsable {
            path: "/h/s.json".into(),
            error: parse,
        };
        assert_eq!(file.class(), ErrorClass::Config);
        assert_eq!(file.to_string(), "/h/s.json: line 2, column 3: x");
        let bug = SetupError::Unparsable {
            path: "/h/s.json".into(),
            error: PatchError::WrongFormat,
        };
        assert_eq!(bug.class(), ErrorClass::Bug);
        assert_eq!(
            SetupError::LockBusy("/l".into()).class(),
            ErrorClass::LockTimeout
        );
        let wrapped = SetupError::ChangedNothing(Box::new(file.clone()));
        assert_eq!(wrapped.class(), ErrorClass::Config);
        assert_eq!(wrapped.hint(), file.hint());
    }

    #[test]
    fn not_installed_names_what_was_looked_for() {
        let error = SetupError::NotInstalled {
            tool: Tool::Codex,
            config_dir: "/h/.codex".into(),
            binaries: &["codex"],
        };
        assert_eq!(
            error.to_string(),
            "codex does not seem to be installed (no /h/.codex and no codex on PATH)"
        );
        assert_eq!(
            error.hint().as_deref(),
            Some("install codex and run it once, then run setup again")
        );
    }
}
