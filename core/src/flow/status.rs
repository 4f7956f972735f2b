//! `status`: what the stored session says, computed from the records read — no lock, no
//! network, no flow.

use crate::provider::TokenKind;
use crate::store::{Backend, SessionKey, SessionRecords, Slot};
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
    /// A token to hand out is cached (the access token, or the ID token with
    /// `token_kind: id`), expiring then.
    pub access_expires_at: Option<Option<UnixTime>>,
    /// That token is still valid now.
    pub access_valid: bool,
    /// Why the stored session is unreadable, if it is.
    pub corrupt: Option<String>,
}

impl SessionStatus {
    /// The slots `status` reads for `backend`: the one holding the refresh token, and the
    /// access-token cache when that is another slot (keyring; the file backend keeps both
    /// records in one file).
    pub fn slots(backend: Backend, key: &SessionKey) -> (Slot, Option<Slot>) {
        let refresh = backend.refresh_slot(key);
        let access = backend.access_slot(key);
        let cache = (access != refresh).then_some(access);
        (refresh, cache)
    }

    /// What `status` shows at `now`, from what those slots hold: `None` is an absent slot,
    /// and the driver passes an unreadable access-token cache as absent too (it is only a
    /// cache). Without a separate cache, the access token is the refresh slot's. `kind` is
    /// the token handed out, whose expiry is shown.
    pub fn of(
        refresh_slot: Option<&[u8]>,
        access_cache: Option<&[u8]>,
        now: UnixTime,
        kind: TokenKind,
    ) -> Self {
        let (records, corrupt) = match refresh_slot.map(SessionRecords::decode) {
            None => (SessionRecords::default(), None),
            Some(Ok(records)) => (records, None),
            Some(Err(error)) => (SessionRecords::default(), Some(error.reason)),
        };
        let cached = access_cache.and_then(|bytes| SessionRecords::decode(bytes).ok()?.access);
        let refresh = records.refresh;
        let access = cached.or(records.access).and_then(|a| a.handout(kind));
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

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;
    use crate::secret::AccessToken;
    use crate::store::AccessRecord;
    use crate::testing::{T0, settings};

    fn cache(valid_for: u64) -> Vec<u8> {
        let access = AccessRecord {
            access_token: AccessToken::new("CANARY-at"),
            expires_at: Some(T0.saturating_add(Duration::from_secs(valid_for))),
            issued_at: T0,
            lifetime: Some(Duration::from_secs(valid_for)),
            generation: 1,
            id_token: None,
        };
        let records = SessionRecords {
            refresh: None,
            access: Some(access),
        };
        records.encode().expose_secret().to_vec()
    }

    #[test]
    fn the_keyring_reads_its_cache_and_the_file_backend_one_file() {
        let key = settings().session_key;
        assert_eq!(
            SessionStatus::slots(Backend::Keyring, &key),
            (
                Slot::Keychain(key.clone()),
                Some(Slot::AccessCache(key.clone()))
            )
        );
        assert_eq!(
            SessionStatus::slots(Backend::File, &key),
            (Slot::SessionFile(key), None)
        );
    }

    #[test]
    fn a_corrupt_session_with_a_valid_cached_token_is_still_usable() {
        let access = TokenKind::Access;
        let status = SessionStatus::of(
            Some(b"{\"version\":1,\"refresh\":"),
            Some(&cache(300)),
            T0,
            access,
        );
        assert!(status.corrupt.is_some() && !status.refresh_token);
        assert!(status.access_valid && status.is_usable());
        let expired = SessionStatus::of(Some(b"not json"), Some(&cache(3)), T0, access);
        assert!(!expired.is_usable());
        assert_eq!(
            SessionStatus::of(None, None, T0, access),
            SessionStatus::default()
        );
        // Handing out the ID token, a cache without one holds nothing to hand out.
        let id = SessionStatus::of(None, Some(&cache(300)), T0, TokenKind::Id);
        assert_eq!(id.access_expires_at, None);
    }
}
