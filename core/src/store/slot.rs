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
    /// `$STATE/locks/<key>.cooldown`, the cooldown after an abandoned browser-only
    /// sign-in (not secret).
    SignInCooldown(SessionKey),
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
pub struct StoreError {
    /// What failed.
    pub kind: StoreErrorKind,
    /// A short description (a path, an OS error); never a secret. For a refusal, the
    /// whole sentence: the path, what is wrong, and the fix.
    pub detail: String,
}

impl StoreError {
    /// A file or directory was refused for who owns it or who may write (or read) it:
    /// the user has to fix that, and the detail says how.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self.kind,
            StoreErrorKind::InsecurePermissions | StoreErrorKind::UntrustedState
        )
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_refusal() {
            f.write_str(&self.detail)
        } else {
            write!(f, "{}: {}", self.kind, self.detail)
        }
    }
}

/// Kinds of store failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The keychain could not be reached or refused access.
    KeychainUnavailable,
    /// A file could not be read or written.
    Io,
    /// A file holding secrets (a session record, the access-token cache) is readable by
    /// others or owned by another user, so it is refused.
    InsecurePermissions,
    /// A directory of the state, or a file that is not secret, is owned by another user or
    /// writable by others, so nothing in it is believed.
    UntrustedState,
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeychainUnavailable => "the OS keychain is unavailable",
            Self::Io => "file access failed",
            Self::InsecurePermissions => "refusing a file with unsafe permissions",
            Self::UntrustedState => "refusing state another user could have written",
        })
    }
}
