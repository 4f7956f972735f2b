//! What the runtime found out for `doctor`: plain data, gathered without judging it.
//!
//! Nothing here holds a token in a form that could be shown: the access token arrives
//! only as its [`TokenClaims`], and a helper's standard output stays [`SecretBytes`].

use core::fmt;
use core::time::Duration;

use crate::broker::health;
use crate::config::{Config, SecretsBackend};
use crate::error::FlowError;
use crate::flow::SessionStatus;
use crate::http::{HttpResponse, TransportError};
use crate::secret::SecretBytes;
use crate::setup::drift::ToolDrift;
use crate::setup::tool::Tool;
use crate::store::{Backend, StoreError};
use crate::time::UnixTime;

use super::claims::TokenClaims;

/// Everything `doctor` judges. A fact is `None` when it was not gathered, because the
/// configuration it needs is missing or invalid.
#[derive(Clone, Debug)]
pub struct Facts {
    /// When the facts were judged (the driver's clock).
    pub now: UnixTime,
    /// The configuration file, or why it cannot be used.
    pub config: Result<Config, Problem>,
    /// The IdP's discovery documents.
    pub discovery: Option<DiscoveryFacts>,
    /// Trust settings and what the environment adds to them.
    pub tls: Option<TlsFacts>,
    /// The session store's keychain.
    pub keychain: Option<KeychainFacts>,
    /// The stored session and a token obtained the way a tool's helper gets one.
    pub session: Option<SessionFacts>,
    /// The authenticated request to the gateway.
    pub gateway: Option<GatewayFacts>,
    /// Every tool setup configured, in the order of its receipts.
    pub tools: Vec<ToolFacts>,
    /// The proxy's health.
    pub proxy: Option<ProxyFacts>,
}

impl Facts {
    /// Facts for a configuration that cannot be used: nothing else was gathered.
    pub fn without_config(problem: Problem, now: UnixTime) -> Self {
        Self {
            now,
            config: Err(problem),
            discovery: None,
            tls: None,
            keychain: None,
            session: None,
            gateway: None,
            tools: Vec::new(),
            proxy: None,
        }
    }
}

/// A problem found before the check, worded by whoever found it (the configuration's
/// error, with the file's path and line, comes from the same words every command uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong.
    pub message: String,
    /// What to do, when there is something.
    pub fix: Option<String>,
}

/// One HTTP request and what came of it, with the local times around it (the clock
/// check compares the answer's `Date` with them).
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The URL requested.
    pub url: String,
    /// When the request was sent.
    pub sent_at: UnixTime,
    /// When the answer (or the failure) came.
    pub received_at: UnixTime,
    /// The answer, or why none came.
    pub answer: Result<Answer, TransportError>,
}

/// An HTTP answer.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Status, content type and (bounded) body.
    pub response: HttpResponse,
    /// The `Date` header, as sent.
    pub date: Option<String>,
}

/// The discovery documents fetched from the IdP.
#[derive(Clone, Debug)]
pub struct DiscoveryFacts {
    /// `<issuer>/.well-known/openid-configuration`.
    pub oidc: Exchange,
    /// The RFC 8414 location, fetched only when the first gave no usable document
    /// ([`super::wants_rfc8414`]).
    pub rfc8414: Option<Exchange>,
}

/// Trust roots beyond the platform's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFacts {
    /// `tls.ca_file` and what reading it found wrong, if anything.
    pub ca_file: Option<CaFile>,
    /// `SSL_CERT_FILE`, which llmauth adds to its roots.
    pub ssl_cert_file: Option<String>,
    /// `CODEX_CA_CERTIFICATE` in this environment (Codex reads no `tls.ca_file`).
    pub codex_ca_certificate: Option<String>,
}

/// The configured CA file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaFile {
    /// As configured.
    pub path: String,
    /// Why it cannot be used (unreadable, no certificate), if so.
    pub problem: Option<String>,
}

/// Where the session lives and whether the keychain answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeychainFacts {
    /// `secrets.backend` as configured.
    pub configured: SecretsBackend,
    /// The backend in use (what `auto` settled on).
    pub backend: Backend,
    /// A write, read and delete of a throw-away item, when the keyring is in use: how long
    /// it took, or why it failed.
    pub probe: Option<Result<Duration, String>>,
}

/// The session.
#[derive(Clone, Debug)]
pub struct SessionFacts {
    /// A token from a non-interactive token flow (refreshing when due, never signing in).
    pub token: Result<TokenFacts, FlowError>,
    /// The stored records after that flow.
    pub stored: Result<SessionStatus, StoreError>,
}

/// The access token the flow handed out — never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFacts {
    /// When it expires, as recorded.
    pub expires_at: Option<UnixTime>,
    /// Its claims, when it is a JWT.
    pub claims: Option<TokenClaims>,
}

/// The authenticated request to the gateway.
#[derive(Clone, Debug)]
pub struct GatewayFacts {
    /// The path probed (`--probe-path`).
    pub probe_path: String,
    /// Whether the access token was sent (there was one).
    pub with_token: bool,
    /// The request and its answer.
    pub exchange: Exchange,
}

/// A tool setup configured.
#[derive(Clone, Debug)]
pub struct ToolFacts {
    /// The tool.
    pub tool: Tool,
    /// Its files and helper program, as `status` judges them.
    pub drift: ToolDrift,
    /// Its helper run as the tool runs it; `None` for proxy-mode tools.
    pub helper: Option<HelperFacts>,
}

/// A token-helper or credential-helper tool's helper.
#[derive(Clone, Debug)]
pub enum HelperFacts {
    /// The tool's files no longer say how to run it.
    Unwired(String),
    /// It was run.
    Ran(HelperRun),
}

/// One run of a helper, without a terminal, in the tool's environment.
#[derive(Clone, Debug)]
pub struct HelperRun {
    /// What the tool calls it, for messages (never its command line, which is the user's
    /// and may hold anything).
    pub name: String,
    /// How long the tool waits for it.
    pub limit: Duration,
    /// How long it took (or was given, if it timed out).
    pub elapsed: Duration,
    /// How it ended.
    pub outcome: HelperOutcome,
}

/// How a helper run ended.
#[derive(Clone)]
pub enum HelperOutcome {
    /// It could not be started.
    NotStarted(String),
    /// It did not finish within its limit and was killed.
    TimedOut,
    /// It exited.
    Exited {
        /// Its exit code (`None`: killed by a signal).
        code: Option<i32>,
        /// What it printed (a token, if it works): judged, never shown.
        stdout: SecretBytes,
        /// What it printed on standard error (bounded).
        stderr: String,
    },
}

impl fmt::Debug for HelperOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted(why) => f.debug_tuple("NotStarted").field(why).finish(),
            Self::TimedOut => f.write_str("TimedOut"),
            Self::Exited { code, stdout, .. } => f
                .debug_struct("Exited")
                .field("code", code)
                .field("stdout_len", &stdout.len())
                .finish_non_exhaustive(),
        }
    }
}

/// The proxy, for the tools that use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyFacts {
    /// `proxy.listen_port`.
    pub port: u16,
    /// What answers on that port, judged from its health endpoint's answer.
    pub health: health::Answer,
}
