//! [`BlockingIo`]: performs one intent at a time with std, ureq and the OS keychain, and
//! reports the result. It decides nothing — every rule lives in core.

use std::io::Write as _;
use std::path::PathBuf;

use llmauth_core::intent::{Intent, IntentResult, LockOutcome, Notice};
use llmauth_core::secret::SecretBytes;
use llmauth_core::store::{LockName, Slot, StoreError};
use llmauth_core::time::UnixTime;

use crate::callback_listener::{self, CallbackListener};
use crate::http_client::HttpClient;
use crate::keychain::Keychain;
use crate::lock::{self, LockGuard};
use crate::paths::Paths;
use crate::{browser, clock, file_store};

/// The keychain account of a slot that lives in the keychain; `None` for files.
fn keychain_account(slot: &Slot) -> Option<String> {
    match slot {
        Slot::Keychain(key) => Some(key.as_str().to_owned()),
        Slot::ClientSecretKeychain(key) => Some(key.keychain_account()),
        Slot::SessionFile(_)
        | Slot::AccessCache(_)
        | Slot::Discovery(_)
        | Slot::LoginMarker(_)
        | Slot::SignInCooldown(_)
        | Slot::ClientSecretFile(_) => None,
    }
}

/// Settings of the I/O layer that come from the configuration.
#[derive(Clone, Debug, Default)]
pub struct IoOptions {
    /// `tls.ca_file`: extra trust roots for IdP requests.
    pub ca_file: Option<PathBuf>,
}

/// Where notices go.
type NoticeSink = Box<dyn FnMut(&Notice) + Send>;

/// Where a `-v` trace of intents and results goes (their `Debug` output is redacted).
type TraceSink = Box<dyn FnMut(&dyn std::fmt::Debug) + Send>;

/// Performs intents for one flow (or several in a row) in this process.
pub struct BlockingIo {
    paths: Paths,
    http: HttpClient,
    keychain: Keychain,
    locks: Vec<(LockName, LockGuard)>,
    listener: CallbackListener,
    notices: NoticeSink,
    trace: Option<TraceSink>,
}

impl BlockingIo {
    /// An I/O layer for files under `paths`. Nothing is opened or loaded until an intent
    /// needs it (the HTTP agent, the keychain connection).
    pub fn new(paths: Paths, options: IoOptions) -> Self {
        Self {
            paths,
            http: HttpClient::new(options.ca_file),
            keychain: Keychain::default(),
            locks: Vec::new(),
            listener: CallbackListener::default(),
            notices: Box::new(|notice| {
                // Nothing useful can be done when stderr itself is gone.
                let _ = writeln!(std::io::stderr(), "{notice}");
            }),
            trace: None,
        }
    }

    /// Sends notices to `sink` instead of standard error (tests, or a CLI that formats
    /// them itself).
    #[must_use]
    pub fn with_notice_sink(mut self, sink: impl FnMut(&Notice) + Send + 'static) -> Self {
        self.notices = Box::new(sink);
        self
    }

    /// Sends each intent and its result to `sink` before and after performing it (for
    /// `llmauth -v`). Both are `Debug`-printed, which never shows a secret.
    #[must_use]
    pub fn with_trace(mut self, sink: impl FnMut(&dyn std::fmt::Debug) + Send + 'static) -> Self {
        self.trace = Some(Box::new(sink));
        self
    }

    /// The paths this I/O layer works under.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The wall clock.
    pub fn now(&self) -> UnixTime {
        clock::now()
    }

    /// Sleeps until `deadline` (suspend-tolerant, see [`clock::sleep_until`]).
    pub fn sleep_until(&self, deadline: UnixTime) {
        clock::sleep_until(deadline);
    }

    /// Performs `intent` and returns its result, of the kind the intent documents.
    // `Intent` is non-exhaustive; an unknown variant gets a result core will reject as
    // a misuse, which the driver reports as an internal error.
    #[allow(clippy::wildcard_enum_match_arm)]
    pub fn perform(&mut self, intent: &Intent) -> IntentResult {
        if let Some(trace) = &mut self.trace {
            trace(intent);
        }
        let result = self.perform_untraced(intent);
        if let Some(trace) = &mut self.trace {
            trace(&result);
        }
        result
    }

    #[allow(clippy::wildcard_enum_match_arm)]
    fn perform_untraced(&mut self, intent: &Intent) -> IntentResult {
        match intent {
            Intent::Http(request) => IntentResult::Http(self.http.perform(request, clock::now())),
            Intent::Read(slot) => IntentResult::Read(self.read(slot)),
            Intent::Write { slot, bytes } => IntentResult::Stored(self.write(slot, bytes)),
            Intent::Delete(slot) => IntentResult::Stored(self.delete(slot)),
            Intent::MoveAside(slot) => {
                let secs = clock::now().as_secs();
                IntentResult::Stored(match slot {
                    Slot::Keychain(key) => self.keychain.move_aside(key, &self.paths, secs),
                    other => {
                        self.file_op(other, |path| file_store::move_aside(path, secs).map(drop))
                    }
                })
            }
            Intent::Lock { name, until } => IntentResult::Lock(self.lock(name, *until)),
            Intent::Unlock(name) => {
                // Dropping the guard closes the file, which releases the lock.
                self.locks.retain(|(held, _)| held != name);
                IntentResult::Done
            }
            Intent::OpenBrowser { url } => IntentResult::Browser(browser::open(url)),
            Intent::BindCallback { port } => IntentResult::Bound(self.listener.bind(*port)),
            Intent::AwaitCallback {
                deadline,
                accept_paste,
            } => IntentResult::Callback(if *accept_paste {
                let lines = callback_listener::stdin_lines()
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                self.listener.wait(*deadline, Some(&lines))
            } else {
                self.listener.wait(*deadline, None)
            }),
            Intent::RespondCallback { status, page } => {
                self.listener.respond(*status, page);
                IntentResult::Done
            }
            Intent::CloseCallback => {
                self.listener.close();
                IntentResult::Done
            }
            Intent::Notify(notice) => {
                (self.notices)(notice);
                IntentResult::Done
            }
            _ => IntentResult::Done,
        }
    }

    /// Reads a slot, as [`Intent::Read`] does.
    ///
    /// # Errors
    /// The keychain or the file could not be read.
    pub fn read(&mut self, slot: &Slot) -> Result<Option<SecretBytes>, StoreError> {
        if let Some(account) = keychain_account(slot) {
            return self.keychain.read(&account);
        }
        file_store::read_slot(&self.paths, slot)
    }

    /// Replaces a slot's content, as [`Intent::Write`] does (atomically, owner-only).
    ///
    /// # Errors
    /// The keychain or the file could not be written.
    pub fn write(&mut self, slot: &Slot, bytes: &SecretBytes) -> Result<(), StoreError> {
        match keychain_account(slot) {
            Some(account) => self.keychain.write(&account, bytes),
            None => self.file_op(slot, |path| {
                file_store::write_atomic(path, bytes.expose_secret(), file_store::PRIVATE_FILE)
            }),
        }
    }

    /// Deletes a slot (absent is fine), as [`Intent::Delete`] does.
    ///
    /// # Errors
    /// The keychain or the file system refused.
    pub fn delete(&mut self, slot: &Slot) -> Result<(), StoreError> {
        match keychain_account(slot) {
            Some(account) => self.keychain.delete(&account),
            None => self.file_op(slot, file_store::delete),
        }
    }

    /// Runs a file operation on the slot's file, mapping OS errors with the path.
    fn file_op(
        &self,
        slot: &Slot,
        op: impl FnOnce(&std::path::Path) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let path = self.slot_path(slot)?;
        op(&path).map_err(|e| file_store::io_error(&path, &e))
    }

    fn slot_path(&self, slot: &Slot) -> Result<PathBuf, StoreError> {
        self.paths.slot_file(slot).ok_or_else(|| StoreError {
            kind: llmauth_core::store::StoreErrorKind::Io,
            detail: format!("no file for {slot:?}"),
        })
    }

    fn lock(
        &mut self,
        name: &LockName,
        until: Option<UnixTime>,
    ) -> Result<LockOutcome, StoreError> {
        let path = self.paths.lock_file(name);
        match lock::acquire(&path, until) {
            Ok(Some(guard)) => {
                self.locks.push((name.clone(), guard));
                Ok(LockOutcome::Acquired)
            }
            Ok(None) => Ok(LockOutcome::Busy),
            Err(error) => Err(file_store::io_error(&path, &error)),
        }
    }
}
