//! The marker of a login in progress, which lets waiting processes show the same URL.

use serde::{Deserialize, Serialize};

/// The marker a login holder writes so that waiters show the same URL or code instead of
/// opening a second browser tab (SPEC §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginMarker {
    /// Process id of the login holder.
    pub pid: u32,
    /// The authorization or verification URL.
    pub url: String,
    /// The device flow's user code, if any.
    #[serde(default)]
    pub user_code: Option<String>,
}
