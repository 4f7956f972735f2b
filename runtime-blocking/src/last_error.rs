//! `$STATE/last-error.json`: why the last non-interactive `token` call failed (SPEC §2).
//!
//! Tools hide a helper's stderr, so `status` shows this record instead. The CLI writes it
//! with a message built from `FlowError`'s `Display`, which never contains a secret.

use std::io;

use llmauth_core::time::UnixTime;
use serde::{Deserialize, Serialize};

use crate::file_store;
use crate::paths::Paths;

/// One recorded failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// When it happened, RFC 3339 UTC.
    pub time: String,
    /// The exit code the call ended with.
    pub exit_code: i32,
    /// The one-line error message that went to stderr.
    pub message: String,
}

/// Records a failure (atomically, 0600), replacing the previous record.
///
/// # Errors
/// The OS error when the state directory cannot be written.
pub fn record(paths: &Paths, now: UnixTime, exit_code: i32, message: &str) -> io::Result<()> {
    let record = LastError {
        time: now.to_rfc3339(),
        exit_code,
        message: message.to_owned(),
    };
    let mut json = serde_json::to_vec(&record).map_err(io::Error::other)?;
    json.push(b'\n');
    file_store::write_atomic(&paths.last_error_file(), &json, file_store::PRIVATE_FILE)
}

/// Reads the record; `Ok(None)` when there is none.
///
/// # Errors
/// A description when the file exists but cannot be read or parsed.
pub fn read(paths: &Paths) -> Result<Option<LastError>, String> {
    let path = paths.last_error_file();
    let Some(bytes) = file_store::read(&path, false).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    serde_json::from_slice(bytes.expose_secret())
        .map(Some)
        .map_err(|e| format!("{}: not a valid record ({e})", path.display()))
}

/// Removes the record (a later successful call may clear an old failure).
///
/// # Errors
/// The OS error, other than the file being absent.
pub fn clear(paths: &Paths) -> io::Result<()> {
    file_store::delete(&paths.last_error_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_read_clear_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("c"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        assert_eq!(read(&paths), Ok(None));
        record(
            &paths,
            UnixTime::from_secs(1_795_873_800),
            3,
            "error: not signed in — run `llmauth login`",
        )
        .unwrap();
        let got = read(&paths).unwrap().unwrap();
        assert_eq!(
            got,
            LastError {
                time: "2026-11-28T13:50:00Z".to_owned(),
                exit_code: 3,
                message: "error: not signed in — run `llmauth login`".to_owned(),
            }
        );
        let raw = std::fs::read_to_string(paths.last_error_file()).unwrap();
        assert!(raw.contains("\"time\":\"2026-11-28T13:50:00Z\""), "{raw}");
        #[cfg(unix)]
        assert_eq!(
            file_store::mode_of(&paths.last_error_file()).unwrap(),
            0o600
        );
        clear(&paths).unwrap();
        assert_eq!(read(&paths), Ok(None));
        clear(&paths).unwrap();
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("c"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        file_store::write_atomic(&paths.last_error_file(), b"{nope", 0o600).unwrap();
        assert!(read(&paths).unwrap_err().contains("not a valid record"));
    }
}
