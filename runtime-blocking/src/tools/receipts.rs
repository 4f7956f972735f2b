//! `$STATE/receipts/<tool>.json`: 0600 files in a 0700 directory (they may hold a user's
//! own API key), read and written under `locks/receipts.lock`.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use llmauth_core::setup::receipt::Receipt;

use crate::file_store;
use crate::lock::{LockError, with_lock};
use crate::paths::Paths;

/// How long a receipt change waits for another one.
const RECEIPTS_LOCK_WAIT: Duration = Duration::from_secs(10);

/// `$STATE/receipts/`.
pub fn dir(paths: &Paths) -> PathBuf {
    paths.state_dir.join("receipts")
}

/// `$STATE/receipts/<tool>.json`.
pub fn file(paths: &Paths, tool: &str) -> PathBuf {
    dir(paths).join(format!("{tool}.json"))
}

/// Why a receipt could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The file could not be read (or is readable by others).
    #[error("cannot read the receipt {0}: {1}")]
    Read(PathBuf, String),
    /// The file is not a receipt this llmauth understands.
    #[error("cannot use the receipt {0}: {1}")]
    Invalid(PathBuf, String),
}

/// The receipt of `tool`, if setup configured it.
///
/// # Errors
/// [`ReceiptError`] when it exists but cannot be used.
pub fn load(paths: &Paths, tool: &str) -> Result<Option<Receipt>, ReceiptError> {
    let path = file(paths, tool);
    let bytes = file_store::read(&path, true)
        .map_err(|e| ReceiptError::Read(path.clone(), e.detail.clone()))?;
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    Receipt::parse(bytes.expose_secret())
        .map(Some)
        .map_err(|e| ReceiptError::Invalid(path, e))
}

/// Writes (or, with no files left, deletes) `tool`'s receipt.
///
/// # Errors
/// The OS error.
pub fn store(paths: &Paths, receipt: &Receipt) -> io::Result<()> {
    let path = file(paths, &receipt.tool);
    if receipt.files.is_empty() {
        return file_store::delete(&path);
    }
    file_store::create_private_dir(&dir(paths))?;
    file_store::write_atomic(&path, receipt.render().as_bytes(), file_store::PRIVATE_FILE)
}

/// The tools that have a receipt, sorted.
pub fn list(paths: &Paths) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir(paths)) else {
        return Vec::new();
    };
    let mut tools: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json")
                .filter(|t| !t.starts_with('.'))
                .map(str::to_owned)
        })
        .collect();
    tools.sort();
    tools
}

/// Runs `f` holding `locks/receipts.lock`.
///
/// # Errors
/// [`LockError`] when another process kept it too long.
pub fn with_receipts_lock<T>(paths: &Paths, f: impl FnOnce() -> T) -> Result<T, LockError> {
    with_lock(&paths.named_lock_file("receipts"), RECEIPTS_LOCK_WAIT, f)
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
