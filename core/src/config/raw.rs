//! The `llm:` section exactly as written: every field optional, every string untouched.
//!
//! Keeping "not set" apart from "set to the default" lets `config set` change one field
//! without writing defaults into the file, and lets validation check only what is set while
//! the configuration is still incomplete.

use std::collections::BTreeMap;

/// The contents of `llm:` as parsed, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawConfig {
    /// `llm.version` (missing means 1).
    pub version: Option<i64>,
    /// `llm.gateway_url`
    pub gateway_url: Option<String>,
    /// `llm.oidc`
    pub oidc: RawOidc,
    /// `llm.proxy`
    pub proxy: RawProxy,
    /// `llm.tls`
    pub tls: RawTls,
    /// `llm.secrets`
    pub secrets: RawSecrets,
    /// `llm.setup`
    pub setup: RawSetup,
    /// `llm.models`: model ids, for Claude Code's tiers and Claude Desktop's model list.
    pub models: Option<Vec<String>>,
    /// `llm.bedrock`
    pub bedrock: RawBedrock,
    /// `llm.configured_tools`, the index written by setup.
    pub configured_tools: Option<Vec<ConfiguredTool>>,
}

/// `llm.oidc` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawOidc {
    /// `llm.oidc.issuer`
    pub issuer: Option<String>,
    /// `llm.oidc.client_id`
    pub client_id: Option<String>,
    /// `llm.oidc.scopes`
    pub scopes: Option<Vec<String>>,
    /// `llm.oidc.audience`
    pub audience: Option<String>,
    /// `llm.oidc.callback_port` (wide, so out-of-range values are reported by validation)
    pub callback_port: Option<i64>,
    /// `llm.oidc.prompt`
    pub prompt: Option<String>,
    /// `llm.oidc.auth_params`
    pub auth_params: Option<BTreeMap<String, String>>,
    /// `llm.oidc.refresh_window`, as written (e.g. `10m`)
    pub refresh_window: Option<String>,
    /// `llm.oidc.provider`: `auto` or a preset name, as written (checked by validation)
    pub provider: Option<String>,
    /// `llm.oidc.audience_via`, as written
    pub audience_via: Option<String>,
    /// `llm.oidc.offline_via`, as written
    pub offline_via: Option<String>,
    /// `llm.oidc.client_secret`: only the marker `stored` (the secret itself lives in the
    /// keychain or a 0600 file in the state directory, never here)
    pub client_secret: Option<String>,
    /// `llm.oidc.redirect_url`, as written
    pub redirect_url: Option<String>,
    /// `llm.oidc.callback_host`, as written
    pub callback_host: Option<String>,
    /// `llm.oidc.resend_scope`
    pub resend_scope: Option<bool>,
    /// `llm.oidc.token_kind`, as written
    pub token_kind: Option<String>,
    /// `llm.oidc.tenants`: Entra tenant ids, as written (checked by validation)
    pub tenants: Option<Vec<String>>,
}

/// `llm.proxy` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawProxy {
    /// `llm.proxy.listen_port` (wide, so out-of-range values are reported by validation)
    pub listen_port: Option<i64>,
    /// `llm.proxy.require_local_key`
    pub require_local_key: Option<bool>,
}

/// `llm.tls` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawTls {
    /// `llm.tls.ca_file`
    pub ca_file: Option<String>,
    /// `llm.tls.skip_verify`
    pub skip_verify: Option<bool>,
}

/// `llm.secrets` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSecrets {
    /// `llm.secrets.backend`, as written (checked by validation)
    pub backend: Option<String>,
}

/// `llm.setup` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSetup {
    /// `llm.setup.anthropic_path_prefix`
    pub anthropic_path_prefix: Option<String>,
}

/// `llm.bedrock` as written: Claude Code against a gateway that fronts Amazon Bedrock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawBedrock {
    /// `llm.bedrock.compat`
    pub compat: Option<bool>,
    /// `llm.bedrock.enable_1m`
    pub enable_1m: Option<bool>,
}

/// One entry of `llm.configured_tools`: which tool setup configured, how, and in which file.
///
/// This is only an index for `config show` and `config reset`; setup's receipts are
/// authoritative.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ConfiguredTool {
    /// The tool's name, e.g. `claude-code`.
    pub tool: String,
    /// How it was configured, e.g. `helper` or `proxy`.
    pub mode: String,
    /// The file setup changed.
    pub file: String,
}

impl RawConfig {
    /// The required fields (SPEC §3) that are not set, in report order.
    pub fn missing_required(&self) -> Vec<&'static str> {
        let present = [
            self.gateway_url.is_some(),
            self.oidc.issuer.is_some(),
            self.oidc.client_id.is_some(),
        ];
        super::field::REQUIRED
            .into_iter()
            .zip(present)
            .filter(|(_, present)| !present)
            .map(|(field, _)| field)
            .collect()
    }

    /// Whether `gateway_url`, `oidc.issuer` and `oidc.client_id` are all set, which switches
    /// from partial to full validation.
    pub fn has_required(&self) -> bool {
        self.missing_required().is_empty()
    }
}
