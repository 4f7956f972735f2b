//! The rules of SPEC §3: every field that is set is checked, every broken field is
//! reported, and a [`Config`] is built only when the required trio is set and nothing is
//! broken.
//!
//! URLs are parsed with `url` only to check them; the strings themselves are kept exactly as
//! written, because `url` would add a trailing slash and break the issuer match.

use std::collections::BTreeMap;
use std::str::FromStr;

use core::time::Duration;
use url::{Host, Url};

use super::defaults;
use super::duration::parse_duration;
use super::error::{ConfigError, FieldError, required_field_error};
use super::field;
use super::model::{Config, SecretsBackend};
use super::raw::{ConfiguredTool, RawConfig, RawOidc};
use crate::net::is_loopback_url;
use crate::provider::{
    AudienceVia, Concerning, Preset, Provider, ProviderInputs, RedirectUrl, Tenants, tenant_id,
};

/// Authorization request parameters that llmauth sets itself (or that must never be sent
/// from a public client), so `auth_params` cannot override them.
pub const RESERVED_AUTH_PARAMS: [&str; 12] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "prompt",
    "client_secret",
    "code_verifier",
];

/// The longest `refresh_window`: a day is already far beyond any useful margin.
const MAX_REFRESH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Full validation: the required fields must be set and every field must be valid.
///
/// `extra` are problems found outside core (such as an unreadable `tls.ca_file`); they are
/// reported in the same list.
pub(crate) fn validate_full(
    raw: &RawConfig,
    extra: Vec<FieldError>,
) -> Result<Config, ConfigError> {
    let (mut errors, config) = check(raw);
    errors.extend(extra);
    let missing = raw.missing_required();
    match config {
        Some(config) if errors.is_empty() => Ok(config),
        _ if errors.is_empty() => Err(ConfigError::Unconfigured { missing }),
        _ => {
            let mut all: Vec<FieldError> = missing.into_iter().map(required_field_error).collect();
            all.extend(errors);
            Err(ConfigError::Invalid(all))
        }
    }
}

/// Partial validation (SPEC §2 `config set`): while the required trio is incomplete only
/// the fields that are set are checked; once it is complete this is full validation.
pub(crate) fn validate_partial(raw: &RawConfig, extra: Vec<FieldError>) -> Result<(), ConfigError> {
    if raw.has_required() {
        return validate_full(raw, extra).map(drop);
    }
    let (mut errors, _) = check(raw);
    errors.extend(extra);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(errors))
    }
}

/// Checks every field that is set; returns the problems, and the [`Config`] when the
/// required fields are set and there is no problem.
fn check(raw: &RawConfig) -> (Vec<FieldError>, Option<Config>) {
    let mut errors = Errors::default();

    if let Some(version) = raw.version
        && version != super::CURRENT_VERSION
    {
        errors.push(
            field::VERSION,
            format!("must be {}", super::CURRENT_VERSION),
        );
    }
    let gateway_url = errors.check(field::GATEWAY_URL, raw.gateway_url.as_deref(), |url| {
        check_url(url, false)
    });

    let oidc = &raw.oidc;
    let issuer = errors.check(field::ISSUER, oidc.issuer.as_deref(), |url| {
        check_url(url, true)
    });
    let client_id = errors.check(field::CLIENT_ID, oidc.client_id.as_deref(), check_client_id);
    let provider = provider_of(oidc, &mut errors);
    let audience_via = provider.audience_via.value;
    let configured_scopes = check_scopes(&mut errors, oidc.scopes.as_deref());
    let audience = errors
        .check(field::AUDIENCE, oidc.audience.as_deref(), |audience| {
            check_audience(audience, audience_via)
        })
        .unwrap_or_default();
    let scopes = provider.scopes(&configured_scopes, &audience);
    // Requirement 1 of the quirks reference: Entra ID v2 refuses `resource` outright.
    if provider.preset == Preset::Entra && audience_via == AudienceVia::Resource {
        errors.push(
            field::AUDIENCE_VIA,
            "Entra ID v2 rejects the resource parameter (AADSTS9010010); use scope",
        );
    }
    errors.check(field::CALLBACK_PORT, oidc.callback_port, |port| {
        check_port(port, true)
    });
    let client_secret = errors
        .check(
            field::CLIENT_SECRET,
            oidc.client_secret.as_deref(),
            check_client_secret,
        )
        .unwrap_or(false);
    let prompt = errors
        .check(field::PROMPT, oidc.prompt.as_deref(), check_prompt)
        .unwrap_or_default();
    let audience_param = match audience_via {
        AudienceVia::Audience | AudienceVia::Aud if !audience.is_empty() => {
            Some(audience_via.as_str())
        }
        AudienceVia::Audience
        | AudienceVia::Aud
        | AudienceVia::Resource
        | AudienceVia::Scope
        | AudienceVia::None => None,
    };
    let auth_params = check_auth_params(&mut errors, oidc.auth_params.as_ref(), audience_param);
    let refresh_window = errors
        .check(
            field::REFRESH_WINDOW,
            oidc.refresh_window.as_deref(),
            check_refresh_window,
        )
        .unwrap_or(defaults::REFRESH_WINDOW);

    let proxy_port = errors
        .check(field::PROXY_LISTEN_PORT, raw.proxy.listen_port, |port| {
            check_port(port, false)
        })
        .unwrap_or(defaults::PROXY_PORT);
    let callback_port = provider.redirect().port();
    if callback_port != 0 && callback_port == proxy_port {
        errors.push(
            field::CALLBACK_PORT,
            format!(
                "must differ from {} ({proxy_port})",
                field::PROXY_LISTEN_PORT
            ),
        );
    }

    let ca_file = errors
        .check(
            field::TLS_CA_FILE,
            raw.tls.ca_file.as_deref(),
            check_ca_file,
        )
        .flatten();
    let secrets_backend = errors
        .check(
            field::SECRETS_BACKEND,
            raw.secrets.backend.as_deref(),
            |text| SecretsBackend::from_str(text).map_err(|error| error.problem),
        )
        .unwrap_or_default();
    let anthropic_path_prefix = errors
        .check(
            field::ANTHROPIC_PATH_PREFIX,
            raw.setup.anthropic_path_prefix.as_deref(),
            check_path_prefix,
        )
        .unwrap_or_default();
    let models = check_models(&mut errors, raw.models.as_deref());
    let configured_tools = check_tools(&mut errors, raw.configured_tools.as_deref());

    // A combination the preset knows its provider cannot serve is judged once every field
    // is valid on its own (an invalid field falls back to the preset's value).
    if errors.0.is_empty() {
        refuse_concerns(
            &mut errors,
            &provider,
            issuer.as_deref(),
            &audience,
            client_id.as_deref(),
        );
    }
    let (Some(gateway_url), Some(issuer), Some(client_id)) = (gateway_url, issuer, client_id)
    else {
        return (errors.0, None);
    };
    if !errors.0.is_empty() {
        return (errors.0, None);
    }
    let config = Config {
        gateway_url,
        issuer,
        client_id,
        audience,
        scopes,
        prompt,
        auth_params,
        refresh_window,
        proxy_port,
        require_local_key: raw
            .proxy
            .require_local_key
            .unwrap_or(defaults::REQUIRE_LOCAL_KEY),
        ca_file,
        skip_verify: raw.tls.skip_verify.unwrap_or(defaults::SKIP_VERIFY),
        secrets_backend,
        anthropic_path_prefix,
        models,
        bedrock_compat: raw.bedrock.compat.unwrap_or(defaults::BEDROCK_COMPAT),
        bedrock_enable_1m: raw.bedrock.enable_1m.unwrap_or(defaults::BEDROCK_ENABLE_1M),
        configured_tools,
        provider,
        client_secret,
    };
    (Vec::new(), Some(config))
}

/// Collected problems, in field order.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, problem: impl Into<String>) {
        self.0.push(FieldError::new(field, problem));
    }

    /// Checks an optional field: `None` when unset or invalid (the problem is recorded).
    fn check<T, U>(
        &mut self,
        field: &str,
        value: Option<T>,
        rule: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<U> {
        match rule(value?) {
            Ok(valid) => Some(valid),
            Err(problem) => {
                self.push(field, problem);
                None
            }
        }
    }
}

/// An absolute URL with a host: https, or (for the issuer) http on a loopback host.
fn check_url(text: &str, loopback_http: bool) -> Result<String, String> {
    let wanted = if loopback_http {
        "must be an https URL with a host (http only for localhost, 127.0.0.0/8 or ::1)"
    } else {
        "must be an https URL with a host"
    };
    if text.is_empty() {
        return Err(format!("{wanted}, not empty"));
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{wanted}, without spaces or control characters (it is used exactly as written)"
        ));
    }
    let Ok(url) = Url::parse(text) else {
        return Err(wanted.to_owned());
    };
    // `url` also accepts `https:host` and `https:\\host`; only the plain form is clear.
    let prefix_len = url.scheme().len() + 3;
    let written_prefix = text.get(..prefix_len).unwrap_or_default();
    let has_slashes = written_prefix.eq_ignore_ascii_case(&format!("{}://", url.scheme()));
    let host = url.host();
    let host_is_empty = match &host {
        None => true,
        Some(Host::Domain(domain)) => domain.is_empty(),
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => false,
    };
    // `url` skips extra slashes (`https:///host`) and reads `\` as `/`: refuse both, the
    // string is used exactly as written.
    let after_slashes = text.get(prefix_len..).unwrap_or_default();
    let odd_slashes = after_slashes.starts_with('/') || text.contains('\\');
    if !has_slashes || host_is_empty || odd_slashes {
        return Err(wanted.to_owned());
    }
    match url.scheme() {
        "https" => {}
        "http" if loopback_http && is_loopback_url(&url) => {}
        "http" if loopback_http => {
            return Err(format!("{wanted}: http is allowed only on a loopback host"));
        }
        _ => return Err(wanted.to_owned()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query (?) or fragment (#)".to_owned());
    }
    Ok(text.to_owned())
}

/// RFC 6749 appendix A.1: `client_id` is VSCHAR (printable ASCII).
fn check_client_id(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if !text.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(
            "must contain only printable ASCII characters (RFC 6749 appendix A.1)".to_owned(),
        );
    }
    if text.starts_with(' ') || text.ends_with(' ') {
        return Err("must not start or end with a space".to_owned());
    }
    Ok(text.to_owned())
}

/// RFC 6749 §3.3 scope tokens, as configured (the provider adds `openid`, the audience
/// scope and `offline_access` as it needs them).
fn check_scopes(errors: &mut Errors, scopes: Option<&[String]>) -> Vec<String> {
    let configured: Vec<String> = match scopes {
        Some(scopes) => scopes.to_vec(),
        None => defaults::SCOPES.iter().map(|s| (*s).to_owned()).collect(),
    };
    for scope in &configured {
        if !is_scope_token(scope) {
            errors.push(
                field::SCOPES,
                format!("{scope:?} is not a valid scope (RFC 6749 §3.3: no spaces, quotes or backslashes)"),
            );
        }
    }
    configured
}

/// RFC 6749 §3.3: `1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .chars()
            .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c))
}

/// `""` means unset. Sent as RFC 8707 `resource` it must be an absolute URI without a
/// fragment (§2); sent any other way (a parameter, a scope) or not at all it is an
/// identifier such as a client id, a project id or `api://…`, without spaces or quotes.
fn check_audience(text: &str, via: AudienceVia) -> Result<String, String> {
    if text.is_empty() {
        return Ok(String::new());
    }
    if via != AudienceVia::Resource {
        return if is_scope_token(text) {
            Ok(text.to_owned())
        } else {
            Err("must be one identifier without spaces, quotes or backslashes".to_owned())
        };
    }
    let wanted = "must be an absolute URI such as https://llm.example.com (RFC 8707 §2)";
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{wanted}, without spaces or control characters"));
    }
    match Url::parse(text) {
        Ok(url) if url.fragment().is_some() => Err("must not have a fragment (#)".to_owned()),
        Ok(_) => Ok(text.to_owned()),
        Err(_) => Err(wanted.to_owned()),
    }
}

/// `proxy start --port`: a port `llm.proxy.listen_port` could be, or 0 (any free port,
/// printed when the proxy is ready).
///
/// # Errors
/// What is wrong with it, as the config says it.
pub fn check_proxy_start_port(port: u16) -> Result<u16, String> {
    check_port(i64::from(port), true)
}

/// The value `llm.oidc.client_secret` may hold: a marker, never the secret.
pub(crate) const CLIENT_SECRET_STORED: &str = "stored";

/// The secret itself is never accepted here (nor echoed: it may be one).
fn check_client_secret(text: &str) -> Result<bool, String> {
    if text == CLIENT_SECRET_STORED {
        Ok(true)
    } else {
        Err(format!(
            "may only be \"{CLIENT_SECRET_STORED}\": the secret itself is never written to \
             config.yaml — remove the line and run `llmauth config set --client-secret-stdin`"
        ))
    }
}

/// The preset's own choices that cannot give the gateway a token it accepts (Okta's org
/// authorization server, an audience authentik cannot issue), refused with the fix; an
/// explicit setting overrides the preset and is only warned about (`status`, `doctor`).
fn refuse_concerns(
    errors: &mut Errors,
    provider: &Provider,
    issuer: Option<&str>,
    audience: &str,
    client_id: Option<&str>,
) {
    let concerns = provider.concerns(
        issuer.unwrap_or_default(),
        audience,
        client_id.unwrap_or_default(),
    );
    for concern in concerns.into_iter().filter(|concern| concern.refused) {
        let field = match concern.about {
            Concerning::Issuer => field::ISSUER,
            Concerning::Audience => field::AUDIENCE,
        };
        errors.push(field, format!("{}; {}", concern.problem, concern.fix));
    }
}

/// The provider settings `config show` reports, whatever else is wrong with the file.
pub(crate) fn shown_provider(oidc: &RawOidc) -> Provider {
    provider_of(oidc, &mut Errors::default())
}

/// The provider settings of `llm.oidc`: each value that is set and valid, the preset's
/// for the rest; problems are recorded in `errors`.
fn provider_of(oidc: &RawOidc, errors: &mut Errors) -> Provider {
    fn parsed<T: FromStr<Err = String>>(
        errors: &mut Errors,
        field: &str,
        value: Option<&String>,
    ) -> Option<T> {
        errors.check(field, value, |text| text.parse::<T>())
    }
    let inputs = ProviderInputs {
        provider: parsed(errors, field::PROVIDER, oidc.provider.as_ref()),
        issuer: oidc.issuer.as_deref(),
        audience_via: parsed(errors, field::AUDIENCE_VIA, oidc.audience_via.as_ref()),
        offline_via: parsed(errors, field::OFFLINE_VIA, oidc.offline_via.as_ref()),
        callback_host: parsed(errors, field::CALLBACK_HOST, oidc.callback_host.as_ref()),
        // Its range is reported with the other port rules.
        callback_port: oidc
            .callback_port
            .and_then(|port| check_port(port, true).ok()),
        redirect_url: errors.check(
            field::REDIRECT_URL,
            oidc.redirect_url.as_deref(),
            RedirectUrl::parse,
        ),
        resend_scope: oidc.resend_scope,
        token_kind: parsed(errors, field::TOKEN_KIND, oidc.token_kind.as_ref()),
        tenants: check_tenants(errors, oidc.tenants.as_deref()),
    };
    let provider = Provider::resolve(&inputs);
    // An allow-list elsewhere would be silently meaningless: refuse it and say why.
    if !provider.tenants.is_empty() && oidc.issuer.is_some() && !provider.is_multi_tenant() {
        errors.push(field::TENANTS, single_tenant_problem(provider.preset));
    }
    provider
}

/// `llm.oidc.tenants`: each an Entra tenant id (a GUID), lower-cased.
fn check_tenants(errors: &mut Errors, tenants: Option<&[String]>) -> Tenants {
    let tenants = tenants.unwrap_or_default();
    let mut valid = Vec::with_capacity(tenants.len());
    for text in tenants {
        match tenant_id(text) {
            Some(id) => valid.push(id),
            None => errors.push(
                field::TENANTS,
                format!(
                    "{text:?} is not an Entra tenant id (a GUID such as \
                     8eaef023-2b34-4da1-9baa-8bc8c9d6a490, as in the ID token's tid claim)"
                ),
            ),
        }
    }
    Tenants::new(valid)
}

/// Why an allow-list does not fit the issuer: only Entra's `common` and `organizations`
/// sign in accounts of many tenants.
fn single_tenant_problem(preset: Preset) -> String {
    let only = "applies only to Entra ID's multi-tenant issuers (…/common/v2.0 and \
                …/organizations/v2.0)";
    let why = if preset == Preset::Entra {
        "this issuer names one tenant, which already decides whose accounts sign in"
    } else {
        "with this issuer the IdP alone decides whose accounts sign in"
    };
    format!("{only}; {why} — remove it with `llmauth config set --tenants \"\"`")
}

fn check_port(port: i64, zero_allowed: bool) -> Result<u16, String> {
    match u16::try_from(port) {
        Ok(0) if zero_allowed => Ok(0),
        Ok(port) if port >= 1024 => Ok(port),
        _ if zero_allowed => Err(format!(
            "must be 0 (any free port) or between 1024 and 65535, not {port}"
        )),
        _ => Err(format!("must be between 1024 and 65535, not {port}")),
    }
}

fn check_prompt(text: &str) -> Result<String, String> {
    if text.chars().all(|c| (' '..='~').contains(&c)) {
        Ok(text.to_owned())
    } else {
        Err("must contain only printable ASCII characters, e.g. consent or login".to_owned())
    }
}

/// Extra authorization parameters; `audience_param` is the parameter llmauth itself sends
/// the audience in (Auth0's `audience`, PingFederate's `aud`), if any.
fn check_auth_params(
    errors: &mut Errors,
    params: Option<&BTreeMap<String, String>>,
    audience_param: Option<&str>,
) -> BTreeMap<String, String> {
    let Some(params) = params else {
        return BTreeMap::new();
    };
    for (key, value) in params {
        let entry = format!("{}.{key}", field::AUTH_PARAMS);
        if key.is_empty() {
            errors.push(field::AUTH_PARAMS, "parameter names must not be empty");
        } else if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(
                entry,
                "parameter names must not contain spaces or control characters",
            );
        } else if audience_param == Some(key.as_str()) {
            errors.push(
                entry,
                "is set by llmauth from llm.oidc.audience (see llm.oidc.audience_via)",
            );
        } else if RESERVED_AUTH_PARAMS.contains(&key.as_str()) {
            let hint = match key.as_str() {
                "prompt" => " (use llm.oidc.prompt)",
                "resource" => " (use llm.oidc.audience)",
                "scope" => " (use llm.oidc.scopes)",
                _ => "",
            };
            errors.push(
                entry,
                format!("is set by llmauth itself and cannot be overridden{hint}"),
            );
        } else if value.chars().any(char::is_control) {
            errors.push(entry, "must not contain control characters");
        }
    }
    params.clone()
}

fn check_refresh_window(text: &str) -> Result<Duration, String> {
    let window = parse_duration(text)?;
    if window.is_zero() {
        Err("must be greater than 0".to_owned())
    } else if window > MAX_REFRESH_WINDOW {
        Err(format!("{text:?} is too long (at most 24h)"))
    } else {
        Ok(window)
    }
}

/// Core cannot read the file; it checks that the value is a usable path (the runtime
/// checks the contents with [`check_ca_pem`](super::check_ca_pem)).
fn check_ca_file(text: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        return Err(
            "must be a path (remove the key to use only the platform's trust roots)".to_owned(),
        );
    }
    if text.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    if text.starts_with('~') {
        return Err("must be an absolute path (~ is not expanded)".to_owned());
    }
    if !is_absolute_path(text) {
        return Err("must be an absolute path".to_owned());
    }
    Ok(Some(text.to_owned()))
}

/// Absolute on any platform llmauth runs on: `/…`, `\\server\…`, or a drive `C:\…`/`C:/…`.
/// (The tools that run `llmauth token` start it from arbitrary working directories.)
fn is_absolute_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    match bytes {
        [b'/', ..] | [b'\\', b'\\', ..] => true,
        [drive, b':', b'\\' | b'/', ..] => drive.is_ascii_alphabetic(),
        _ => false,
    }
}

fn check_path_prefix(text: &str) -> Result<String, String> {
    let wanted = "must be \"\", \"auto\" or a path such as /anthropic";
    if text.is_empty() || text == "auto" {
        return Ok(text.to_owned());
    }
    let path_char = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/%".contains(c);
    if !text.starts_with('/') || !text.chars().all(path_char) {
        return Err(wanted.to_owned());
    }
    if text.ends_with('/') {
        return Err(format!("{wanted} (without a trailing /)"));
    }
    if text.contains("//") {
        return Err(format!("{wanted} (without //)"));
    }
    Ok(text.to_owned())
}

/// Model ids go into tool settings as they are (Claude Code's environment, Claude
/// Desktop's document), so each must be one printable token.
fn check_models(errors: &mut Errors, models: Option<&[String]>) -> Vec<String> {
    let models = models.unwrap_or_default();
    for model in models {
        if model.is_empty() || !model.chars().all(|c| c.is_ascii_graphic()) {
            errors.push(
                field::MODELS,
                format!(
                    "{model:?} is not a model id (printable ASCII without spaces, e.g. us.anthropic.claude-opus-4-8)"
                ),
            );
        }
    }
    models.to_vec()
}

fn check_tools(errors: &mut Errors, tools: Option<&[ConfiguredTool]>) -> Vec<ConfiguredTool> {
    let tools = tools.unwrap_or_default();
    for (index, tool) in tools.iter().enumerate() {
        for (name, value) in [
            ("tool", &tool.tool),
            ("mode", &tool.mode),
            ("file", &tool.file),
        ] {
            if value.is_empty() {
                errors.push(
                    format!("{}[{index}].{name}", field::CONFIGURED_TOOLS),
                    "must not be empty",
                );
            }
        }
    }
    tools.to_vec()
}

#[cfg(test)]
mod tests;
