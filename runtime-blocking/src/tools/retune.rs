//! The helper TTL in configured tools' files following the token's lifetime (SPEC §5),
//! as `llmauth_core::setup::retune` plans it, through setup's own transaction: each file
//! under its lock, the receipt first, a tool rolled back when one of its files fails (or
//! changed since setup, which leaves it to whoever changed it).
//!
//! Called after a refresh or a sign-in, never on the cached fast path: listing and
//! reading the receipts costs a few hundred microseconds, next to an IdP round trip.

use std::time::Duration;

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::retune;
use llmauth_core::setup::transaction::ToolSetup;
use llmauth_core::token::helper_interval;

use super::receipts;
use super::setup::write_files;
use crate::paths::Paths;

/// One tool whose files needed another interval, and how rewriting them went.
#[derive(Debug)]
pub struct Retuned {
    /// The tool's name.
    pub tool: String,
    /// The interval now written, or why the files were left as they were.
    pub outcome: Result<Duration, SetupError>,
}

/// Makes every configured tool's helper TTL fit a token of `lifetime` (the interval
/// setup would write for it); reports the tools that needed it.
pub fn follow_lifetime(paths: &Paths, lifetime: Option<Duration>) -> Vec<Retuned> {
    let interval = helper_interval(lifetime);
    receipts::list(paths)
        .into_iter()
        .filter_map(|tool| {
            let receipt = match receipts::load(paths, &tool) {
                Ok(Some(receipt)) => receipt,
                Ok(None) => return None,
                Err(error) => {
                    return Some(Retuned {
                        tool,
                        outcome: Err(error),
                    });
                }
            };
            let plan = retune::plan(&receipt, interval)?;
            let mut setup = ToolSetup::resume(plan.tool, &plan.specs, receipt);
            // A tool's rollback problems are its failure's business: nothing is reported
            // while a helper runs.
            let outcome =
                write_files(paths, &mut setup, &plan.specs, &mut |_| {}).map(|()| interval);
            Some(Retuned { tool, outcome })
        })
        .collect()
}
