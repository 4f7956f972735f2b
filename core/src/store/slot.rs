//! The places a driver reads, writes, deletes or moves aside, and how that can fail.

use core::fmt;

use super::key::{ClientKey, SessionKey};

/// A place the driver can read, write or delete.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
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
    /// Keyring backend: the keychain item (service `llmauth`, account
    /// `client-secret:<key>`) holding the client secret.
    ClientSecretKeychain(ClientKey),
    /// File backend: `$STATE/client-secret-<key>` (0600), holding the client secret.
    ClientSecretFile(ClientKey),
}

impl Slot {
    /// Whether the slot holds credentials (drivers use owner-only permissions for all
    /// slots anyway).
    pub fn holds_secrets(&self) -> bool {
        matches!(
            self,
            Self::SessionFile(_)
                | Self::Keychain(_)
                | Self::AccessCache(_)
                | Self::ClientSecretKeychain(_)
                | Self::ClientSecretFile(_)
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
