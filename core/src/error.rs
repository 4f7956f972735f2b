//! Flow outcomes that are not a token, layered by whose fault they are, and API misuse.

use core::fmt;

use crate::callback::CallbackError;
use crate::discovery::DiscoveryError;
use crate::id_token::IdTokenError;
use crate::oauth::{OAuthError, TokenFailure};
use crate::store::StoreError;

/// Whose move it is after a failure. Every error llmauth reports has one class, and both
/// the exit code (SPEC §2) and the proxy's HTTP status (SPEC §7) are derived from it, so
/// the command line and the proxy can never classify the same failure differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// A sign-in is needed: no usable session, or the IdP ended it (exit 3; proxy 401).
    AuthRequired,
    /// The IdP, the network or the keychain failed in a way that may pass (exit 4;
    /// proxy 502).
    Transient,
    /// The usage, the configuration or the IdP's client registration is wrong (exit 2;
    /// proxy 500).
    Config,
    /// Another llmauth process held the session lock too long (exit 5; proxy 504).
    LockTimeout,
    /// A bug, or a protocol violation that must not be ignored (exit 1; proxy 500).
    Bug,
}

/// Why a flow ended without what it was asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A login is needed and not allowed here (exit 3).
    #[error("{0}")]
    NeedsLogin(NeedsLogin),
    /// The interactive login did not complete (exit 3).
    #[error("{0}")]
    LoginFailed(LoginFailure),
    /// The IdP or the network failed in a way that may pass (exit 4).
    #[error("{0}")]
    Transient(String),
    /// The session store failed (exit 4).
    #[error("the session store failed: {0}")]
    Store(StoreError),
    /// The configuration or the IdP's client registration is wrong (exit 2).
    #[error("{0}")]
    Config(String),
    /// The callback port is taken (exit 2).
    #[error("port {port} for the sign-in redirect is already in use")]
    CallbackPortInUse {
        /// The configured port.
        port: u16,
    },
    /// Another process held the session lock past the time budget (exit 5).
    #[error("another llmauth process held the session lock for too long")]
    LockTimeout,
    /// The IdP broke the protocol in a way that must not be ignored (exit 1).
    #[error("{0}")]
    Protocol(String),
}

impl FlowError {
    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NeedsLogin(NeedsLogin::LoginInProgress { url }) => {
                Some(format!("finish the sign-in at {url}, then try again"))
            }
            Self::NeedsLogin(_) | Self::LoginFailed(_) => Some("run `llmauth login`".to_owned()),
            Self::Transient(_) => Some("check your network and the IdP, then try again".to_owned()),
            Self::Store(_) => Some(
                "check the keychain (or `llmauth config set --secrets-backend file`) and file permissions".to_owned(),
            ),
            Self::Config(_) => Some("check `llmauth config show` and the client's registration at the IdP".to_owned()),
            Self::CallbackPortInUse { .. } => Some(
                "stop the program using it, or `llmauth config set --callback-port <port>` (a port the IdP allows)".to_owned(),
            ),
            Self::LockTimeout => Some("try again; if it persists, look for a stuck llmauth process".to_owned()),
            Self::Protocol(_) => None,
        }
    }

    pub(crate) fn from_discovery(error: DiscoveryError) -> Self {
        match error {
            DiscoveryError::Status { status } if status >= 500 || status == 429 => {
                Self::Transient(error.to_string())
            }
            DiscoveryError::Status { .. }
            | DiscoveryError::IssuerMismatch { .. }
            | DiscoveryError::Malformed(_)
            | DiscoveryError::InsecureEndpoint { .. } => Self::Config(error.to_string()),
        }
    }

    pub(crate) fn from_id_token(error: IdTokenError) -> Self {
        Self::Protocol(error.to_string())
    }
}

/// Why a login is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NeedsLogin {
    /// Nothing is stored for this gateway, issuer and client.
    NoSession,
    /// The IdP rejected the refresh token (`invalid_grant`).
    SessionEnded {
        /// The IdP's error.
        error: OAuthError,
        /// A refresh whose answer was lost may have spent the token.
        maybe_spent: bool,
    },
    /// Another process is in the middle of an interactive login.
    LoginInProgress {
        /// Its URL.
        url: String,
    },
    /// The stored session cannot be read; it was left untouched.
    CorruptSession {
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for NeedsLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSession => f.write_str("not signed in to this gateway"),
            Self::SessionEnded {
                error,
                maybe_spent: false,
            } => {
                write!(f, "the sign-in session has ended: the IdP answered {error}")
            }
            Self::SessionEnded {
                error,
                maybe_spent: true,
            } => write!(
                f,
                "the sign-in session has ended: the IdP answered {error} (an earlier refresh whose answer was lost probably used the refresh token)"
            ),
            Self::LoginInProgress { .. } => f.write_str("another llmauth process is signing in"),
            Self::CorruptSession { reason } => {
                write!(f, "the stored session is unreadable: {reason}")
            }
        }
    }
}

/// Why an interactive login failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginFailure {
    /// The redirect reported an error or failed a check.
    #[error("{0}")]
    Callback(CallbackError),
    /// The code exchange or the device poll was refused.
    #[error("the sign-in failed: {0}")]
    TokenEndpoint(TokenFailure),
    /// Nobody completed the sign-in in time.
    #[error("the sign-in was not completed within {minutes} minutes")]
    TimedOut {
        /// How long we waited.
        minutes: u64,
    },
    /// The IdP has no device authorization endpoint.
    #[error("the IdP does not offer the device flow (no device_authorization_endpoint)")]
    DeviceFlowUnsupported,
}

/// A driver bug: an input that does not fit the flow's state. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// The id does not match the outstanding intent.
    #[error("result for intent {got:?}, but the outstanding intent is {expected:?}")]
    WrongId {
        /// The outstanding intent's id, if any.
        expected: Option<crate::intent::IntentId>,
        /// The id given.
        got: crate::intent::IntentId,
    },
    /// The result is not of the kind the intent produces.
    #[error("the result does not answer the outstanding intent")]
    WrongResultKind,
    /// A timeout arrived while an intent was outstanding.
    #[error("timeout input while an intent is outstanding")]
    UnexpectedTimeout,
    /// Input arrived after the flow finished.
    #[error("input after the flow finished")]
    AfterDone,
}
