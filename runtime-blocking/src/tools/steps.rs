//! Performing the steps core plans for setup, teardown and rollbacks.

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::transaction::Step;

use super::files::{remove_empty_dirs, remove_tool_file, write_tool_file};
use super::receipts;
use crate::paths::Paths;

/// Performs one step.
///
/// # Errors
/// Why the file or receipt could not be written; nothing was changed then.
pub(crate) fn perform(paths: &Paths, step: &Step) -> Result<(), SetupError> {
    match step {
        Step::StoreReceipt(receipt) => receipts::store(paths, receipt),
        Step::Write {
            path,
            bytes,
            new_mode,
        } => write_tool_file(path, bytes, *new_mode),
        Step::Remove(path) => remove_tool_file(path),
        Step::RemoveEmptyDirs(dirs) => {
            remove_empty_dirs(dirs);
            Ok(())
        }
    }
}

/// Performs `steps` in order, stopping at the first that fails.
///
/// # Errors
/// That step's error.
pub(crate) fn perform_all(paths: &Paths, steps: &[Step]) -> Result<(), SetupError> {
    steps.iter().try_for_each(|step| perform(paths, step))
}
