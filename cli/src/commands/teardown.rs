//! `llmauth teardown`: revert tools from their receipts (the authoritative record), keep
//! and report keys the user changed since, and update the `configured_tools` index.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use llmauth_blocking::tools::{self, receipts};
use llmauth_core::setup::edit;
use llmauth_core::setup::notices;
use llmauth_core::setup::plan::{FileAction, teardown_file};
use llmauth_core::setup::receipt::{FileReceipt, Receipt};

use super::setup::patch_failure;
use crate::app::App;
use crate::args::TeardownArgs;
use crate::failure::{Exit, Failure};

/// Runs `teardown`.
pub(crate) fn run(app: &App, args: &TeardownArgs) -> Result<(), Failure> {
    let report = revert_tools(app, args.name.as_deref())?;
    if report.tools.is_empty() {
        let _ = std::io::stdout()
            .lock()
            .write_all(b"No tools are configured.\n");
    }
    report.print();
    if args.purge_tokens {
        purge_session(app)?;
    }
    match report.failures.into_iter().next() {
        None => Ok(()),
        Some(first) => Err(first),
    }
}

/// Deletes the stored session (`--purge-tokens`).
fn purge_session(app: &App) -> Result<(), Failure> {
    let config = app.config()?;
    app.logout(&config, false)?;
    eprintln!("Deleted the stored session.");
    Ok(())
}

/// What teardown did.
#[derive(Default)]
pub(crate) struct Report {
    /// Tools looked at.
    pub(crate) tools: Vec<String>,
    /// `reverted <tool> → <files>` per tool fully reverted.
    reverted: Vec<String>,
    /// Lines about keys left in place.
    kept: Vec<String>,
    /// Informational notes (stderr).
    notes: Vec<String>,
    /// Files that could not be reverted.
    pub(crate) failures: Vec<Failure>,
}

impl Report {
    /// Prints what was reverted and kept (stdout) and the notes (stderr).
    pub(crate) fn print(&self) {
        let mut out = String::new();
        for line in self.reverted.iter().chain(&self.kept) {
            out.push_str(line);
            out.push('\n');
        }
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
        for note in &self.notes {
            eprintln!("{note}");
        }
    }
}

/// What setup would revert: `(tool, files)` per receipt (for `config reset`'s question).
pub(crate) fn configured(app: &App) -> Vec<(String, Vec<String>)> {
    receipts::list(&app.paths)
        .into_iter()
        .map(|tool| {
            let files = receipts::load(&app.paths, &tool)
                .ok()
                .flatten()
                .map(|r| r.files.into_iter().map(|f| f.path).collect())
                .unwrap_or_default();
            (tool, files)
        })
        .collect()
}

/// Reverts `only` (or every tool with a receipt), then drops fully reverted tools from
/// the `configured_tools` index.
pub(crate) fn revert_tools(app: &App, only: Option<&str>) -> Result<Report, Failure> {
    let with_receipts = receipts::list(&app.paths);
    let indexed: Vec<String> = app
        .read_config()
        .ok()
        .and_then(|d| d.raw().configured_tools.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.tool)
        .collect();
    let targets: Vec<String> = match only {
        Some(name) => {
            if !with_receipts.iter().any(|t| t == name) && !indexed.iter().any(|t| t == name) {
                return Err(Failure::new(
                    Exit::Usage,
                    format!("{name} is not configured"),
                    Some("`llmauth status` lists the configured tools".to_owned()),
                ));
            }
            vec![name.to_owned()]
        }
        None => {
            let mut all = with_receipts.clone();
            all.extend(
                indexed
                    .iter()
                    .filter(|t| !with_receipts.contains(t))
                    .cloned(),
            );
            all
        }
    };
    let mut report = Report {
        tools: targets.clone(),
        ..Report::default()
    };
    let mut cleared = Vec::new();
    for tool in &targets {
        let receipt = match receipts::load(&app.paths, tool) {
            Ok(Some(receipt)) => receipt,
            Ok(None) => {
                report
                    .notes
                    .push(format!("{tool}: no receipt, nothing to revert"));
                cleared.push(tool.clone());
                continue;
            }
            Err(e) => {
                report
                    .failures
                    .push(Failure::new(Exit::Usage, e.to_string(), None));
                continue;
            }
        };
        if revert_tool(app, receipt, &mut report) {
            cleared.push(tool.clone());
        }
    }
    drop_from_index(app, &cleared, &mut report);
    Ok(report)
}

/// Reverts one tool; true when nothing of it is left in its receipt.
fn revert_tool(app: &App, receipt: Receipt, report: &mut Report) -> bool {
    let mut remaining: Vec<FileReceipt> = Vec::new();
    let mut shown = Vec::new();
    let mut complete = true;
    for file in receipt.files.iter().rev() {
        let path = PathBuf::from(&file.path);
        let result = tools::lock_tool_file(&app.paths, &path, || revert_file(file, &path))
            .map_err(|e| Failure::new(Exit::LockTimeout, e.to_string(), None))
            .and_then(|r| r);
        match result {
            Ok(outcome) => {
                shown.push(file.path.clone());
                for note in &outcome.notes {
                    report.kept.push(notices::kept(&file.path, note));
                }
                if outcome.gone {
                    report.notes.push(format!(
                        "{}: {} no longer exists; nothing to revert there",
                        receipt.tool, file.path
                    ));
                }
                if let Some(left) = outcome.remaining {
                    remaining.push(left);
                }
            }
            Err(failure) => {
                complete = false;
                remaining.push(file.clone());
                report.failures.push(failure);
            }
        }
    }
    remaining.reverse();
    shown.reverse();
    let left = Receipt {
        files: remaining,
        ..receipt.clone()
    };
    let stored = receipts::with_receipts_lock(&app.paths, || receipts::store(&app.paths, &left));
    match stored {
        Ok(Ok(())) => {}
        Ok(Err(e)) => report.failures.push(Failure::new(
            Exit::Unexpected,
            format!("cannot update the receipt for {}: {e}", receipt.tool),
            None,
        )),
        Err(e) => report
            .failures
            .push(Failure::new(Exit::LockTimeout, e.to_string(), None)),
    }
    if complete && !shown.is_empty() {
        report
            .reverted
            .push(notices::reverted(&receipt.tool, &shown));
    }
    complete && left.files.is_empty()
}

/// What happened to one file.
struct FileOutcome {
    notes: Vec<edit::Note>,
    remaining: Option<FileReceipt>,
    gone: bool,
}

fn revert_file(file: &FileReceipt, path: &Path) -> Result<FileOutcome, Failure> {
    let found = tools::read_tool_file(path)
        .map_err(|e| Failure::new(Exit::Unexpected, format!("{}: {e}", path.display()), None))?;
    let text = match &found.bytes {
        Some(bytes) => Some(edit::decode(bytes).map_err(|e| patch_failure(path, &e))?),
        None => None,
    };
    let plan = teardown_file(file, text).map_err(|e| patch_failure(path, &e))?;
    let write_failure = |e: tools::WriteError| Failure::new(Exit::Usage, e.to_string(), None);
    match &plan.action {
        FileAction::Leave => {}
        FileAction::Write(text) => {
            tools::write_tool_file(&found.path, text.as_bytes(), 0o600).map_err(write_failure)?;
        }
        FileAction::Delete => {
            tools::remove_tool_file(&found.path).map_err(write_failure)?;
        }
    }
    if matches!(plan.action, FileAction::Delete) || plan.gone {
        let dirs: Vec<PathBuf> = file.created_dirs.iter().map(PathBuf::from).collect();
        tools::remove_empty_dirs(&dirs);
    }
    Ok(FileOutcome {
        notes: plan.notes,
        remaining: plan.remaining,
        gone: plan.gone,
    })
}

/// Removes fully reverted tools from `configured_tools` (an index only; a config that
/// cannot be read or written is reported, not fatal).
fn drop_from_index(app: &App, cleared: &[String], report: &mut Report) {
    if cleared.is_empty() || !app.config_path().exists() {
        return;
    }
    let Ok(document) = app.read_config() else {
        report.notes.push(format!(
            "warning: {} could not be read; its configured_tools list was not updated",
            app.config_path().display()
        ));
        return;
    };
    let listed = document.raw().configured_tools.clone().unwrap_or_default();
    if !listed.iter().any(|t| cleared.contains(&t.tool)) {
        return;
    }
    let result = super::config::update(app, &Default::default(), |document| {
        let mut tools = document.raw().configured_tools.clone().unwrap_or_default();
        tools.retain(|t| !cleared.contains(&t.tool));
        document.set_configured_tools(tools)
    });
    if let Err(failure) = result {
        report.notes.push(format!(
            "warning: configured_tools was not updated: {}",
            failure.message
        ));
    }
}
