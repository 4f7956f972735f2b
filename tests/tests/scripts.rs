//! `scripts/test` on a fresh machine (issue 9.17): what it asks of a user without root,
//! what it downloads, what it skips and says it skipped, and that CI skips nothing.
//!
//! The script runs with `--prerequisites` in a copy of the repository's layout, with stub
//! commands on `PATH` (`id`, `apt-get`, `cargo`, `node`, `npm`, the keychain tools) that
//! record how they were called.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of `scripts/test` in an otherwise empty repository, and a directory of stubs.
struct Machine {
    dir: tempfile::TempDir,
}

/// What a run of the script printed and did.
struct Run {
    code: i32,
    output: String,
    calls: String,
}

impl Run {
    /// Fails the test, showing the whole output, unless the script printed `text`.
    #[track_caller]
    fn says(&self, text: &str) {
        assert!(self.output.contains(text), "{}", self.output);
    }
}

impl Machine {
    /// A repository with oidc-provider installed and no real clients; `uid` is what `id -u`
    /// says; `keychain` puts the keychain tools on `PATH`.
    fn new(uid: u32, keychain: bool) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        fs::create_dir_all(repo.join("scripts")).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/test");
        fs::copy(script, repo.join("scripts/test")).unwrap();
        fs::create_dir_all(repo.join("tests/oidc-provider/node_modules/oidc-provider")).unwrap();
        let machine = Machine { dir };
        let log = machine.calls_file();
        let record = format!("#!/bin/sh\necho \"${{0##*/}} $*\" >> {}\n", log.display());
        machine.stub("id", &format!("#!/bin/sh\necho {uid}\n"));
        for tool in ["apt-get", "cargo", "node", "npm"] {
            machine.stub(tool, &record);
        }
        if keychain {
            for tool in [
                "dbus-daemon",
                "dbus-send",
                "gnome-keyring-daemon",
                "secret-tool",
            ] {
                machine.stub(tool, &record);
            }
        }
        for tool in [
            "dirname", "df", "awk", "date", "find", "xargs", "grep", "head",
        ] {
            machine.link_system_tool(tool);
        }
        machine
    }

    /// Puts the system's own `tool` on the script's `PATH`.
    fn link_system_tool(&self, tool: &str) {
        let path = ["/usr/bin", "/bin"]
            .into_iter()
            .map(|dir| Path::new(dir).join(tool))
            .find(|path| path.exists())
            .unwrap_or_else(|| panic!("{tool} is not in /usr/bin or /bin"));
        std::os::unix::fs::symlink(path, self.bin().join(tool)).unwrap();
    }

    fn bin(&self) -> PathBuf {
        let bin = self.dir.path().join("bin");
        fs::create_dir_all(&bin).unwrap();
        bin
    }

    fn calls_file(&self) -> PathBuf {
        self.dir.path().join("calls.log")
    }

    fn stub(&self, name: &str, body: &str) {
        let path = self.bin().join(name);
        fs::write(&path, body).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Creates the audit database the script looks for beside the repository.
    fn with_audit_db(self) -> Machine {
        fs::create_dir_all(self.dir.path().join("shared/advisory-db")).unwrap();
        self
    }

    fn run(&self, env: &[(&str, &str)]) -> Run {
        let bash = ["/usr/bin/bash", "/bin/bash"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("bash");
        let mut command = Command::new(bash);
        command
            .arg(self.dir.path().join("repo/scripts/test"))
            .arg("--prerequisites")
            .env_clear()
            .env("PATH", self.bin())
            .env("HOME", self.dir.path());
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            calls: fs::read_to_string(self.calls_file()).unwrap_or_default(),
        }
    }
}

#[test]
fn without_root_the_keychain_packages_come_as_a_sudo_line() {
    let machine = Machine::new(1000, false);

    let run = machine.run(&[]);

    assert_eq!(run.code, 1, "{}", run.output);
    run.says("\n  sudo apt-get install -y gnome-keyring dbus dbus-x11 libsecret-tools\n");
    assert!(!run.output.contains("as root"), "{}", run.output);
    assert!(
        !run.calls.contains("apt-get"),
        "nothing is installed: {}",
        run.calls
    );
}

#[test]
fn the_real_clients_download_is_announced_with_its_size() {
    let machine = Machine::new(1000, true).with_audit_db();

    let run = machine.run(&[]);

    assert_eq!(run.code, 0, "{}", run.output);
    run.says("about 380 MB");
    assert!(
        run.calls.contains("npm ci --prefix tests/real-clients"),
        "{}",
        run.calls
    );
}

#[test]
fn skipping_the_real_clients_is_loud_and_only_outside_ci() {
    let machine = Machine::new(1000, true).with_audit_db();

    let skipped = machine.run(&[("LLMAUTH_TEST_SKIP_REAL_CLIENTS", "1")]);

    assert_eq!(skipped.code, 0, "{}", skipped.output);
    skipped.says("SKIPPING the real-client tests");
    skipped.says("these did NOT run: the real-client tests (LLMAUTH_TEST_SKIP_REAL_CLIENTS=1)");
    assert!(!skipped.calls.contains("real-clients"), "{}", skipped.calls);

    let ci = machine.run(&[("LLMAUTH_TEST_SKIP_REAL_CLIENTS", "1"), ("CI", "true")]);

    assert_eq!(ci.code, 0, "{}", ci.output);
    ci.says("ignored under CI");
    assert!(
        ci.calls.contains("npm ci --prefix tests/real-clients"),
        "{}",
        ci.calls
    );
    ci.says("a full run ends with: all checks passed\n");
}

#[test]
fn a_missing_audit_database_is_named_and_fails_under_ci() {
    let machine = Machine::new(1000, true);

    let local = machine.run(&[("LLMAUTH_TEST_SKIP_REAL_CLIENTS", "1")]);

    assert_eq!(local.code, 0, "{}", local.output);
    local.says("did NOT run: the real-client tests (LLMAUTH_TEST_SKIP_REAL_CLIENTS=1); the RustSec audit (../shared/advisory-db not found)");

    let ci = machine.run(&[("CI", "true")]);

    assert_eq!(ci.code, 1, "{}", ci.output);
    ci.says("the RustSec audit needs");
}

#[test]
fn a_full_disk_is_named_before_npm_runs() {
    let machine = Machine::new(1000, true).with_audit_db();
    fs::remove_file(machine.bin().join("df")).unwrap();
    machine.stub(
        "df",
        "#!/bin/sh\necho 'Filesystem 1048576-blocks Used Available Capacity Mounted on'\necho '/dev/vda 258048 257535 513 100% /'\n",
    );

    let run = machine.run(&[("CI", "true")]);

    assert_eq!(run.code, 1, "{}", run.output);
    run.says("installing the real clients (about 910 MB on disk) needs about 1200 MB free on the repository's disk, which has 513 MB free");
    assert!(!run.calls.contains("real-clients"), "{}", run.calls);
}

#[test]
fn a_failed_npm_ci_shows_the_warnings_npm_only_logged() {
    let machine = Machine::new(1000, true).with_audit_db();
    fs::create_dir_all(machine.dir.path().join(".npm/_logs")).unwrap();
    machine.stub(
        "npm",
        "#!/bin/sh\n\
         echo '61 warn tar TAR_ENTRY_ERROR ENOSPC: no space left on device, write' > \"$HOME/.npm/_logs/x-debug-0.log\"\n\
         echo 'npm error A complete log of this run can be found in: the log' >&2\nexit 1\n",
    );

    let run = machine.run(&[]);

    assert_eq!(run.code, 1, "{}", run.output);
    run.says("TAR_ENTRY_ERROR ENOSPC: no space left on device");
    run.says("npm ci --prefix tests/real-clients failed (npm's messages above)");
}
