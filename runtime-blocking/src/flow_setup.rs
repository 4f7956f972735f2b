//! [`FlowSetup`]: the one place a flow and its performer are assembled — context,
//! entropy, flow, [`BlockingIo`] — for the command line and the proxy alike; each then
//! only picks where notices go and drives.

use std::time::Duration;

use llmauth_core::error::FlowError;
use llmauth_core::flow::{FlowContext, FlowSettings, Goal, Interaction, SessionStatus, TokenFlow};
use llmauth_core::secret::SecretBytes;
use llmauth_core::store::{Backend, Slot, StoreError};

use crate::io::{BlockingIo, IoOptions};
use crate::paths::Paths;
use crate::{clock, entropy};

/// What token flows need: the settings, where the session lives, and what a sign-in may
/// do when one is allowed.
#[derive(Clone, Debug)]
pub struct FlowSetup {
    /// From the configuration.
    pub settings: FlowSettings,
    /// The resolved session backend.
    pub backend: Backend,
    /// What a sign-in may do (browser, printed URL, device code); [`Interaction::NONE`]
    /// when no sign-in may start.
    pub interaction: Interaction,
    /// Config, state and runtime directories.
    pub paths: Paths,
    /// `tls.ca_file` for IdP requests.
    pub io_options: IoOptions,
}

impl FlowSetup {
    /// Starts a flow towards `goal` now, with the performer for it (notices go to standard
    /// error unless the caller picks another sink). `budget` bounds a non-interactive
    /// call; with `may_sign_in` false the flow never signs in, whatever `interaction`
    /// allows (the proxy's first flow, which must not open a browser unasked).
    ///
    /// # Errors
    /// [`FlowError::Entropy`] when the OS gives no randomness for PKCE and `state`.
    pub fn start<G: Goal>(
        &self,
        goal: G,
        may_sign_in: bool,
        budget: Option<Duration>,
    ) -> Result<(TokenFlow<G>, BlockingIo), FlowError> {
        let now = clock::now();
        let ctx = FlowContext {
            backend: self.backend,
            interaction: if may_sign_in {
                self.interaction
            } else {
                Interaction::NONE
            },
            deadline: budget.map(|budget| now.saturating_add(budget)),
            pid: std::process::id(),
        };
        let entropy = entropy().map_err(FlowError::Entropy)?;
        let flow = TokenFlow::new(self.settings.clone(), ctx, goal, entropy, now);
        let io = BlockingIo::new(self.paths.clone(), self.io_options.clone());
        Ok((flow, io))
    }

    /// `status`: the stored session as core judges it now, read without the lock.
    ///
    /// # Errors
    /// The [`StoreError`] of reading the refresh-token slot (an unreadable access-token
    /// cache is only no token).
    pub fn session_status(&self) -> Result<SessionStatus, StoreError> {
        let key = &self.settings.session_key;
        let (refresh_slot, cache_slot) = SessionStatus::slots(self.backend, key);
        let mut io = BlockingIo::new(self.paths.clone(), self.io_options.clone());
        let refresh = io.read(&refresh_slot)?;
        let cache = cache_slot.and_then(|slot| io.read(&slot).ok().flatten());
        let cooldown = io.read(&Slot::SignInCooldown(key.clone())).ok().flatten();
        let refresh = refresh.as_ref().map(SecretBytes::expose_secret);
        let access = cache.as_ref().map(SecretBytes::expose_secret);
        let now = clock::now();
        Ok(
            SessionStatus::of(refresh, access, now, self.settings.token_kind)
                .with_cooldown(cooldown.as_ref().map(SecretBytes::expose_secret), now),
        )
    }
}
