//! Teardown (SPEC §9), used by `teardown` and `config reset`: every decision, performed by
//! the runtime.
//!
//! ```text
//! targets(only, receipts, index)       the tools to look at
//! per tool    ToolTeardown::new(receipt)
//!   per file  (newest first) lock it, read it (FoundFile)
//!             revert_file → steps, performed in order; ToolTeardown::file_done
//!             ToolTeardown::receipt_left → stored; ToolTeardown::finish
//! TeardownReport::cleared → forgotten(index): the config's index drops those tools
//! ```
//!
//! A key the user changed since setup is left alone, reported, and stays in the receipt,
//! so a later teardown restores it once it holds setup's value again.

use std::path::PathBuf;

use super::error::SetupError;
use super::notices;
use super::plan::{FileAction, FileTeardown, FoundFile, teardown_file};
use super::receipt::{FileReceipt, Receipt};
use super::transaction::Step;
use crate::config::ConfiguredTool;

/// The tools teardown looks at: `only`, which must have a receipt or be in the config's
/// index, or every tool with a receipt followed by those only the index lists.
///
/// # Errors
/// [`SetupError::NotConfigured`] when `only` is neither.
pub fn targets(
    only: Option<&str>,
    with_receipts: &[String],
    indexed: &[String],
) -> Result<Vec<String>, SetupError> {
    match only {
        Some(name) if with_receipts.iter().chain(indexed).any(|t| t == name) => {
            Ok(vec![name.to_owned()])
        }
        Some(name) => Err(SetupError::NotConfigured(name.to_owned())),
        None => {
            let mut all = with_receipts.to_vec();
            all.extend(
                indexed
                    .iter()
                    .filter(|t| !with_receipts.contains(t))
                    .cloned(),
            );
            Ok(all)
        }
    }
}

/// Plans the teardown of one file from its receipt and what the runtime found there.
///
/// # Errors
/// [`SetupError::Unparsable`] when the file no longer parses: it is left untouched and
/// its receipt kept.
pub fn revert_file(file: &FileReceipt, found: &FoundFile) -> Result<FileRevert, SetupError> {
    let teardown = teardown_file(file, found.text()?).map_err(|e| found.unparsable(e))?;
    let mut steps = Vec::new();
    match &teardown.action {
        FileAction::Leave => {}
        FileAction::Write(text) => steps.push(Step::Write {
            path: found.path.clone(),
            bytes: text.clone().into_bytes(),
            new_mode: 0o600,
        }),
        FileAction::Delete => steps.push(Step::Remove(found.path.clone())),
    }
    if matches!(teardown.action, FileAction::Delete) || teardown.gone {
        steps.push(Step::RemoveEmptyDirs(
            file.created_dirs.iter().map(PathBuf::from).collect(),
        ));
    }
    // Setup made it owner-only for the local key: once none of setup's keys is left, it
    // gets its mode back — unless someone changed the mode since.
    let still_private = found
        .access
        .is_some_and(|a| a.own && a.mode & 0o7777 == 0o600);
    if let Some(mode) = file.previous_mode
        && still_private
        && teardown.remaining.is_none()
        && !matches!(teardown.action, FileAction::Delete)
    {
        steps.push(Step::SetMode {
            path: found.path.clone(),
            mode,
        });
    }
    Ok(FileRevert { steps, teardown })
}

/// The teardown of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRevert {
    /// What to perform, in order.
    pub steps: Vec<Step>,
    /// What it means for the receipt and the report.
    pub teardown: FileTeardown,
}

/// One tool's teardown in progress.
#[derive(Debug)]
pub struct ToolTeardown {
    receipt: Receipt,
    /// Files (newest first) with entries the user changed, or that failed.
    remaining: Vec<FileReceipt>,
    /// Files looked at (newest first).
    shown: Vec<String>,
    complete: bool,
}

impl ToolTeardown {
    /// Starts reverting the tool `receipt` describes.
    pub fn new(receipt: Receipt) -> Self {
        Self {
            receipt,
            remaining: Vec::new(),
            shown: Vec::new(),
            complete: true,
        }
    }

    /// Its files, newest first: the order teardown undoes them in.
    pub fn files(&self) -> Vec<FileReceipt> {
        self.receipt.files.iter().rev().cloned().collect()
    }

    /// Records what became of `file`: reverted (its steps performed), or failed.
    pub fn file_done(
        &mut self,
        file: &FileReceipt,
        result: Result<FileTeardown, SetupError>,
        report: &mut TeardownReport,
    ) {
        match result {
            Ok(done) => {
                self.shown.push(file.path.clone());
                for note in &done.notes {
                    report.kept.push(notices::kept(&file.path, note));
                }
                if done.gone {
                    report.notes.push(format!(
                        "{}: {} no longer exists; nothing to revert there",
                        self.receipt.tool, file.path
                    ));
                }
                self.remaining.extend(done.remaining);
            }
            Err(error) => {
                self.complete = false;
                self.remaining.push(file.clone());
                report.failures.push(error);
            }
        }
    }

    /// The receipt to store now: the entries left in place, in their original order.
    pub fn receipt_left(&self) -> Receipt {
        Receipt {
            files: self.remaining.iter().rev().cloned().collect(),
            ..self.receipt.clone()
        }
    }

    /// Finishes the tool once [`Self::receipt_left`] was stored (or failed to be).
    pub fn finish(self, stored: Result<(), SetupError>, report: &mut TeardownReport) {
        if let Err(error) = stored {
            report.failures.push(error);
        }
        if self.complete && !self.shown.is_empty() {
            let shown: Vec<String> = self.shown.iter().rev().cloned().collect();
            report
                .reverted
                .push(notices::reverted(&self.receipt.tool, &shown));
        }
        if self.complete && self.remaining.is_empty() {
            report.cleared.push(self.receipt.tool);
        }
    }
}

/// What teardown did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TeardownReport {
    /// The tools looked at.
    pub tools: Vec<String>,
    /// `reverted <tool> → <files>`, per tool fully reverted (stdout).
    pub reverted: Vec<String>,
    /// Keys left in place (stdout).
    pub kept: Vec<String>,
    /// Informational notes (stderr).
    pub notes: Vec<String>,
    /// What could not be reverted; the first one decides the exit code.
    pub failures: Vec<SetupError>,
    /// Tools nothing is left of: the config's index drops them.
    pub cleared: Vec<String>,
}

impl TeardownReport {
    /// A report about `tools`.
    pub fn new(tools: Vec<String>) -> Self {
        Self {
            tools,
            ..Self::default()
        }
    }

    /// `tool` is in the index but has no receipt: there is nothing to revert.
    pub fn no_receipt(&mut self, tool: &str) {
        self.notes
            .push(format!("{tool}: no receipt, nothing to revert"));
        self.cleared.push(tool.to_owned());
    }

    /// The report for stdout: what was reverted, then what was kept, a line each.
    pub fn text(&self) -> String {
        self.reverted
            .iter()
            .chain(&self.kept)
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

/// `configured_tools` without `cleared`; `None` when it lists none of them (nothing to
/// write).
pub fn forgotten(index: &[ConfiguredTool], cleared: &[String]) -> Option<Vec<ConfiguredTool>> {
    index.iter().any(|t| cleared.contains(&t.tool)).then(|| {
        index
            .iter()
            .filter(|t| !cleared.contains(&t.tool))
            .cloned()
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::edit::Edit;
    use crate::setup::plan::FileSpec;
    use crate::setup::plan::plan_file;
    use crate::setup::receipt::{Format, RECEIPT_VERSION};
    use crate::testing::edits::claude_code_edits;
    use crate::testing::setup;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn targets_are_receipts_then_the_index() {
        let receipts = names(&["codex", "cursor"]);
        let index = names(&["cursor", "vscode"]);
        assert_eq!(
            targets(None, &receipts, &index),
            Ok(names(&["codex", "cursor", "vscode"]))
        );
        assert_eq!(
            targets(Some("vscode"), &receipts, &index),
            Ok(names(&["vscode"]))
        );
        assert_eq!(
            targets(Some("gemini-cli"), &receipts, &index),
            Err(SetupError::NotConfigured("gemini-cli".into()))
        );
    }

    fn set_up(original: Option<&str>, edits: Vec<Edit>) -> (FileReceipt, String) {
        let spec = FileSpec {
            path: "/h/s.json".into(),
            format: Format::Json,
            edits,
            new_file_mode: 0o644,
            secret: false,
        };
        let plan = plan_file(&spec, "/h/s.json", original, None, names(&["/h"])).unwrap();
        (plan.receipt, plan.new_text.unwrap())
    }

    fn found(text: Option<&str>) -> FoundFile {
        setup::found("/h/s.json", text)
    }

    #[test]
    fn a_created_file_is_removed_with_its_directories() {
        let (file, text) = set_up(None, claude_code_edits());
        let revert = revert_file(&file, &found(Some(&text))).unwrap();
        assert_eq!(
            revert.steps,
            vec![
                Step::Remove("/h/s.json".into()),
                Step::RemoveEmptyDirs(vec!["/h".into()])
            ]
        );
        let gone = revert_file(&file, &found(None)).unwrap();
        assert_eq!(gone.steps, vec![Step::RemoveEmptyDirs(vec!["/h".into()])]);
        assert!(gone.teardown.gone);
    }

    #[test]
    fn a_changed_key_stays_in_the_receipt_and_the_tool_in_the_index() {
        let original = "{\"theme\": \"dark\"}\n";
        let (file, text) = set_up(Some(original), claude_code_edits());
        let receipt = Receipt {
            version: RECEIPT_VERSION,
            tool: "claude-code".into(),
            mode: "token-helper".into(),
            helper_program: None,
            files: vec![file.clone()],
        };
        let edited = text.replace("https://gw.example.com", "https://mine.example.com");
        let mut report = TeardownReport::new(names(&["claude-code"]));
        let mut tool = ToolTeardown::new(receipt);
        for file in tool.files() {
            let revert = revert_file(&file, &found(Some(&edited))).unwrap();
            assert!(matches!(revert.steps[..], [Step::Write { .. }]));
            tool.file_done(&file, Ok(revert.teardown), &mut report);
        }
        assert_eq!(tool.receipt_left().files[0].entries.len(), 1);
        tool.finish(Ok(()), &mut report);
        assert_eq!(report.text().lines().count(), 2, "{report:?}");
        assert!(
            report.kept[0].contains("env.ANTHROPIC_BASE_URL"),
            "{report:?}"
        );
        assert!(report.cleared.is_empty());

        let index = vec![ConfiguredTool {
            tool: "claude-code".into(),
            mode: "token-helper".into(),
            file: "/h/s.json".into(),
        }];
        assert_eq!(forgotten(&index, &report.cleared), None);
        assert_eq!(
            forgotten(&index, &names(&["claude-code"])),
            Some(Vec::new())
        );
    }

    #[test]
    fn a_failed_file_keeps_its_receipt() {
        let (file, _) = set_up(None, claude_code_edits());
        let receipt = Receipt {
            files: vec![file.clone()],
            ..Receipt::new(crate::setup::tool::Tool::ClaudeCode)
        };
        let mut report = TeardownReport::default();
        let mut tool = ToolTeardown::new(receipt.clone());
        tool.file_done(
            &file,
            Err(SetupError::ReadOnly("/h/s.json".into())),
            &mut report,
        );
        assert_eq!(tool.receipt_left(), receipt);
        tool.finish(Ok(()), &mut report);
        assert!(report.reverted.is_empty() && report.cleared.is_empty());
        assert_eq!(report.failures.len(), 1);
    }
}
