//! For `status`: the configured tools (from their receipts) and whether their files still
//! hold what setup wrote.

use std::path::Path;

use llmauth_blocking::tools::{self, receipts};
use llmauth_core::setup::edit;
use llmauth_core::setup::plan::{Drift, drift_file};
use serde_json::{Value, json};

use crate::app::App;

/// One configured tool as status shows it.
pub(crate) struct ToolState {
    tool: String,
    mode: String,
    files: Vec<(String, Result<Drift, String>)>,
    /// The absolute llmauth path its helper names, when that file is gone.
    stale_helper: Option<String>,
}

/// Every tool with a receipt.
pub(crate) fn states(app: &App) -> Vec<ToolState> {
    receipts::list(&app.paths)
        .into_iter()
        .map(|tool| match receipts::load(&app.paths, &tool) {
            Ok(Some(receipt)) => ToolState {
                files: receipt
                    .files
                    .iter()
                    .map(|file| (file.path.clone(), check(file)))
                    .collect(),
                stale_helper: receipt
                    .helper_program
                    .clone()
                    .filter(|p| !Path::new(p).exists()),
                tool: receipt.tool,
                mode: receipt.mode,
            },
            Ok(None) => ToolState {
                tool,
                mode: String::new(),
                files: Vec::new(),
                stale_helper: None,
            },
            Err(e) => ToolState {
                tool,
                mode: String::new(),
                files: vec![(String::new(), Err(e.to_string()))],
                stale_helper: None,
            },
        })
        .collect()
}

fn check(file: &llmauth_core::setup::receipt::FileReceipt) -> Result<Drift, String> {
    let found = tools::read_tool_file(Path::new(&file.path)).map_err(|e| e.to_string())?;
    let text = match &found.bytes {
        Some(bytes) => Some(edit::decode(bytes).map_err(|e| e.to_string())?),
        None => None,
    };
    drift_file(file, text).map_err(|e| format!("{}: {e}", file.path))
}

/// Lines for the text report, and warnings for drift.
pub(crate) fn text(states: &[ToolState]) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut warnings = Vec::new();
    if states.is_empty() {
        lines.push("none (run `llmauth setup`)".to_owned());
    }
    for state in states {
        let files: Vec<&str> = state.files.iter().map(|(p, _)| p.as_str()).collect();
        let drifted = state
            .files
            .iter()
            .any(|(_, d)| !matches!(d, Ok(Drift::None)));
        lines.push(format!(
            "{} ({}) {} — {}",
            state.tool,
            state.mode,
            files.join(", "),
            if drifted || state.stale_helper.is_some() {
                "changed since setup"
            } else {
                "as setup left it"
            }
        ));
        for (path, drift) in &state.files {
            match drift {
                Ok(Drift::None) => {}
                Ok(Drift::Missing) => warnings.push(format!(
                    "{}: {path} no longer exists (run `llmauth setup` again)",
                    state.tool
                )),
                Ok(Drift::Keys(notes)) => {
                    for note in notes {
                        warnings.push(format!(
                            "{}: {} in {path} {} (run `llmauth setup` again to restore it)",
                            state.tool,
                            note.key,
                            note.kind.describe()
                        ));
                    }
                }
                Err(e) => warnings.push(format!("{}: {e}", state.tool)),
            }
        }
        if let Some(program) = &state.stale_helper {
            warnings.push(format!(
                "{}: its helper command names {program}, which no longer exists (run `llmauth setup` again)",
                state.tool
            ));
        }
    }
    (lines, warnings)
}

/// The JSON form.
pub(crate) fn json(states: &[ToolState]) -> Value {
    Value::Array(
        states
            .iter()
            .map(|state| {
                let files: Vec<Value> = state
                    .files
                    .iter()
                    .map(|(path, drift)| {
                        let (status, keys) = match drift {
                            Ok(Drift::None) => ("unchanged", Vec::new()),
                            Ok(Drift::Missing) => ("missing", Vec::new()),
                            Ok(Drift::Keys(notes)) => (
                                "changed",
                                notes
                                    .iter()
                                    .map(|n| json!({"key": n.key, "change": n.kind.describe()}))
                                    .collect(),
                            ),
                            Err(_) => ("unreadable", Vec::new()),
                        };
                        json!({"path": path, "status": status, "changed_keys": keys})
                    })
                    .collect();
                json!({
                    "tool": state.tool,
                    "mode": state.mode,
                    "files": files,
                    "stale_helper": state.stale_helper,
                })
            })
            .collect(),
    )
}
