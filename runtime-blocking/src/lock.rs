//! Exclusive advisory locks on files under `$STATE/locks/` (SPEC §5 "single flight").
//!
//! The lock lives on an open file handle, so the OS releases it when the holder exits or
//! crashes; lock files themselves are never deleted (deleting one while another process
//! waits on it would let two processes "hold" the same lock).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::time::Duration;

use llmauth_core::time::UnixTime;

use crate::clock;
use crate::file_store::private_dir;

/// First pause between attempts while waiting: short, so an uncontended hand-over (a
/// refresh takes a few milliseconds) is noticed quickly.
const FIRST_PAUSE: Duration = Duration::from_millis(2);
/// Longest pause between attempts, so fifty waiters do not spin.
const MAX_PAUSE: Duration = Duration::from_millis(25);

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

/// Takes the exclusive lock on `path`, creating the file (and `locks/`, 0700) if needed;
/// an existing `locks/` must pass [`private_dir`]'s checks.
///
/// With `until: None` it tries once; otherwise it retries with short, growing pauses
/// until the wall clock reaches `until`. `Ok(None)` means another holder kept it.
///
/// # Errors
/// The OS error when the lock file cannot be opened or locked.
pub fn acquire(path: &Path, until: Option<UnixTime>) -> io::Result<Option<LockGuard>> {
    let file = open_lock_file(path)?;
    let mut pause = FIRST_PAUSE;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(LockGuard { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        let Some(until) = until else {
            return Ok(None);
        };
        let left = until.since(clock::now());
        if left.is_zero() {
            return Ok(None);
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Runs `f` while holding the lock on `path`, waiting at most `timeout` for it (for the
/// CLI's own locks: `config`, `receipts`, `proxy-key`, `tool-<hash>`).
///
/// # Errors
/// [`LockError::Busy`] when another process kept the lock past `timeout`, or
/// [`LockError::Io`] when the lock file cannot be used.
pub fn with_lock<T>(path: &Path, timeout: Duration, f: impl FnOnce() -> T) -> Result<T, LockError> {
    let until = clock::now().saturating_add(timeout);
    let guard = acquire(path, Some(until))
        .map_err(|e| LockError::Io(format!("{}: {e}", path.display())))?
        .ok_or_else(|| LockError::Busy(path.display().to_string()))?;
    let result = f();
    drop(guard);
    Ok(result)
}

/// Why [`with_lock`] did not run its closure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another process held the lock for too long.
    #[error("another llmauth process held the lock {0} for too long")]
    Busy(String),
    /// The lock file could not be opened or locked.
    #[error("cannot use the lock file {0}")]
    Io(String),
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    // Write access is not needed for `flock`, but Windows' LockFileEx wants a handle
    // with read or write access; `create` needs write.
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(crate::file_store::PRIVATE_FILE);
    }
    // `locks/` must be the user's own: another user who could write it could replace a
    // lock file or plant a login marker beside it.
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    options.open(path)
}
