//! `$STATE/receipts/<tool>.json`: 0600 files in a 0700 directory (they may hold a user's
//! own API key), read and written under `locks/receipts.lock`.

use std::path::PathBuf;
use std::time::Duration;

use llmauth_core::service;
use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::receipt::Receipt;

use crate::file_store;
use crate::lock::with_lock;
use crate::paths::Paths;

/// How long a receipt change waits for another one.
const RECEIPTS_LOCK_WAIT: Duration = Duration::from_secs(10);

/// `$STATE/receipts/`.
fn dir(paths: &Paths) -> PathBuf {
    paths.state_dir.join("receipts")
}

/// `$STATE/receipts/<tool>.json`.
fn file(paths: &Paths, tool: &str) -> PathBuf {
    dir(paths).join(format!("{tool}.json"))
}

/// The receipt of `tool`, if setup configured it.
///
/// # Errors
/// [`SetupError::ReceiptUnreadable`] or [`SetupError::ReceiptInvalid`] when it exists but
/// cannot be used.
pub(crate) fn load(paths: &Paths, tool: &str) -> Result<Option<Receipt>, SetupError> {
    let path = file(paths, tool);
    let bytes = file_store::read(&path, true).map_err(|e| SetupError::ReceiptUnreadable {
        path: path.clone(),
        detail: e.detail.clone(),
    })?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    Receipt::parse(bytes.expose_secret())
        .map(Some)
        .map_err(|detail| SetupError::ReceiptInvalid { path, detail })
}

/// Writes (or, with no files left, deletes) a tool's receipt under `locks/receipts.lock`.
///
/// # Errors
/// [`SetupError::LockBusy`] when another process kept the lock too long, or
/// [`SetupError::ReceiptUnwritable`].
pub(crate) fn store(paths: &Paths, receipt: &Receipt) -> Result<(), SetupError> {
    let path = file(paths, &receipt.tool);
    let write = || {
        if receipt.files.is_empty() {
            return file_store::delete(&path);
        }
        file_store::write_atomic(&path, receipt.render().as_bytes(), file_store::PRIVATE_FILE)
    };
    with_lock(
        &paths.named_lock_file("receipts"),
        RECEIPTS_LOCK_WAIT,
        write,
    )?
    .map_err(|e| SetupError::ReceiptUnwritable {
        tool: receipt.tool.clone(),
        detail: e.to_string(),
    })
}

/// The tools that have a receipt, sorted (the proxy service's receipt is not a tool's).
pub(crate) fn list(paths: &Paths) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir(paths)) else {
        return Vec::new();
    };
    let mut tools: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json")
                .filter(|t| !t.starts_with('.') && *t != service::RECEIPT_NAME)
                .map(str::to_owned)
        })
        .collect();
    tools.sort();
    tools
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use llmauth_core::setup::receipt::RECEIPT_VERSION;

    #[test]
    fn stored_private_listed_and_deleted_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("c.yaml"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        let mut receipt = Receipt {
            version: RECEIPT_VERSION,
            tool: "codex".into(),
            mode: "token-helper".into(),
            helper_program: None,
            files: vec![llmauth_core::setup::receipt::FileReceipt {
                path: "/h/.codex/config.toml".into(),
                format: llmauth_core::setup::receipt::Format::Toml,
                created: true,
                created_dirs: Vec::new(),
                previous_mode: Some(0o644),
                entries: Vec::new(),
            }],
        };
        store(&paths, &receipt).unwrap();
        assert_eq!(file_store::mode_of(&file(&paths, "codex")).unwrap(), 0o600);
        assert_eq!(file_store::mode_of(&super::dir(&paths)).unwrap(), 0o700);
        assert_eq!(list(&paths), ["codex"]);
        assert_eq!(load(&paths, "codex").unwrap(), Some(receipt.clone()));
        receipt.files.clear();
        store(&paths, &receipt).unwrap();
        assert_eq!(load(&paths, "codex").unwrap(), None);
        assert!(list(&paths).is_empty());
    }
}
