//! Reading the session under the lock: another process may have refreshed, rotated or
//! deleted it since the fast path looked. An unreadable session is left alone when no
//! login may follow, and moved aside (never destroyed) before one.

use super::shell::{Progress, Shell};
use crate::error::{FlowError, NeedsLogin};
use crate::intent::{Intent, IntentResult, Notice};
use crate::secret::SecretBytes;
use crate::store::{AccessRecord, Backend, SessionRecords, Slot, StoreError};

/// What the session read waits for; `C` is what the goal continues with.
pub(super) enum SessionStep<C> {
    /// The access-token cache (keyring backend), read first.
    AccessCacheRead(C),
    /// The slot holding the refresh token.
    RefreshSlotRead(C),
    /// The unreadable session was being moved aside.
    MovedAside { reason: String },
}

/// How a session read ended.
pub(super) enum SessionRead<C> {
    /// The keyring's access-token cache is read (into `session.access`): a waiter may
    /// be answered from it without touching the keychain; otherwise continue with
    /// [`read_refresh_slot`].
    AccessCache(C),
    /// Both records are read (into `session`).
    Complete(C),
    /// The session was unreadable and has been moved aside: a new sign-in follows.
    MovedAside,
}

/// Re-reads the session. With the keyring backend the access-token cache is read first:
/// when another process has just refreshed, its token is served without a keychain round
/// trip, which keeps fifty waiters queued on the lock quick.
pub(super) fn start<C, S: From<SessionStep<C>>>(shell: &mut Shell<S>, then: C) {
    match shell.ctx.backend {
        Backend::File => read_refresh_slot(shell, then),
        Backend::Keyring => {
            let slot = Slot::AccessCache(shell.key().clone());
            shell.perform(Intent::Read(slot), SessionStep::AccessCacheRead(then));
        }
    }
}

/// Reads the slot holding the refresh token.
pub(super) fn read_refresh_slot<C, S: From<SessionStep<C>>>(shell: &mut Shell<S>, then: C) {
    let slot = shell.ctx.backend.refresh_slot(shell.key());
    shell.perform(Intent::Read(slot), SessionStep::RefreshSlotRead(then));
}

pub(super) fn on_result<C, S: From<SessionStep<C>>>(
    shell: &mut Shell<S>,
    step: SessionStep<C>,
    result: IntentResult,
) -> Progress<SessionRead<C>> {
    match step {
        SessionStep::AccessCacheRead(then) => {
            shell.session.access = access_record(result.into_read()?);
            Ok(Some(SessionRead::AccessCache(then)))
        }
        SessionStep::RefreshSlotRead(then) => {
            let records = match result.into_read()? {
                Err(error) => return Err(FlowError::Store(error)),
                Ok(None) => SessionRecords::default(),
                Ok(Some(bytes)) => match SessionRecords::decode(bytes.expose_secret()) {
                    Ok(records) => records,
                    Err(corrupt) => return move_aside(shell, corrupt.reason),
                },
            };
            match shell.ctx.backend {
                Backend::File => shell.session = records,
                Backend::Keyring => shell.session.refresh = records.refresh,
            }
            Ok(Some(SessionRead::Complete(then)))
        }
        SessionStep::MovedAside { reason } => {
            if let Err(error) = result.into_stored()? {
                return Err(FlowError::Store(error));
            }
            shell.notify(Notice::SessionMovedAside { reason });
            shell.session = SessionRecords::default();
            Ok(Some(SessionRead::MovedAside))
        }
    }
}

/// An unreadable session: left alone without a login, moved aside before one.
fn move_aside<C, S: From<SessionStep<C>>>(
    shell: &mut Shell<S>,
    reason: String,
) -> Progress<SessionRead<C>> {
    if !shell.interactive() {
        return Err(FlowError::NeedsLogin(NeedsLogin::CorruptSession { reason }));
    }
    let slot = shell.ctx.backend.refresh_slot(shell.key());
    shell.perform(Intent::MoveAside(slot), SessionStep::MovedAside { reason });
    Ok(None)
}

/// The access-token record in what a read returned. The access token is a cache: a
/// missing, unreadable or corrupt record is simply no token.
pub(super) fn access_record(read: Result<Option<SecretBytes>, StoreError>) -> Option<AccessRecord> {
    let bytes = read.ok()??;
    SessionRecords::decode(bytes.expose_secret()).ok()?.access
}
