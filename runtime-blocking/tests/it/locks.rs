//! Advisory locks: contention between threads, waiting until a deadline, release on
//! drop, on `Unlock`, and when the holding process dies.

use std::io::{BufRead as _, BufReader};
use std::time::{Duration, Instant};

use llmauth_blocking::lock::{self, LockError};
use llmauth_blocking::now;
use llmauth_core::intent::{Intent, IntentResult, LockOutcome};
use llmauth_core::store::{LockName, SessionKey};

use crate::support::{KillOnDrop, quiet_io, spawn_self, temp_paths};

fn name() -> LockName {
    LockName::Session(SessionKey::derive("https://gw", "https://idp", "cid", ""))
}

fn lock(io: &mut llmauth_blocking::BlockingIo, until: Option<Duration>) -> LockOutcome {
    let until = until.map(|d| now().saturating_add(d));
    match io.perform(&Intent::Lock {
        name: name(),
        until,
    }) {
        IntentResult::Lock(Ok(outcome)) => outcome,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn second_holder_is_busy_until_unlock() {
    let (_dir, paths) = temp_paths();
    let mut first = quiet_io(paths.clone());
    let mut second = quiet_io(paths.clone());
    assert_eq!(lock(&mut first, None), LockOutcome::Acquired);
    assert!(paths.lock_file(&name()).exists());

    // From another thread, with its own file handle.
    let contender = std::thread::spawn(move || lock(&mut second, None));
    assert_eq!(contender.join().unwrap(), LockOutcome::Busy);

    assert!(matches!(
        first.perform(&Intent::Unlock(name())),
        IntentResult::Done
    ));
    let mut third = quiet_io(paths.clone());
    assert_eq!(lock(&mut third, None), LockOutcome::Acquired);
    // The lock file is never deleted.
    third.perform(&Intent::Unlock(name()));
    assert!(paths.lock_file(&name()).exists());
}

#[test]
fn waiting_ends_busy_at_the_deadline() {
    let (_dir, paths) = temp_paths();
    let mut holder = quiet_io(paths.clone());
    let mut waiter = quiet_io(paths);
    assert_eq!(lock(&mut holder, None), LockOutcome::Acquired);
    let start = Instant::now();
    assert_eq!(
        lock(&mut waiter, Some(Duration::from_millis(300))),
        LockOutcome::Busy
    );
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[test]
fn a_waiter_gets_the_lock_soon_after_release() {
    let (_dir, paths) = temp_paths();
    let mut holder = quiet_io(paths.clone());
    let mut waiter = quiet_io(paths);
    assert_eq!(lock(&mut holder, None), LockOutcome::Acquired);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        // Dropping the whole I/O layer releases what it holds.
        drop(holder);
    });
    let start = Instant::now();
    assert_eq!(
        lock(&mut waiter, Some(Duration::from_secs(5))),
        LockOutcome::Acquired
    );
    let waited = start.elapsed();
    releaser.join().unwrap();
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
}

const CHILD_LOCK: &str = "LLMAUTH_TEST_CHILD_LOCK";

/// Parent: a child process takes the lock and is killed; the lock must come free.
/// Child (when `LLMAUTH_TEST_CHILD_LOCK` names a lock file): take it, say so, and hold it
/// until killed.
#[test]
fn a_lock_is_released_when_its_holder_process_dies() {
    if let Ok(path) = std::env::var(CHILD_LOCK) {
        let guard = lock::acquire(std::path::Path::new(&path), None).unwrap();
        assert!(guard.is_some());
        println!("CHILD-HOLDS-LOCK");
        std::thread::sleep(Duration::from_secs(30));
        return;
    }
    let (_dir, paths) = temp_paths();
    let lock_file = paths.lock_file(&name());
    let mut child = KillOnDrop(spawn_self(
        "locks::a_lock_is_released_when_its_holder_process_dies",
        &[(CHILD_LOCK, lock_file.to_str().unwrap())],
    ));
    let stdout = child.0.stdout.take().unwrap();
    let locked = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("CHILD-HOLDS-LOCK"));
    assert!(locked, "the child process did not take the lock");

    let mut io = quiet_io(paths.clone());
    assert_eq!(lock(&mut io, None), LockOutcome::Busy);
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert_eq!(
        lock(&mut io, Some(Duration::from_secs(2))),
        LockOutcome::Acquired
    );
}

#[test]
fn with_lock_runs_the_closure_or_reports_busy() {
    let (_dir, paths) = temp_paths();
    let config_lock = paths.named_lock_file("config");
    let value = llmauth_blocking::with_lock(&config_lock, Duration::from_secs(1), || 42).unwrap();
    assert_eq!(value, 42);

    let held = lock::acquire(&config_lock, None).unwrap().unwrap();
    let start = Instant::now();
    let err = llmauth_blocking::with_lock(&config_lock, Duration::from_millis(100), || {
        panic!("must not run while the lock is held")
    })
    .unwrap_err();
    assert!(matches!(err, LockError::Busy(_)), "{err:?}");
    assert!(start.elapsed() >= Duration::from_millis(90));
    drop(held);
    assert_eq!(
        llmauth_blocking::with_lock(&config_lock, Duration::ZERO, || "free").unwrap(),
        "free"
    );
}
