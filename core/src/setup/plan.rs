//! Per-file decisions: from what setup wants in a file ([`FileSpec`]) and what the runtime
//! found there ([`FoundFile`]), what setup writes and records, and what teardown restores.

use std::fmt;
use std::path::PathBuf;

use super::edit::{self, Edit, Note, PatchError};
use super::error::SetupError;
use super::receipt::{Entry, FileReceipt, Format, Receipt};

/// One file setup writes for a tool.
#[derive(Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Where (before following a symlink).
    pub path: PathBuf,
    /// How it is edited.
    pub format: Format,
    /// What changes.
    pub edits: Vec<Edit>,
    /// Permissions of the file when setup creates it: 0600 when it holds the local key,
    /// 0700 for the shim, 0644 otherwise.
    pub new_file_mode: u32,
    /// It holds a secret (the local key): setup makes an existing file owner-only too,
    /// and teardown gives it its mode back.
    pub secret: bool,
}

impl fmt::Debug for FileSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSpec")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("edits", &self.edits)
            .field("new_file_mode", &format_args!("{:o}", self.new_file_mode))
            .field("secret", &self.secret)
            .finish()
    }
}

/// A tool file as the runtime found it, under its tool-file lock.
#[derive(Clone, PartialEq, Eq)]
pub struct FoundFile {
    /// Where the content really is (the symlink's target for a link).
    pub path: PathBuf,
    /// The content; `None` when the file does not exist.
    pub bytes: Option<Vec<u8>>,
    /// The file exists and its owner may not write it.
    pub read_only: bool,
    /// The directories that would have to be created to hold it, outermost first.
    pub missing_dirs: Vec<PathBuf>,
    /// Who may do what with the existing file (Unix); `None` when it does not exist or
    /// the platform has no permission bits.
    pub access: Option<Access>,
}

/// The Unix permissions of an existing file, as far as setup cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Its permission bits (`0o7777`).
    pub mode: u32,
    /// It belongs to the user running setup.
    pub own: bool,
}

impl FoundFile {
    /// The content as text; `None` when the file does not exist.
    ///
    /// # Errors
    /// [`SetupError::Unparsable`] when it is not UTF-8.
    pub fn text(&self) -> Result<Option<&str>, SetupError> {
        self.bytes
            .as_deref()
            .map(|bytes| edit::decode(bytes).map_err(|error| self.unparsable(error)))
            .transpose()
    }

    /// The content as text, when setup may write over it.
    ///
    /// # Errors
    /// [`SetupError::Unparsable`] when it is not UTF-8, [`SetupError::ReadOnly`] when it
    /// exists and its owner may not write it.
    pub fn writable_text(&self) -> Result<Option<&str>, SetupError> {
        let text = self.text()?;
        if text.is_some() && self.read_only {
            return Err(SetupError::ReadOnly(self.path.clone()));
        }
        Ok(text)
    }

    /// Plans `spec` over this file with [`plan_file`], given the receipt of the run so far
    /// (which may record the file already) and `also_created`: directories someone else
    /// creates for it, recorded with the missing ones so that they are removed again.
    ///
    /// # Errors
    /// As [`Self::writable_text`], and [`SetupError::Unparsable`] when our keys cannot be
    /// placed.
    pub fn plan(
        &self,
        spec: &FileSpec,
        receipt: &Receipt,
        also_created: &[PathBuf],
    ) -> Result<FilePlan, SetupError> {
        let text = self.writable_text()?;
        let target = self.path.to_string_lossy();
        let dirs = self
            .missing_dirs
            .iter()
            .chain(also_created)
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        plan_file(spec, &target, text, receipt.file(&target), dirs)
            .map_err(|error| self.unparsable(error))
    }

    /// `error` about this file.
    pub(crate) fn unparsable(&self, error: PatchError) -> SetupError {
        SetupError::Unparsable {
            path: self.path.clone(),
            error,
        }
    }
}

impl fmt::Debug for FoundFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The content may hold a user's own API key.
        f.debug_struct("FoundFile")
            .field("path", &self.path)
            .field("exists", &self.bytes.is_some())
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// What setup does to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePlan {
    /// The new content; `None` when the file already holds what we want.
    pub new_text: Option<String>,
    /// The receipt for the file after this run (the first `previous` values kept).
    pub receipt: FileReceipt,
}

/// Plans setup of one file.
///
/// `path` is where the file really is (the symlink's target), `current` its content
/// (`None`: it does not exist), `prior` the receipt of an earlier setup of it, and
/// `created_dirs` the directories this run has to create for it.
///
/// A key an earlier setup wrote that this run no longer writes (one written only while
/// `llm.bedrock.compat` was on, say) is given back: the earlier changes are undone from
/// the oldest such key on, newest first, and this run's edits applied on top — the same
/// undo teardown does, so the user's previous values come back exactly.
///
/// # Errors
/// A [`PatchError`] when the file does not parse or our keys cannot be placed.
pub fn plan_file(
    spec: &FileSpec,
    path: &str,
    current: Option<&str>,
    prior: Option<&FileReceipt>,
    created_dirs: Vec<String>,
) -> Result<FilePlan, PatchError> {
    let prior = prior.filter(|p| p.format == spec.format);
    let prior_entries = prior.map(|p| p.entries.as_slice()).unwrap_or_default();
    let (rewound, prior_entries) = rewind(spec, current, prior_entries)?;
    let base = match &rewound {
        Some(text) => text.as_deref(),
        None => current,
    };
    let (text, entries) = edit::apply(spec.format, base, &spec.edits, &prior_entries)?;
    let created = prior.map_or(current.is_none(), |p| p.created);
    let mut dirs = prior.map(|p| p.created_dirs.clone()).unwrap_or_default();
    for dir in created_dirs {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    Ok(FilePlan {
        new_text: (current != Some(text.as_str())).then_some(text),
        receipt: FileReceipt {
            path: path.to_owned(),
            format: spec.format,
            created,
            created_dirs: dirs,
            previous_mode: prior.and_then(|p| p.previous_mode),
            entries,
        },
    })
}

/// Undoes `prior` from its oldest entry `spec` no longer wants; returns the text after
/// that (`None`: nothing was undone; `Some(None)`: no file) and the entries left to build on — the older ones, and
/// newer ones still wanted that the user changed meanwhile (theirs stay; setup writes its
/// value over them as it does on any re-run).
fn rewind(
    spec: &FileSpec,
    current: Option<&str>,
    prior: &[Entry],
) -> Result<(Option<Option<String>>, Vec<Entry>), PatchError> {
    let stale = prior.iter().position(|e| !edit::wanted(e, &spec.edits));
    let (Some(first), Some(current)) = (stale, current) else {
        let wanted = prior.iter().filter(|e| edit::wanted(e, &spec.edits));
        return Ok((None, wanted.cloned().collect()));
    };
    let (keep, undo) = prior.split_at(first);
    let reverted = edit::revert(spec.format, current, undo)?;
    let mut entries = keep.to_vec();
    entries.extend(
        reverted
            .kept
            .into_iter()
            .filter(|e| edit::wanted(e, &spec.edits)),
    );
    Ok((Some(reverted.text), entries))
}

/// What teardown does with a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileAction {
    /// Nothing to write.
    Leave,
    /// Replace the content.
    Write(String),
    /// Delete the file (setup created it and nothing else is in it).
    Delete,
}

/// Teardown of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileTeardown {
    /// What to do with the file.
    pub action: FileAction,
    /// Entries left in place because the user changed them; `None` when none are left.
    pub remaining: Option<FileReceipt>,
    /// Keys to report.
    pub notes: Vec<Note>,
    /// The file no longer exists, so there was nothing to revert.
    pub gone: bool,
}

/// Plans teardown of one file from its receipt and current content (`None`: missing).
///
/// # Errors
/// A [`PatchError`] when the file no longer parses; it is then left untouched and its
/// receipt kept.
pub fn teardown_file(
    receipt: &FileReceipt,
    current: Option<&str>,
) -> Result<FileTeardown, PatchError> {
    let Some(current) = current else {
        return Ok(FileTeardown {
            action: FileAction::Leave,
            remaining: None,
            notes: Vec::new(),
            gone: true,
        });
    };
    let reverted = edit::revert(receipt.format, current, &receipt.entries)?;
    let action = match reverted.text {
        None => FileAction::Delete,
        Some(text) if receipt.created && text.is_empty() => FileAction::Delete,
        Some(text) if text == current => FileAction::Leave,
        Some(text) => FileAction::Write(text),
    };
    let remaining = (!reverted.kept.is_empty()).then(|| FileReceipt {
        entries: reverted.kept,
        ..receipt.clone()
    });
    Ok(FileTeardown {
        action,
        remaining,
        notes: reverted.notes,
        gone: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::receipt::Format;
    use crate::testing::edits::set;
    use serde_json::json;

    fn spec() -> FileSpec {
        FileSpec {
            path: "/h/.claude/settings.json".into(),
            format: Format::Json,
            edits: vec![set(&["apiKeyHelper"], json!("llmauth token"))],
            new_file_mode: 0o644,
            secret: false,
        }
    }

    #[test]
    fn a_created_file_is_deleted_again() {
        let plan = plan_file(&spec(), "/p", None, None, vec!["/h/.claude".into()]).unwrap();
        assert!(plan.receipt.created);
        assert_eq!(plan.receipt.created_dirs, ["/h/.claude"]);
        let text = plan.new_text.unwrap();
        let teardown = teardown_file(&plan.receipt, Some(&text)).unwrap();
        assert_eq!(teardown.action, FileAction::Delete);
        assert_eq!(teardown.remaining, None);
        // A second run keeps the first receipt (created stays true).
        let again = plan_file(&spec(), "/p", Some(&text), Some(&plan.receipt), Vec::new()).unwrap();
        assert_eq!(again.new_text, None);
        assert_eq!(again.receipt, plan.receipt);
    }

    #[test]
    fn a_created_file_with_user_content_stays() {
        let plan = plan_file(&spec(), "/p", None, None, Vec::new()).unwrap();
        let text = plan
            .new_text
            .unwrap()
            .replace("{\n", "{\n  \"theme\": \"dark\",\n");
        let teardown = teardown_file(&plan.receipt, Some(&text)).unwrap();
        assert_eq!(
            teardown.action,
            FileAction::Write("{\n  \"theme\": \"dark\"\n}\n".into())
        );
    }

    fn with_compat(compat: bool) -> FileSpec {
        let mut edits = spec().edits;
        edits.push(set(&["env", "ANTHROPIC_BASE_URL"], json!("https://gw")));
        if compat {
            edits.push(set(
                &["env", "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"],
                json!("1"),
            ));
            edits.push(set(
                &["env", "ANTHROPIC_DEFAULT_OPUS_MODEL"],
                json!("gw-opus"),
            ));
        }
        FileSpec { edits, ..spec() }
    }

    #[test]
    fn keys_a_run_no_longer_writes_are_given_back() {
        let original = "{\n  // mine\n  \"env\": {\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"my-opus\", \"X\": \"1\"}\n}\n";
        let on = plan_file(&with_compat(true), "/p", Some(original), None, Vec::new()).unwrap();
        let on_text = on.new_text.unwrap();
        assert!(on_text.contains("\"gw-opus\""), "{on_text}");
        // Compat off: the compat keys go, the user's opus comes back, exactly as a setup
        // without compat would have left the original.
        let off = plan_file(
            &with_compat(false),
            "/p",
            Some(&on_text),
            Some(&on.receipt),
            Vec::new(),
        )
        .unwrap();
        let off_text = off.new_text.unwrap();
        let fresh = plan_file(&with_compat(false), "/p", Some(original), None, Vec::new()).unwrap();
        assert_eq!(Some(off_text.clone()), fresh.new_text);
        assert_eq!(off.receipt, fresh.receipt);
        assert_eq!(
            teardown_file(&off.receipt, Some(&off_text)).unwrap().action,
            FileAction::Write(original.into())
        );
        // And on again: the first previous value is recorded again.
        let again = plan_file(
            &with_compat(true),
            "/p",
            Some(&off_text),
            Some(&off.receipt),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(again.new_text.as_deref(), Some(on_text.as_str()));
        assert_eq!(again.receipt, on.receipt);
    }

    #[test]
    fn a_stale_key_the_user_changed_is_theirs() {
        let on = plan_file(&with_compat(true), "/p", Some("{}"), None, Vec::new()).unwrap();
        let edited = on.new_text.unwrap().replace("gw-opus", "their-opus");
        let off = plan_file(
            &with_compat(false),
            "/p",
            Some(&edited),
            Some(&on.receipt),
            Vec::new(),
        )
        .unwrap();
        let off_text = off.new_text.unwrap();
        assert!(off_text.contains("their-opus"), "{off_text}");
        assert!(
            !off_text.contains("DISABLE_EXPERIMENTAL_BETAS"),
            "{off_text}"
        );
        assert!(
            off.receipt.entries.iter().all(|e| e
                .key
                .last()
                .is_none_or(|k| k != "ANTHROPIC_DEFAULT_OPUS_MODEL")),
            "{:?}",
            off.receipt
        );
    }

    #[test]
    fn a_missing_file_has_nothing_to_revert() {
        let plan = plan_file(&spec(), "/p", Some("{}"), None, Vec::new()).unwrap();
        let gone = teardown_file(&plan.receipt, None).unwrap();
        assert!(gone.gone);
        assert_eq!(gone.action, FileAction::Leave);
    }
}
