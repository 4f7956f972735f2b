//! How a [`super::TestIdp`] behaves: every knob a test may want to turn, with defaults
//! that match a well-behaved, permissive IdP.

use std::time::Duration;

use super::quirks::Quirks;
use crate::jwt::SigningAlg;

/// Start-time configuration of a test IdP.
#[derive(Clone, Debug)]
pub struct IdpOptions {
    /// Port on 127.0.0.1; 0 (default) lets the OS choose.
    pub port: u16,
    /// Path appended to `https://127.0.0.1:<port>` to form the issuer, e.g.
    /// `/realms/test` (Keycloak style); empty (default) for a bare-origin issuer. Every
    /// endpoint lives under it.
    pub issuer_path: String,
    /// The only client id accepted (a public client). Default `llmauth-test`.
    pub client_id: String,
    /// Lifetime of access tokens (whole seconds are used). Default 300 s. Can be changed
    /// later with [`super::TestIdp::set_access_token_lifetime`].
    pub access_token_lifetime: Duration,
    /// What a refresh does to the refresh token. Default [`RefreshPolicy::Rotate`].
    pub refresh_policy: RefreshPolicy,
    /// When true, a refresh token is issued only when the scope includes
    /// `offline_access` and (for the code flow) `prompt=consent` was sent — like panva
    /// oidc-provider and Google. When false (default), a refresh token is always issued.
    pub refresh_requires_offline_consent: bool,
    /// Whether the authorization response carries `iss` (RFC 9207). Default true.
    pub include_iss_in_authorization_response: bool,
    /// Whether discovery says `authorization_response_iss_parameter_supported: true`.
    /// Default true.
    pub advertise_iss_parameter_supported: bool,
    /// Whether discovery lists `device_authorization_endpoint` (the endpoint works
    /// either way). Default true.
    pub advertise_device_endpoint: bool,
    /// Whether discovery lists `revocation_endpoint` (the endpoint works either way).
    /// Default true.
    pub advertise_revocation_endpoint: bool,
    /// Which redirect URIs are accepted. Default: any loopback port.
    pub redirect_uris: RedirectUris,
    /// Device-flow polling interval announced and enforced (`slow_down`), whole seconds.
    /// Default 1 s (tests should not wait 5 s per poll).
    pub device_interval: Duration,
    /// Lifetime of a device code. Default 600 s.
    pub device_code_lifetime: Duration,
    /// Token signing algorithm. Default ES256; RS256 mimics most production IdPs.
    pub signing_alg: SigningAlg,
    /// The `sub` of the (only) user. Default `test-user`. Changeable later with
    /// [`super::TestIdp::set_subject`].
    pub subject: String,
    /// Whether refresh responses include a new ID token. Default true.
    pub id_token_on_refresh: bool,
    /// When false (default), `/authorize` approves at once with a 302. When true, it
    /// answers a login page (a POST form) and sets a cookie that the form submission must
    /// carry — a scripted browser has to handle both, as with a real IdP.
    pub interactive_login: bool,
    /// Serve `<issuer>/.well-known/openid-configuration`. Default true.
    pub serve_openid_configuration: bool,
    /// Serve the RFC 8414 `/.well-known/oauth-authorization-server<issuer path>`.
    /// Default true.
    pub serve_oauth_metadata: bool,
    /// Put this `issuer` in the discovery document instead of the real one (to test the
    /// client's exact-match check). Default `None`.
    pub discovery_issuer_override: Option<String>,
    /// Serve plain HTTP (no TLS) under the issuer `http://<this host>:<port>`, e.g.
    /// `127.1`: a loopback address spelled as the system resolver (and the URL parser)
    /// accept it. Default `None`: HTTPS under `https://127.0.0.1:<port>`.
    pub plain_http_host: Option<String>,
    /// How far the IdP's clock is from this machine's, in seconds (negative: behind), as
    /// the `Date` header of every answer shows. Default 0.
    pub clock_offset_secs: i64,
    /// How this IdP bends the standards (a provider's quirk mode,
    /// [`IdpOptions::quirk_mode`]). Default: not at all.
    pub quirks: Quirks,
}

impl Default for IdpOptions {
    fn default() -> Self {
        IdpOptions {
            port: 0,
            issuer_path: String::new(),
            client_id: "llmauth-test".to_string(),
            access_token_lifetime: Duration::from_secs(300),
            refresh_policy: RefreshPolicy::Rotate,
            refresh_requires_offline_consent: false,
            include_iss_in_authorization_response: true,
            advertise_iss_parameter_supported: true,
            advertise_device_endpoint: true,
            advertise_revocation_endpoint: true,
            redirect_uris: RedirectUris::AnyLoopbackPort,
            device_interval: Duration::from_secs(1),
            device_code_lifetime: Duration::from_secs(600),
            signing_alg: SigningAlg::Es256,
            subject: "test-user".to_string(),
            id_token_on_refresh: true,
            interactive_login: false,
            serve_openid_configuration: true,
            serve_oauth_metadata: true,
            discovery_issuer_override: None,
            plain_http_host: None,
            clock_offset_secs: 0,
            quirks: Quirks::default(),
        }
    }
}

/// What the token endpoint does with refresh tokens on a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RefreshPolicy {
    /// Every refresh returns a new refresh token and retires the old one; presenting a
    /// retired one revokes the whole grant (reuse detection, as panva oidc-provider,
    /// Okta and Auth0 do).
    #[default]
    Rotate,
    /// The refresh token stays valid and is sent back in every refresh response.
    ReuseAndEcho,
    /// The refresh token stays valid and refresh responses omit `refresh_token` (the
    /// client must keep the one it has, RFC 6749 §6).
    ReuseAndOmit,
    /// Every refresh returns a new refresh token, and the old ones stay valid too (Entra
    /// ID, Keycloak without single-use rotation).
    RotateKeepOld,
}

/// Which redirect URIs `/authorize` and the code exchange accept.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum RedirectUris {
    /// `http://localhost:<any port>/callback`, `http://127.0.0.1:<any port>/callback`
    /// and `http://[::1]:<any port>/callback` (RFC 8252 §7.3).
    #[default]
    AnyLoopbackPort,
    /// Exactly these strings.
    Exact(Vec<String>),
    /// These port-less loopback URIs (`http://127.0.0.1/callback`), on any port — the
    /// RFC 8252 §7.3 rule of a provider that compares the rest exactly (Keycloak,
    /// ZITADEL, PingOne, Entra's `localhost`).
    AnyPort(Vec<String>),
}

impl RedirectUris {
    /// Whether `uri` is allowed.
    pub fn allows(&self, uri: &str) -> bool {
        match self {
            RedirectUris::Exact(list) => list.iter().any(|allowed| allowed == uri),
            RedirectUris::AnyPort(list) => {
                let Ok(url) = url::Url::parse(uri) else {
                    return false;
                };
                let portless = url
                    .port()
                    .filter(|port| *port != 0)
                    .map(|port| uri.replacen(&format!(":{port}/"), "/", 1));
                portless.is_some_and(|portless| list.contains(&portless))
            }
            RedirectUris::AnyLoopbackPort => {
                ["http://localhost:", "http://127.0.0.1:", "http://[::1]:"]
                    .iter()
                    .filter_map(|prefix| uri.strip_prefix(prefix))
                    .filter_map(|rest| rest.strip_suffix("/callback"))
                    .any(|port| port.parse::<u16>().is_ok_and(|p| p != 0))
            }
        }
    }
}

/// How `/authorize` answers a valid request (changeable at run time with
/// [`super::TestIdp::set_authorize_mode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthorizeMode {
    /// The user approves.
    #[default]
    Approve,
    /// The user declines: `error=access_denied`.
    Deny,
    /// Approves, but the redirect carries a different `state` (a forged response).
    WrongState,
    /// Approves, but the redirect carries a different `iss` (a mix-up attack).
    WrongIss,
}

/// The IdP's endpoints, for counters and fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdpEndpoint {
    /// Both discovery documents (OpenID and RFC 8414).
    Discovery,
    /// `/authorize` (and the interactive login form's submission).
    Authorize,
    /// `/token`.
    Token,
    /// `/device_authorization`.
    DeviceAuthorization,
    /// `/device` (the user-facing verification page).
    DeviceVerification,
    /// `/revoke`.
    Revocation,
    /// `/introspect`.
    Introspection,
    /// `/jwks`.
    Jwks,
}

/// Token-endpoint grant types, for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    DeviceCode,
    /// Anything else (answered `unsupported_grant_type`).
    Other,
}

impl GrantType {
    /// Classifies a `grant_type` form value.
    pub fn from_form_value(value: Option<&str>) -> GrantType {
        match value {
            Some("authorization_code") => GrantType::AuthorizationCode,
            Some("refresh_token") => GrantType::RefreshToken,
            Some(DEVICE_CODE_GRANT) => GrantType::DeviceCode,
            _ => GrantType::Other,
        }
    }
}

/// The RFC 8628 grant type URN.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[cfg(test)]
mod tests {
    use super::RedirectUris;

    #[test]
    fn loopback_redirects_need_a_port_and_the_callback_path() {
        let any = RedirectUris::AnyLoopbackPort;
        assert!(any.allows("http://localhost:8666/callback"));
        assert!(any.allows("http://127.0.0.1:1234/callback"));
        assert!(any.allows("http://[::1]:1234/callback"));
        assert!(!any.allows("http://localhost/callback"));
        assert!(!any.allows("http://localhost:0/callback"));
        assert!(!any.allows("https://localhost:8666/callback"));
        assert!(!any.allows("http://localhost:8666/other"));
        assert!(!any.allows("http://evil.example:8666/callback"));
        assert!(!any.allows("http://localhost:8666@evil.example/callback"));
        let exact = RedirectUris::Exact(vec!["http://localhost:8666/callback".into()]);
        assert!(exact.allows("http://localhost:8666/callback"));
        assert!(!exact.allows("http://localhost:8667/callback"));
        let any_port = RedirectUris::AnyPort(vec!["http://127.0.0.1/callback".into()]);
        assert!(any_port.allows("http://127.0.0.1:50123/callback"));
        assert!(!any_port.allows("http://localhost:50123/callback"));
        assert!(!any_port.allows("http://127.0.0.1/callback"));
        assert!(!any_port.allows("http://127.0.0.1:50123/other"));
    }
}
