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
    let exe = std::env::current_exe().unwrap();
    let mut command = Command::new(exe);
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .stdin(Stdio::null())
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
