//! The preset table, and resolving the settings a configuration leaves to it: each value
//! with where it came from.

use core::fmt;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use url::{Host, Url};

use super::detect::{Reason, detect, is_pingone};
use super::issuer::IssuerMatch;
use super::kinds::{AudienceVia, CallbackHost, OfflineVia, Preset, ProviderSetting, TokenKind};
use super::tenants::Tenants;
use crate::config::defaults;

/// Where a provider setting's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The preset's default.
    Preset,
    /// `config.yaml` sets it.
    Config,
}

impl Source {
    /// `preset` or `config`, as `status --format json` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preset => "preset",
            Self::Config => "config",
        }
    }
}

/// A resolved setting: its value and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice<T> {
    /// The value in force.
    pub value: T,
    /// Who chose it.
    pub source: Source,
}

impl<T> Choice<T> {
    /// The configured value when there is one, else the preset's.
    fn of(configured: Option<T>, preset: T) -> Self {
        match configured {
            Some(value) => Self {
                value,
                source: Source::Config,
            },
            None => Self {
                value: preset,
                source: Source::Preset,
            },
        }
    }
}

/// What the preset table says for one provider (the design's table with its binding
/// revisions).
struct Defaults {
    audience_via: AudienceVia,
    offline_via: OfflineVia,
    client_secret: bool,
    /// The provider accepts any loopback port (RFC 8252 §7.3), so an ephemeral port on
    /// this host is the default; `None` for a fixed `localhost:8666` matched exactly.
    any_port_host: Option<CallbackHost>,
    resend_scope: bool,
    token_kind: TokenKind,
}

impl Preset {
    fn defaults(self, issuer: &str) -> Defaults {
        let standard = Defaults {
            audience_via: AudienceVia::None,
            offline_via: OfflineVia::Scope,
            client_secret: false,
            any_port_host: None,
            resend_scope: false,
            token_kind: TokenKind::Access,
        };
        match self {
            Self::Generic => Defaults {
                audience_via: AudienceVia::Resource,
                ..standard
            },
            // Entra ignores the port of `http://localhost` redirects, and its portal
            // refuses `127.0.0.1` outside the manifest.
            Self::Entra => Defaults {
                audience_via: AudienceVia::Scope,
                any_port_host: Some(CallbackHost::Localhost),
                resend_scope: true,
                ..standard
            },
            Self::Okta | Self::Authentik => standard,
            Self::Google => Defaults {
                offline_via: OfflineVia::AccessType,
                client_secret: true,
                any_port_host: Some(CallbackHost::Loopback),
                token_kind: TokenKind::Id,
                ..standard
            },
            Self::Auth0 => Defaults {
                audience_via: AudienceVia::Audience,
                ..standard
            },
            Self::Keycloak => Defaults {
                any_port_host: Some(CallbackHost::Loopback),
                resend_scope: true,
                ..standard
            },
            // PingOne picks the audience from the resource whose scopes are requested and
            // accepts any loopback port; PingFederate selects the token manager with `aud`
            // and documents no any-port rule.
            Self::Ping if issuer_host(issuer).is_some_and(|host| is_pingone(&host)) => Defaults {
                any_port_host: Some(CallbackHost::Loopback),
                ..standard
            },
            Self::Ping => Defaults {
                audience_via: AudienceVia::Aud,
                ..standard
            },
            Self::Dex | Self::Zitadel => Defaults {
                audience_via: AudienceVia::Scope,
                any_port_host: Some(CallbackHost::Loopback),
                ..standard
            },
            Self::Cognito | Self::Gitlab => Defaults {
                offline_via: OfflineVia::None,
                ..standard
            },
        }
    }

    /// The scope that asks for `audience` when the audience goes in a scope.
    pub fn audience_scope(self, audience: &str) -> String {
        match self {
            Self::Entra if audience.ends_with("/.default") => audience.to_owned(),
            Self::Entra => format!("{}/.default", audience.trim_end_matches('/')),
            Self::Zitadel => format!("urn:zitadel:iam:org:project:id:{audience}:aud"),
            Self::Dex => format!("audience:server:client_id:{audience}"),
            Self::Generic
            | Self::Okta
            | Self::Google
            | Self::Auth0
            | Self::Keycloak
            | Self::Ping
            | Self::Authentik
            | Self::Cognito
            | Self::Gitlab => audience.to_owned(),
        }
    }
}

fn issuer_host(issuer: &str) -> Option<String> {
    match Url::parse(issuer).ok()?.host()? {
        Host::Domain(host) => Some(host.to_ascii_lowercase()),
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}

/// A full redirect URL given in `llm.oidc.redirect_url`, checked: `http` on `localhost` or
/// `127.0.0.1`, an explicit port, a path, nothing else. Used exactly as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUrl {
    url: String,
    port: u16,
    path: String,
}

impl RedirectUrl {
    /// Checks `text`.
    ///
    /// # Errors
    /// What is wrong, lowercase, naming the rule.
    pub fn parse(text: &str) -> Result<Self, String> {
        let wanted = "must be http://127.0.0.1:<port>/<path> or http://localhost:<port>/<path>";
        let url = Url::parse(text).map_err(|_| wanted.to_owned())?;
        let host_ok = matches!(
            url.host(),
            Some(Host::Domain("localhost")) | Some(Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
        );
        let lower = text.to_ascii_lowercase();
        let written_host =
            lower.starts_with("http://localhost:") || lower.starts_with("http://127.0.0.1:");
        if url.scheme() != "http" || !host_ok || !written_host {
            return Err(wanted.to_owned());
        }
        if !url.username().is_empty() || url.query().is_some() || url.fragment().is_some() {
            return Err(format!("{wanted}, without user, query or fragment"));
        }
        let Some(port) = url.port() else {
            return Err(format!("{wanted}: the port is required"));
        };
        if port < 1024 {
            return Err(format!("{wanted}: the port must be between 1024 and 65535"));
        }
        let path = url.path().to_owned();
        if path == "/" || !text.ends_with(&path) {
            return Err(format!("{wanted}: a path such as /callback is required"));
        }
        Ok(Self {
            url: text.to_owned(),
            port,
            path,
        })
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

/// The redirect path registered with the IdP (unless `redirect_url` names another).
pub const CALLBACK_PATH: &str = "/callback";

/// The loopback redirect of a sign-in (RFC 8252 §7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// `http://<host>:<port>/callback`; port 0 is any free port.
    Loopback {
        /// `localhost` or `127.0.0.1`.
        host: CallbackHost,
        /// The port, 0 for any free one.
        port: u16,
    },
    /// `llm.oidc.redirect_url`, exactly.
    Exact(RedirectUrl),
}

impl Redirect {
    /// The port to listen on (0: any free port).
    pub fn port(&self) -> u16 {
        match self {
            Self::Loopback { port, .. } => *port,
            Self::Exact(url) => url.port,
        }
    }

    /// The path the IdP redirects to.
    pub fn path(&self) -> &str {
        match self {
            Self::Loopback { .. } => CALLBACK_PATH,
            Self::Exact(url) => &url.path,
        }
    }

    /// The redirect URI sent to the IdP, for a listener bound to `bound_port`.
    pub fn uri(&self, bound_port: u16) -> String {
        match self {
            Self::Loopback { host, .. } => format!("http://{host}:{bound_port}{CALLBACK_PATH}"),
            Self::Exact(url) => url.url.clone(),
        }
    }
}

impl fmt::Display for Redirect {
    /// The URI to register at the IdP (`<any port>` for a free port).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Loopback { host, port: 0 } => {
                write!(f, "http://{host}:<any port>{CALLBACK_PATH}")
            }
            Self::Loopback { host, port } => write!(f, "http://{host}:{port}{CALLBACK_PATH}"),
            Self::Exact(url) => f.write_str(&url.url),
        }
    }
}

/// The provider settings as the configuration gives them (`None`: not set).
#[derive(Clone, Debug, Default)]
pub struct ProviderInputs<'a> {
    /// `llm.oidc.provider`.
    pub provider: Option<ProviderSetting>,
    /// `llm.oidc.issuer`.
    pub issuer: Option<&'a str>,
    /// `llm.oidc.audience_via`.
    pub audience_via: Option<AudienceVia>,
    /// `llm.oidc.offline_via`.
    pub offline_via: Option<OfflineVia>,
    /// `llm.oidc.callback_host`.
    pub callback_host: Option<CallbackHost>,
    /// `llm.oidc.callback_port`.
    pub callback_port: Option<u16>,
    /// `llm.oidc.redirect_url`.
    pub redirect_url: Option<RedirectUrl>,
    /// `llm.oidc.resend_scope`.
    pub resend_scope: Option<bool>,
    /// `llm.oidc.token_kind`.
    pub token_kind: Option<TokenKind>,
    /// `llm.oidc.tenants` (empty: any tenant).
    pub tenants: Tenants,
}

/// The provider settings in force: the preset and why, and every setting with its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The preset.
    pub preset: Preset,
    /// Why this preset.
    pub reason: Reason,
    /// How the audience is requested.
    pub audience_via: Choice<AudienceVia>,
    /// How a refresh token is asked for.
    pub offline_via: Choice<OfflineVia>,
    /// The redirect URI's host.
    pub callback_host: Choice<CallbackHost>,
    /// The listener's port (0: any free port).
    pub callback_port: Choice<u16>,
    /// A full redirect URL overriding host, port and path.
    pub redirect_url: Option<RedirectUrl>,
    /// Whether refreshes re-send the granted `scope`.
    pub resend_scope: Choice<bool>,
    /// Which token is handed out.
    pub token_kind: Choice<TokenKind>,
    /// Whether the provider needs a client secret (Google's desktop clients do).
    pub client_secret_expected: bool,
    /// How issuers are compared.
    pub issuer_match: IssuerMatch,
    /// The tenants whose accounts may sign in (Entra's multi-tenant issuers only; empty:
    /// any).
    pub tenants: Tenants,
}

impl Provider {
    /// Resolves the settings: the preset (named, or detected from the issuer) fills what
    /// the configuration leaves unset.
    pub fn resolve(inputs: &ProviderInputs<'_>) -> Self {
        let issuer = inputs.issuer.unwrap_or_default();
        let (preset, reason) = match inputs.provider.unwrap_or_default() {
            ProviderSetting::Preset(preset) => (preset, Reason::Configured),
            ProviderSetting::Auto if inputs.issuer.is_none() => (Preset::Generic, Reason::NoIssuer),
            ProviderSetting::Auto => detect(issuer),
        };
        let defaults = preset.defaults(issuer);
        let callback_port = Choice::of(
            inputs.callback_port,
            if defaults.any_port_host.is_some() {
                0
            } else {
                // Exact-match presets: `http://localhost:8666/callback` is registered.
                defaults::CALLBACK_PORT
            },
        );
        // A fixed port means an exactly registered redirect URI, which llmauth has always
        // written with `localhost`.
        let host = match defaults.any_port_host {
            Some(host) if callback_port.value == 0 || host == CallbackHost::Localhost => host,
            Some(_) | None => CallbackHost::Localhost,
        };
        Self {
            preset,
            reason,
            audience_via: Choice::of(inputs.audience_via, defaults.audience_via),
            offline_via: Choice::of(inputs.offline_via, defaults.offline_via),
            callback_host: Choice::of(inputs.callback_host, host),
            callback_port,
            redirect_url: inputs.redirect_url.clone(),
            resend_scope: Choice::of(inputs.resend_scope, defaults.resend_scope),
            token_kind: Choice::of(inputs.token_kind, defaults.token_kind),
            client_secret_expected: defaults.client_secret,
            issuer_match: IssuerMatch::for_issuer(
                preset == Preset::Entra,
                preset == Preset::Google,
                issuer,
            ),
            tenants: inputs.tenants.clone(),
        }
    }

    /// Whether the issuer signs in accounts of many tenants, so that an allow-list means
    /// something (Entra's `common` and `organizations`; any other issuer, Entra's
    /// single-tenant ones included, already pins whom it signs in).
    pub fn is_multi_tenant(&self) -> bool {
        self.issuer_match == IssuerMatch::EntraTenant
    }

    /// One line for `status` and `doctor`: the preset and why, the redirect URI to
    /// register, and the tenant allow-list when there is one.
    pub fn summary(&self) -> String {
        let tenants = if self.tenants.is_empty() {
            String::new()
        } else {
            format!("; tenants {}", self.tenants)
        };
        format!(
            "{} ({}); redirect URI {}{tenants}",
            self.preset,
            self.reason,
            self.redirect()
        )
    }

    /// The redirect of a sign-in.
    pub fn redirect(&self) -> Redirect {
        match &self.redirect_url {
            Some(url) => Redirect::Exact(url.clone()),
            None => Redirect::Loopback {
                host: self.callback_host.value,
                port: self.callback_port.value,
            },
        }
    }

    /// The scope asking for `audience`, when the audience goes in a scope.
    pub fn audience_scope(&self, audience: &str) -> Option<String> {
        (self.audience_via.value == AudienceVia::Scope && !audience.is_empty())
            .then(|| self.preset.audience_scope(audience))
    }

    /// The scopes to request: the configured ones in order without duplicates, `openid`
    /// first when it had to be added, then the audience scope, then `offline_access` when
    /// refresh tokens are asked for with it — and never `offline_access` otherwise.
    pub fn scopes(&self, configured: &[String], audience: &str) -> Vec<String> {
        let offline_scope = self.offline_via.value == OfflineVia::Scope;
        let mut scopes: Vec<String> = Vec::with_capacity(configured.len() + 3);
        let add = |scope: &str, scopes: &mut Vec<String>| {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        };
        for scope in configured {
            if offline_scope || scope != "offline_access" {
                add(scope, &mut scopes);
            }
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".to_owned());
        }
        if let Some(scope) = self.audience_scope(audience) {
            add(&scope, &mut scopes);
        }
        if offline_scope {
            add("offline_access", &mut scopes);
        }
        scopes
    }

    /// The extra authorization request parameters, in order: `prompt` (Google's
    /// `consent` when none is configured and refresh tokens come with `access_type`),
    /// `access_type=offline`, then `auth_params`, which replace a parameter of the same
    /// name.
    pub fn authorization_extras(
        &self,
        prompt: &str,
        auth_params: &BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        let access_type = self.offline_via.value == OfflineVia::AccessType;
        let mut params: Vec<(String, String)> = Vec::new();
        let prompt = if prompt.is_empty() && access_type {
            "consent"
        } else {
            prompt
        };
        if !prompt.is_empty() {
            params.push(("prompt".to_owned(), prompt.to_owned()));
        }
        if access_type {
            params.push(("access_type".to_owned(), "offline".to_owned()));
        }
        for (name, value) in auth_params {
            params.retain(|(existing, _)| existing != name);
            params.push((name.clone(), value.clone()));
        }
        params
    }

    /// Each setting as `(name, value, source)`, for `status` and `config show`.
    pub fn rows(&self) -> Vec<(&'static str, String, Source)> {
        let redirect_source = if self.redirect_url.is_some()
            || self.callback_host.source == Source::Config
            || self.callback_port.source == Source::Config
        {
            Source::Config
        } else {
            Source::Preset
        };
        let mut rows = vec![
            (
                "audience_via",
                self.audience_via.value.to_string(),
                self.audience_via.source,
            ),
            (
                "offline_via",
                self.offline_via.value.to_string(),
                self.offline_via.source,
            ),
            ("redirect_uri", self.redirect().to_string(), redirect_source),
            (
                "resend_scope",
                self.resend_scope.value.to_string(),
                self.resend_scope.source,
            ),
            (
                "token_kind",
                self.token_kind.value.to_string(),
                self.token_kind.source,
            ),
        ];
        // Only where it means something, so other providers' rows stay as they were.
        if self.is_multi_tenant() || !self.tenants.is_empty() {
            let source = if self.tenants.is_empty() {
                Source::Preset
            } else {
                Source::Config
            };
            rows.push(("tenants", self.tenants.to_string(), source));
        }
        rows
    }

    /// The JSON form of [`Provider::rows`], with the preset and the reason.
    pub fn to_json(&self) -> Value {
        let settings: serde_json::Map<String, Value> = self
            .rows()
            .into_iter()
            .map(|(name, value, source)| {
                (
                    name.to_owned(),
                    json!({"value": value, "source": source.as_str()}),
                )
            })
            .collect();
        json!({
            "preset": self.preset.as_str(),
            "reason": self.reason.to_string(),
            "settings": settings,
            "client_secret_expected": self.client_secret_expected,
        })
    }
}
