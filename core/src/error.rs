//! Flow outcomes that are not a token, layered by whose fault they are, and API misuse.
//!
//! Every variant names what happened (a refresh that could not reach the IdP, a discovery
//! document naming another issuer, …); [`FlowError::class`] says whose move it is, and
//! the exit code and the proxy's status are derived from that class alone.

use core::fmt;
use core::time::Duration;

use crate::callback::CallbackError;
use crate::discovery::DiscoveryError;
use crate::http::TransportError;
use crate::id_token::IdTokenError;
use crate::intent::{BindError, IntentId};
use crate::oauth::{OAuthError, TokenFailure};
use crate::provider::TenantRefused;
use crate::store::{StoreError, StoreErrorKind};
use crate::time::UnixTime;

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
    /// A login is needed and not allowed here.
    #[error("{0}")]
    NeedsLogin(NeedsLogin),
    /// The interactive login did not complete.
    #[error("{0}")]
    LoginFailed(LoginFailure),
    /// The IdP or the network failed in a way that may pass.
    #[error("{0}")]
    IdpUnavailable(IdpUnavailable),
    /// The session store failed, or refused a file or directory of the state.
    #[error("{}", store_message(.0))]
    Store(StoreError),
    /// The configuration or the IdP's client registration is wrong.
    #[error("{0}")]
    Misconfigured(Misconfiguration),
    /// The callback port is taken.
    #[error("port {port} for the sign-in redirect is already in use")]
    CallbackPortInUse {
        /// The configured port.
        port: u16,
    },
    /// Another process held the session lock past the time budget.
    #[error("another llmauth process held the session lock for too long")]
    LockTimeout,
    /// The IdP sent an ID token that fails its checks: a protocol violation that must
    /// not be ignored.
    #[error("{0}")]
    IdToken(IdTokenError),
    /// The IdP answered something that must not be used or shown.
    #[error("{0}")]
    Protocol(ProtocolViolation),
    /// An account of a tenant `llm.oidc.tenants` does not allow signed in (or its session
    /// was refreshed); nothing of it was kept.
    #[error("{0}")]
    TenantRefused(TenantRefused),
    /// The operating system gave no randomness for PKCE, `state` and `nonce`.
    #[error("{0}")]
    Entropy(EntropyError),
    /// A bug in llmauth.
    #[error("internal error: {0}")]
    Internal(Internal),
}

impl FlowError {
    /// Whose move it is; decides the exit code and the proxy's status.
    pub fn class(&self) -> ErrorClass {
        match self {
            // Nothing is wrong with the configuration or the IdP: the person chose an
            // account of another tenant, and a sign-in with the right account fixes it.
            Self::NeedsLogin(_) | Self::LoginFailed(_) | Self::TenantRefused(_) => {
                ErrorClass::AuthRequired
            }
            // A refused session file needs a new sign-in (or the owner's `chmod`); state
            // someone else could have written needs the user's fix; anything else of the
            // store (the keychain, a full disk) may pass.
            Self::Store(error) => match error.kind {
                StoreErrorKind::InsecurePermissions => ErrorClass::AuthRequired,
                StoreErrorKind::UntrustedState => ErrorClass::Config,
                StoreErrorKind::KeychainUnavailable | StoreErrorKind::Io => ErrorClass::Transient,
            },
            Self::IdpUnavailable(_) => ErrorClass::Transient,
            Self::Misconfigured(_) | Self::CallbackPortInUse { .. } => ErrorClass::Config,
            Self::LockTimeout => ErrorClass::LockTimeout,
            Self::IdToken(_) | Self::Protocol(_) | Self::Entropy(_) | Self::Internal(_) => {
                ErrorClass::Bug
            }
        }
    }

    /// What the user can do about it, when there is something: for an IdP error llmauth
    /// recognises (a provider trap), the cause and its fix.
    pub fn hint(&self) -> Option<String> {
        if let Some(cause) = self.oauth_error().and_then(crate::provider::known_cause) {
            return Some(cause.to_owned());
        }
        if let Self::Misconfigured(Misconfiguration::Discovery(DiscoveryError::IssuerMismatch {
            expected,
            found,
        })) = self
            && let Some(fix) = crate::provider::issuer_mismatch_fix(expected, found)
        {
            return Some(fix);
        }
        match self {
            Self::NeedsLogin(NeedsLogin::CannotRenew { .. }) => {
                Some("run `llmauth login`, or ask for less with --min-valid".to_owned())
            }
            Self::IdpUnavailable(IdpUnavailable::ShortLived { .. }) => Some(
                "ask for less with --min-valid, or raise the token lifetime at the IdP".to_owned(),
            ),
            Self::Misconfigured(Misconfiguration::ClientSecretMissing) => Some(
                "store it with `llmauth config set --client-secret-stdin` (an empty line removes the setting)"
                    .to_owned(),
            ),
            Self::Misconfigured(Misconfiguration::NoIdToken) => Some(
                "request the openid scope, or hand out the access token: `llmauth config set --token-kind access`"
                    .to_owned(),
            ),
            Self::NeedsLogin(NeedsLogin::LoginInProgress { url }) => Some(format!(
                "finish the sign-in at {}, then try again",
                crate::text::printable(url)
            )),
            Self::NeedsLogin(NeedsLogin::SessionEnded {
                provider_cause: Some(cause),
                ..
            }) => Some(format!("run `llmauth login`; {cause}")),
            Self::NeedsLogin(_) | Self::LoginFailed(_) => Some("run `llmauth login`".to_owned()),
            Self::TenantRefused(_) => Some(TENANT_HINT.to_owned()),
            // Nothing answered where the issuer points: a typo is as likely as an outage.
            Self::IdpUnavailable(IdpUnavailable::Discovery(DiscoveryUnavailable::Unreachable {
                ..
            })) => Some(CHECK_ISSUER.to_owned() + ", and that the IdP can be reached from here"),
            Self::IdpUnavailable(_) => Some("check your network and the IdP, then try again".to_owned()),
            Self::Misconfigured(Misconfiguration::DiscoveryNotServed { .. }) => {
                Some(CHECK_ISSUER.to_owned() + ": it must be the URL the IdP names itself with")
            }
            // Their message names the path and the `chmod` or `chown` that fixes it.
            Self::Store(error) if error.is_refusal() => None,
            Self::Store(_) => Some(
                "check the keychain (or `llmauth config set --secrets-backend file`) and file permissions".to_owned(),
            ),
            Self::Misconfigured(_) => Some("check `llmauth config show` and the client's registration at the IdP".to_owned()),
            Self::CallbackPortInUse { .. } => Some(
                "stop the program using it, or `llmauth config set --callback-port <port>` (a port the IdP allows)".to_owned(),
            ),
            Self::LockTimeout => Some("try again; if it persists, look for a stuck llmauth process".to_owned()),
            Self::Protocol(_) => {
                Some("the IdP's answer was refused; ask its administrators to fix it".to_owned())
            }
            Self::IdToken(_) | Self::Entropy(_) | Self::Internal(_) => None,
        }
    }
}

/// A refusal says what is wrong with which path itself; any other store failure is
/// introduced as one.
fn store_message(error: &StoreError) -> String {
    if error.is_refusal() {
        error.to_string()
    } else {
        format!("the session store failed: {error}")
    }
}

impl FlowError {
    /// The IdP's RFC 6749 error behind this failure, if there is one.
    fn oauth_error(&self) -> Option<&OAuthError> {
        let failure = match self {
            Self::LoginFailed(LoginFailure::Callback(CallbackError::Refused(error)))
            | Self::NeedsLogin(NeedsLogin::SessionEnded { error, .. }) => return Some(error),
            Self::LoginFailed(LoginFailure::TokenEndpoint(failure))
            | Self::Misconfigured(Misconfiguration::RefreshRejected(failure))
            | Self::IdpUnavailable(
                IdpUnavailable::CodeExchange(ExchangeFailure::Answered(failure))
                | IdpUnavailable::DeviceAuthorization(ExchangeFailure::Answered(failure)),
            ) => failure,
            Self::NeedsLogin(_)
            | Self::LoginFailed(_)
            | Self::IdpUnavailable(_)
            | Self::Store(_)
            | Self::Misconfigured(_)
            | Self::CallbackPortInUse { .. }
            | Self::LockTimeout
            | Self::Protocol(_)
            | Self::IdToken(_)
            | Self::TenantRefused(_)
            | Self::Entropy(_)
            | Self::Internal(_) => return None,
        };
        match failure {
            TokenFailure::OAuth { error, .. } => Some(error),
            TokenFailure::Status(_) | TokenFailure::Malformed(_) => None,
        }
    }
}

impl From<Internal> for FlowError {
    fn from(internal: Internal) -> Self {
        Self::Internal(internal)
    }
}

impl From<Misuse> for FlowError {
    /// A driver fed a flow what it did not ask for: a bug in the driver.
    fn from(misuse: Misuse) -> Self {
        Self::Internal(Internal::Misuse(misuse))
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
        /// Why this provider may end sessions early, when it is known to.
        provider_cause: Option<&'static str>,
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
    /// A sign-in in the browser was abandoned (a helper's wait ran out), so helpers do
    /// not open the browser again until the cooldown ends (SPEC §2).
    SignInCoolingDown {
        /// When helpers may open the browser again.
        until: UnixTime,
    },
    /// No refresh token is stored, and the cached token does not last as long as the
    /// caller asked (`--min-valid`).
    CannotRenew {
        /// How long the cached token stays valid.
        valid_for: Duration,
        /// What the caller asked for.
        min_valid: Duration,
    },
}

impl fmt::Display for NeedsLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSession => f.write_str("not signed in to this gateway"),
            Self::SessionEnded {
                error,
                maybe_spent: false,
                ..
            } => {
                write!(f, "the sign-in session has ended: the IdP answered {error}")
            }
            Self::SessionEnded {
                error,
                maybe_spent: true,
                ..
            } => write!(
                f,
                "the sign-in session has ended: the IdP answered {error} (an earlier refresh whose answer was lost probably used the refresh token)"
            ),
            Self::LoginInProgress { .. } => f.write_str("another llmauth process is signing in"),
            Self::CorruptSession { reason } => {
                write!(f, "the stored session is unreadable: {reason}")
            }
            Self::SignInCoolingDown { until } => write!(
                f,
                "a sign-in in the browser was not completed, so tools will not open the browser again before {}",
                until.to_rfc3339()
            ),
            Self::CannotRenew {
                valid_for,
                min_valid,
            } => write!(
                f,
                "no refresh token is stored, and the cached token is valid for only {}s, less than the {}s --min-valid asks for",
                valid_for.as_secs(),
                min_valid.as_secs()
            ),
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
    #[error(
        "the sign-in was not completed within {}",
        crate::text::count(*minutes, "minute", "minutes")
    )]
    TimedOut {
        /// How long we waited.
        minutes: u64,
    },
    /// The IdP has no device authorization endpoint.
    #[error("the IdP does not offer the device flow (no device_authorization_endpoint)")]
    DeviceFlowUnsupported,
    /// A sign-in with no terminal could not open a browser, and nobody would read a URL.
    #[error("no browser could be opened to sign in ({reason})")]
    NoBrowser {
        /// What the opener said.
        reason: String,
    },
}

/// What to do after a sign-in by an account of a tenant the allow-list does not name:
/// Microsoft's single sign-on tends to pick the same account again unless asked.
const TENANT_HINT: &str = "run `llmauth login` and sign in with an account of an allowed tenant \
     (`llmauth config set --prompt select_account` makes Microsoft ask which account)";

/// The start of the hint for an issuer that leads nowhere.
const CHECK_ISSUER: &str =
    "check the issuer (`llmauth config show`; `llmauth config set --issuer URL`)";

/// The message of a call whose time budget ran out (`token --timeout`).
const BUDGET_SPENT: &str = "the time allowed for this call ran out before the IdP answered";

/// Which call to the IdP failed in a way that may pass, and how.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdpUnavailable {
    /// The call's time budget ran out before the IdP was asked.
    #[error("{BUDGET_SPENT}")]
    BudgetSpent,
    /// The discovery document could not be fetched.
    #[error("{0}")]
    Discovery(DiscoveryUnavailable),
    /// A refresh did not renew the token and no cached token is left to serve.
    #[error("could not refresh the access token: {0}")]
    Refresh(RefreshFailure),
    /// The authorization code could not be exchanged.
    #[error("the sign-in could not be completed: {0}")]
    CodeExchange(ExchangeFailure),
    /// The device authorization request failed.
    #[error("could not start the device sign-in: {0}")]
    DeviceAuthorization(ExchangeFailure),
    /// A refresh failed, and the cached token does not last as long as the caller asked
    /// (`--min-valid`), so it is not handed out.
    #[error(
        "could not refresh the access token ({reason}), and the cached one is valid for only {}s, less than the {}s --min-valid asks for",
        valid_for.as_secs(),
        min_valid.as_secs()
    )]
    RefreshedNotInTime {
        /// Why the refresh failed.
        reason: RefreshFailure,
        /// How long the cached token stays valid.
        valid_for: Duration,
        /// What the caller asked for.
        min_valid: Duration,
    },
    /// The IdP's new token does not last as long as the caller asked (`--min-valid`).
    #[error(
        "the IdP issued a token valid for {}s, less than the {}s --min-valid asks for",
        valid_for.as_secs(),
        min_valid.as_secs()
    )]
    ShortLived {
        /// How long the new token is valid.
        valid_for: Duration,
        /// What the caller asked for.
        min_valid: Duration,
    },
}

/// Why the discovery document could not be fetched just now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryUnavailable {
    /// No HTTP answer from the discovery document's URL.
    #[error("could not get the discovery document from {url}: {error}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// What happened.
        error: TransportError,
    },
    /// The IdP answered with a status that may pass (5xx, 429).
    #[error("{0}")]
    Answered(DiscoveryError),
}

/// Why a refresh did not renew the token this time. The text is also the reason given
/// when a still-valid cached token is served instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshFailure {
    /// The time budget ran out before the refresh was sent.
    #[error("{BUDGET_SPENT}")]
    BudgetSpent,
    /// The token endpoint could not be discovered.
    #[error("{0}")]
    Discovery(DiscoveryUnavailable),
    /// No HTTP answer (and, if the request may have arrived, the one retry failed too).
    #[error("{0}")]
    Unreachable(TransportError),
    /// The IdP answered with an error that may pass, or an unreadable token response.
    #[error("{0}")]
    Answered(TokenFailure),
    /// The IdP refused the refresh token another process had just rotated, after this
    /// flow had already used its one retry.
    #[error("{0}")]
    Refused(OAuthError),
}

/// Why a code exchange or a device authorization request failed in a way that may pass.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeFailure {
    /// No HTTP answer.
    #[error("{0}")]
    Unreachable(TransportError),
    /// The IdP answered with an error that may pass.
    #[error("{0}")]
    Answered(TokenFailure),
}

/// What is wrong with the configuration or the IdP's client registration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misconfiguration {
    /// The token endpoint refused the refresh for a reason waiting will not fix
    /// (`invalid_client`, `unauthorized_client`, a 4xx without an error body, …).
    #[error("refreshing the access token failed: {0}")]
    RefreshRejected(TokenFailure),
    /// The discovery document is unusable, or names another issuer.
    #[error("{0}")]
    Discovery(DiscoveryError),
    /// No discovery document is served where the issuer says: it is probably mistyped.
    #[error(
        "no discovery document at {} (the IdP answered HTTP {status})",
        crate::text::listing(urls, "or")
    )]
    DiscoveryNotServed {
        /// The URLs tried, in order.
        urls: Vec<String>,
        /// The last status.
        status: u16,
    },
    /// The callback listener could not start (for another reason than a taken port).
    #[error("{0}")]
    CallbackBind(BindError),
    /// `llm.oidc.client_secret: stored`, but no secret is stored for this issuer and
    /// client id (another machine's config, or the issuer or client id changed since).
    #[error("a client secret is configured, but none is stored for this issuer and client id")]
    ClientSecretMissing,
    /// `token_kind: id`, and the IdP issued no ID token that is still valid.
    #[error("the IdP issued no ID token to hand out (token_kind is id)")]
    NoIdToken,
}

/// What an IdP answered that llmauth refuses to use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// RFC 8628 §3.2: the device flow's verification URL is not https (http only on
    /// loopback), so a person would be sent to a page anyone on the way could change.
    #[error("the IdP's device sign-in page is not an https URL: {url}")]
    InsecureVerificationUri {
        /// The URL, made printable and short.
        url: String,
    },
}

/// A bug in llmauth: what went wrong inside.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Internal {
    /// The driver fed the flow an input that does not fit.
    #[error("{0}")]
    Misuse(Misuse),
    /// A result reached a step that did not ask for it.
    #[error("unexpected result")]
    UnexpectedResult,
    /// A wake-up reached a step that did not ask for it.
    #[error("unexpected wake-up")]
    UnexpectedWakeUp,
    /// A second sign-in was started in one flow.
    #[error("login started twice")]
    LoginStartedTwice,
    /// The flow stopped with nothing left to do and no outcome.
    #[error("the flow finished without an outcome")]
    Stalled,
}

/// The operating system's random source failed; there is deliberately no fallback, since
/// guessable PKCE or `state` values would defeat their purpose.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed: {detail}")]
pub struct EntropyError {
    /// The OS error.
    pub detail: String,
}

/// A driver bug: an input that does not fit the flow's state. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// The id does not match the outstanding intent.
    #[error("result for intent {got:?}, but the outstanding intent is {expected:?}")]
    WrongId {
        /// The outstanding intent's id, if any.
        expected: Option<IntentId>,
        /// The id given.
        got: IntentId,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::TransportErrorKind;

    fn transport() -> TransportError {
        TransportError {
            kind: TransportErrorKind::Connect,
            request_sent: false,
            detail: "refused".to_owned(),
        }
    }

    fn store(kind: StoreErrorKind) -> FlowError {
        FlowError::Store(StoreError {
            kind,
            detail: "/s/x — fix".to_owned(),
        })
    }

    #[test]
    fn a_refusal_is_its_own_sentence_and_needs_no_hint() {
        let refused = store(StoreErrorKind::UntrustedState);
        assert_eq!(refused.to_string(), "/s/x — fix");
        assert_eq!(refused.hint(), None);
        let io = store(StoreErrorKind::Io);
        assert_eq!(
            io.to_string(),
            "the session store failed: file access failed: /s/x — fix"
        );
        assert!(io.hint().is_some());
    }

    /// The typed causes print exactly what the string-carrying variants printed.
    #[test]
    fn typed_causes_keep_their_messages() {
        let cases = [
            (
                FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent),
                "the time allowed for this call ran out before the IdP answered",
            ),
            (
                FlowError::IdpUnavailable(IdpUnavailable::Refresh(RefreshFailure::BudgetSpent)),
                "could not refresh the access token: the time allowed for this call ran out before the IdP answered",
            ),
            (
                FlowError::IdpUnavailable(IdpUnavailable::Refresh(RefreshFailure::Discovery(
                    DiscoveryUnavailable::Unreachable {
                        url: "https://idp/.well-known/openid-configuration".to_owned(),
                        error: transport(),
                    },
                ))),
                "could not refresh the access token: could not get the discovery document from https://idp/.well-known/openid-configuration: connection failed: refused",
            ),
            (
                FlowError::IdpUnavailable(IdpUnavailable::CodeExchange(ExchangeFailure::Answered(
                    TokenFailure::Status(503),
                ))),
                "the sign-in could not be completed: the IdP answered HTTP 503",
            ),
            (
                FlowError::IdpUnavailable(IdpUnavailable::DeviceAuthorization(
                    ExchangeFailure::Unreachable(transport()),
                )),
                "could not start the device sign-in: connection failed: refused",
            ),
            (
                FlowError::Misconfigured(Misconfiguration::RefreshRejected(TokenFailure::Status(
                    400,
                ))),
                "refreshing the access token failed: the IdP answered HTTP 400",
            ),
            (
                FlowError::Internal(Internal::Misuse(Misuse::AfterDone)),
                "internal error: input after the flow finished",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn every_error_has_the_class_of_the_code_it_always_had() {
        let cases = [
            (
                FlowError::NeedsLogin(NeedsLogin::NoSession),
                ErrorClass::AuthRequired,
            ),
            (
                FlowError::IdpUnavailable(IdpUnavailable::BudgetSpent),
                ErrorClass::Transient,
            ),
            (
                FlowError::Misconfigured(Misconfiguration::Discovery(DiscoveryError::Status {
                    status: 404,
                })),
                ErrorClass::Config,
            ),
            (
                FlowError::CallbackPortInUse { port: 8666 },
                ErrorClass::Config,
            ),
            (FlowError::LockTimeout, ErrorClass::LockTimeout),
            (
                FlowError::Internal(Internal::UnexpectedResult),
                ErrorClass::Bug,
            ),
            (store(StoreErrorKind::Io), ErrorClass::Transient),
            (
                store(StoreErrorKind::KeychainUnavailable),
                ErrorClass::Transient,
            ),
            // Issue 9.9: a session file refused for its permissions needs a sign-in, not
            // a retry; state another user could have written needs the user's fix.
            (
                store(StoreErrorKind::InsecurePermissions),
                ErrorClass::AuthRequired,
            ),
            (store(StoreErrorKind::UntrustedState), ErrorClass::Config),
        ];
        for (error, class) in cases {
            assert_eq!(error.class(), class, "{error}");
        }
    }
}
