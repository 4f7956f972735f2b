//! Runs a tool's helper as the tool runs it: standard input closed, no terminal to talk
//! to (on Unix a new session, so no controlling terminal either; on Windows no console
//! window), the tool's environment and arguments, output and time bounded. A helper that
//! overstays is killed with everything it started (its process group, on Unix).

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use llmauth_core::doctor::{HelperOutcome, HelperRun, Invocation};
use llmauth_core::secret::SecretBytes;
use process_wrap::std::{ChildWrapper, CommandWrap};

/// Largest output read from each of the helper's standard output and error.
const MAX_OUTPUT: u64 = 64 * 1024;
/// How often the helper is looked at while it runs.
const POLL: Duration = Duration::from_millis(5);
/// How long output may keep coming after the helper exited (from a process it left
/// behind) before that process is killed too.
const LINGER: Duration = Duration::from_millis(200);

/// Runs the helper and reports how it went.
pub(super) fn run(invocation: &Invocation) -> HelperRun {
    let start = Instant::now();
    let outcome = outcome(invocation, start);
    HelperRun {
        name: invocation.name.clone(),
        limit: invocation.limit,
        elapsed: start.elapsed(),
        outcome,
    }
}

fn outcome(invocation: &Invocation, start: Instant) -> HelperOutcome {
    let mut command = Command::new(&invocation.program);
    command
        .args(&invocation.args)
        .envs(invocation.env.iter().map(|(name, value)| (name, value)))
        // SPEC §8: a child never inherits a token from the environment.
        .env_remove("LLMAUTH_ACCESS_TOKEN")
        // A diagnosis never starts a sign-in, whatever the helper's context would allow.
        .env("LLMAUTH_NON_INTERACTIVE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match spawn(command) {
        Ok(child) => child,
        Err(error) => return HelperOutcome::NotStarted(error.to_string()),
    };
    let stdout = child.stdout().take().map(read_all);
    let stderr = child.stderr().take().map(read_all);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if start.elapsed() < invocation.limit => std::thread::sleep(POLL),
            Ok(None) | Err(_) => break None,
        }
    };
    if status.is_none() {
        let _ = child.start_kill();
    }
    let mut collect = |output: Option<mpsc::Receiver<Vec<u8>>>| {
        let output = output?;
        output.recv_timeout(LINGER).ok().or_else(|| {
            // Something the helper started still holds the pipe: it goes too.
            let _ = child.start_kill();
            output.recv_timeout(LINGER).ok()
        })
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    let Some(status) = status else {
        let _ = child.wait();
        return HelperOutcome::TimedOut;
    };
    HelperOutcome::Exited {
        code: status.code(),
        stdout: SecretBytes::new(stdout.unwrap_or_default()),
        stderr: String::from_utf8_lossy(&stderr.unwrap_or_default()).into_owned(),
    }
}

/// Reads `pipe` to its end (at most [`MAX_OUTPUT`]) on a thread of its own, so a helper
/// writing much to one pipe never blocks on the other.
fn read_all(pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    receiver
}

/// Starts the helper in a session of its own: no controlling terminal, and one process
/// group to kill.
#[cfg(unix)]
fn spawn(command: Command) -> std::io::Result<Box<dyn ChildWrapper>> {
    let mut command = CommandWrap::from(command);
    command.wrap(process_wrap::std::ProcessSession);
    command.spawn()
}

/// Starts the helper without a console window, as a GUI tool would.
#[cfg(windows)]
fn spawn(mut command: Command) -> std::io::Result<Box<dyn ChildWrapper>> {
    use std::os::windows::process::CommandExt as _;
    /// `CREATE_NO_WINDOW` (Windows process creation flags).
    const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    command.creation_flags(CREATE_NO_WINDOW);
    CommandWrap::from(command).spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(script: &str, limit: Duration) -> Invocation {
        Invocation {
            name: "the helper".to_owned(),
            program: "/bin/sh".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            env: vec![("TOOL_VAR".to_owned(), "tool value".to_owned())],
            limit,
        }
    }

    fn exited(run: &HelperRun) -> (Option<i32>, String, String) {
        match &run.outcome {
            HelperOutcome::Exited {
                code,
                stdout,
                stderr,
            } => (
                *code,
                String::from_utf8_lossy(stdout.expose_secret()).into_owned(),
                stderr.clone(),
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runs_without_a_terminal_in_the_tools_environment() {
        let script = "test -t 0 && echo stdin-is-a-tty >&2; \
                      if (exec 3</dev/tty) 2>/dev/null; then echo has-a-controlling-tty >&2; fi; \
                      echo \"$TOOL_VAR/${LLMAUTH_NON_INTERACTIVE}/${LLMAUTH_ACCESS_TOKEN-unset}\"; \
                      echo oops >&2; exit 3";
        let result = run_with_token_in_env(&helper(script, Duration::from_secs(5)));
        let (code, stdout, stderr) = exited(&result);
        assert_eq!(code, Some(3));
        assert_eq!(stdout, "tool value/1/unset\n");
        assert_eq!(stderr, "oops\n");
        assert!(result.elapsed < Duration::from_secs(5));
    }

    /// Runs `invocation` as a tool would that hands its helper `LLMAUTH_ACCESS_TOKEN`:
    /// the variable is removed all the same.
    fn run_with_token_in_env(invocation: &Invocation) -> HelperRun {
        let mut with_token = invocation.clone();
        with_token
            .env
            .push(("LLMAUTH_ACCESS_TOKEN".to_owned(), "CANARY".to_owned()));
        run(&with_token)
    }

    #[test]
    fn a_helper_that_overstays_is_killed_with_its_children() {
        let started = Instant::now();
        let run = run(&helper(
            "sleep 30 & sleep 30; echo late",
            Duration::from_millis(300),
        ));
        assert!(matches!(run.outcome, HelperOutcome::TimedOut), "{run:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{run:?}");
    }

    #[test]
    fn a_missing_program_does_not_start() {
        let mut missing = helper("", Duration::from_secs(1));
        missing.program = "/nonexistent/llmauth".to_owned();
        missing.args.clear();
        let run = run(&missing);
        assert!(
            matches!(run.outcome, HelperOutcome::NotStarted(_)),
            "{run:?}"
        );
    }
}
