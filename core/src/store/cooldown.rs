//! The sign-in cooldown: after a browser-only sign-in was abandoned, helpers do not open
//! the browser again for a while (SPEC §2).

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::UnixTime;

/// How long helpers leave the browser alone after a sign-in nobody completed: long enough
/// that a tool calling its helper every few seconds does not open tab after tab while the
/// person is away, short enough that a returning person is not locked out for long
/// (`llmauth login` ends it at once).
pub const SIGN_IN_COOLDOWN: Duration = Duration::from_secs(10 * 60);

/// `$STATE/locks/<key>.cooldown`: a browser-only sign-in was abandoned at `since`; until
/// `until`, helpers exit 3 at once instead of opening the browser again. Not secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInCooldown {
    /// When the abandoned sign-in gave up (Unix milliseconds).
    pub since: u64,
    /// When helpers may open the browser again (Unix milliseconds).
    pub until: u64,
}

impl SignInCooldown {
    /// The cooldown that starts when a sign-in is abandoned at `now`.
    pub fn starting(now: UnixTime) -> Self {
        Self {
            since: now.as_millis(),
            until: now.saturating_add(SIGN_IN_COOLDOWN).as_millis(),
        }
    }

    /// Reads a stored cooldown; anything unreadable counts as none (it only ever holds
    /// back a browser, so losing it is harmless).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// When helpers may open the browser again.
    pub fn until(&self) -> UnixTime {
        UnixTime::from_millis(self.until)
    }

    /// Whether it still holds helpers back at `now`.
    pub fn active(&self, now: UnixTime) -> bool {
        now < self.until()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lasts_ten_minutes_and_survives_a_round_trip() {
        let start = UnixTime::from_secs(1_000);
        let cooldown = SignInCooldown::starting(start);
        assert_eq!(SignInCooldown::decode(&cooldown.encode()), Some(cooldown));
        assert!(cooldown.active(start.saturating_add(Duration::from_secs(599))));
        assert!(!cooldown.active(start.saturating_add(SIGN_IN_COOLDOWN)));
        assert_eq!(SignInCooldown::decode(b"{nope"), None);
    }
}
