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
