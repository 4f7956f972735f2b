//! The vocabulary between a flow and its driver: one [`Intent`] out, one [`IntentResult`]
//! back, each input stamped with the driver's clock.

use core::fmt;
use core::time::Duration;

use crate::http::{HttpRequest, HttpResponse, TransportError};
use crate::secret::{SecretBytes, SecretUrl};
use crate::store::{LockName, Slot, StoreError};
use crate::text::printable;
use crate::time::{UnixTime, WaitReason};

/// Identifies the outstanding intent; a result must carry the id it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntentId(pub(crate) u64);

/// One piece of I/O a flow needs done. Drivers perform it without deciding anything.
///
/// `Clone` lets an async driver move a copy to a blocking thread while the flow keeps
/// the original until the result comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Intent {
    /// Send an HTTP request to the IdP (never following redirects) → [`IntentResult::Http`].
    Http(HttpRequest),
    /// Read a slot → [`IntentResult::Read`] (`None` when it does not exist).
    Read(Slot),
    /// Replace a slot's content atomically (temp file + fsync + rename, owner-only
    /// permissions; or one keychain write) → [`IntentResult::Stored`].
    Write {
        /// Where.
        slot: Slot,
        /// What.
        bytes: SecretBytes,
    },
    /// Delete a slot (absent is fine) → [`IntentResult::Stored`].
    Delete(Slot),
    /// Rename an unreadable slot to `<name>.corrupt-<timestamp>` (0600) so a new login
    /// does not destroy it → [`IntentResult::Stored`].
    MoveAside(Slot),
    /// Take an exclusive advisory lock (released by the OS if the process dies). With
    /// `until: None` try once; otherwise wait until that time → [`IntentResult::Lock`].
    Lock {
        /// Which lock.
        name: LockName,
        /// How long to wait.
        until: Option<UnixTime>,
    },
    /// Release a lock taken by this flow → [`IntentResult::Done`].
    Unlock(LockName),
    /// Open the user's browser at this URL → [`IntentResult::Browser`].
    OpenBrowser {
        /// The authorization URL.
        url: String,
    },
    /// Listen for the redirect on `127.0.0.1` and `::1` (port 0: any free port)
    /// → [`IntentResult::Bound`].
    BindCallback {
        /// The configured callback port.
        port: u16,
    },
    /// Wait for the next request to the listener — or, when `accept_paste` is set, a
    /// redirect URL pasted on the terminal — until `deadline` → [`IntentResult::Callback`].
    AwaitCallback {
        /// When to give up.
        deadline: UnixTime,
        /// Whether to read a pasted URL from standard input.
        accept_paste: bool,
    },
    /// Answer the request last returned by `AwaitCallback` (no-op for a pasted URL)
    /// → [`IntentResult::Done`].
    RespondCallback {
        /// HTTP status.
        status: u16,
        /// A self-contained HTML page.
        page: String,
    },
    /// Stop listening → [`IntentResult::Done`].
    CloseCallback,
    /// Tell the person at the terminal (stderr) → [`IntentResult::Done`].
    Notify(Notice),
}

/// The outcome of an [`Intent`].
#[derive(Debug)]
#[non_exhaustive]
pub enum IntentResult {
    /// For [`Intent::Http`].
    Http(Result<HttpResponse, TransportError>),
    /// For [`Intent::Read`].
    Read(Result<Option<SecretBytes>, StoreError>),
    /// For [`Intent::Write`], [`Intent::Delete`] and [`Intent::MoveAside`].
    Stored(Result<(), StoreError>),
    /// For [`Intent::Lock`]: `Err` when the lock file itself cannot be used.
    Lock(Result<LockOutcome, StoreError>),
    /// For [`Intent::OpenBrowser`]: `Err` with a reason when no browser could be started.
    Browser(Result<(), String>),
    /// For [`Intent::BindCallback`]: the port actually bound.
    Bound(Result<u16, BindError>),
    /// For [`Intent::AwaitCallback`].
    Callback(CallbackEvent),
    /// For intents with nothing to report.
    Done,
}

impl IntentResult {
    /// Whether this is the kind of result `intent` produces.
    pub fn answers(&self, intent: &Intent) -> bool {
        matches!(
            (intent, self),
            (Intent::Http(_), Self::Http(_))
                | (Intent::Read(_), Self::Read(_))
                | (
                    Intent::Write { .. } | Intent::Delete(_) | Intent::MoveAside(_),
                    Self::Stored(_)
                )
                | (Intent::Lock { .. }, Self::Lock(_))
                | (Intent::OpenBrowser { .. }, Self::Browser(_))
                | (Intent::BindCallback { .. }, Self::Bound(_))
                | (Intent::AwaitCallback { .. }, Self::Callback(_))
                | (
                    Intent::Unlock(_)
                        | Intent::RespondCallback { .. }
                        | Intent::CloseCallback
                        | Intent::Notify(_),
                    Self::Done
                )
        )
    }
}

/// Whether a lock was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOutcome {
    /// This flow holds the lock now.
    Acquired,
    /// Another process holds it (and kept it until `until`).
    Busy,
}

/// Why the callback listener could not start.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot listen on port {port}: {detail}")]
pub struct BindError {
    /// The port asked for.
    pub port: u16,
    /// The port is taken by another program.
    pub in_use: bool,
    /// The OS error.
    pub detail: String,
}

/// What the callback listener saw.
#[derive(Debug)]
pub enum CallbackEvent {
    /// A request to the listener; the request target (`/callback?code=…`).
    Request(SecretUrl),
    /// A URL the user pasted on the terminal.
    Pasted(SecretUrl),
    /// The deadline passed.
    TimedOut,
}

/// Something a person should read on stderr. The wording lives here so both runtimes
/// say the same thing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// A refresh failed transiently; a still-valid cached token is used.
    ServingCachedToken {
        /// Why the refresh failed (OAuth code or transport error, never a body).
        reason: String,
        /// How long the served token stays valid.
        valid_for: Duration,
    },
    /// The sign-in URL, with whether a browser was opened for it.
    SignInUrl {
        /// The authorization URL.
        url: String,
        /// A browser was started.
        browser_opened: bool,
    },
    /// The user may paste the redirect URL.
    PasteBackHint,
    /// RFC 8628: where to go and which code to enter.
    DeviceCode {
        /// `verification_uri`.
        verification_uri: String,
        /// `verification_uri_complete`, when given.
        complete_uri: Option<String>,
        /// `user_code`.
        user_code: String,
    },
    /// Another process is signing in; finish it there.
    LoginInProgressElsewhere {
        /// Its URL.
        url: String,
        /// Its device user code, if any.
        user_code: Option<String>,
    },
    /// The IdP issued no refresh token.
    NoRefreshToken,
    /// An unreadable session was moved aside before a new login.
    SessionMovedAside {
        /// What was wrong with it.
        reason: String,
    },
    /// The refresh token could not be revoked at the IdP.
    RevocationFailed {
        /// Why.
        reason: String,
    },
    /// The IdP advertises no revocation endpoint (Entra ID, Dex): revocation was skipped.
    RevocationNotAdvertised,
    /// A request to the listener was answered with an error page and ignored.
    CallbackIgnored {
        /// What it was.
        reason: &'static str,
    },
    /// The access-token cache could not be written; the next call will refresh again.
    AccessCacheNotWritten {
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Notice {
    /// Every string in a notice that came from the IdP or from state (URLs, codes,
    /// reasons) is made [`printable`] first: it goes to a terminal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServingCachedToken { reason, valid_for } => write!(
                f,
                "warning: could not refresh the access token ({}); using the cached one, valid for {}s more",
                printable(reason),
                valid_for.as_secs()
            ),
            Self::SignInUrl { url, browser_opened: true } => {
                write!(f, "Opening your browser to sign in. If it does not open, visit:\n  {}", printable(url))
            }
            Self::SignInUrl { url, browser_opened: false } => {
                write!(f, "Open this URL to sign in: {}", printable(url))
            }
            Self::PasteBackHint => f.write_str(
                "Waiting for the sign-in to finish. If your browser cannot reach this machine, paste the address it was redirected to here and press Enter.",
            ),
            Self::DeviceCode { verification_uri, complete_uri, user_code } => {
                write!(
                    f,
                    "To sign in, visit {} and enter the code: {}",
                    printable(verification_uri),
                    printable(user_code)
                )?;
                if let Some(complete) = complete_uri {
                    write!(f, "\n  (or open {})", printable(complete))?;
                }
                Ok(())
            }
            Self::LoginInProgressElsewhere { url, user_code } => {
                write!(f, "Another llmauth process is signing in; finish it at {}", printable(url))?;
                if let Some(code) = user_code {
                    write!(f, " with the code {}", printable(code))?;
                }
                Ok(())
            }
            Self::NoRefreshToken => f.write_str(
                "warning: the IdP issued no refresh token, so you will have to sign in again when this access token expires. \
Likely fixes: `llmauth config set --prompt consent`; allow the refresh_token grant for this client at the IdP; \
let the client request the offline_access scope",
            ),
            Self::SessionMovedAside { reason } => write!(
                f,
                "warning: the stored session was unreadable ({}); it was moved aside and a new sign-in starts",
                printable(reason)
            ),
            Self::RevocationFailed { reason } => write!(
                f,
                "warning: could not revoke the refresh token at the IdP ({}); it was deleted here",
                printable(reason)
            ),
            Self::RevocationNotAdvertised => f.write_str(
                "note: the IdP advertises no revocation endpoint, so the refresh token was only deleted here (it stays valid at the IdP until it expires)",
            ),
            Self::CallbackIgnored { reason } => write!(f, "note: the sign-in listener ignored {reason}"),
            Self::AccessCacheNotWritten { reason } => write!(
                f,
                "warning: could not cache the access token ({}); the next call will refresh again",
                printable(reason)
            ),
        }
    }
}

/// Input to [`crate::flow::TokenFlow::handle_input`].
#[derive(Debug)]
pub enum Input {
    /// The result of the outstanding intent.
    Completed {
        /// The id it was issued with.
        id: IntentId,
        /// The driver's clock when it completed.
        now: UnixTime,
        /// The result.
        result: IntentResult,
    },
    /// A `WaitUntil` deadline passed (or the driver woke up early; core re-checks).
    Timeout {
        /// The driver's clock.
        now: UnixTime,
    },
}

/// What the driver must do next; `O` is how the flow ended (its goal's outcome or the
/// error that stopped it).
#[derive(Debug)]
pub enum Output<'a, O> {
    /// Perform this intent and report its result with this id.
    Perform {
        /// The id to answer with.
        id: IntentId,
        /// The work.
        intent: &'a Intent,
    },
    /// Sleep until `deadline`, then send [`Input::Timeout`].
    WaitUntil {
        /// When to wake.
        deadline: UnixTime,
        /// Why (for debug logs).
        reason: WaitReason,
    },
    /// The flow has finished with this outcome (and released what it held).
    Done(O),
}
