//! Dotted names of every field under `llm:`, as they appear in error messages, so that the
//! runtime and the CLI name fields exactly as core does.

/// `llm.version`
pub const VERSION: &str = "llm.version";
/// `llm.gateway_url`
pub const GATEWAY_URL: &str = "llm.gateway_url";
/// `llm.oidc.issuer`
pub const ISSUER: &str = "llm.oidc.issuer";
/// `llm.oidc.client_id`
pub const CLIENT_ID: &str = "llm.oidc.client_id";
/// `llm.oidc.scopes`
pub const SCOPES: &str = "llm.oidc.scopes";
/// `llm.oidc.audience`
pub const AUDIENCE: &str = "llm.oidc.audience";
/// `llm.oidc.callback_port`
pub const CALLBACK_PORT: &str = "llm.oidc.callback_port";
/// `llm.oidc.prompt`
pub const PROMPT: &str = "llm.oidc.prompt";
/// `llm.oidc.auth_params` (single entries are named `llm.oidc.auth_params.<key>`)
pub const AUTH_PARAMS: &str = "llm.oidc.auth_params";
/// `llm.oidc.refresh_window`
pub const REFRESH_WINDOW: &str = "llm.oidc.refresh_window";
/// `llm.oidc.provider`
pub const PROVIDER: &str = "llm.oidc.provider";
/// `llm.oidc.audience_via`
pub const AUDIENCE_VIA: &str = "llm.oidc.audience_via";
/// `llm.oidc.offline_via`
pub const OFFLINE_VIA: &str = "llm.oidc.offline_via";
/// `llm.oidc.client_secret` (the marker `stored`)
pub const CLIENT_SECRET: &str = "llm.oidc.client_secret";
/// `llm.oidc.redirect_url`
pub const REDIRECT_URL: &str = "llm.oidc.redirect_url";
/// `llm.oidc.callback_host`
pub const CALLBACK_HOST: &str = "llm.oidc.callback_host";
/// `llm.oidc.resend_scope`
pub const RESEND_SCOPE: &str = "llm.oidc.resend_scope";
/// `llm.oidc.token_kind`
pub const TOKEN_KIND: &str = "llm.oidc.token_kind";
/// `llm.oidc.tenants`
pub const TENANTS: &str = "llm.oidc.tenants";
/// `llm.proxy.listen_port`
pub const PROXY_LISTEN_PORT: &str = "llm.proxy.listen_port";
/// `llm.proxy.require_local_key`
pub const PROXY_REQUIRE_LOCAL_KEY: &str = "llm.proxy.require_local_key";
/// `llm.tls.ca_file`
pub const TLS_CA_FILE: &str = "llm.tls.ca_file";
/// `llm.tls.skip_verify`
pub const TLS_SKIP_VERIFY: &str = "llm.tls.skip_verify";
/// `llm.secrets.backend`
pub const SECRETS_BACKEND: &str = "llm.secrets.backend";
/// `llm.setup.anthropic_path_prefix`
pub const ANTHROPIC_PATH_PREFIX: &str = "llm.setup.anthropic_path_prefix";
/// `llm.models`
pub const MODELS: &str = "llm.models";
/// `llm.bedrock.compat`
pub const BEDROCK_COMPAT: &str = "llm.bedrock.compat";
/// `llm.bedrock.enable_1m`
pub const BEDROCK_ENABLE_1M: &str = "llm.bedrock.enable_1m";
/// `llm.configured_tools` (entries are named `llm.configured_tools[<index>].<key>`)
pub const CONFIGURED_TOOLS: &str = "llm.configured_tools";

/// The fields that must all be set before llmauth can log in, in the order they are reported.
pub const REQUIRED: [&str; 3] = [GATEWAY_URL, ISSUER, CLIENT_ID];

/// Every field a config file may set.
pub const ALL: [&str; 29] = [
    VERSION,
    GATEWAY_URL,
    ISSUER,
    CLIENT_ID,
    SCOPES,
    AUDIENCE,
    CALLBACK_PORT,
    PROMPT,
    AUTH_PARAMS,
    REFRESH_WINDOW,
    PROVIDER,
    AUDIENCE_VIA,
    OFFLINE_VIA,
    CLIENT_SECRET,
    REDIRECT_URL,
    CALLBACK_HOST,
    RESEND_SCOPE,
    TOKEN_KIND,
    TENANTS,
    PROXY_LISTEN_PORT,
    PROXY_REQUIRE_LOCAL_KEY,
    TLS_CA_FILE,
    TLS_SKIP_VERIFY,
    SECRETS_BACKEND,
    ANTHROPIC_PATH_PREFIX,
    MODELS,
    BEDROCK_COMPAT,
    BEDROCK_ENABLE_1M,
    CONFIGURED_TOOLS,
];

/// The field an unknown key was probably meant to be: the same name in another section
/// (`llm.require_local_key` for `llm.proxy.require_local_key`), else the closest name,
/// preferring the key's own section, when it is close enough to be a typo.
pub fn did_you_mean(unknown: &str) -> Option<&'static str> {
    let (section, name) = unknown.rsplit_once('.').unwrap_or(("", unknown));
    let split = |field: &'static str| field.rsplit_once('.').unwrap_or(("", field));
    if let Some(moved) = ALL.into_iter().find(|field| split(field).1 == name) {
        return Some(moved);
    }
    // No field name is half this long; comparing a runaway key would only cost time.
    if name.len() > 64 {
        return None;
    }
    ALL.into_iter()
        .map(|field| {
            let (field_section, field_name) = split(field);
            let likeness = strsim::normalized_damerau_levenshtein(name, field_name);
            (likeness, field_section == section, field)
        })
        .filter(|(likeness, _, _)| *likeness >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, _, field)| field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_misplaced_keys_get_a_suggestion() {
        let cases = [
            ("llm.oidc.isuer", Some(ISSUER)),
            ("llm.oidc.clientid", Some(CLIENT_ID)),
            ("llm.proxy.listen-port", Some(PROXY_LISTEN_PORT)),
            ("llm.require_local_key", Some(PROXY_REQUIRE_LOCAL_KEY)),
            ("llm.oidc.ca_file", Some(TLS_CA_FILE)),
            ("llm.gatway_url", Some(GATEWAY_URL)),
            ("llm.oidc.tenant", Some(TENANTS)),
            ("llm.oidc.tokenkind", Some(TOKEN_KIND)),
            ("llm.token_kind", Some(TOKEN_KIND)),
            ("llm.oidc.audiencevia", Some(AUDIENCE_VIA)),
            ("llm.oidc.providr", Some(PROVIDER)),
            ("llm.colour", None),
            ("llm.oidc.xyz", None),
        ];
        for (unknown, expected) in cases {
            assert_eq!(did_you_mean(unknown), expected, "{unknown}");
        }
    }
}
