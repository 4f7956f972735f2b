//! The configuration snapshot on disk (core's
//! [`ConfigSnapshot`](llmauth_core::config::snapshot::ConfigSnapshot) decides what it
//! holds and when it may be used): `$STATE/snapshots/config-<hash of the config path>.json`,
//! 0600, written by the full binary whenever it has just written or parsed `config.yaml`,
//! read by the lean `llmauth-token`.

use std::fs;
use std::io;
use std::path::PathBuf;

use llmauth_core::config::Config;
use llmauth_core::config::snapshot::{ConfigSnapshot, FileIdentity};

use crate::file_store;
use crate::paths::Paths;

/// What `stat` says about a version of the config file, as core compares it.
fn identity(metadata: &fs::Metadata) -> FileIdentity {
    let modified_ns = metadata
        .modified()
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        });
    let (device, inode) = device_and_inode(metadata);
    FileIdentity {
        device,
        inode,
        size: metadata.len(),
        modified_ns,
    }
}

#[cfg(unix)]
fn device_and_inode(metadata: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (metadata.dev(), metadata.ino())
}

/// Windows' file index is not reachable from stable std: the size and the modification
/// time alone identify the version there.
#[cfg(not(unix))]
fn device_and_inode(_metadata: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The snapshot file of the config file `paths` name.
fn file(paths: &Paths) -> PathBuf {
    let name = ConfigSnapshot::file_name(paths.config_file.as_os_str().as_encoded_bytes());
    paths.state_dir.join("snapshots").join(name)
}

/// The snapshot, when one describes the config file as it is now.
pub fn current(paths: &Paths) -> Option<ConfigSnapshot> {
    let config = fs::metadata(&paths.config_file).ok()?;
    let bytes = file_store::read(&file(paths), true).ok()??;
    ConfigSnapshot::current(bytes.expose_secret(), &identity(&config))
}

/// Writes the snapshot of `config`, parsed from the config file `source` describes,
/// unless the file already holds it.
///
/// # Errors
/// The OS error of the write (callers carry on: without a snapshot, `llmauth-token`
/// hands every call to the full binary).
pub fn keep(paths: &Paths, config: &Config, source: &fs::Metadata) -> io::Result<()> {
    let snapshot = ConfigSnapshot::of(config, identity(source));
    let path = file(paths);
    let held = file_store::read(&path, true).ok().flatten();
    if held.is_some_and(|bytes| snapshot.is_in(bytes.expose_secret())) {
        return Ok(());
    }
    file_store::write_atomic(
        &path,
        snapshot.render().as_bytes(),
        file_store::PRIVATE_FILE,
    )
}

/// Removes the snapshot (`config reset`); a missing one is fine.
///
/// # Errors
/// The OS error.
pub fn remove(paths: &Paths) -> io::Result<()> {
    file_store::delete(&file(paths))
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmauth_core::config::ConfigDocument;

    const CONFIG: &str = "llm:\n  gateway_url: https://gw.example.com\n  oidc:\n    issuer: https://idp.example.com\n    client_id: c\n";

    fn setup() -> (tempfile::TempDir, Paths, Config) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("config.yaml"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        let config = ConfigDocument::parse_bytes(CONFIG.as_bytes())
            .unwrap()
            .validate()
            .unwrap();
        (dir, paths, config)
    }

    /// Writes `config.yaml` as `config set` does, returning what it wrote.
    fn write_config(paths: &Paths) -> fs::Metadata {
        file_store::write_atomic_stat(&paths.config_file, CONFIG.as_bytes(), 0o600).unwrap()
    }

    #[test]
    fn kept_snapshot_is_current_until_the_config_changes() {
        let (_dir, paths, config) = setup();
        assert_eq!(current(&paths), None, "no config, no snapshot");
        let written = write_config(&paths);
        assert_eq!(current(&paths), None, "no snapshot yet");
        keep(&paths, &config, &written).unwrap();
        let snapshot = current(&paths).expect("current");
        assert_eq!(snapshot.session_key, config.session_key());
        assert_eq!(file_store::mode_of(&file(&paths)).unwrap(), 0o600);
        // Replaced by hand (another inode, maybe another size): stale.
        fs::write(
            paths.state_dir.join("new.yaml"),
            format!("{CONFIG}# edited\n"),
        )
        .unwrap();
        fs::rename(paths.state_dir.join("new.yaml"), &paths.config_file).unwrap();
        assert_eq!(current(&paths), None);
        remove(&paths).unwrap();
        assert!(!file(&paths).exists());
        remove(&paths).unwrap();
    }

    #[test]
    fn keeping_the_same_snapshot_writes_nothing() {
        let (_dir, paths, config) = setup();
        let written = write_config(&paths);
        keep(&paths, &config, &written).unwrap();
        let before = fs::metadata(file(&paths)).unwrap();
        keep(&paths, &config, &written).unwrap();
        let after = fs::metadata(file(&paths)).unwrap();
        assert_eq!(identity(&before), identity(&after));
    }

    #[test]
    fn the_stat_of_a_written_file_is_the_file_at_the_path() {
        let (_dir, paths, _config) = setup();
        let written = write_config(&paths);
        let now = fs::metadata(&paths.config_file).unwrap();
        assert_eq!(identity(&written), identity(&now));
    }

    #[test]
    fn a_planted_snapshot_is_not_believed() {
        let (_dir, paths, config) = setup();
        let written = write_config(&paths);
        keep(&paths, &config, &written).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(file(&paths), fs::Permissions::from_mode(0o666)).unwrap();
            assert_eq!(current(&paths), None, "writable by others");
        }
    }
}
