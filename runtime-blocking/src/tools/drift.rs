//! For `status`: every tool with a receipt, its files judged by
//! `llmauth_core::setup::drift`.

use std::path::Path;

use llmauth_core::setup::drift::{FileDrift, ToolDrift};

use super::files::read_tool_file;
use super::receipts;
use crate::paths::Paths;

/// Every tool with a receipt, and whether its files still hold what setup wrote.
pub fn inspect(paths: &Paths) -> Vec<ToolDrift> {
    receipts::list(paths)
        .into_iter()
        .map(|tool| match receipts::load(paths, &tool) {
            Ok(Some(receipt)) => {
                let files = receipt
                    .files
                    .iter()
                    .map(|file| FileDrift::judge(file, read_tool_file(Path::new(&file.path))))
                    .collect();
                let helper_exists = receipt
                    .helper_program
                    .as_deref()
                    .is_some_and(|program| Path::new(program).exists());
                ToolDrift::new(receipt, files, helper_exists)
            }
            Ok(None) => ToolDrift::without_receipt(tool),
            Err(error) => ToolDrift::unreadable(tool, error),
        })
        .collect()
}
