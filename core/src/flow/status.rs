//! `status`: what the stored session says, computed from the records read — no lock, no
//! network, no flow.

use crate::store::SessionRecords;
use crate::time::UnixTime;
use crate::token;

/// The stored session as `status` shows it (no secrets).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SessionStatus {
    /// A refresh token is stored.
    pub refresh_token: bool,
    /// The previous refresh's answer was lost.
    pub maybe_spent: bool,
    /// The stored user.
    pub sub: Option<String>,
    /// An access token is cached, expiring then.
    pub access_expires_at: Option<Option<UnixTime>>,
    /// The access token is still valid now.
    pub access_valid: bool,
    /// Why the stored session is unreadable, if it is.
    pub corrupt: Option<String>,
}

impl SessionStatus {
    /// What `status` shows at `now`, from what the backend's refresh-token slot
    /// ([`Backend::refresh_slot`](crate::store::Backend::refresh_slot)) and access-token
    /// slot ([`Backend::access_slot`](crate::store::Backend::access_slot)) hold — one and
    /// the same file for the file backend. `None` is an absent slot; the driver passes an
    /// unreadable access slot as absent too, since the access token is only a cache.
    pub fn of(refresh_slot: Option<&[u8]>, access_slot: Option<&[u8]>, now: UnixTime) -> Self {
        let (refresh, corrupt) = match refresh_slot.map(SessionRecords::decode) {
            None => (None, None),
            Some(Ok(records)) => (records.refresh, None),
            Some(Err(error)) => (None, Some(error.reason)),
        };
        let access = access_slot.and_then(|bytes| SessionRecords::decode(bytes).ok()?.access);
        Self {
            refresh_token: refresh.is_some(),
            maybe_spent: refresh.as_ref().is_some_and(|r| r.maybe_spent),
            sub: refresh.map(|r| r.sub).filter(|s| !s.is_empty()),
            access_expires_at: access.as_ref().map(|a| a.expires_at),
            access_valid: access.as_ref().is_some_and(|a| token::is_valid(a, now)),
            corrupt,
        }
    }

    /// Whether `token` can answer without a login: a valid access token, or a readable
    /// session with a refresh token.
    pub fn is_usable(&self) -> bool {
        self.access_valid || (self.refresh_token && self.corrupt.is_none())
    }
}
