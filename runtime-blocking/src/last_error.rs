//! `$STATE/last-error/<session key>.json`: why the last `token` call a tool made for this
//! session failed (SPEC §2).
//!
//! Tools hide a helper's stderr, so `status` shows this record instead — only while it is
//! newer than the session's last success. The next call that gets a token from the IdP
//! (a refresh or a sign-in) deletes it; the cached fast path never touches it. The CLI
//! writes it with a message built from `FlowError`'s `Display`, which never contains a
//! secret.

use std::io;

use llmauth_core::store::SessionKey;
use llmauth_core::time::UnixTime;
use serde::{Deserialize, Serialize};

use crate::file_store;
use crate::paths::Paths;

/// One recorded failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// When it happened, RFC 3339 UTC.
    pub time: String,
    /// When it happened, in Unix milliseconds (for comparing with the last success).
    #[serde(default)]
    pub unix_ms: u64,
    /// The exit code the call ended with.
    pub exit_code: i32,
    /// The one-line error message that went to stderr.
    pub message: String,
}

impl LastError {
    /// When it happened.
    pub fn at(&self) -> UnixTime {
        UnixTime::from_millis(self.unix_ms)
    }
}

/// Records a failure of `key`'s session (atomically, 0600), replacing the previous record.
///
/// # Errors
/// The OS error when the state directory cannot be written.
pub fn record(
    paths: &Paths,
    key: &SessionKey,
    now: UnixTime,
    exit_code: i32,
    message: &str,
) -> io::Result<()> {
    let record = LastError {
        time: now.to_rfc3339(),
        unix_ms: now.as_millis(),
        exit_code,
        message: message.to_owned(),
    };
    let mut json = serde_json::to_vec(&record).map_err(io::Error::other)?;
    json.push(b'\n');
    file_store::write_atomic(&paths.last_error_file(key), &json, file_store::PRIVATE_FILE)
}

/// Reads `key`'s record; `Ok(None)` when there is none.
///
/// # Errors
/// A description when the file exists but cannot be read or parsed.
pub fn read(paths: &Paths, key: &SessionKey) -> Result<Option<LastError>, String> {
    let path = paths.last_error_file(key);
    let Some(bytes) = file_store::read(&path, false).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    serde_json::from_slice(bytes.expose_secret())
        .map(Some)
        .map_err(|e| format!("{}: not a valid record ({e})", path.display()))
}

/// Removes `key`'s record: a call succeeded since.
///
/// # Errors
/// The OS error, other than the file being absent.
pub fn clear(paths: &Paths, key: &SessionKey) -> io::Result<()> {
    file_store::delete(&paths.last_error_file(key))
}

/// Removes every session's record (`config reset`: a new install has no failures).
///
/// # Errors
/// The OS error, other than the records being absent.
pub fn clear_all(paths: &Paths) -> io::Result<()> {
    match std::fs::remove_dir_all(paths.last_error_dir()) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        Ok(()) | Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &tempfile::TempDir) -> Paths {
        Paths::new(
            dir.path().join("c"),
            dir.path().join("state"),
            dir.path().join("run"),
        )
    }

    fn key() -> SessionKey {
        SessionKey::derive("https://gw", "https://idp", "client", "")
    }

    #[test]
    fn record_read_clear_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(&dir);
        assert_eq!(read(&paths, &key()), Ok(None));
        let at = UnixTime::from_secs(1_795_873_800);
        record(
            &paths,
            &key(),
            at,
            3,
            "error: not signed in — run `llmauth login`",
        )
        .unwrap();
        let got = read(&paths, &key()).unwrap().unwrap();
        assert_eq!(
            got,
            LastError {
                time: "2026-11-28T13:50:00Z".to_owned(),
                unix_ms: at.as_millis(),
                exit_code: 3,
                message: "error: not signed in — run `llmauth login`".to_owned(),
            }
        );
        assert_eq!(got.at(), at);
        let file = paths.last_error_file(&key());
        let raw = std::fs::read_to_string(&file).unwrap();
        assert!(raw.contains("\"time\":\"2026-11-28T13:50:00Z\""), "{raw}");
        #[cfg(unix)]
        assert_eq!(file_store::mode_of(&file).unwrap(), 0o600);
        // Another session has its own record.
        let other = SessionKey::derive("https://other", "https://idp", "client", "");
        assert_eq!(read(&paths, &other), Ok(None));
        clear(&paths, &key()).unwrap();
        assert_eq!(read(&paths, &key()), Ok(None));
        clear(&paths, &key()).unwrap();
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(&dir);
        file_store::write_atomic(&paths.last_error_file(&key()), b"{nope", 0o600).unwrap();
        assert!(
            read(&paths, &key())
                .unwrap_err()
                .contains("not a valid record")
        );
    }
}
