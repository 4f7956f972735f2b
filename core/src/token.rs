//! Token lifetime rules (SPEC §5): when a cached token is good enough to hand out, when it
//! must be refreshed, and how long tools may cache what we print.

use core::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::id_token::Verified;
use crate::provider::TokenKind;
use crate::secret::{AccessToken, IdToken};
use crate::store::{AccessRecord, IdTokenRecord};
use crate::time::UnixTime;

/// Lifetime assumed for a token whose expiry nobody told us (no `expires_in`, not a JWT
/// with `exp`): five minutes, short enough that an opaque token is refreshed well before
/// any IdP's usual lifetime ends (requirement 13 of the quirks reference).
pub const ASSUMED_LIFETIME: Duration = Duration::from_secs(300);

/// A token still "valid" must have at least this long left, so it is not dead on arrival.
const VALIDITY_SKEW: Duration = Duration::from_secs(5);

/// An access token ready to hand out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The token.
    pub access_token: AccessToken,
    /// When it expires, if known.
    pub expires_at: Option<UnixTime>,
    /// The lifetime the IdP granted, if known.
    pub lifetime: Option<Duration>,
    /// The session generation it came from.
    pub generation: u64,
    /// This flow got the token from the IdP (a refresh or a sign-in) rather than from
    /// the store: only then may its lifetime differ from what tools were told, and only
    /// then is there a success worth recording — the fast path does neither.
    pub newly_issued: bool,
}

impl Credential {
    /// The token the IdP just issued, recorded in `record`.
    pub(crate) fn issued(record: &AccessRecord) -> Self {
        Self {
            newly_issued: true,
            ..Self::from(record)
        }
    }
}

impl From<&AccessRecord> for Credential {
    /// A token read from the store.
    fn from(record: &AccessRecord) -> Self {
        Self {
            access_token: record.access_token.clone(),
            expires_at: record.expires_at,
            lifetime: record.lifetime,
            generation: record.generation,
            newly_issued: false,
        }
    }
}

/// The refresh margin: refresh when less than min(`refresh_window`, lifetime / 2) is left,
/// so short-lived tokens (5 min, Keycloak's default) are used for half their life instead
/// of being refreshed on every call.
pub fn refresh_margin(lifetime: Option<Duration>, refresh_window: Duration) -> Duration {
    match lifetime {
        Some(lifetime) => refresh_window.min(lifetime / 2),
        None => refresh_window.min(ASSUMED_LIFETIME / 2),
    }
}

/// When the record stops being valid at all.
pub fn expiry(record: &AccessRecord) -> UnixTime {
    record
        .expires_at
        .unwrap_or_else(|| record.issued_at.saturating_add(ASSUMED_LIFETIME))
}

/// Whether the cached token can be handed out without refreshing: more than the margin
/// (raised to `min_valid` for this call) is left.
pub fn is_fresh(
    record: &AccessRecord,
    now: UnixTime,
    refresh_window: Duration,
    min_valid: Duration,
) -> bool {
    let margin = refresh_margin(record.lifetime, refresh_window)
        .max(min_valid)
        .max(VALIDITY_SKEW);
    expiry(record) > now.saturating_add(margin)
}

/// Whether the token still works at all (used when a refresh failed transiently).
pub fn is_valid(record: &AccessRecord, now: UnixTime) -> bool {
    is_valid_for(record, now, Duration::ZERO)
}

/// Whether the token stays valid for at least `min_valid` (and the skew) from `now`: the
/// promise `--min-valid` makes for whatever is handed out.
pub fn is_valid_for(record: &AccessRecord, now: UnixTime, min_valid: Duration) -> bool {
    expiry(record) > now.saturating_add(min_valid.max(VALIDITY_SKEW))
}

/// When a holder of this record should refresh (the proxy refreshes ahead of this).
pub fn refresh_due_at(record: &AccessRecord, refresh_window: Duration) -> UnixTime {
    expiry(record).saturating_sub(refresh_margin(record.lifetime, refresh_window))
}

/// How often tools should call the helper: clamp(lifetime / 3, 60 s, 300 s), 300 s when
/// the lifetime is unknown, so a printed token always outlives the tool's cache interval.
pub fn helper_interval(lifetime: Option<Duration>) -> Duration {
    lifetime.map_or(Duration::from_secs(300), |l| {
        (l / 3).clamp(Duration::from_secs(60), Duration::from_secs(300))
    })
}

/// The record of an access token received at `now`: its expiry from `expires_in`, or
/// from the JWT's `exp` when the IdP did not say (and [`ASSUMED_LIFETIME`] when neither
/// says), with the ID token kept beside it when that is what is handed out.
pub(crate) fn access_record(
    token: AccessToken,
    expires_in: Option<Duration>,
    now: UnixTime,
    generation: u64,
    id_token: Option<IdTokenRecord>,
) -> AccessRecord {
    let expires_at = match expires_in {
        Some(lifetime) => Some(now.saturating_add(lifetime)),
        None => jwt_expiry(&token),
    };
    let lifetime = expires_in.or_else(|| expires_at.map(|at| at.since(now)));
    AccessRecord {
        access_token: token,
        expires_at,
        issued_at: now,
        lifetime,
        generation,
        id_token,
    }
}

/// The ID token to keep with the session: only when it is what is handed out
/// (`token_kind: id`), checked, with its expiry from its `exp`.
pub(crate) fn id_token_record(
    kind: TokenKind,
    token: Option<IdToken>,
    verified: Option<Verified>,
    now: UnixTime,
) -> Option<IdTokenRecord> {
    match (kind, token, verified) {
        (TokenKind::Id, Some(token), Some(verified)) => Some(IdTokenRecord {
            token,
            expires_at: verified.expires_at,
            lifetime: verified.expires_at.since(now),
        }),
        _ => None,
    }
}

/// The `exp` claim of a JWT access token, used when the token response has no
/// `expires_in`. The token is not verified: this only estimates its lifetime.
pub fn jwt_expiry(token: &AccessToken) -> Option<UnixTime> {
    jwt_claims(token)?
        .get("exp")?
        .as_u64()
        .map(UnixTime::from_secs)
}

/// The claims of a JWT access token (its payload as JSON), unverified; `None` for an
/// opaque token. Callers read single claims from it and never show the rest.
pub(crate) fn jwt_claims(token: &AccessToken) -> Option<serde_json::Value> {
    let payload = token.expose_secret().split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(issued: u64, lifetime: Option<u64>) -> AccessRecord {
        AccessRecord {
            access_token: AccessToken::new("t"),
            expires_at: lifetime.map(|l| UnixTime::from_secs(issued + l)),
            issued_at: UnixTime::from_secs(issued),
            lifetime: lifetime.map(Duration::from_secs),
            generation: 1,
            id_token: None,
        }
    }

    const WINDOW: Duration = Duration::from_secs(600);

    #[test]
    fn short_tokens_live_half_their_life() {
        let r = record(1000, Some(300));
        assert!(is_fresh(
            &r,
            UnixTime::from_secs(1149),
            WINDOW,
            Duration::ZERO
        ));
        assert!(!is_fresh(
            &r,
            UnixTime::from_secs(1150),
            WINDOW,
            Duration::ZERO
        ));
        assert!(is_valid(&r, UnixTime::from_secs(1290)));
        assert!(!is_valid(&r, UnixTime::from_secs(1296)));
        assert_eq!(refresh_due_at(&r, WINDOW), UnixTime::from_secs(1150));
    }

    #[test]
    fn long_tokens_refresh_within_the_window() {
        let r = record(0, Some(3600));
        assert!(is_fresh(
            &r,
            UnixTime::from_secs(2999),
            WINDOW,
            Duration::ZERO
        ));
        assert!(!is_fresh(
            &r,
            UnixTime::from_secs(3000),
            WINDOW,
            Duration::ZERO
        ));
        assert!(!is_fresh(
            &r,
            UnixTime::from_secs(100),
            WINDOW,
            Duration::from_secs(3550)
        ));
    }

    #[test]
    fn unknown_lifetime_is_assumed_short() {
        let r = record(0, None);
        assert!(is_fresh(
            &r,
            UnixTime::from_secs(149),
            WINDOW,
            Duration::ZERO
        ));
        assert!(!is_fresh(
            &r,
            UnixTime::from_secs(150),
            WINDOW,
            Duration::ZERO
        ));
    }

    #[test]
    fn helper_interval_is_clamped() {
        assert_eq!(helper_interval(None), Duration::from_secs(300));
        assert_eq!(
            helper_interval(Some(Duration::from_secs(300))),
            Duration::from_secs(100)
        );
        assert_eq!(
            helper_interval(Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
        assert_eq!(
            helper_interval(Some(Duration::from_secs(3600))),
            Duration::from_secs(300)
        );
    }

    #[test]
    fn reads_jwt_expiry() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1234}"#);
        assert_eq!(
            jwt_expiry(&AccessToken::new(format!("h.{payload}.s"))),
            Some(UnixTime::from_secs(1234))
        );
        assert_eq!(jwt_expiry(&AccessToken::new("opaque")), None);
    }

    proptest::proptest! {
        #[test]
        fn freshness_is_monotone_in_time(issued in 0u64..1_000_000, lifetime in proptest::option::of(1u64..100_000), a in 0u64..2_000_000, b in 0u64..2_000_000) {
            let r = record(issued, lifetime);
            let (early, late) = (a.min(b), a.max(b));
            if is_fresh(&r, UnixTime::from_secs(late), WINDOW, Duration::ZERO) {
                proptest::prop_assert!(is_fresh(&r, UnixTime::from_secs(early), WINDOW, Duration::ZERO));
            }
            if is_fresh(&r, UnixTime::from_secs(a), WINDOW, Duration::ZERO) {
                proptest::prop_assert!(is_valid(&r, UnixTime::from_secs(a)));
            }
        }
    }
}
