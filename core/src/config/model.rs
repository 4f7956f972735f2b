//! The validated configuration that the rest of llmauth works with.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use core::time::Duration;

use super::error::FieldError;
use super::raw::ConfiguredTool;
use crate::provider::Provider;
use crate::store::{Backend, SessionKey};

/// A complete, valid configuration, with every default filled in.
///
/// Strings are exactly as written in `config.yaml` (no URL normalisation), because the
/// session key and the discovery issuer check compare them byte for byte. Nothing in here
/// is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `llm.gateway_url`: an absolute https URL with a host.
    pub gateway_url: String,
    /// `llm.oidc.issuer`: https, or http on a loopback host.
    pub issuer: String,
    /// `llm.oidc.client_id`.
    pub client_id: String,
    /// `llm.oidc.audience`, requested as [`Provider::audience_via`] says; `""` when unset.
    pub audience: String,
    /// The scopes to request: as configured (order kept, duplicates dropped), with
    /// `openid`, the audience scope and `offline_access` as the provider needs
    /// ([`Provider::scopes`]).
    pub scopes: Vec<String>,
    /// `llm.oidc.prompt`; `""` means the parameter is not sent.
    pub prompt: String,
    /// `llm.oidc.auth_params`: extra authorization request parameters.
    pub auth_params: BTreeMap<String, String>,
    /// `llm.oidc.refresh_window`: refresh when less than this much validity is left
    /// (capped by half the token lifetime, SPEC §5).
    pub refresh_window: Duration,
    /// `llm.proxy.listen_port`: 1024–65535.
    pub proxy_port: u16,
    /// `llm.proxy.require_local_key`
    pub require_local_key: bool,
    /// `llm.tls.ca_file`: extra trust roots for the IdP and the gateway.
    pub ca_file: Option<String>,
    /// `llm.tls.skip_verify`: gateway only, never the IdP.
    pub skip_verify: bool,
    /// `llm.secrets.backend`
    pub secrets_backend: SecretsBackend,
    /// `llm.setup.anthropic_path_prefix`: `""`, `auto` or a path such as `/anthropic`.
    pub anthropic_path_prefix: String,
    /// `llm.models`: model ids as written, in order (Claude Code's tiers with Bedrock
    /// compatibility on, Claude Desktop's model list).
    pub models: Vec<String>,
    /// `llm.bedrock.compat`: Claude Code talks to a gateway that fronts Amazon Bedrock.
    pub bedrock_compat: bool,
    /// `llm.bedrock.enable_1m`: the 1M-token context variants of the opus and sonnet ids.
    pub bedrock_enable_1m: bool,
    /// `llm.configured_tools`, the index written by setup.
    pub configured_tools: Vec<ConfiguredTool>,
    /// The provider preset and its settings (`llm.oidc.provider`, `audience_via`,
    /// `offline_via`, `callback_host`, `callback_port`, `redirect_url`, `resend_scope`,
    /// `token_kind`), each with where it came from, and the tenant allow-list
    /// (`tenants`).
    pub provider: Provider,
    /// `llm.oidc.client_secret: stored`: a client secret is stored for this issuer and
    /// client (in the keychain or the state directory) and is sent to the token endpoint.
    pub client_secret: bool,
}

impl Config {
    /// The key of the session this configuration uses (SPEC §4).
    ///
    /// The tenant allow-list is not part of it: it decides which sign-ins are kept, not
    /// which tokens a session holds, so changing it leaves sessions where they are (a
    /// session of a tenant it no longer allows is refused at its next refresh).
    pub fn session_key(&self) -> SessionKey {
        SessionKey::derive(
            &self.gateway_url,
            &self.issuer,
            &self.client_id,
            &self.audience,
        )
    }
}

/// Where the refresh token is kept (SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SecretsBackend {
    /// Try the OS keychain once and record which backend answered.
    #[default]
    Auto,
    /// The OS keychain.
    Keyring,
    /// A 0600 file in the state directory.
    File,
}

impl SecretsBackend {
    /// The backend this setting names; `None` for `auto`, which the record of the first
    /// probe settles ([`choose_backend`](crate::store::choose_backend)).
    pub fn named(self) -> Option<Backend> {
        match self {
            Self::Auto => None,
            Self::Keyring => Some(Backend::Keyring),
            Self::File => Some(Backend::File),
        }
    }

    /// The spelling used in `config.yaml` and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Keyring => "keyring",
            Self::File => "file",
        }
    }
}

impl fmt::Display for SecretsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecretsBackend {
    type Err = FieldError;

    /// Parses `auto`, `keyring` or `file` (exactly; the file is case-sensitive everywhere).
    fn from_str(text: &str) -> Result<Self, FieldError> {
        match text {
            "auto" => Ok(Self::Auto),
            "keyring" => Ok(Self::Keyring),
            "file" => Ok(Self::File),
            other => Err(FieldError::new(
                super::field::SECRETS_BACKEND,
                format!("{other:?} is not one of auto, keyring, file"),
            )),
        }
    }
}
