//! `$STATE/proxy.key`: the per-install local key (SPEC §9), created on first use by
//! whichever command needs it (`proxy key`, `proxy start`, setup).

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use llmauth_blocking::{Paths, file_store, with_lock};
use llmauth_core::broker::local_key::LocalKey;

/// How long to wait for another process creating the key.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Why the local key is not available.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalKeyError {
    /// The file exists but does not hold a key.
    #[error("{0} does not hold a proxy key (43 base64url characters); delete it to get a new one")]
    Invalid(PathBuf),
    /// The file could not be read (or was refused: readable by others).
    #[error("cannot read the proxy key: {0}")]
    Read(String),
    /// The file could not be created.
    #[error("cannot create the proxy key {0}: {1}")]
    Create(PathBuf, io::Error),
    /// No random bytes from the OS.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// Another process held `locks/proxy-key.lock` too long, or it is unusable.
    #[error("{0}")]
    Lock(String),
}

/// Where the key lives.
pub fn key_file(paths: &Paths) -> PathBuf {
    paths.state_dir.join("proxy.key")
}

/// Reads the local key, creating it (32 random bytes, base64url, `O_EXCL`, 0600) if it
/// does not exist yet. Creation happens under `locks/proxy-key.lock`, so a reader never
/// sees a half-written file and two first users agree on one key.
///
/// # Errors
/// [`LocalKeyError`] naming the file and the cause.
pub fn load_or_create(paths: &Paths) -> Result<LocalKey, LocalKeyError> {
    let path = key_file(paths);
    let lock = paths.named_lock_file("proxy-key");
    with_lock(&lock, LOCK_WAIT, || match file_store::read(&path, true) {
        Ok(Some(bytes)) => {
            LocalKey::parse(bytes.expose_secret()).map_err(|_| LocalKeyError::Invalid(path.clone()))
        }
        Ok(None) => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| LocalKeyError::Random(e.to_string()))?;
            let key = LocalKey::from_random(bytes);
            let content = format!("{}\n", key.expose_secret());
            file_store::write_new(&path, content.as_bytes(), file_store::PRIVATE_FILE)
                .map_err(|e| LocalKeyError::Create(path.clone(), e))?;
            Ok(key)
        }
        Err(error) => Err(LocalKeyError::Read(error.to_string())),
    })
    .map_err(|e| LocalKeyError::Lock(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &std::path::Path) -> Paths {
        Paths::new(dir.join("config.yaml"), dir.join("state"), dir.join("run"))
    }

    #[test]
    fn created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let first = load_or_create(&paths).unwrap();
        let second = load_or_create(&paths).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.expose_secret().len(), 43);
        #[cfg(unix)]
        assert_eq!(
            file_store::mode_of(&key_file(&paths)).unwrap() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_broken_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        file_store::write_new(&key_file(&paths), b"junk", file_store::PRIVATE_FILE).unwrap();
        let error = load_or_create(&paths).unwrap_err();
        assert!(matches!(error, LocalKeyError::Invalid(_)), "{error}");
        assert_eq!(std::fs::read(key_file(&paths)).unwrap(), b"junk");
    }

    #[test]
    fn concurrent_first_users_agree() {
        let dir = tempfile::tempdir().unwrap();
        let paths = paths(dir.path());
        let keys: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| load_or_create(&paths).unwrap().expose_secret().to_owned()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
    }
}
