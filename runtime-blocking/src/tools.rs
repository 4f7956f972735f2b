//! The I/O of `llmauth setup` / `teardown` / `status`: reading the environment, finding
//! tools, reading and writing their files, locks, receipts and the gateway probe, and
//! performing the steps of setup's transaction and of teardown in the order core gives
//! them. Every decision is in `llmauth_core::setup`.

mod detect;
pub mod drift;
pub(crate) mod files;
pub mod managed;
mod probe;
pub(crate) mod receipts;
pub mod retune;
pub mod settings;
pub mod setup;
pub(crate) mod steps;
pub mod teardown;

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::tool::{Environment, Tool};

use crate::lock::LockError;

pub use detect::environment;

/// The tools installed on this machine, in `Tool::ALL` order.
pub fn installed(env: &Environment) -> Vec<Tool> {
    Tool::ALL
        .into_iter()
        .filter(|tool| detect::installed(*tool, env))
        .collect()
}

impl From<LockError> for SetupError {
    fn from(error: LockError) -> Self {
        match error {
            LockError::Busy(lock) => Self::LockBusy(lock),
            LockError::Io(lock) => Self::LockUnusable(lock),
        }
    }
}
