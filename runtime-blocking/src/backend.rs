//! Which session store to use: the configured one, or what `auto` recorded in
//! `$STATE/backend`, or — the first time — the answer of one keychain probe (SPEC §4).
//!
//! Core decides ([`choose_backend`], [`after_probe`]); this module reads the record,
//! probes when told to, and records the answer. It runs on every `token` call, so with a
//! recorded answer it costs one small file read and never touches the keychain.

use llmauth_core::store::{Backend, BackendChoice, after_probe, choose_backend};

use crate::file_store;
use crate::keychain;
use crate::paths::Paths;

/// Resolves the backend; returns it with the one-time notice to print on stderr (when
/// `auto` fell back to the file store).
///
/// An unwritable `$STATE/backend` is not fatal: the answer is still used, and the next
/// call probes again.
pub fn resolve_backend(paths: &Paths, configured: Option<Backend>) -> (Backend, Option<String>) {
    resolve_with(paths, configured, keychain::probe)
}

/// [`resolve_backend`] with the probe passed in, so tests can exercise the recording
/// logic without a keychain.
pub(crate) fn resolve_with(
    paths: &Paths,
    configured: Option<Backend>,
    probe: impl FnOnce() -> Result<(), String>,
) -> (Backend, Option<String>) {
    match choice(paths, configured) {
        BackendChoice::Use(backend) => (backend, None),
        BackendChoice::Probe => {
            let answer = probe();
            let (backend, notice) = after_probe(answer.as_ref().copied().map_err(String::as_str));
            let record = format!("{}\n", backend.name());
            let _ = file_store::write_atomic(
                &paths.backend_file(),
                record.as_bytes(),
                file_store::PRIVATE_FILE,
            );
            (backend, notice)
        }
    }
}

/// Core's choice for `configured` (`None`: `auto`), reading what `$STATE/backend`
/// recorded only when it is needed.
pub(crate) fn choice(paths: &Paths, configured: Option<Backend>) -> BackendChoice {
    let recorded = if configured.is_some() {
        None
    } else {
        read_recorded(paths)
    };
    choose_backend(configured, recorded.as_deref())
}

/// The content of `$STATE/backend`, if it can be read.
fn read_recorded(paths: &Paths) -> Option<String> {
    let bytes = file_store::read(&paths.backend_file(), false).ok()??;
    String::from_utf8(bytes.expose_secret().to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_paths() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(
            dir.path().join("config.yaml"),
            dir.path().join("state"),
            dir.path().join("run"),
        );
        (dir, paths)
    }

    #[test]
    fn configured_backend_wins_without_probing_or_recording() {
        let (_dir, paths) = temp_paths();
        let (backend, notice) =
            resolve_with(&paths, Some(Backend::File), || panic!("must not probe"));
        assert_eq!((backend, notice), (Backend::File, None));
        assert!(!paths.backend_file().exists());
    }

    #[test]
    fn auto_probes_once_then_uses_the_record() {
        let (_dir, paths) = temp_paths();
        let (backend, notice) = resolve_with(&paths, None, || Err("no bus".to_owned()));
        assert_eq!(backend, Backend::File);
        assert!(notice.unwrap().contains("no bus"));
        assert_eq!(
            std::fs::read_to_string(paths.backend_file()).unwrap(),
            "file\n"
        );
        // Second call: the record decides, no probe, no notice.
        let (backend, notice) = resolve_with(&paths, None, || panic!("must not probe again"));
        assert_eq!((backend, notice), (Backend::File, None));
    }

    #[test]
    fn auto_records_keyring_when_the_probe_answers() {
        let (_dir, paths) = temp_paths();
        let (backend, notice) = resolve_with(&paths, None, || Ok(()));
        assert_eq!((backend, notice), (Backend::Keyring, None));
        let (backend, _) = resolve_with(&paths, None, || panic!("must not probe again"));
        assert_eq!(backend, Backend::Keyring);
    }

    #[test]
    fn garbage_record_means_probe_again() {
        let (_dir, paths) = temp_paths();
        file_store::write_atomic(&paths.backend_file(), b"banana", 0o600).unwrap();
        let (backend, _) = resolve_with(&paths, None, || Ok(()));
        assert_eq!(backend, Backend::Keyring);
    }
}
