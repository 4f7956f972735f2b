//! [`Sandbox`]: a private home for one run of the real `llmauth` command line — its own
//! config file, state and runtime directories, scripted browser and environment — so
//! tests can run many `llmauth` processes side by side without touching the user's files.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Environment variables that would leak the developer's setup into a test run — among
/// them the signs of a graphical session, so a run is headless unless a test sets
/// `DISPLAY` itself.
const SCRUBBED: [&str; 14] = [
    "LLMAUTH_CONFIG",
    "LLMAUTH_STATE_DIR",
    "LLMAUTH_ACCESS_TOKEN",
    "LLMAUTH_NON_INTERACTIVE",
    "LLMAUTH_LOG",
    "CLAUDE_HELPER_CONTEXT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "SSH_CONNECTION",
    "SSH_TTY",
    "SESSIONNAME",
];

/// How long any single `llmauth` run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A finished `llmauth` process.
#[derive(Debug)]
pub struct Finished {
    /// Exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

/// One isolated installation of llmauth.
pub struct Sandbox {
    dir: TempDir,
    llmauth: PathBuf,
    browser: Option<PathBuf>,
    env: Vec<(String, OsString)>,
}

impl Sandbox {
    /// A sandbox running `llmauth` (the binary under test) with `browser` as `$BROWSER`
    /// (the scripted browser) when given.
    ///
    /// # Panics
    /// When the temporary directory cannot be created.
    pub fn new(llmauth: &Path, browser: Option<&Path>) -> Self {
        let dir = TempDir::with_prefix("llmauth-sandbox-").expect("temporary directory");
        // Owner-only, whatever the umask: llmauth refuses a state directory others can
        // write.
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        for sub in ["home", "state", "run"] {
            builder
                .create(dir.path().join(sub))
                .expect("sandbox directories");
        }
        Self {
            dir,
            llmauth: llmauth.to_owned(),
            browser: browser.map(Path::to_owned),
            env: Vec::new(),
        }
    }

    /// Runs another `llmauth` binary from now on (an upgrade that moved it).
    pub fn set_program(&mut self, llmauth: &Path) -> &mut Self {
        llmauth.clone_into(&mut self.llmauth);
        self
    }

    /// The sandbox root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `config.yaml`.
    pub fn config_file(&self) -> PathBuf {
        self.root().join("config.yaml")
    }

    /// The home directory of every run (`HOME`).
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// Creates `<root>/bin` holding an executable no-op script per name (stand-ins for
    /// installed tools, so setup detects them) and returns the directory.
    ///
    /// # Panics
    /// When the files cannot be written.
    pub fn fake_binaries(&self, names: &[&str]) -> PathBuf {
        let bin = self.root().join("bin");
        std::fs::create_dir_all(&bin).expect("bin directory");
        for name in names {
            let path = bin.join(name);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("fake binary");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .expect("fake binary mode");
            }
        }
        bin
    }

    /// The state directory (`LLMAUTH_STATE_DIR`).
    pub fn state_dir(&self) -> PathBuf {
        self.root().join("state")
    }

    /// The runtime directory (`XDG_RUNTIME_DIR`); llmauth uses `<it>/llmauth/`.
    pub fn runtime_dir(&self) -> PathBuf {
        self.root().join("run")
    }

    /// Where the scripted browser logs its visits (one JSON line each).
    pub fn browser_log(&self) -> PathBuf {
        self.root().join("browser.log")
    }

    /// Sets an environment variable for every later run.
    pub fn set_env(&mut self, name: &str, value: impl Into<OsString>) -> &mut Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.into()));
        self
    }

    /// Removes an environment variable set with [`set_env`](Self::set_env).
    pub fn unset_env(&mut self, name: &str) -> &mut Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// A `Command` for `llmauth <args>` in this sandbox (stdin closed, so llmauth sees no
    /// terminal and is non-interactive unless the test says otherwise).
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(&self.llmauth, args)
    }

    /// A `Command` for `program <args>` with this sandbox's environment, as
    /// [`command`](Self::command) prepares llmauth's (the token helper `llmauth-token`,
    /// a tool's helper command).
    pub fn command_of(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command.args(args);
        for name in SCRUBBED {
            command.env_remove(name);
        }
        command
            .env("HOME", self.root().join("home"))
            .env("XDG_CONFIG_HOME", self.root().join("home/.config"))
            .env("LLMAUTH_CONFIG", self.config_file())
            .env("LLMAUTH_STATE_DIR", self.state_dir())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("FAKE_BROWSER_LOG", self.browser_log())
            .env("NO_COLOR", "1")
            // Never the developer's own keychain: a bus that does not exist, unless a test
            // points llmauth at a private Secret Service with `set_env`.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", self.root().join("no-session-bus").display()),
            );
        match &self.browser {
            Some(browser) => command.env("BROWSER", browser),
            // No opener at all: PATH without xdg-open and no $BROWSER.
            None => command.env_remove("BROWSER").env("PATH", "/nonexistent"),
        };
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `llmauth <args>` to completion.
    ///
    /// # Panics
    /// When the process cannot start or outlives [`RUN_LIMIT`].
    pub fn run(&self, args: &[&str]) -> Finished {
        let child = self.command(args).spawn().expect("start llmauth");
        wait(child, RUN_LIMIT)
    }

    /// Runs `program <args>` to completion in this sandbox.
    ///
    /// # Panics
    /// When the process cannot start or outlives [`RUN_LIMIT`].
    pub fn run_program(&self, program: &Path, args: &[&str]) -> Finished {
        let child = self
            .command_of(program, args)
            .spawn()
            .expect("start the program");
        wait(child, RUN_LIMIT)
    }

    /// Starts `llmauth <args>` without waiting.
    ///
    /// # Panics
    /// When the process cannot start.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().expect("start llmauth")
    }

    /// `llmauth config set` for an IdP and a gateway, with the test CA; panics on failure.
    ///
    /// # Panics
    /// When `config set` fails.
    pub fn configure(
        &self,
        issuer: &str,
        gateway: &str,
        client_id: &str,
        ca_file: &Path,
        extra: &[&str],
    ) {
        let ca = ca_file.to_string_lossy().into_owned();
        let mut args = vec![
            "config",
            "set",
            "--gateway-url",
            gateway,
            "--issuer",
            issuer,
            "--client-id",
            client_id,
            "--ca-file",
            &ca,
            "--callback-port",
            "0",
        ];
        args.extend_from_slice(extra);
        let finished = self.run(&args);
        assert_eq!(finished.code, 0, "config set failed: {}", finished.stderr);
    }

    /// The scripted browser's visits so far.
    pub fn browser_visits(&self) -> Vec<Value> {
        std::fs::read_to_string(self.browser_log())
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Every file under the sandbox whose content contains `needle` (for leak checks).
    pub fn files_containing(&self, needle: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![self.root().to_owned()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if std::fs::read(&path)
                    .is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
                {
                    found.push(path);
                }
            }
        }
        found
    }
}

/// Every entry under `dir`, by relative path: its kind, permission bits and content (or a
/// link's target), for comparing whole directory trees before and after.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut entries = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        let Ok(listing) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in listing.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(dir)
                .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            #[cfg(unix)]
            let mode = {
                use std::os::unix::fs::PermissionsExt as _;
                format!("{:o}", meta.permissions().mode() & 0o7777)
            };
            #[cfg(not(unix))]
            let mode = String::new();
            let description = if meta.file_type().is_symlink() {
                format!(
                    "link -> {}",
                    std::fs::read_link(&path)
                        .map_or_else(|e| e.to_string(), |t| t.display().to_string())
                )
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {mode}")
            } else {
                let content = std::fs::read(&path).unwrap_or_default();
                format!("file {mode} {}", String::from_utf8_lossy(&content))
            };
            entries.insert(relative, description);
        }
    }
    entries
}

/// `command` run through `/bin/sh -c script` with the same arguments, environment and
/// pipes; the script ends in `exec "$0" "$@"`, so the process keeps the shell's pid.
pub fn through_shell(command: &Command, script: &str) -> Command {
    let mut shell = Command::new("/bin/sh");
    shell
        .arg("-c")
        .arg(script)
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => shell.env(name, value),
            None => shell.env_remove(name),
        };
    }
    shell
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    shell
}

/// Waits for `child` up to `limit`, collecting its output.
///
/// # Panics
/// When the child outlives `limit` (it is killed first).
pub fn wait(mut child: Child, limit: Duration) -> Finished {
    let start = Instant::now();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out = std::thread::spawn(move || read_all(stdout.as_mut()));
    let err = std::thread::spawn(move || read_all(stderr.as_mut()));
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Finished {
                    code: status.code().unwrap_or(-1),
                    stdout: out.join().unwrap_or_default(),
                    stderr: err.join().unwrap_or_default(),
                    elapsed: start.elapsed(),
                };
            }
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "llmauth did not finish within {limit:?}; stderr: {}",
                    err.join().unwrap_or_default()
                );
            }
        }
    }
}

fn read_all(stream: Option<&mut impl std::io::Read>) -> String {
    let mut text = String::new();
    if let Some(stream) = stream {
        let _ = stream.read_to_string(&mut text);
    }
    text
}
