//! `llmauth teardown`: reverts tools from their receipts (`llmauth_blocking::tools::
//! teardown`), drops the ones fully reverted from the config's index, and reports.

use std::io::Write as _;

use llmauth_blocking::tools;

use crate::app::App;
use crate::args::TeardownArgs;
use crate::config_file;
use crate::failure::Failure;
use crate::service;

/// Runs `teardown`.
pub(crate) fn run(app: &App, args: &TeardownArgs) -> Result<(), Failure> {
    service::before_teardown(app, args.tool());
    let indexed = config_file::indexed_tools(app);
    let mut report = tools::teardown::revert(&app.paths, args.tool(), &indexed)?;
    report
        .notes
        .extend(config_file::forget_tools(app, &report.cleared));
    let mut out = String::new();
    if report.tools.is_empty() {
        out.push_str("No tools are configured.\n");
    }
    out.push_str(&report.text());
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    for note in &report.notes {
        eprintln!("{note}");
    }
    if args.purge_tokens {
        let config = app.config()?;
        app.logout(&config, false)?;
        eprintln!("Deleted the stored session.");
    }
    match report.failures.into_iter().next() {
        None => Ok(()),
        Some(first) => Err(first.into()),
    }
}
