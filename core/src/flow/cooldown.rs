//! The sign-in cooldown (SPEC §2): a browser-only sign-in nobody completed holds later
//! browser-only calls back for a while, so a tool calling its helper again and again does
//! not open tab after tab while the person is away. Read only on the way to a sign-in
//! (never on the fast path), started when such a sign-in runs out of time, ended by any
//! completed sign-in (`llmauth login` among them).

use super::shell::{Progress, Shell};
use crate::error::{FlowError, NeedsLogin};
use crate::intent::{Intent, IntentResult};
use crate::secret::SecretBytes;
use crate::store::{SignInCooldown, Slot};
use crate::time::UnixTime;

/// The cooldown record was being read before a browser-only sign-in.
pub(super) struct CooldownRead;

/// Before a sign-in: a browser-only one reads the cooldown first (`Ok(None)`: wait for
/// [`on_read`]); any other goes ahead at once.
pub(super) fn check<S: From<CooldownRead>>(shell: &mut Shell<S>) -> Progress<()> {
    if !shell.ctx.interaction.browser_only {
        return Ok(Some(()));
    }
    let slot = Slot::SignInCooldown(shell.key().clone());
    shell.perform(Intent::Read(slot), CooldownRead);
    Ok(None)
}

/// The sign-in may go ahead unless a cooldown holds it back at `now`. An unreadable
/// record holds nothing back: it only ever spares the person a browser tab.
pub(super) fn on_read(now: UnixTime, result: IntentResult) -> Progress<()> {
    let cooldown = result
        .into_read()?
        .ok()
        .flatten()
        .and_then(|bytes| SignInCooldown::decode(bytes.expose_secret()));
    match cooldown {
        Some(cooldown) if cooldown.active(now) => {
            Err(FlowError::NeedsLogin(NeedsLogin::SignInCoolingDown {
                until: cooldown.until(),
            }))
        }
        Some(_) | None => Ok(Some(())),
    }
}

/// A browser-only sign-in ran out of time at `now`: starts the cooldown, and returns the
/// error the call ends with.
pub(super) fn start<S>(shell: &mut Shell<S>, now: UnixTime) -> FlowError {
    let cooldown = SignInCooldown::starting(now);
    shell.fire(Intent::Write {
        slot: Slot::SignInCooldown(shell.key().clone()),
        bytes: SecretBytes::new(cooldown.encode()),
    });
    FlowError::NeedsLogin(NeedsLogin::SignInCoolingDown {
        until: cooldown.until(),
    })
}

/// A sign-in completed: whatever cooldown there was is over.
pub(super) fn end<S>(shell: &mut Shell<S>) {
    shell.fire(Intent::Delete(Slot::SignInCooldown(shell.key().clone())));
}
