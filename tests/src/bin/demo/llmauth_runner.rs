//! Runs the real `llmauth` command line (this executable in its `cli` role) inside the
//! demo's sandbox, echoing each command as a shell line and bounding how long it may take.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use llmauth_tests::sandbox::Sandbox;

/// The longest any one command may run: every step takes well under a second; a login
/// whose browser failed would otherwise wait five minutes for its callback.
const COMMAND_LIMIT: Duration = Duration::from_secs(20);

/// How a command ended.
pub(crate) struct Ran {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// The sandboxed `llmauth`.
pub(crate) struct Llmauth {
    sandbox: Sandbox,
}

impl Llmauth {
    /// A fresh sandbox whose `llmauth` is `exe` in its `cli` role and whose `$BROWSER`
    /// is `exe` in its scripted-browser role, trusting `ca_file` (written into the
    /// sandbox by the caller through [`Llmauth::root`]).
    pub(crate) fn new(exe: &Path) -> Result<Llmauth, String> {
        let mut sandbox = Sandbox::new(exe, None);
        // `$BROWSER` is split at `:` and whitespace, so it names the program through
        // PATH rather than by a path that may hold either (`C:\…` on Windows).
        let dir = exe
            .parent()
            .ok_or_else(|| format!("{} has no directory", exe.display()))?;
        let name = exe
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| format!("{} has no usable file name", exe.display()))?;
        let mut path = vec![dir.to_owned()];
        if let Some(inherited) = std::env::var_os("PATH") {
            path.extend(std::env::split_paths(&inherited));
        }
        let path = std::env::join_paths(path).map_err(|e| format!("cannot build PATH: {e}"))?;
        sandbox
            .set_env(super::ROLE_VARIABLE, "cli")
            .set_env("PATH", path)
            .set_env("BROWSER", format!("{name} {}", super::BROWSER_FLAG));
        Ok(Llmauth { sandbox })
    }

    /// The sandbox directory (removed when this is dropped).
    pub(crate) fn root(&self) -> &Path {
        self.sandbox.root()
    }

    /// Sets the CA file the scripted browser trusts.
    pub(crate) fn trust_ca_in_browser(&mut self, ca_file: &Path) {
        self.sandbox.set_env("LLMAUTH_TEST_CA", ca_file);
    }

    /// What the scripted browser reported, one line per visit.
    pub(crate) fn browser_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.sandbox.browser_log())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The config file.
    pub(crate) fn config_file(&self) -> PathBuf {
        self.sandbox.config_file()
    }

    /// Prints `$ llmauth <args>`, runs it, and returns how it ended. Gives up early when
    /// the scripted browser reports a failure (a sign-in that can no longer finish).
    pub(crate) fn run(&self, args: &[&str]) -> Result<Ran, String> {
        println!("  $ llmauth {}", args.join(" "));
        let child = self
            .sandbox
            .command(args)
            .spawn()
            .map_err(|e| format!("cannot start llmauth: {e}"))?;
        let browser_failure = || {
            self.browser_log()
                .into_iter()
                .find(|line| line.starts_with(super::browser_role::FAILED))
        };
        wait(child, COMMAND_LIMIT, browser_failure)
            .map_err(|e| format!("`llmauth {}` {e}", args.join(" ")))
    }
}

impl Llmauth {
    /// Prints `$ llmauth <args> &` and starts it in the background (for `proxy start`).
    pub(crate) fn spawn(&self, args: &[&str]) -> Result<Child, String> {
        println!("  $ llmauth {} &", args.join(" "));
        self.sandbox
            .command(args)
            .spawn()
            .map_err(|e| format!("cannot start llmauth: {e}"))
    }
}

/// Waits for `child`, reading its output; kills it after `limit` or as soon as `abort`
/// names a reason.
fn wait(
    mut child: Child,
    limit: Duration,
    abort: impl Fn() -> Option<String>,
) -> Result<Ran, String> {
    let reader = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {
                let why = match abort() {
                    Some(reason) => format!("was stopped, the scripted browser reported {reason}"),
                    None if start.elapsed() >= limit => {
                        format!("did not finish within {} s", limit.as_secs())
                    }
                    None => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                let _ = child.kill();
                let _ = child.wait();
                let stderr = stderr.join().unwrap_or_default();
                return Err(format!("{why}; its stderr: {}", stderr.trim()));
            }
            Err(e) => return Err(format!("could not be waited for: {e}")),
        }
    };
    Ok(Ran {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}
