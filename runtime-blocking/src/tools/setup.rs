//! `llmauth setup`'s transaction, as `llmauth_core::setup::transaction` plans it: tool
//! after tool, file after file under its lock, the steps in the order given; a tool that
//! fails is rolled back at once, and the whole run when any tool failed or saving the
//! config did.

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::plan::FileSpec;
use llmauth_core::setup::tool::{Environment, Tool};
use llmauth_core::setup::transaction::{Configured, Progress, Rollback, SetupRun, ToolSetup};
use llmauth_core::setup::wiring::{Settings, files};

use super::files::{lock_tool_file, read_tool_file, resolve_link};
use super::receipts;
use super::steps::{perform, perform_all};
use crate::paths::Paths;

/// Wires `tools` with `settings`, then hands what was configured to `save` (the config
/// with its `configured_tools` index). When a tool cannot be wired, or `save` fails,
/// every change of this run is undone. `progress` hears of each tool that failed and of
/// anything a rollback could not undo, as it happens.
///
/// # Errors
/// [`SetupError::ChangedNothing`] about the first tool that failed, or `save`'s error.
pub fn set_up<E: From<SetupError>>(
    paths: &Paths,
    tools: &[Tool],
    settings: &Settings,
    env: &Environment,
    save: impl FnOnce(&[Configured]) -> Result<(), E>,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Vec<Configured>, E> {
    let mut run = SetupRun::default();
    for &tool in tools {
        match set_up_tool(paths, tool, settings, env, &mut progress) {
            Ok(wired) => run.wired(wired),
            Err(error) => {
                progress(Progress::ToolFailed(tool, &error));
                run.failed(error);
            }
        }
    }
    let saved = run
        .verdict()
        .map_err(E::from)
        .and_then(|configured| save(&configured).map(|()| configured));
    if saved.is_err() {
        for rollback in run.rollbacks() {
            roll_back(paths, &rollback, &mut progress);
        }
    }
    saved
}

/// Wires one tool, rolling it back when a file fails.
fn set_up_tool(
    paths: &Paths,
    tool: Tool,
    settings: &Settings,
    env: &Environment,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<ToolSetup, SetupError> {
    let specs = files(tool, settings, env)?;
    let prior = receipts::load(paths, tool.name())?;
    let mut setup = ToolSetup::begin(tool, &specs, prior, &settings.helper);
    write_files(paths, &mut setup, &specs, progress)?;
    Ok(setup)
}

/// Writes `specs` one file after the other, each under its lock, as `setup` plans them;
/// when a file fails, what was written is rolled back and the error returned.
pub(super) fn write_files(
    paths: &Paths,
    setup: &mut ToolSetup,
    specs: &[FileSpec],
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<(), SetupError> {
    for spec in specs {
        // Locked by where the content really is, as teardown (which knows only that) does.
        let target = resolve_link(&spec.path).unwrap_or_else(|_| spec.path.clone());
        let applied = lock_tool_file(paths, &target, || {
            let steps = setup.plan_file(spec, read_tool_file(&spec.path)?)?;
            perform_all(paths, &steps, &mut |text| progress(Progress::Warning(text)))?;
            setup.file_done();
            Ok(())
        })
        .and_then(|done| done);
        if let Err(error) = applied {
            roll_back(paths, &setup.rollback(), progress);
            return Err(error);
        }
    }
    Ok(())
}

/// Undoes one tool's part of a run, as far as it can: every step is tried.
fn roll_back(paths: &Paths, rollback: &Rollback, progress: &mut impl FnMut(Progress<'_>)) {
    for restore in &rollback.files {
        let _ = lock_tool_file(paths, restore.path(), || {
            let current = std::fs::read(restore.path()).ok();
            let Some(steps) = restore.steps(current.as_deref()) else {
                progress(Progress::ChangedMeanwhile(restore.path()));
                return;
            };
            for step in &steps {
                let performed = perform(paths, step, &mut |text| progress(Progress::Warning(text)));
                if let Err(error) = performed {
                    progress(Progress::RollbackFailed(&error));
                }
            }
        });
    }
    let stored = perform(paths, &rollback.receipt, &mut |text| {
        progress(Progress::Warning(text));
    });
    if let Err(error) = stored {
        progress(Progress::RollbackFailed(&error));
    }
}
