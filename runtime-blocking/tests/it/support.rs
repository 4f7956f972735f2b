//! Shared helpers: temporary state directories and re-running this test binary as a
//! child process (for locks held by another process and for environment changes that
//! must not leak into other tests).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use llmauth_blocking::{BlockingIo, IoOptions, Paths};

/// A temporary root with `state/`, `run/` and a config path under it.
pub fn temp_paths() -> (tempfile::TempDir, Paths) {
    let dir = tempfile::tempdir().unwrap();
    let paths = paths_in(dir.path());
    (dir, paths)
}

pub fn paths_in(root: &Path) -> Paths {
    Paths::new(
        root.join("config.yaml"),
        root.join("state"),
        root.join("run"),
    )
}

/// A `BlockingIo` over `paths` whose notices are discarded.
pub fn quiet_io(paths: Paths) -> BlockingIo {
    BlockingIo::new(paths, IoOptions::default()).with_notice_sink(|_| {})
}

/// Starts this test binary running only `test` (its full path), with `envs` set;
/// stdout is piped so the child can report progress.
pub fn spawn_self(test: &str, envs: &[(&str, &str)]) -> Child {
    spawn_self_with(test, envs, Stdio::null())
}

/// [`spawn_self`] with the given standard input (e.g. piped, to type into the child).
pub fn spawn_self_with(test: &str, envs: &[(&str, &str)], stdin: Stdio) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

/// Kills a child process on drop (by its pid, through the `Child` handle).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for a child with a time limit; returns whether it succeeded, and its stdout
/// and stderr.
pub fn finish(mut child: Child, limit: std::time::Duration) -> (bool, String) {
    use std::io::Read as _;
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut output = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut output);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut output);
    }
    (status.is_some_and(|s| s.success()), output)
}

/// Runs `test` in a child process with `envs` and asserts that it passed and reached
/// its end (printed `child done`).
pub fn run_child(test: &str, envs: &[(&str, &str)]) {
    let (ok, output) = finish(spawn_self(test, envs), std::time::Duration::from_secs(60));
    assert!(ok, "child process failed:\n{output}");
    assert!(
        output.contains("child done"),
        "the child did not run its checks:\n{output}"
    );
}
