//! Quirk modes: the test IdP bending the standards the way one real provider does, as
//! `../shared/reference/idp-quirks.md` describes it (its requirement numbers R# and
//! sources are cited per setting), so each llmauth preset can be run end to end against
//! what it exists for — and the `generic` preset shown to fail there.

use std::time::Duration;

use llmauth_core::provider::Preset;

use super::options::{IdpOptions, RedirectUris, RefreshPolicy};

/// How the IdP decides the audience of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum AudienceRule {
    /// RFC 8707 `resource` in the authorization or token request; else the client id.
    #[default]
    Resource,
    /// Auth0's `audience` parameter (R15); without it the access token is opaque, for
    /// `/userinfo` only.
    AudienceParameter,
    /// PingFederate's `aud` query parameter selects the token manager (R25).
    AudQuery,
    /// A scope names the audience: `<prefix><audience><suffix>` (Entra's `/.default`,
    /// ZITADEL's project scope, Dex's cross-client scope). With `on_behalf` (Dex) the ID
    /// token's `aud` is the audience too, and `azp` the client.
    Scope {
        /// Before the audience.
        prefix: String,
        /// After the audience.
        suffix: String,
        /// The ID token is issued to the audience on the client's behalf.
        on_behalf: bool,
    },
    /// The server's own audience, whatever is asked (an Okta custom authorization server,
    /// a Keycloak audience mapper).
    Fixed(String),
    /// The client id, whatever is asked (authentik, GitLab, Google).
    Client,
    /// The issuer itself, whatever is asked: Okta's org authorization server, whose access
    /// tokens are for Okta's own APIs (their `aud` is the org URL).
    Issuer,
    /// Access tokens carry `client_id` and no `aud` (Cognito, R15).
    ClientIdOnly,
}

/// What access tokens look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AccessTokens {
    /// Signed JWTs.
    #[default]
    Jwt,
    /// Opaque strings a gateway can only introspect (Google, GitLab).
    Opaque,
}

/// How `expires_in` is written (R13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpiresIn {
    /// A number of seconds.
    #[default]
    Number,
    /// A string of digits.
    Text,
    /// Left out.
    Missing,
}

/// Deviations from the standards-following default; each `false`/`None` is standard.
#[derive(Clone, Debug, Default)]
pub struct Quirks {
    /// How the audience is chosen.
    pub audience: AudienceRule,
    /// `resource` is refused with Entra's errors (R1): AADSTS901002 at the authorization
    /// endpoint, AADSTS9010010 at the token endpoint.
    pub rejects_resource: bool,
    /// A client secret is refused (a public Entra client: AADSTS700025).
    pub rejects_client_secret: bool,
    /// The token endpoint requires this client secret (Google's desktop clients, R6).
    pub client_secret: Option<String>,
    /// `offline_access` in the scope is refused with this error and description (Google,
    /// Cognito, GitLab; R7).
    pub rejects_offline_access: Option<(&'static str, &'static str)>,
    /// Refresh tokens only with `access_type=offline` (Google, R7).
    pub refresh_needs_access_type: bool,
    /// What access tokens look like.
    pub access_tokens: AccessTokens,
    /// How `expires_in` is written.
    pub expires_in: ExpiresIn,
    /// Entra's `common`/`organizations` endpoints (R4): discovery names
    /// `…/{tenantid}/v2.0`, tokens name this tenant and carry it in `tid`.
    pub tenant: Option<String>,
    /// The ID token's `iss` without `https://` (Google's `accounts.google.com`, R5).
    pub bare_issuer_in_id_token: bool,
    /// The device authorization answer says `verification_url` and has no `_complete`
    /// form (Google, R16).
    pub verification_url: bool,
    /// ID tokens on refresh repeat the sign-in's nonce (Keycloak, Entra; R11).
    pub repeat_nonce_on_refresh: bool,
    /// A refresh without `scope` loses `openid` (Keycloak 26.7.0, R12).
    pub drops_openid_unless_scope_resent: bool,
    /// A refresh invalidates the grant's earlier access tokens at once (GitLab, S22).
    pub refresh_invalidates_access_tokens: bool,
    /// `revocation_endpoint` only in the RFC 8414 metadata (Django OAuth Toolkit).
    pub revocation_only_in_oauth_metadata: bool,
    /// The redirect is registered as an Entra single-page application (R19): code
    /// exchanges fail with AADSTS9002327.
    pub spa_redirect: bool,
    /// The issuer ends with `/` (Auth0, authentik; R3); endpoints do not.
    pub issuer_trailing_slash: bool,
}

/// The audiences the quirk modes issue tokens for (what `--audience` names in tests).
pub mod audiences {
    /// Entra: the gateway API's Application ID URI.
    pub const ENTRA: &str = "api://llm-gateway";
    /// Okta: the custom authorization server's fixed audience.
    pub const OKTA: &str = "api://default";
    /// Auth0, PingFederate: the API identifier / the token manager's resource URI.
    pub const API: &str = "https://llm.example.com";
    /// Keycloak's audience mapper, Dex's peer client: the gateway's client id.
    pub const GATEWAY_CLIENT: &str = "llm-gateway";
    /// ZITADEL: the gateway's project id.
    pub const ZITADEL_PROJECT: &str = "271234567890123456";
}

/// The tenant Entra's multi-tenant quirk signs users in to.
pub const ENTRA_TENANT: &str = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";

/// The client secret Google's quirk requires.
pub const GOOGLE_CLIENT_SECRET: &str = "GOCSPX-test-client-secret";

impl IdpOptions {
    /// The IdP as `preset`'s provider behaves. Providers that match redirect URIs exactly
    /// accept only `http://localhost:<callback_port>/callback`; the others any port of
    /// the host their guide registers. Entra's mode is its `common` endpoint.
    pub fn quirk_mode(preset: Preset, callback_port: u16) -> IdpOptions {
        let exact = RedirectUris::Exact(vec![format!("http://localhost:{callback_port}/callback")]);
        let any_port = |host: &str| RedirectUris::AnyPort(vec![format!("http://{host}/callback")]);
        let scope = |prefix: &str, suffix: &str, on_behalf| AudienceRule::Scope {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            on_behalf,
        };
        let standard = IdpOptions::default();
        match preset {
            Preset::Generic => standard,
            Preset::Entra => IdpOptions {
                issuer_path: "/common/v2.0".to_owned(),
                redirect_uris: any_port("localhost"),
                advertise_revocation_endpoint: false,
                refresh_policy: RefreshPolicy::RotateKeepOld,
                include_iss_in_authorization_response: false,
                advertise_iss_parameter_supported: false,
                quirks: Quirks {
                    audience: scope("", "/.default", false),
                    rejects_resource: true,
                    rejects_client_secret: true,
                    tenant: Some(ENTRA_TENANT.to_owned()),
                    repeat_nonce_on_refresh: true,
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Okta => IdpOptions {
                issuer_path: "/oauth2/default".to_owned(),
                redirect_uris: exact,
                quirks: Quirks {
                    audience: AudienceRule::Fixed(audiences::OKTA.to_owned()),
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Google => IdpOptions {
                redirect_uris: RedirectUris::AnyLoopbackPort,
                refresh_policy: RefreshPolicy::ReuseAndOmit,
                include_iss_in_authorization_response: false,
                advertise_iss_parameter_supported: false,
                quirks: Quirks {
                    audience: AudienceRule::Client,
                    client_secret: Some(GOOGLE_CLIENT_SECRET.to_owned()),
                    rejects_offline_access: Some((
                        "invalid_scope",
                        "Some requested scopes were invalid. {valid=[openid], invalid=[offline_access]}",
                    )),
                    refresh_needs_access_type: true,
                    access_tokens: AccessTokens::Opaque,
                    bare_issuer_in_id_token: true,
                    verification_url: true,
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Auth0 => IdpOptions {
                redirect_uris: exact,
                quirks: Quirks {
                    audience: AudienceRule::AudienceParameter,
                    issuer_trailing_slash: true,
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Keycloak => IdpOptions {
                issuer_path: "/realms/dev".to_owned(),
                redirect_uris: any_port("127.0.0.1"),
                refresh_policy: RefreshPolicy::RotateKeepOld,
                quirks: Quirks {
                    audience: AudienceRule::Fixed(audiences::GATEWAY_CLIENT.to_owned()),
                    repeat_nonce_on_refresh: true,
                    drops_openid_unless_scope_resent: true,
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Ping => IdpOptions {
                redirect_uris: exact,
                id_token_on_refresh: false,
                quirks: Quirks {
                    audience: AudienceRule::AudQuery,
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Dex => IdpOptions {
                redirect_uris: RedirectUris::AnyLoopbackPort,
                advertise_revocation_endpoint: false,
                quirks: Quirks {
                    audience: scope("audience:server:client_id:", "", true),
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Authentik => IdpOptions {
                issuer_path: "/application/o/llmauth".to_owned(),
                redirect_uris: exact,
                quirks: Quirks {
                    audience: AudienceRule::Client,
                    issuer_trailing_slash: true,
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Zitadel => IdpOptions {
                redirect_uris: any_port("127.0.0.1"),
                quirks: Quirks {
                    audience: scope("urn:zitadel:iam:org:project:id:", ":aud", false),
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Cognito => IdpOptions {
                redirect_uris: exact,
                refresh_policy: RefreshPolicy::ReuseAndOmit,
                advertise_device_endpoint: false,
                quirks: Quirks {
                    audience: AudienceRule::ClientIdOnly,
                    rejects_offline_access: Some(("invalid_request", "invalid_scope")),
                    ..Quirks::default()
                },
                ..standard
            },
            Preset::Gitlab => IdpOptions {
                redirect_uris: exact,
                access_token_lifetime: Duration::from_secs(7200),
                quirks: Quirks {
                    audience: AudienceRule::Client,
                    rejects_offline_access: Some((
                        "invalid_scope",
                        "The requested scope is invalid, unknown, or malformed.",
                    )),
                    access_tokens: AccessTokens::Opaque,
                    refresh_invalidates_access_tokens: true,
                    ..Quirks::default()
                },
                ..standard
            },
        }
    }
}

impl IdpOptions {
    /// Moves Okta's quirk mode to Okta's **org** authorization server (issuer
    /// `https://<org>.okta.com`, no `/oauth2/<id>`), whose access tokens are for Okta's
    /// own APIs: their `aud` is the org URL (developer.okta.com "Validate access tokens";
    /// support.okta.com "Validation Failed on Access Token Issued by the Org Authorization
    /// Server"). Its ID tokens name the client, as everywhere.
    pub fn okta_org_server(&mut self) {
        self.issuer_path.clear();
        self.quirks.audience = AudienceRule::Issuer;
    }
}

impl Quirks {
    /// The audience a request asks for under this rule, from the authorization (or
    /// device authorization) parameters; `None` when it asks for none.
    pub(crate) fn requested_audience(
        &self,
        param: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        match &self.audience {
            AudienceRule::Resource => param("resource"),
            AudienceRule::AudienceParameter => param("audience"),
            AudienceRule::AudQuery => param("aud"),
            AudienceRule::Scope { prefix, suffix, .. } => param("scope")?
                .split_ascii_whitespace()
                .find_map(|scope| {
                    scope
                        .strip_prefix(prefix.as_str())?
                        .strip_suffix(suffix.as_str())
                })
                .filter(|audience| !audience.is_empty())
                .map(str::to_owned),
            AudienceRule::Fixed(audience) => Some(audience.clone()),
            AudienceRule::Client | AudienceRule::Issuer | AudienceRule::ClientIdOnly => None,
        }
    }

    /// Whether the ID token is issued to the audience on the client's behalf (Dex).
    pub(crate) fn on_behalf(&self) -> bool {
        matches!(
            self.audience,
            AudienceRule::Scope {
                on_behalf: true,
                ..
            }
        )
    }
}
