//! Taking the session lock: try once; when busy, look for another process's login
//! marker (a non-interactive caller stops there, an interactive one is told once, a
//! browser-only one waits for that sign-in) and wait in short slices until the budget is
//! spent.

use core::time::Duration;

use super::shell::{Progress, Shell};
use crate::error::{FlowError, NeedsLogin};
use crate::intent::{Intent, IntentResult, LockOutcome, Notice};
use crate::store::{LoginMarker, Slot, StoreErrorKind};
use crate::time::UnixTime;

/// Slice of a lock wait between checks of the login marker.
const LOCK_SLICE: Duration = Duration::from_millis(250);
/// How long an interactive caller waits for another process's login to finish.
const INTERACTIVE_LOCK_WAIT: Duration = Duration::from_secs(360);

/// A wait for the lock in progress.
pub(super) struct LockWait {
    /// When to give up.
    deadline: UnixTime,
    /// The URL of the other process's login, once its marker was seen (and announced).
    login_elsewhere: Option<String>,
}

/// What the lock phase waits for.
pub(super) enum LockStep {
    /// A lock attempt, the first or after a slice of waiting.
    Locking(LockWait),
    /// The login marker of whoever holds the lock.
    MarkerRead(LockWait),
}

/// Tries the lock once.
pub(super) fn start<S: From<LockStep>>(shell: &mut Shell<S>, now: UnixTime) {
    // Only calls a tool waits for have a budget; a person at a terminal waits longer.
    let deadline = shell
        .ctx
        .deadline
        .unwrap_or_else(|| now.saturating_add(INTERACTIVE_LOCK_WAIT));
    let wait = LockWait {
        deadline,
        login_elsewhere: None,
    };
    let name = shell.lock_name();
    shell.perform(Intent::Lock { name, until: None }, LockStep::Locking(wait));
}

/// Handles a lock attempt or a marker read; ends when the lock is held.
pub(super) fn on_result<S: From<LockStep>>(
    shell: &mut Shell<S>,
    step: LockStep,
    now: UnixTime,
    result: IntentResult,
) -> Progress<()> {
    match step {
        LockStep::Locking(wait) => match result.into_lock()? {
            Ok(LockOutcome::Acquired) => {
                shell.lock_acquired();
                Ok(Some(()))
            }
            // A sign-in elsewhere that outlasted the budget is a sign-in still needed.
            Ok(LockOutcome::Busy) if now >= wait.deadline => Err(match wait.login_elsewhere {
                Some(url) => FlowError::NeedsLogin(NeedsLogin::LoginInProgress { url }),
                None => FlowError::LockTimeout,
            }),
            // Someone else holds the lock: a login in progress is announced by its marker.
            Ok(LockOutcome::Busy) => {
                let slot = Slot::LoginMarker(shell.key().clone());
                shell.perform(Intent::Read(slot), LockStep::MarkerRead(wait));
                Ok(None)
            }
            Err(error) => Err(FlowError::Store(error)),
        },
        LockStep::MarkerRead(mut wait) => {
            let marker = match result.into_read()? {
                Ok(Some(bytes)) => {
                    serde_json::from_slice::<LoginMarker>(bytes.expose_secret()).ok()
                }
                // A marker another user could have written names their URL: never shown.
                Err(error) if error.kind == StoreErrorKind::UntrustedState => {
                    return Err(FlowError::Store(error));
                }
                Ok(None) | Err(_) => None,
            };
            if let Some(marker) = marker {
                if !shell.interactive() {
                    let url = marker.url;
                    return Err(FlowError::NeedsLogin(NeedsLogin::LoginInProgress { url }));
                }
                if wait.login_elsewhere.is_none() {
                    wait.login_elsewhere = Some(marker.url.clone());
                    shell.notify(Notice::LoginInProgressElsewhere {
                        url: marker.url,
                        user_code: marker.user_code,
                    });
                }
            }
            let until = now.saturating_add(LOCK_SLICE).min(wait.deadline);
            let name = shell.lock_name();
            shell.perform(
                Intent::Lock {
                    name,
                    until: Some(until),
                },
                LockStep::Locking(wait),
            );
            Ok(None)
        }
    }
}
