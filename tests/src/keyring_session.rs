//! [`SecretService`]: a private, real Secret Service for tests of the `keyring` backend —
//! its own D-Bus session bus and its own `gnome-keyring-daemon` with an unlocked `login`
//! collection, all under a temporary directory.
//!
//! Private on purpose: a test must never read or write the developer's own keychain, and
//! tests running in parallel must not see each other's items. The bus is started from a
//! minimal configuration *without service directories*, so nothing on it is D-Bus
//! activated: with the distribution's `session.conf`, a request to
//! `org.freedesktop.secrets` would start a second keyring daemon with the developer's
//! `HOME`. Both daemons are killed (by process id) when the value is dropped.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// What to tell someone whose machine lacks the daemons.
pub const INSTALL_HINT: &str = "install gnome-keyring and dbus (scripts/test does this under CI)";

/// How long the daemons may take to come up.
const START_LIMIT: Duration = Duration::from_secs(20);

/// A running private Secret Service.
pub struct SecretService {
    dir: TempDir,
    address: String,
    bus: Child,
    keyring: Child,
}

impl SecretService {
    /// Starts a session bus and an unlocked gnome-keyring on it.
    ///
    /// # Errors
    /// A description (ending in [`INSTALL_HINT`] when a program is missing) when the
    /// daemons cannot be started or do not become ready within 20 s.
    pub fn start() -> Result<SecretService, String> {
        for program in ["dbus-daemon", "dbus-send", "gnome-keyring-daemon"] {
            if find_program(program).is_none() {
                return Err(format!("{program} is not installed: {INSTALL_HINT}"));
            }
        }
        let dir = TempDir::with_prefix("llmauth-secret-service-")
            .map_err(|e| format!("temporary directory: {e}"))?;
        for sub in ["home", "data", "config", "run"] {
            std::fs::create_dir_all(dir.path().join(sub))
                .map_err(|e| format!("temporary directory: {e}"))?;
        }
        let (bus, address) = start_bus(dir.path())?;
        let keyring = match start_keyring(dir.path(), &address) {
            Ok(keyring) => keyring,
            Err(e) => {
                stop(bus);
                return Err(e);
            }
        };
        let mut service = SecretService {
            dir,
            address,
            bus,
            keyring,
        };
        service.wait_until_ready()?;
        Ok(service)
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS`.
    pub fn bus_address(&self) -> &str {
        &self.address
    }

    /// Where the keyring daemon keeps its files (`login.keyring`): outside any sandbox, so
    /// that leak checks over a sandbox do not see the (encrypted) keychain.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The secret of the item with these attributes, via `secret-tool lookup`; `Ok(None)`
    /// when there is no such item. (The `keyring-core` Secret Service store names an
    /// entry's service and user `service` and `username`.)
    ///
    /// # Errors
    /// When `secret-tool` (package libsecret-tools) is missing or fails otherwise.
    pub fn lookup(&self, attributes: &[(&str, &str)]) -> Result<Option<String>, String> {
        if find_program("secret-tool").is_none() {
            return Err("secret-tool is not installed (package libsecret-tools)".to_owned());
        }
        let output = self
            .tool("secret-tool")
            .arg("lookup")
            .args(attributes.iter().flat_map(|(name, value)| [*name, *value]))
            .output()
            .map_err(|e| format!("secret-tool: {e}"))?;
        // `secret-tool lookup` exits 1 with no output when nothing matches.
        match (output.status.code(), output.stdout.is_empty()) {
            (Some(0), _) => Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned())),
            (Some(1), true) => Ok(None),
            _ => Err(format!(
                "secret-tool lookup failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    }

    /// Whether the daemon owns its bus name and the `default` alias names a collection:
    /// before that, a write would fail or land nowhere.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.keyring.try_wait() {
                return Err(format!("gnome-keyring-daemon exited early ({status})"));
            }
            let answer = self
                .tool("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets",
                    "org.freedesktop.Secret.Service.ReadAlias",
                    "string:default",
                ])
                .output();
            if let Ok(Output { status, stdout, .. }) = &answer
                && status.success()
                && String::from_utf8_lossy(stdout).contains("/org/freedesktop/secrets/collection/")
            {
                return Ok(());
            }
            if start.elapsed() > START_LIMIT {
                return Err(format!(
                    "the Secret Service did not become ready within {START_LIMIT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A command talking to this bus only.
    fn tool(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

impl std::fmt::Debug for SecretService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretService")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// `dbus-daemon` with a configuration of our own (no activation), and its address.
fn start_bus(dir: &Path) -> Result<(Child, String), String> {
    let config = dir.join("bus.conf");
    let socket = dir.join("bus");
    let text = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    );
    std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
    let mut config_arg = std::ffi::OsString::from("--config-file=");
    config_arg.push(&config);
    let mut bus = Command::new("dbus-daemon")
        .arg(config_arg)
        .args(["--print-address=1", "--nofork", "--nopidfile"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("dbus-daemon: {e}: {INSTALL_HINT}"))?;
    let Some(stdout) = bus.stdout.take() else {
        stop(bus);
        return Err("dbus-daemon: no stdout".to_owned());
    };
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    match receiver.recv_timeout(START_LIMIT) {
        Ok(line) if line.trim().starts_with("unix:") => Ok((bus, line.trim().to_owned())),
        Ok(line) => {
            stop(bus);
            Err(format!("dbus-daemon printed no address: {line:?}"))
        }
        Err(_) => {
            stop(bus);
            Err("dbus-daemon printed no address in time".to_owned())
        }
    }
}

/// `gnome-keyring-daemon --unlock` with its files under `dir`; the login password goes in
/// on stdin (it creates and unlocks the `login` collection with it).
fn start_keyring(dir: &Path, address: &str) -> Result<Child, String> {
    let mut keyring = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets", "--foreground"])
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .env("HOME", dir.join("home"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_RUNTIME_DIR", dir.join("run"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("GNOME_KEYRING_CONTROL")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("gnome-keyring-daemon: {e}: {INSTALL_HINT}"))?;
    let written = keyring
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(b"llmauth-test-keyring-password"));
    if !matches!(written, Some(Ok(()))) {
        stop(keyring);
        return Err("gnome-keyring-daemon: cannot pass the password".to_owned());
    }
    Ok(keyring)
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The program's path on `PATH`, if any.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
