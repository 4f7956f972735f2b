//! The session's records and their versioned JSON form: what a slot holds (SPEC §4).

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::provider::TokenKind;
use crate::secret::{AccessToken, IdToken, RefreshToken, SecretBytes, is_printable_token};
use crate::time::UnixTime;

/// The version of the serialized session records this build writes and reads.
///
/// The ID token and the login's `nonce` were added as optional fields without a new
/// version: a record written before them reads as "no ID token stored" and "nonce
/// unknown", and an older llmauth reading a newer record ignores them (it hands out the
/// access token, and keeps working with the refresh token) instead of refusing a session
/// it can use.
pub const RECORD_VERSION: u32 = 1;

/// The long-lived half of a session.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The current refresh token.
    pub refresh_token: RefreshToken,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// The ID token's `sub`, checked on every refresh (OIDC Core §12.2).
    pub sub: String,
    /// The issuer that granted it.
    pub issuer: String,
    /// When the IdP issued this refresh token.
    pub obtained_at: UnixTime,
    /// Increases on every write of the session.
    pub generation: u64,
    /// A refresh with this token may have reached the IdP without an answer (SPEC §5).
    pub maybe_spent: bool,
    /// The `nonce` of the sign-in, which an ID token on refresh may repeat (OIDC Core
    /// §12.2); `None` when unknown (device flow, or a record written before it was kept).
    pub nonce: Option<String>,
}

/// The short-lived half of a session.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// The access token.
    pub access_token: AccessToken,
    /// When it expires, if the IdP said.
    pub expires_at: Option<UnixTime>,
    /// When it was received.
    pub issued_at: UnixTime,
    /// The lifetime the IdP granted (`expires_in`).
    pub lifetime: Option<Duration>,
    /// Increases on every write of the session.
    pub generation: u64,
    /// The ID token, kept when it is what llmauth hands out (`token_kind: id`).
    pub id_token: Option<IdTokenRecord>,
}

/// An ID token kept to be handed out, with its expiry from its `exp` claim.
#[derive(Clone, PartialEq, Eq)]
pub struct IdTokenRecord {
    /// The token.
    pub token: IdToken,
    /// Its `exp`.
    pub expires_at: UnixTime,
    /// From receipt to `exp`.
    pub lifetime: Duration,
}

impl AccessRecord {
    /// The record of the token to hand out: this one for the access token; for the ID
    /// token, one carrying it with its own expiry (`None` when none is kept). Every rule
    /// about freshness then applies to what is actually handed out.
    pub fn handout(&self, kind: TokenKind) -> Option<AccessRecord> {
        match kind {
            TokenKind::Access => Some(self.clone()),
            TokenKind::Id => self.id_token.as_ref().map(|id| AccessRecord {
                access_token: AccessToken::new(id.token.expose_secret()),
                expires_at: Some(id.expires_at),
                issued_at: id.expires_at.saturating_sub(id.lifetime),
                lifetime: Some(id.lifetime),
                generation: self.generation,
                id_token: None,
            }),
        }
    }
}

impl fmt::Debug for RefreshRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshRecord")
            .field("refresh_token", &self.refresh_token)
            .field("sub", &self.sub)
            .field("generation", &self.generation)
            .field("maybe_spent", &self.maybe_spent)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AccessRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessRecord")
            .field("access_token", &self.access_token)
            .field("expires_at", &self.expires_at)
            .field("generation", &self.generation)
            .field("id_token", &self.id_token.as_ref().map(|id| &id.token))
            .finish_non_exhaustive()
    }
}

/// The content of one slot: either or both records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionRecords {
    /// The refresh-token record, if stored here.
    pub refresh: Option<RefreshRecord>,
    /// The access-token record, if stored here.
    pub access: Option<AccessRecord>,
}

impl SessionRecords {
    /// The highest generation of the records present (0 when none).
    pub fn generation(&self) -> u64 {
        let refresh = self.refresh.as_ref().map_or(0, |r| r.generation);
        let access = self.access.as_ref().map_or(0, |a| a.generation);
        refresh.max(access)
    }

    /// Serializes to the versioned JSON form stored in a slot.
    pub fn encode(&self) -> SecretBytes {
        let wire = WireDocument {
            version: RECORD_VERSION,
            refresh: self.refresh.as_ref().map(|r| WireRefresh {
                refresh_token: r.refresh_token.expose_secret().to_owned(),
                scopes: r.scopes.clone(),
                sub: r.sub.clone(),
                issuer: r.issuer.clone(),
                obtained_at: r.obtained_at.as_millis(),
                generation: r.generation,
                maybe_spent: r.maybe_spent,
                nonce: r.nonce.clone(),
            }),
            access: self.access.as_ref().map(|a| WireAccess {
                access_token: a.access_token.expose_secret().to_owned(),
                expires_at: a.expires_at.map(UnixTime::as_millis),
                issued_at: a.issued_at.as_millis(),
                lifetime: a.lifetime.map(|l| l.as_secs()),
                generation: a.generation,
                id_token: a.id_token.as_ref().map(|id| WireIdToken {
                    token: id.token.expose_secret().to_owned(),
                    expires_at: id.expires_at.as_millis(),
                    lifetime: id.lifetime.as_secs(),
                }),
            }),
        };
        // Serializing plain strings and integers cannot fail.
        SecretBytes::new(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Parses a slot's bytes. Errors describe what is wrong without quoting the content.
    pub fn decode(bytes: &[u8]) -> Result<Self, CorruptRecord> {
        let wire: WireDocument = serde_json::from_slice(bytes).map_err(|e| CorruptRecord {
            reason: format!(
                "not a valid session record (line {}, column {})",
                e.line(),
                e.column()
            ),
        })?;
        if wire.version > RECORD_VERSION {
            return Err(CorruptRecord {
                reason: format!(
                    "the session record has version {}, newer than this llmauth understands — upgrade llmauth",
                    wire.version
                ),
            });
        }
        if let Some(access) = &wire.access
            && (!is_printable_token(&access.access_token)
                || access
                    .id_token
                    .as_ref()
                    .is_some_and(|id| !is_printable_token(&id.token)))
        {
            return Err(CorruptRecord {
                reason: "the stored access token is malformed".to_owned(),
            });
        }
        if let Some(refresh) = &wire.refresh
            && refresh.refresh_token.is_empty()
        {
            return Err(CorruptRecord {
                reason: "the stored refresh token is empty".to_owned(),
            });
        }
        Ok(Self {
            refresh: wire.refresh.map(|r| RefreshRecord {
                refresh_token: RefreshToken::new(r.refresh_token),
                scopes: r.scopes,
                sub: r.sub,
                issuer: r.issuer,
                obtained_at: UnixTime::from_millis(r.obtained_at),
                generation: r.generation,
                maybe_spent: r.maybe_spent,
                nonce: r.nonce,
            }),
            access: wire.access.map(|a| AccessRecord {
                access_token: AccessToken::new(a.access_token),
                expires_at: a.expires_at.map(UnixTime::from_millis),
                issued_at: UnixTime::from_millis(a.issued_at),
                lifetime: a.lifetime.map(Duration::from_secs),
                generation: a.generation,
                id_token: a.id_token.map(|id| IdTokenRecord {
                    token: IdToken::new(id.token),
                    expires_at: UnixTime::from_millis(id.expires_at),
                    lifetime: Duration::from_secs(id.lifetime),
                }),
            }),
        })
    }
}

/// A stored record that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct CorruptRecord {
    /// What is wrong, without quoting the content.
    pub reason: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireDocument {
    version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh: Option<WireRefresh>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access: Option<WireAccess>,
}

#[derive(Serialize, Deserialize)]
struct WireRefresh {
    refresh_token: String,
    scopes: Vec<String>,
    sub: String,
    issuer: String,
    obtained_at: u64,
    generation: u64,
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    maybe_spent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireAccess {
    access_token: String,
    expires_at: Option<u64>,
    issued_at: u64,
    lifetime: Option<u64>,
    generation: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<WireIdToken>,
}

#[derive(Serialize, Deserialize)]
struct WireIdToken {
    token: String,
    expires_at: u64,
    lifetime: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_debug_redacts() {
        let records = SessionRecords {
            refresh: Some(RefreshRecord {
                refresh_token: RefreshToken::new("CANARY-rt"),
                scopes: vec!["openid".into()],
                sub: "u".into(),
                issuer: "https://idp".into(),
                obtained_at: UnixTime::from_secs(10),
                generation: 3,
                maybe_spent: true,
                nonce: Some("n-1".into()),
            }),
            access: Some(AccessRecord {
                access_token: AccessToken::new("CANARY-at"),
                expires_at: Some(UnixTime::from_secs(100)),
                issued_at: UnixTime::from_secs(10),
                lifetime: Some(Duration::from_secs(90)),
                generation: 3,
                id_token: Some(IdTokenRecord {
                    token: IdToken::new("CANARY-idt"),
                    expires_at: UnixTime::from_secs(70),
                    lifetime: Duration::from_secs(60),
                }),
            }),
        };
        let decoded = SessionRecords::decode(records.encode().expose_secret());
        assert_eq!(decoded.as_ref(), Ok(&records));
        assert!(!format!("{records:?}").contains("CANARY"));
        assert_eq!(records.generation(), 3);

        let access = records.access.as_ref().unwrap();
        assert_eq!(access.handout(TokenKind::Access).as_ref(), Some(access));
        let id = access.handout(TokenKind::Id).unwrap();
        assert_eq!(id.access_token.expose_secret(), "CANARY-idt");
        assert_eq!(id.expires_at, Some(UnixTime::from_secs(70)));
        assert_eq!(id.lifetime, Some(Duration::from_secs(60)));
    }

    /// A record written before the ID token and nonce were kept reads with neither, and
    /// one written now carries them in fields an older reader ignores.
    #[test]
    fn records_without_the_new_fields_still_read() {
        let old = br#"{"version":1,"refresh":{"refresh_token":"rt","scopes":["openid"],"sub":"u","issuer":"https://idp","obtained_at":1,"generation":1},"access":{"access_token":"at","expires_at":null,"issued_at":1,"lifetime":null,"generation":1}}"#;
        let records = SessionRecords::decode(old).unwrap();
        assert_eq!(records.refresh.as_ref().and_then(|r| r.nonce.clone()), None);
        let access = records.access.unwrap();
        assert!(access.id_token.is_none());
        assert!(access.handout(TokenKind::Id).is_none());
    }

    #[test]
    fn corrupt_records_are_described_without_content() {
        let err =
            SessionRecords::decode(b"{\"version\":1,\"access\":{\"access_token\":\"CANARY x\"")
                .unwrap_err();
        assert!(!err.reason.contains("CANARY"));
        let err = SessionRecords::decode(br#"{"version":9}"#).unwrap_err();
        assert!(err.reason.contains("upgrade llmauth"));
        let err = SessionRecords::decode(
            br#"{"version":1,"access":{"access_token":"a b","expires_at":null,"issued_at":0,"lifetime":null,"generation":1}}"#,
        )
        .unwrap_err();
        assert!(err.reason.contains("malformed"));
    }
}
