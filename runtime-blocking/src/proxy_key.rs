//! `$STATE/proxy.key`: the per-install local key proxy-mode tools present (SPEC §9),
//! created by whichever command needs it first.

use std::io::{self, ErrorKind};

use llmauth_core::secret::LocalKey;

use crate::file_store;
use crate::paths::Paths;

/// Reads the local key, creating it on first use.
///
/// The key is written to a temporary file and published with a hard link, which fails
/// if the file exists: two processes racing to create it both end up with the winner's
/// complete key, and no reader ever sees a half-written file.
///
/// # Errors
/// The OS error, or `InvalidData` when the file holds something that is not a key.
pub fn load_or_create(paths: &Paths) -> io::Result<LocalKey> {
    let path = paths.proxy_key_file();
    if let Some(key) = load(paths)? {
        return Ok(key);
    }
    let mut bytes = [0u8; 32];
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|e| io::Error::other(e.to_string()))?;
    let key = LocalKey::from_random(bytes);
    let temp = path.with_extension(format!("key.{}.tmp", u64::from_le_bytes(nonce)));
    file_store::write_new(
        &temp,
        format!("{}\n", key.expose_secret()).as_bytes(),
        file_store::PRIVATE_FILE,
    )?;
    let published = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match published {
        Ok(()) => Ok(key),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            load(paths)?.ok_or_else(|| io::Error::new(ErrorKind::InvalidData, "proxy.key vanished"))
        }
        Err(error) => Err(error),
    }
}

/// Reads the local key if it exists.
///
/// # Errors
/// The OS error, an unsafe mode (see [`file_store::read`]), or `InvalidData`.
pub fn load(paths: &Paths) -> io::Result<Option<LocalKey>> {
    let path = paths.proxy_key_file();
    let bytes = file_store::read(&path, true).map_err(|e| io::Error::other(e.to_string()))?;
    let Some(bytes) = bytes else { return Ok(None) };
    LocalKey::parse(bytes.expose_secret()).map(Some).map_err(|_| {
        io::Error::new(
            ErrorKind::InvalidData,
            format!(
                "{} does not hold a proxy key (43 base64url characters); delete it to get a new one",
                path.display()
            ),
        )
    })
}

/// Deletes the local key (`config reset`); the next command that needs one creates a
/// new key.
///
/// # Errors
/// The OS error, other than the file being absent.
pub fn delete(paths: &Paths) -> io::Result<()> {
    file_store::delete(&paths.proxy_key_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_by_everyone() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("c.yaml"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let paths = paths.clone();
                std::thread::spawn(move || {
                    load_or_create(&paths).unwrap().expose_secret().to_owned()
                })
            })
            .collect();
        let keys: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(keys.iter().all(|k| k == &keys[0] && k.len() == 43));
        #[cfg(unix)]
        assert_eq!(
            file_store::mode_of(&paths.proxy_key_file()).unwrap() & 0o777,
            0o600
        );
        let leftovers: Vec<_> = std::fs::read_dir(&paths.state_dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("proxy.key")]);
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("c.yaml"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        file_store::write_atomic(&paths.proxy_key_file(), b"junk", file_store::PRIVATE_FILE)
            .unwrap();
        assert_eq!(
            load_or_create(&paths).unwrap_err().kind(),
            ErrorKind::InvalidData
        );
    }
}
