//! Session files: permissions, refusal of exposed files, move aside, delete — through
//! the public helpers and through `BlockingIo` intents.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use llmauth_blocking::file_store::{self, PRIVATE_FILE, mode_of};
use llmauth_core::intent::{Intent, IntentResult};
use llmauth_core::secret::SecretBytes;
use llmauth_core::store::{SessionKey, Slot, StoreErrorKind};

use crate::support::{quiet_io, temp_paths};

fn key() -> SessionKey {
    SessionKey::derive("https://gw", "https://idp", "cid", "")
}

fn read(
    io: &mut llmauth_blocking::BlockingIo,
    slot: Slot,
) -> Result<Option<Vec<u8>>, llmauth_core::store::StoreError> {
    match io.perform(&Intent::Read(slot)) {
        IntentResult::Read(r) => r.map(|o| o.map(|b| b.expose_secret().to_vec())),
        other => panic!("unexpected {other:?}"),
    }
}

fn stored(result: IntentResult) -> Result<(), llmauth_core::store::StoreError> {
    match result {
        IntentResult::Stored(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn writes_are_0600_in_0700_directories_and_read_back() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    for slot in [
        Slot::SessionFile(key()),
        Slot::AccessCache(key()),
        Slot::Discovery("d1".into()),
        Slot::LoginMarker(key()),
    ] {
        let bytes = SecretBytes::new(format!("{slot:?}").into_bytes());
        stored(io.perform(&Intent::Write {
            slot: slot.clone(),
            bytes,
        }))
        .unwrap();
        let file = paths.slot_file(&slot).unwrap();
        assert_eq!(mode_of(&file).unwrap(), 0o600, "{}", file.display());
        assert_eq!(
            mode_of(file.parent().unwrap()).unwrap(),
            0o700,
            "{}",
            file.display()
        );
        assert_eq!(
            read(&mut io, slot.clone()).unwrap().unwrap(),
            format!("{slot:?}").into_bytes()
        );
    }
    assert_eq!(mode_of(&paths.state_dir).unwrap(), 0o700);
}

#[test]
fn the_read_path_creates_nothing() {
    let (dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    assert_eq!(read(&mut io, Slot::AccessCache(key())).unwrap(), None);
    assert_eq!(read(&mut io, Slot::SessionFile(key())).unwrap(), None);
    assert_eq!(read(&mut io, Slot::Discovery("x".into())).unwrap(), None);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_session_file_readable_by_others_is_refused() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    let slot = Slot::SessionFile(key());
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(b"{}".to_vec()),
    }))
    .unwrap();
    let file = paths.slot_file(&slot).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let err = read(&mut io, slot.clone()).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::InsecurePermissions);
    assert!(
        err.detail.starts_with(&file.display().to_string())
            && err
                .detail
                .contains(&format!("`chmod 600 {}`", file.display())),
        "{err}"
    );

    // The same for the access-token cache, and for group-writable files.
    let cache = Slot::AccessCache(key());
    stored(io.perform(&Intent::Write {
        slot: cache.clone(),
        bytes: SecretBytes::new(b"{}".to_vec()),
    }))
    .unwrap();
    fs::set_permissions(
        paths.slot_file(&cache).unwrap(),
        fs::Permissions::from_mode(0o620),
    )
    .unwrap();
    assert_eq!(
        read(&mut io, cache).unwrap_err().kind,
        StoreErrorKind::InsecurePermissions
    );

    // Non-secret slots may be read by others, but not written.
    let discovery = Slot::Discovery("d".into());
    stored(io.perform(&Intent::Write {
        slot: discovery.clone(),
        bytes: SecretBytes::new(b"{}".to_vec()),
    }))
    .unwrap();
    let discovery_file = paths.slot_file(&discovery).unwrap();
    fs::set_permissions(&discovery_file, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(read(&mut io, discovery.clone()).unwrap().is_some());
    fs::set_permissions(&discovery_file, fs::Permissions::from_mode(0o664)).unwrap();
    assert_eq!(
        read(&mut io, discovery).unwrap_err().kind,
        StoreErrorKind::UntrustedState
    );
}

#[test]
fn a_session_file_owned_by_another_user_is_refused() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    let slot = Slot::SessionFile(key());
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(b"{}".to_vec()),
    }))
    .unwrap();
    let file = paths.slot_file(&slot).unwrap();
    let me = fs::metadata(&file).unwrap();
    let other = if std::os::unix::fs::MetadataExt::uid(&me) == 65534 {
        65533
    } else {
        65534
    };
    match std::os::unix::fs::chown(&file, Some(other), None) {
        Ok(()) => {
            let err = read(&mut io, slot).unwrap_err();
            assert_eq!(err.kind, StoreErrorKind::InsecurePermissions);
        }
        // Only root may give a file away; as an ordinary user the check cannot be set up
        // this way, so it is at least proven that our own file is accepted.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            assert!(read(&mut io, slot).unwrap().is_some());
        }
        Err(e) => panic!("chown: {e}"),
    }
}

#[test]
fn move_aside_keeps_the_content_under_a_corrupt_name() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    let slot = Slot::SessionFile(key());
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(b"garbage".to_vec()),
    }))
    .unwrap();
    let file = paths.slot_file(&slot).unwrap();
    // Exposed permissions are often why a file is moved aside; the copy is 0600 again.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    stored(io.perform(&Intent::MoveAside(slot.clone()))).unwrap();
    assert!(!file.exists());
    let moved: Vec<_> = fs::read_dir(paths.sessions_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    let name = moved[0].file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!("{}.json.corrupt-", key().as_str());
    assert!(name.starts_with(&prefix), "{name}");
    assert!(
        name[prefix.len()..].parse::<u64>().unwrap() > 1_700_000_000,
        "{name}"
    );
    assert_eq!(fs::read(&moved[0]).unwrap(), b"garbage");
    assert_eq!(mode_of(&moved[0]).unwrap(), 0o600);
    assert_eq!(read(&mut io, slot.clone()).unwrap(), None);

    // A second corrupt file within the same second does not overwrite the first.
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(b"again".to_vec()),
    }))
    .unwrap();
    stored(io.perform(&Intent::MoveAside(slot.clone()))).unwrap();
    assert_eq!(fs::read_dir(paths.sessions_dir()).unwrap().count(), 2);

    // Nothing to move is fine.
    stored(io.perform(&Intent::MoveAside(slot))).unwrap();
}

#[test]
fn deleting_a_missing_slot_is_fine() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    stored(io.perform(&Intent::Delete(Slot::SessionFile(key())))).unwrap();
    stored(io.perform(&Intent::Delete(Slot::LoginMarker(key())))).unwrap();
    let slot = Slot::AccessCache(key());
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(b"x".to_vec()),
    }))
    .unwrap();
    stored(io.perform(&Intent::Delete(slot.clone()))).unwrap();
    assert!(!paths.slot_file(&slot).unwrap().exists());
}

#[test]
fn write_new_refuses_to_replace() {
    let (_dir, paths) = temp_paths();
    let file = paths.state_dir.join("proxy.key");
    file_store::write_new(&file, b"first", PRIVATE_FILE).unwrap();
    let err = file_store::write_new(&file, b"second", PRIVATE_FILE).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(fs::read(&file).unwrap(), b"first");
    assert_eq!(mode_of(&file).unwrap(), 0o600);
}

#[test]
fn write_atomic_replaces_and_keeps_the_requested_mode() {
    let (_dir, paths) = temp_paths();
    let file = paths.config_file.clone();
    llmauth_blocking::write_atomic(&file, b"a: 1\n", 0o600).unwrap();
    llmauth_blocking::write_atomic(&file, b"a: 2\n", 0o600).unwrap();
    assert_eq!(fs::read(&file).unwrap(), b"a: 2\n");
    assert_eq!(mode_of(&file).unwrap(), 0o600);
    // Only the file itself is left (no temporary files).
    assert_eq!(fs::read_dir(file.parent().unwrap()).unwrap().count(), 1);
}
