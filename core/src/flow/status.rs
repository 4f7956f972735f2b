//! `status`: what the stored session says, computed from the records read — no lock, no
//! network, no flow.

use core::time::Duration;

use crate::provider::TokenKind;
use crate::store::{Backend, SessionKey, SessionRecords, SignInCooldown, Slot};
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
    /// When the cached access token was issued: the session's last success.
    pub access_issued_at: Option<UnixTime>,
    /// The lifetime the IdP granted the cached access token, when known.
    pub access_lifetime: Option<Duration>,
    /// Why the stored session is unreadable, if it is.
    pub corrupt: Option<String>,
    /// Until when helpers do not open the browser, after a sign-in nobody completed.
    pub sign_in_cooldown: Option<UnixTime>,
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
            access_issued_at: access.as_ref().map(|a| a.issued_at),
            access_lifetime: access.as_ref().and_then(|a| a.lifetime),
            corrupt,
            sign_in_cooldown: None,
        }
    }

    /// The same, with the sign-in cooldown as its slot holds it (`None`: absent), when it
    /// still holds helpers back at `now`.
    #[must_use]
    pub fn with_cooldown(self, stored: Option<&[u8]>, now: UnixTime) -> Self {
        let cooldown = stored
            .and_then(SignInCooldown::decode)
            .filter(|cooldown| cooldown.active(now));
        Self {
            sign_in_cooldown: cooldown.map(|cooldown| cooldown.until()),
            ..self
        }
    }

    /// Whether a helper failure at `failed_at` is still news: no token was issued since
    /// (a later refresh or sign-in fixed it).
    pub fn failure_is_current(&self, failed_at: UnixTime) -> bool {
        self.access_issued_at
            .is_none_or(|succeeded| failed_at > succeeded)
    }

    /// The refresh margin of the cached token (SPEC §5), when one is cached: a tool that
    /// caches a printed token longer than this may use it past the point `token` would
    /// have refreshed it.
    pub fn refresh_margin(&self, refresh_window: Duration) -> Option<Duration> {
        self.access_issued_at
            .map(|_| token::refresh_margin(self.access_lifetime, refresh_window))
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

    #[test]
    fn a_failure_shows_until_a_token_is_issued_after_it() {
        let status = SessionStatus::of(None, Some(&cache(300)), T0, TokenKind::Access);
        assert_eq!(status.access_issued_at, Some(T0));
        assert!(!status.failure_is_current(T0.saturating_sub(Duration::from_secs(1))));
        assert!(status.failure_is_current(T0.saturating_add(Duration::from_secs(1))));
        assert!(SessionStatus::default().failure_is_current(T0));
    }

    #[test]
    fn the_margin_and_the_cooldown_of_what_is_stored() {
        let window = Duration::from_secs(600);
        let status = SessionStatus::of(None, Some(&cache(300)), T0, TokenKind::Access);
        assert_eq!(
            status.refresh_margin(window),
            Some(Duration::from_secs(150))
        );
        assert_eq!(SessionStatus::default().refresh_margin(window), None);
        let cooldown = SignInCooldown::starting(T0);
        let held = status.clone().with_cooldown(Some(&cooldown.encode()), T0);
        assert_eq!(held.sign_in_cooldown, Some(cooldown.until()));
        let over = status.with_cooldown(Some(&cooldown.encode()), cooldown.until());
        assert_eq!(over.sign_in_cooldown, None);
    }
}
