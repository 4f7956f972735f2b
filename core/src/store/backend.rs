//! Where a session lives: the keyring or a file, and how `auto` settles (SPEC §4).

use super::key::{ClientKey, SessionKey};
use super::slot::Slot;

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

    /// The slot holding a client secret: stored like the refresh token.
    pub fn client_secret_slot(self, key: &ClientKey) -> Slot {
        match self {
            Self::Keyring => Slot::ClientSecretKeychain(key.clone()),
            Self::File => Slot::ClientSecretFile(key.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
