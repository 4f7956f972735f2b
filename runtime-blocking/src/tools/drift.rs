//! For `status` and `doctor`: every tool with a receipt, its files judged by
//! `llmauth_core::setup::drift`, the helper TTL its file holds now
//! (`llmauth_core::setup::retune`), and (for `doctor`) the files' content as it is now.

use std::path::Path;

use llmauth_core::doctor::ToolFile;
use llmauth_core::setup::drift::{FileDrift, ToolDrift};
use llmauth_core::setup::retune;
use llmauth_core::setup::tool::Tool;

use super::files::read_tool_file;
use super::receipts;
use crate::paths::Paths;

/// A configured tool as it is now.
#[derive(Clone, Debug)]
pub struct Configured {
    /// Whether its files still hold what setup wrote.
    pub drift: ToolDrift,
    /// Its files' content, which says how the tool runs its helper.
    pub files: Vec<ToolFile>,
}

/// Every tool with a receipt, and whether its files still hold what setup wrote.
pub fn inspect(paths: &Paths) -> Vec<ToolDrift> {
    configured(paths).into_iter().map(|c| c.drift).collect()
}

/// Every tool with a receipt: its drift and its files, each read once.
pub fn configured(paths: &Paths) -> Vec<Configured> {
    receipts::list(paths)
        .into_iter()
        .map(|tool| match receipts::load(paths, &tool) {
            Ok(Some(receipt)) => {
                let kind = Tool::parse(&receipt.tool);
                let mut helper_ttl = None;
                let mut files = Vec::new();
                let mut drifts = Vec::new();
                for file in &receipt.files {
                    let found = read_tool_file(Path::new(&file.path));
                    let text = match &found {
                        Ok(found) => found
                            .text()
                            .map(|text| text.map(str::to_owned))
                            .map_err(|e| e.to_string()),
                        Err(error) => Err(error.to_string()),
                    };
                    if let (Some(kind), Ok(Some(text))) = (kind, &text) {
                        helper_ttl =
                            helper_ttl.or_else(|| retune::interval_in(kind, file.format, text));
                    }
                    files.push(ToolFile {
                        path: file.path.clone(),
                        format: file.format,
                        text,
                    });
                    drifts.push(FileDrift::judge(file, found));
                }
                let helper_exists = receipt
                    .helper_program
                    .as_deref()
                    .is_some_and(|program| Path::new(program).exists());
                Configured {
                    drift: ToolDrift::new(receipt, drifts, helper_exists)
                        .with_helper_ttl(helper_ttl),
                    files,
                }
            }
            Ok(None) => Configured {
                drift: ToolDrift::without_receipt(tool),
                files: Vec::new(),
            },
            Err(error) => Configured {
                drift: ToolDrift::unreadable(tool, error),
                files: Vec::new(),
            },
        })
        .collect()
}
