//! For `status`: every tool with a receipt, its files judged by
//! `llmauth_core::setup::drift`, and the helper TTL its file holds now
//! (`llmauth_core::setup::retune`).

use std::path::Path;

use llmauth_core::setup::drift::{FileDrift, ToolDrift};
use llmauth_core::setup::retune;
use llmauth_core::setup::tool::Tool;

use super::files::read_tool_file;
use super::receipts;
use crate::paths::Paths;

/// Every tool with a receipt, and whether its files still hold what setup wrote.
pub fn inspect(paths: &Paths) -> Vec<ToolDrift> {
    receipts::list(paths)
        .into_iter()
        .map(|tool| match receipts::load(paths, &tool) {
            Ok(Some(receipt)) => {
                let kind = Tool::parse(&receipt.tool);
                let mut helper_ttl = None;
                let files = receipt
                    .files
                    .iter()
                    .map(|file| {
                        let found = read_tool_file(Path::new(&file.path));
                        if let (Some(kind), Ok(found)) = (kind, &found) {
                            let text = found.text().ok().flatten().unwrap_or_default();
                            helper_ttl =
                                helper_ttl.or_else(|| retune::interval_in(kind, file.format, text));
                        }
                        FileDrift::judge(file, found)
                    })
                    .collect();
                let helper_exists = receipt
                    .helper_program
                    .as_deref()
                    .is_some_and(|program| Path::new(program).exists());
                ToolDrift::new(receipt, files, helper_exists).with_helper_ttl(helper_ttl)
            }
            Ok(None) => ToolDrift::without_receipt(tool),
            Err(error) => ToolDrift::unreadable(tool, error),
        })
        .collect()
}
