//! Session storage as core sees it: named slots holding versioned records (SPEC §4).
//!
//! Core decides what goes where; the driver only reads, writes (atomically), deletes and
//! moves aside opaque bytes in the slot it is told.

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::{AccessToken, RefreshToken, SecretBytes, is_printable_token};
use crate::time::UnixTime;

/// The version of the serialized session records this build writes and reads.
pub const RECORD_VERSION: u32 = 1;

/// Identifies one session: the first 16 hex digits of
/// `sha256(gateway_url \0 issuer \0 client_id \0 audience)`, from the config strings
/// exactly as written, so a token for one gateway is never sent to another.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    /// Derives the key of the session for these four settings.
    pub fn derive(gateway_url: &str, issuer: &str, client_id: &str, audience: &str) -> Self {
        let mut hasher = Sha256::new();
        for (i, part) in [gateway_url, issuer, client_id, audience]
            .iter()
            .enumerate()
        {
            if i > 0 {
                hasher.update([0u8]);
            }
            hasher.update(part.as_bytes());
        }
        Self(hex_prefix(&hasher.finalize(), 8))
    }

    /// The 16 hex digits, used in file names and as the keychain account.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey({})", self.0)
    }
}

/// The cache key of an issuer's discovery document: 16 hex digits of `sha256(issuer)`.
pub fn discovery_key(issuer: &str) -> String {
    hex_prefix(&Sha256::digest(issuer.as_bytes()), 8)
}

fn hex_prefix(digest: &[u8], bytes: usize) -> String {
    digest
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the session's records live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Refresh-token record in the OS keychain; access-token record in the runtime dir.
    Keyring,
    /// Both records in one 0600 file under the state dir.
    File,
}

impl Backend {
    /// The name written to `$STATE/backend` and shown by `status`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::File => "file",
        }
    }

    /// Parses the content of `$STATE/backend`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "keyring" => Some(Self::Keyring),
            "file" => Some(Self::File),
            _ => None,
        }
    }

    /// The slot read on the fast path, holding the access-token record.
    pub fn access_slot(self, key: &SessionKey) -> Slot {
        match self {
            Self::Keyring => Slot::AccessCache(key.clone()),
            Self::File => Slot::SessionFile(key.clone()),
        }
    }

    /// The slot holding the refresh-token record.
    pub fn refresh_slot(self, key: &SessionKey) -> Slot {
        match self {
            Self::Keyring => Slot::Keychain(key.clone()),
            Self::File => Slot::SessionFile(key.clone()),
        }
    }
}

/// What `auto` resolution needs from the driver (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// Use this backend.
    Use(Backend),
    /// Probe the keychain once, then call [`after_probe`] and record the answer.
    Probe,
}

/// Decides the backend from the configured setting and what `$STATE/backend` records.
///
/// An explicit setting wins. With `auto`, the recorded choice is kept forever after, so a
/// keychain that fails later is an error rather than a silent switch that would split a
/// session across two stores.
pub fn choose_backend(configured: Option<Backend>, recorded: Option<&str>) -> BackendChoice {
    if let Some(backend) = configured {
        return BackendChoice::Use(backend);
    }
    match recorded.and_then(Backend::from_name) {
        Some(backend) => BackendChoice::Use(backend),
        None => BackendChoice::Probe,
    }
}

/// The backend `auto` settles on after probing the keychain, and the one-time notice to
/// print when it falls back to the file store.
pub fn after_probe(keychain_answered: Result<(), &str>) -> (Backend, Option<String>) {
    match keychain_answered {
        Ok(()) => (Backend::Keyring, None),
        Err(reason) => (
            Backend::File,
            Some(format!(
                "note: no usable OS keychain ({reason}); storing the session in a file readable only by you (set `llmauth config set --secrets-backend keyring|file` to choose)"
            )),
        ),
    }
}

/// A place the driver can read, write or delete.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Slot {
    /// File backend: `$STATE/sessions/<key>.json`, both records.
    SessionFile(SessionKey),
    /// Keyring backend: the keychain item (service `llmauth`, account `<key>`).
    Keychain(SessionKey),
    /// Keyring backend: `<runtime>/llmauth/<key>.at`, the access-token record.
    AccessCache(SessionKey),
    /// `$STATE/discovery/<hash>.json`, the cached discovery document (not secret).
    Discovery(String),
    /// `$STATE/locks/<key>.login`, the marker of a login in progress (not secret).
    LoginMarker(SessionKey),
}

impl Slot {
    /// Whether the slot holds credentials (drivers use owner-only permissions for all
    /// slots anyway).
    pub fn holds_secrets(&self) -> bool {
        matches!(
            self,
            Self::SessionFile(_) | Self::Keychain(_) | Self::AccessCache(_)
        )
    }
}

/// Why the driver could not complete a store operation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct StoreError {
    /// What failed.
    pub kind: StoreErrorKind,
    /// A short description (a path, an OS error); never a secret.
    pub detail: String,
}

/// Kinds of store failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The keychain could not be reached or refused access.
    KeychainUnavailable,
    /// A file could not be read or written.
    Io,
    /// A session file is readable by others or owned by another user, so it is refused.
    InsecurePermissions,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeychainUnavailable => "the OS keychain is unavailable",
            Self::Io => "file access failed",
            Self::InsecurePermissions => "refusing a session file with unsafe permissions",
        })
    }
}

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
            }),
            access: self.access.as_ref().map(|a| WireAccess {
                access_token: a.access_token.expose_secret().to_owned(),
                expires_at: a.expires_at.map(UnixTime::as_millis),
                issued_at: a.issued_at.as_millis(),
                lifetime: a.lifetime.map(|l| l.as_secs()),
                generation: a.generation,
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
            && !is_printable_token(&access.access_token)
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
            }),
            access: wire.access.map(|a| AccessRecord {
                access_token: AccessToken::new(a.access_token),
                expires_at: a.expires_at.map(UnixTime::from_millis),
                issued_at: UnixTime::from_millis(a.issued_at),
                lifetime: a.lifetime.map(Duration::from_secs),
                generation: a.generation,
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
}

#[derive(Serialize, Deserialize)]
struct WireAccess {
    access_token: String,
    expires_at: Option<u64>,
    issued_at: u64,
    lifetime: Option<u64>,
    generation: u64,
}

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

/// Names of the exclusive advisory locks a flow takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockName {
    /// `$STATE/locks/<key>.lock`: one refresh or login at a time per session.
    Session(SessionKey),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_key_matches_an_independent_sha256() {
        // python3: hashlib.sha256(b"https://gw\0https://idp\0cid\0").hexdigest()[:16]
        let key = SessionKey::derive("https://gw", "https://idp", "cid", "");
        assert_eq!(key.as_str(), "5aa4b7c2d92cc14d");
    }

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
            }),
            access: Some(AccessRecord {
                access_token: AccessToken::new("CANARY-at"),
                expires_at: Some(UnixTime::from_secs(100)),
                issued_at: UnixTime::from_secs(10),
                lifetime: Some(Duration::from_secs(90)),
                generation: 3,
            }),
        };
        let decoded = SessionRecords::decode(records.encode().expose_secret());
        assert_eq!(decoded.as_ref(), Ok(&records));
        assert!(!format!("{records:?}").contains("CANARY"));
        assert_eq!(records.generation(), 3);
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

    #[test]
    fn backend_choice() {
        assert_eq!(
            choose_backend(Some(Backend::File), Some("keyring")),
            BackendChoice::Use(Backend::File)
        );
        assert_eq!(
            choose_backend(None, Some("keyring\n")),
            BackendChoice::Use(Backend::Keyring)
        );
        assert_eq!(choose_backend(None, None), BackendChoice::Probe);
        assert_eq!(choose_backend(None, Some("junk")), BackendChoice::Probe);
        assert_eq!(after_probe(Ok(())).0, Backend::Keyring);
        let (backend, notice) = after_probe(Err("no bus"));
        assert_eq!(backend, Backend::File);
        assert!(notice.is_some_and(|n| n.contains("no bus")));
    }
}
