//! The exclusive advisory locks a flow takes.

use super::key::SessionKey;

/// Names of the exclusive advisory locks a flow takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockName {
    /// `$STATE/locks/<key>.lock`: one refresh or login at a time per session.
    Session(SessionKey),
}
