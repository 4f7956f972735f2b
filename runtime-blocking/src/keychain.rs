//! The OS keychain through `keyring-core` and the platform's store: Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows (SPEC §4).
//!
//! One item per session: service `llmauth`, account `<session key>`, holding the
//! refresh-token record's JSON as raw bytes; and one per stored client secret, account
//! `client-secret:<client key>` (`set_secret`, not `set_password`, so Windows
//! does not re-encode it as UTF-16 and double its size against the 2,560-byte limit).
//! The store is connected on first use only: the cached-token fast path never reaches
//! this module.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error};
use llmauth_core::secret::SecretBytes;
use llmauth_core::store::{SessionKey, StoreError, StoreErrorKind};

use crate::file_store;
use crate::paths::Paths;

/// The keychain service name of every llmauth item.
pub(crate) const SERVICE: &str = "llmauth";
/// The account of the throw-away item written and deleted by [`probe`].
const PROBE_ACCOUNT: &str = "llmauth-probe";

/// A lazily connected keychain.
#[derive(Default)]
pub(crate) struct Keychain {
    store: Option<Arc<CredentialStore>>,
}

impl Keychain {
    /// The item's bytes, or `None` when there is no item.
    pub(crate) fn read(&mut self, account: &str) -> Result<Option<SecretBytes>, StoreError> {
        let entry = self.entry(account)?;
        match entry.get_secret() {
            Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
            Err(Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    /// Creates or replaces the item.
    pub(crate) fn write(&mut self, account: &str, bytes: &SecretBytes) -> Result<(), StoreError> {
        let entry = self.entry(account)?;
        entry
            .set_secret(bytes.expose_secret())
            .map_err(|e| unavailable(&e))
    }

    /// Deletes the item; a missing item is fine.
    pub(crate) fn delete(&mut self, account: &str) -> Result<(), StoreError> {
        let entry = self.entry(account)?;
        match entry.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(&e)),
        }
    }

    /// Saves the item's content to `$STATE/sessions/<key>.keychain.corrupt-<ts>` (0600),
    /// then deletes the item, so a new login does not destroy what was there.
    pub(crate) fn move_aside(
        &mut self,
        key: &SessionKey,
        paths: &Paths,
        unix_secs: u64,
    ) -> Result<(), StoreError> {
        let Some(bytes) = self.read(key.as_str())? else {
            return Ok(());
        };
        let mut target = paths.keychain_corrupt_file(key, unix_secs);
        let mut n = 0u32;
        loop {
            match file_store::write_new(&target, bytes.expose_secret(), file_store::PRIVATE_FILE) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => {
                    n += 1;
                    target = paths.keychain_corrupt_file(key, unix_secs);
                    target.as_mut_os_string().push(format!("-{n}"));
                }
                Err(e) => return Err(file_store::io_error(&target, &e)),
            }
        }
        self.delete(key.as_str())
    }

    fn entry(&mut self, account: &str) -> Result<Entry, StoreError> {
        let store = match &self.store {
            Some(store) => store.clone(),
            None => {
                let store = platform_store().map_err(|e| unavailable(&e))?;
                self.store = Some(store.clone());
                store
            }
        };
        Entry::new_in_store(&store, SERVICE, account).map_err(|e| unavailable(&e))
    }
}

/// Tries the keychain once, for `auto` backend resolution (SPEC §4): writes, reads back
/// and deletes a throw-away item.
///
/// A write is the only reliable test: a lookup in a locked or missing collection may
/// simply find nothing, and the first login would then fail. Without a session bus this
/// fails at once; with a bus but no unlocked collection after tens of milliseconds.
///
/// # Errors
/// A short reason (no secrets) when the keychain cannot be used.
pub fn probe() -> Result<(), String> {
    let store = platform_store().map_err(|e| describe(&e))?;
    let entry = Entry::new_in_store(&store, SERVICE, PROBE_ACCOUNT).map_err(|e| describe(&e))?;
    entry.set_secret(b"probe").map_err(|e| describe(&e))?;
    let read = entry.get_secret().map_err(|e| describe(&e));
    let deleted = entry.delete_credential().map_err(|e| describe(&e));
    match read? {
        bytes if bytes == b"probe" => deleted,
        _ => Err("the keychain returned something else than was written".to_owned()),
    }
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = dbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(Error::NotSupportedByStore(
        "no OS keychain support on this platform".to_owned(),
    ))
}

fn unavailable(error: &Error) -> StoreError {
    StoreError {
        kind: StoreErrorKind::KeychainUnavailable,
        detail: describe(error),
    }
}

/// A short description of a keychain error that never includes item data (some
/// variants carry the raw secret bytes).
fn describe(error: &Error) -> String {
    match error {
        Error::PlatformFailure(e) => e.to_string(),
        Error::NoStorageAccess(e) => format!("no access to the keychain: {e}"),
        Error::NoEntry => "no such item".to_owned(),
        Error::BadEncoding(_) | Error::BadDataFormat(..) => {
            "the item's data is malformed".to_owned()
        }
        Error::BadStoreFormat(reason) => format!("the keychain is malformed: {reason}"),
        Error::TooLong(name, limit) => {
            format!("{name} is longer than the keychain's limit of {limit}")
        }
        Error::Invalid(name, reason) => format!("invalid {name}: {reason}"),
        Error::Ambiguous(items) => format!(
            "{} keychain items match service {SERVICE} and this account",
            items.len()
        ),
        Error::NoDefaultStore => "no keychain store".to_owned(),
        Error::NotSupportedByStore(reason) => format!("not supported: {reason}"),
        _ => "unknown keychain error".to_owned(),
    }
}
