//! Defaults of SPEC §3, in one place. A file of its own, below everything that reads
//! them (validation, `config show`, the provider presets).

use core::time::Duration;

/// `llm.oidc.scopes`
pub const SCOPES: [&str; 2] = ["openid", "offline_access"];
/// `llm.oidc.callback_port`
pub const CALLBACK_PORT: u16 = 8666;
/// `llm.oidc.refresh_window`
pub const REFRESH_WINDOW: Duration = Duration::from_secs(600);
/// `llm.proxy.listen_port`
pub const PROXY_PORT: u16 = 14000;
/// `llm.proxy.require_local_key`
pub const REQUIRE_LOCAL_KEY: bool = true;
/// `llm.tls.skip_verify`
pub const SKIP_VERIFY: bool = false;
/// `llm.bedrock.compat`
pub const BEDROCK_COMPAT: bool = false;
/// `llm.bedrock.enable_1m`
pub const BEDROCK_ENABLE_1M: bool = false;
