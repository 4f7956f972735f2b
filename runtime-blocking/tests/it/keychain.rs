//! The OS keychain against a real Secret Service: a private D-Bus session bus and an
//! unlocked gnome-keyring started by the test (and killed at its end). The keychain
//! operations run in a child process of this test binary, so the D-Bus address never
//! leaks into other tests.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use llmauth_blocking::file_store::mode_of;
use llmauth_blocking::{probe_keychain, resolve_backend};
use llmauth_core::intent::{Intent, IntentResult};
use llmauth_core::secret::SecretBytes;
use llmauth_core::store::{Backend, SessionKey, Slot, StoreError, StoreErrorKind};

use crate::support::{KillOnDrop, quiet_io, temp_paths};

const CHILD_MODE: &str = "LLMAUTH_TEST_KEYCHAIN_CHILD";

/// Fails (never skips) when the Secret Service tooling is missing.
fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(
        found,
        "{program} is not installed; the keychain tests need a real Secret Service: \
         apt-get install -y gnome-keyring dbus-x11 dbus-bin"
    );
}

/// A private session bus with an unlocked gnome-keyring on it.
struct SecretService {
    address: String,
    home: tempfile::TempDir,
    // Dropped (killed) in reverse order: keyring first, then the bus.
    _keyring: KillOnDrop,
    _bus: KillOnDrop,
}

impl SecretService {
    fn start() -> Self {
        for program in ["dbus-daemon", "gnome-keyring-daemon", "dbus-send"] {
            require(program);
        }
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let socket = home.path().join("bus");
        let mut bus = KillOnDrop(
            Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address=1"])
                .arg(format!("--address=unix:path={}", socket.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut address = String::new();
        BufReader::new(bus.0.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}"
        );

        let mut keyring = KillOnDrop(
            Command::new("gnome-keyring-daemon")
                .args(["--foreground", "--unlock", "--components=secrets"])
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .env("HOME", home.path())
                .env("XDG_RUNTIME_DIR", &runtime)
                .env("XDG_DATA_HOME", home.path().join("data"))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        // The password of the new login keyring, then end of input.
        let mut stdin = keyring.0.stdin.take().unwrap();
        stdin.write_all(b"test-password").unwrap();
        drop(stdin);

        let service = Self {
            address,
            home,
            _keyring: keyring,
            _bus: bus,
        };
        service.wait_until_registered();
        service
    }

    /// Waits until gnome-keyring owns `org.freedesktop.secrets` on the bus (otherwise the
    /// bus could activate a second, locked instance).
    fn wait_until_registered(&self) {
        let start = Instant::now();
        loop {
            let out = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "gnome-keyring-daemon did not register on the private bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn child_env(&self, mode: &str) -> Vec<(String, String)> {
        vec![
            (CHILD_MODE.to_owned(), mode.to_owned()),
            ("DBUS_SESSION_BUS_ADDRESS".to_owned(), self.address.clone()),
            ("HOME".to_owned(), self.home.path().display().to_string()),
        ]
    }
}

fn run_child(test: &str, envs: &[(String, String)]) {
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    crate::support::run_child(test, &envs);
}

fn stored(result: IntentResult) -> Result<(), StoreError> {
    match result {
        IntentResult::Stored(r) => r,
        other => panic!("unexpected {other:?}"),
    }
}

fn read(io: &mut llmauth_blocking::BlockingIo, slot: &Slot) -> Result<Option<Vec<u8>>, StoreError> {
    match io.perform(&Intent::Read(slot.clone())) {
        IntentResult::Read(r) => r.map(|o| o.map(|b| b.expose_secret().to_vec())),
        other => panic!("unexpected {other:?}"),
    }
}

/// The checks run inside the child, against the private Secret Service.
fn round_trip_in_child() {
    probe_keychain().expect("the probe must succeed on an unlocked keyring");

    let (_dir, paths) = temp_paths();
    let key = SessionKey::derive(
        "https://gw",
        "https://idp",
        format!("cid-{}", std::process::id()).as_str(),
        "",
    );
    let slot = Slot::Keychain(key.clone());
    let mut io = quiet_io(paths.clone());

    assert_eq!(read(&mut io, &slot).unwrap(), None);
    let first = br#"{"version":1,"refresh":{"refresh_token":"CANARY-rt"}}"#.to_vec();
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(first.clone()),
    }))
    .unwrap();
    assert_eq!(read(&mut io, &slot).unwrap(), Some(first));
    let second = b"{\"version\":1}".to_vec();
    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(second.clone()),
    }))
    .unwrap();
    assert_eq!(read(&mut io, &slot).unwrap(), Some(second.clone()));

    // Move aside: the content lands in a 0600 file and the item is gone.
    stored(io.perform(&Intent::MoveAside(slot.clone()))).unwrap();
    assert_eq!(read(&mut io, &slot).unwrap(), None);
    let copies: Vec<_> = std::fs::read_dir(paths.sessions_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let name = copies[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with(&format!("{key}.keychain.corrupt-")),
        "{name}"
    );
    assert_eq!(std::fs::read(&copies[0]).unwrap(), second);
    assert_eq!(mode_of(&copies[0]).unwrap(), 0o600);
    // Nothing to move aside is fine.
    stored(io.perform(&Intent::MoveAside(slot.clone()))).unwrap();

    stored(io.perform(&Intent::Write {
        slot: slot.clone(),
        bytes: SecretBytes::new(b"x".to_vec()),
    }))
    .unwrap();
    stored(io.perform(&Intent::Delete(slot.clone()))).unwrap();
    assert_eq!(read(&mut io, &slot).unwrap(), None);
    stored(io.perform(&Intent::Delete(slot))).unwrap();

    // `auto` probes once and records the keyring.
    let (backend, notice) = resolve_backend(&paths, None);
    assert_eq!((backend, notice), (Backend::Keyring, None));
    assert_eq!(
        std::fs::read_to_string(paths.backend_file()).unwrap(),
        "keyring\n"
    );
}

/// The checks run inside the child, with a bus address that leads nowhere.
fn no_bus_in_child() {
    let start = Instant::now();
    let err = probe_keychain().unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(1), "the probe took {took:?}");
    assert!(!err.is_empty());

    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths.clone());
    let slot = Slot::Keychain(SessionKey::derive("a", "b", "c", ""));
    let err = read(&mut io, &slot).unwrap_err();
    assert_eq!(err.kind, StoreErrorKind::KeychainUnavailable, "{err}");

    let (backend, notice) = resolve_backend(&paths, None);
    assert_eq!(backend, Backend::File);
    assert!(notice.unwrap().contains("no usable OS keychain"));
    assert_eq!(
        std::fs::read_to_string(paths.backend_file()).unwrap(),
        "file\n"
    );
}

#[test]
fn keychain_round_trip_on_a_private_secret_service() {
    if let Ok(mode) = std::env::var(CHILD_MODE) {
        assert_eq!(mode, "round-trip");
        round_trip_in_child();
        println!("child done");
        return;
    }
    let service = SecretService::start();
    run_child(
        "keychain::keychain_round_trip_on_a_private_secret_service",
        &service.child_env("round-trip"),
    );
}

#[test]
fn keychain_probe_fails_fast_without_a_bus() {
    if let Ok(mode) = std::env::var(CHILD_MODE) {
        assert_eq!(mode, "no-bus");
        no_bus_in_child();
        println!("child done");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-socket");
    assert!(!Path::new(&missing).exists());
    run_child(
        "keychain::keychain_probe_fails_fast_without_a_bus",
        &[
            (CHILD_MODE.to_owned(), "no-bus".to_owned()),
            (
                "DBUS_SESSION_BUS_ADDRESS".to_owned(),
                format!("unix:path={}", missing.display()),
            ),
        ],
    );
}
