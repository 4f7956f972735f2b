//! Writing and deleting the session's records, in the order that never loses a rotated
//! refresh token and never lets another process hand out a token that is gone.

use super::shell::{Progress, Shell};
use crate::error::FlowError;
use crate::intent::{Intent, IntentResult, Notice};
use crate::secret::SecretBytes;
use crate::store::{Backend, SessionRecords, Slot};

/// Which write of the session is in flight; `C` is what the goal continues with.
pub(super) enum PersistStep<C> {
    /// The keychain's refresh-token record; the access-token cache comes next.
    Keychain {
        access: Option<Box<SecretBytes>>,
        then: C,
    },
    /// The session file with both records.
    SessionFile(C),
    /// The access-token cache.
    AccessCache(C),
}

/// What a deletion of the session waits for; `C` is what the goal continues with.
pub(super) enum DeleteStep<C> {
    /// The access-token cache, deleted first; the keychain record comes next.
    AccessCacheDeleted(Deleting<C>),
    /// The record holding the refresh token.
    SessionDeleted(Deleting<C>),
}

/// A deletion in progress.
pub(super) struct Deleting<C> {
    then: C,
    /// A failed deletion ends the flow (logout); otherwise it is ignored (a dead session
    /// that could not be deleted is still dead).
    strict: bool,
}

/// Writes the session: the refresh-token record first (so a rotated refresh token is
/// never lost), then the access-token record. With the keyring backend an unchanged
/// refresh-token record is not written again.
pub(super) fn write<C, S: From<PersistStep<C>>>(
    shell: &mut Shell<S>,
    records: SessionRecords,
    refresh_changed: bool,
    then: C,
) -> Progress<C> {
    shell.session = records;
    let access_bytes = shell.session.access.as_ref().map(|access| {
        SessionRecords {
            refresh: None,
            access: Some(access.clone()),
        }
        .encode()
    });
    match shell.ctx.backend {
        Backend::File => {
            let bytes = shell.session.encode();
            let slot = Slot::SessionFile(shell.key().clone());
            shell.perform(
                Intent::Write { slot, bytes },
                PersistStep::SessionFile(then),
            );
        }
        Backend::Keyring if refresh_changed => {
            let bytes = SessionRecords {
                refresh: shell.session.refresh.clone(),
                access: None,
            }
            .encode();
            let slot = Slot::Keychain(shell.key().clone());
            let access = access_bytes.map(Box::new);
            shell.perform(
                Intent::Write { slot, bytes },
                PersistStep::Keychain { access, then },
            );
        }
        Backend::Keyring => match access_bytes {
            Some(bytes) => write_access_cache(shell, bytes, then),
            None => return Ok(Some(then)),
        },
    }
    Ok(None)
}

pub(super) fn on_written<C, S: From<PersistStep<C>>>(
    shell: &mut Shell<S>,
    step: PersistStep<C>,
    result: IntentResult,
) -> Progress<C> {
    let stored = result.into_stored()?;
    match step {
        PersistStep::Keychain { access, then } => {
            stored.map_err(FlowError::Store)?;
            match access {
                Some(bytes) => write_access_cache(shell, *bytes, then),
                None => return Ok(Some(then)),
            }
            Ok(None)
        }
        PersistStep::SessionFile(then) => {
            stored.map_err(FlowError::Store)?;
            Ok(Some(then))
        }
        PersistStep::AccessCache(then) => {
            // The refresh token is safe in the keychain; a missing cache costs one refresh.
            if let Err(error) = stored {
                shell.notify(Notice::AccessCacheNotWritten {
                    reason: error.to_string(),
                });
            }
            Ok(Some(then))
        }
    }
}

fn write_access_cache<C, S: From<PersistStep<C>>>(
    shell: &mut Shell<S>,
    bytes: SecretBytes,
    then: C,
) {
    let slot = Slot::AccessCache(shell.key().clone());
    shell.perform(
        Intent::Write { slot, bytes },
        PersistStep::AccessCache(then),
    );
}

/// Deletes the session's records: the access-token cache first, so no process can hand
/// out the old token, then the refresh token.
pub(super) fn delete<C, S: From<DeleteStep<C>>>(shell: &mut Shell<S>, then: C, strict: bool) {
    let deleting = Deleting { then, strict };
    match shell.ctx.backend {
        Backend::Keyring => {
            let slot = Slot::AccessCache(shell.key().clone());
            shell.perform(
                Intent::Delete(slot),
                DeleteStep::AccessCacheDeleted(deleting),
            );
        }
        Backend::File => {
            let slot = Slot::SessionFile(shell.key().clone());
            shell.perform(Intent::Delete(slot), DeleteStep::SessionDeleted(deleting));
        }
    }
}

pub(super) fn on_deleted<C, S: From<DeleteStep<C>>>(
    shell: &mut Shell<S>,
    step: DeleteStep<C>,
    result: IntentResult,
) -> Progress<C> {
    let stored = result.into_stored()?;
    match step {
        DeleteStep::AccessCacheDeleted(deleting) => {
            if deleting.strict {
                stored.map_err(FlowError::Store)?;
            }
            let slot = Slot::Keychain(shell.key().clone());
            shell.perform(Intent::Delete(slot), DeleteStep::SessionDeleted(deleting));
            Ok(None)
        }
        DeleteStep::SessionDeleted(deleting) => {
            shell.session = SessionRecords::default();
            if deleting.strict {
                stored.map_err(FlowError::Store)?;
            }
            Ok(Some(deleting.then))
        }
    }
}
