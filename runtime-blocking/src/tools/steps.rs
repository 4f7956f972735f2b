//! Performing the steps core plans for setup, teardown and rollbacks.

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::transaction::Step;

use super::files::{remove_empty_dirs, remove_tool_file, set_mode, write_tool_file};
use super::receipts;
use crate::paths::Paths;

/// Performs one step; what the person should hear of it (a [`Step::Notify`], a
/// [`Step::SetMode`] the OS refused) goes to `warn`.
///
/// # Errors
/// Why the file or receipt could not be written; nothing was changed then.
pub(crate) fn perform(
    paths: &Paths,
    step: &Step,
    warn: &mut dyn FnMut(&str),
) -> Result<(), SetupError> {
    match step {
        Step::StoreReceipt(receipt) => receipts::store(paths, receipt),
        Step::Write {
            path,
            bytes,
            new_mode,
        } => write_tool_file(path, bytes, *new_mode),
        Step::SetMode { path, mode } => {
            if let Err(error) = set_mode(path, *mode) {
                warn(&format!(
                    "could not set the permissions of {} to {mode:o}: {error}",
                    path.display()
                ));
            }
            Ok(())
        }
        Step::Notify(text) => {
            warn(text);
            Ok(())
        }
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
pub(crate) fn perform_all(
    paths: &Paths,
    steps: &[Step],
    warn: &mut dyn FnMut(&str),
) -> Result<(), SetupError> {
    steps.iter().try_for_each(|step| perform(paths, step, warn))
}
