//! Drift, for `status`: whether the files of each configured tool still hold what setup
//! wrote, and whether the llmauth its helper command names still exists.

use core::time::Duration;

use super::edit::{self, Note, PatchError};
use super::error::SetupError;
use super::plan::FoundFile;
use super::receipt::{FileReceipt, Receipt};

/// A file's drift.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Everything setup wrote is still there.
    None,
    /// The file is gone.
    Missing,
    /// These keys changed.
    Keys(Vec<Note>),
}

/// Keys of the file that no longer hold what setup wrote; a missing file drifts as a
/// whole.
///
/// # Errors
/// A [`PatchError`] when the file no longer parses.
pub fn drift_file(receipt: &FileReceipt, current: Option<&str>) -> Result<Drift, PatchError> {
    let Some(text) = current else {
        return Ok(Drift::Missing);
    };
    let notes = edit::drift(receipt.format, text, &receipt.entries)?;
    Ok(if notes.is_empty() {
        Drift::None
    } else {
        Drift::Keys(notes)
    })
}

/// One file of a configured tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDrift {
    /// The file, as the receipt names it (empty when the receipt itself is unreadable).
    pub path: String,
    /// Its drift, or why it cannot be told.
    pub drift: Result<Drift, SetupError>,
}

impl FileDrift {
    /// Judges `file` from what the runtime found there.
    pub fn judge(file: &FileReceipt, found: Result<FoundFile, SetupError>) -> Self {
        let drift = found.and_then(|found| {
            drift_file(file, found.text()?).map_err(|error| found.unparsable(error))
        });
        Self {
            path: file.path.clone(),
            drift,
        }
    }
}

/// One configured tool as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolDrift {
    /// The tool's name.
    pub tool: String,
    /// How it was wired (empty when unknown).
    pub mode: String,
    /// Its files.
    pub files: Vec<FileDrift>,
    /// The absolute llmauth path its helper command names, when that file is gone (an
    /// upgrade moved the binary).
    pub stale_helper: Option<String>,
    /// How long the tool's file says it may cache a printed token (token-helper tools),
    /// as the file holds it now — setup's value or someone's own.
    pub helper_ttl: Option<Duration>,
}

impl ToolDrift {
    /// The tool `receipt` describes, with its `files` judged; `helper_exists` says whether
    /// the program its helper command names (if any) is still there.
    pub fn new(receipt: Receipt, files: Vec<FileDrift>, helper_exists: bool) -> Self {
        Self {
            stale_helper: receipt.helper_program.filter(|_| !helper_exists),
            tool: receipt.tool,
            mode: receipt.mode,
            files,
            helper_ttl: None,
        }
    }

    /// The same, with the helper TTL its file holds now.
    #[must_use]
    pub fn with_helper_ttl(self, helper_ttl: Option<Duration>) -> Self {
        Self { helper_ttl, ..self }
    }

    /// A tool whose receipt went away while status looked (nothing to judge).
    pub fn without_receipt(tool: String) -> Self {
        Self {
            tool,
            mode: String::new(),
            files: Vec::new(),
            stale_helper: None,
            helper_ttl: None,
        }
    }

    /// A tool whose receipt cannot be used.
    pub fn unreadable(tool: String, error: SetupError) -> Self {
        Self {
            files: vec![FileDrift {
                path: String::new(),
                drift: Err(error),
            }],
            ..Self::without_receipt(tool)
        }
    }

    /// Whether everything is as setup left it.
    pub fn as_setup_left_it(&self) -> bool {
        self.stale_helper.is_none()
            && self
                .files
                .iter()
                .all(|f| matches!(f.drift, Ok(Drift::None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::plan::{FileSpec, plan_file};
    use crate::setup::receipt::Format;
    use crate::setup::tool::Tool;
    use crate::testing::edits::claude_code_edits;
    use crate::testing::setup;

    fn found(text: Option<&str>) -> Result<FoundFile, SetupError> {
        Ok(setup::found("/p", text))
    }

    #[test]
    fn drift_and_missing_files() {
        let spec = FileSpec {
            path: "/p".into(),
            format: Format::Json,
            edits: claude_code_edits(),
            new_file_mode: 0o644,
            secret: false,
        };
        let plan = plan_file(&spec, "/p", Some("{}"), None, Vec::new()).unwrap();
        let text = plan.new_text.unwrap();
        let file = &plan.receipt;
        assert_eq!(
            FileDrift::judge(file, found(Some(&text))).drift,
            Ok(Drift::None)
        );
        assert_eq!(
            FileDrift::judge(file, found(None)).drift,
            Ok(Drift::Missing)
        );
        assert!(matches!(
            FileDrift::judge(file, found(Some("{\"apiKeyHelper\": \"x\"}"))).drift,
            Ok(Drift::Keys(_))
        ));
        assert!(matches!(
            FileDrift::judge(file, found(Some("{"))).drift,
            Err(SetupError::Unparsable { .. })
        ));

        let receipt = Receipt {
            files: vec![file.clone()],
            helper_program: Some("/gone/llmauth".into()),
            ..Receipt::new(Tool::ClaudeCode)
        };
        let left = ToolDrift::new(
            receipt.clone(),
            vec![FileDrift::judge(file, found(Some(&text)))],
            true,
        );
        assert!(left.as_setup_left_it());
        let moved = ToolDrift::new(receipt, left.files.clone(), false);
        assert_eq!(moved.stale_helper.as_deref(), Some("/gone/llmauth"));
        assert!(!moved.as_setup_left_it());
    }
}
