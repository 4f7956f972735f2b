//! Teardown, for `llmauth teardown` and `config reset`, as `llmauth_core::setup::teardown`
//! plans it: each tool's files newest first under their locks, then what is left of its
//! receipt.

use std::path::{Path, PathBuf};

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::plan::FileTeardown;
use llmauth_core::setup::receipt::{FileReceipt, Receipt};
use llmauth_core::setup::teardown::{TeardownReport, ToolTeardown, revert_file, targets};
use llmauth_core::setup::transaction::Step;

use super::files::{lock_tool_file, read_tool_file};
use super::receipts;
use super::steps::{perform, perform_all};
use crate::paths::Paths;

/// Reverts `only` (or every tool with a receipt, and those only the config's index —
/// `indexed` — lists). The report's `cleared` tools are the ones to drop from the index.
///
/// # Errors
/// [`SetupError::NotConfigured`] when `only` is neither; failures with single tools are
/// in the report.
pub fn revert(
    paths: &Paths,
    only: Option<&str>,
    indexed: &[String],
) -> Result<TeardownReport, SetupError> {
    let targets = targets(only, &receipts::list(paths), indexed)?;
    let mut report = TeardownReport::new(targets.clone());
    for tool in &targets {
        match receipts::load(paths, tool) {
            Ok(Some(receipt)) => revert_tool(paths, receipt, &mut report),
            Ok(None) => report.no_receipt(tool),
            Err(error) => report.failures.push(error),
        }
    }
    Ok(report)
}

/// What teardown would revert: each tool with a receipt, and its files.
pub fn pending(paths: &Paths) -> Vec<(String, Vec<String>)> {
    receipts::list(paths)
        .into_iter()
        .map(|tool| {
            let files = receipts::load(paths, &tool)
                .ok()
                .flatten()
                .map(|r| r.files.into_iter().map(|f| f.path).collect())
                .unwrap_or_default();
            (tool, files)
        })
        .collect()
}

/// Reverts the files of `receipt` (newest first, each under its lock), then stores what
/// is left of it.
pub(crate) fn revert_tool(paths: &Paths, receipt: Receipt, report: &mut TeardownReport) {
    let mut teardown = ToolTeardown::new(receipt);
    for file in teardown.files() {
        let path = PathBuf::from(&file.path);
        let result = lock_tool_file(paths, &path, || revert_one(paths, &file, &path, report))
            .and_then(|done| done);
        teardown.file_done(&file, result, report);
    }
    let stored = perform(
        paths,
        &Step::StoreReceipt(teardown.receipt_left()),
        &mut |text| report.notes.push(format!("warning: {text}")),
    );
    teardown.finish(stored, report);
}

fn revert_one(
    paths: &Paths,
    file: &FileReceipt,
    path: &Path,
    report: &mut TeardownReport,
) -> Result<FileTeardown, SetupError> {
    let revert = revert_file(file, &read_tool_file(path)?)?;
    perform_all(paths, &revert.steps, &mut |text| {
        report.notes.push(format!("warning: {text}"));
    })?;
    Ok(revert.teardown)
}
