//! The settings and environment of a typical setup run, and files as the runtime finds
//! them, for tests of the wiring, the transaction, teardown and drift.

use core::time::Duration;
use std::path::PathBuf;

use crate::secret::LocalKey;
use crate::setup::helper::Helper;
use crate::setup::plan::FoundFile;
use crate::setup::tool::{Environment, Platform};
use crate::setup::wiring::Settings;

/// A home at `/h` on `platform`, with no overrides.
pub fn environment(platform: Platform) -> Environment {
    Environment {
        platform,
        home: PathBuf::from("/h"),
        xdg_config_home: None,
        appdata: None,
        local_appdata: None,
        claude_config_dir: None,
        codex_home: None,
        user: Some("u".to_owned()),
        login_shell: Some("/bin/bash".to_owned()),
        zdotdir: None,
    }
}

/// Settings for every tool: a gateway with a trailing slash and an Anthropic prefix, a CA
/// file, the local key `[7; 32]`, llmauth on PATH at `/usr/local/bin/llmauth`.
pub fn settings() -> Settings {
    Settings {
        gateway_url: "https://gw.example.com/".into(),
        anthropic_prefix: "/anthropic".into(),
        helper: Helper {
            program: "/usr/local/bin/llmauth".into(),
            on_path: true,
            config: None,
            lean: None,
        },
        interval: Duration::from_secs(100),
        ca_file: Some("/etc/ca.pem".into()),
        proxy_port: 14000,
        local_key: Some(LocalKey::from_random([7; 32])),
        shim_path: PathBuf::from("/s/claude-desktop-helper.sh"),
        desktop_document_id: "abc".into(),
        models: Vec::new(),
        bedrock_compat: false,
        bedrock_enable_1m: false,
        shell_env: Vec::new(),
        shell_env_file: PathBuf::from("/s/gemini-cli.env"),
    }
}

/// A writable file at `path` holding `text` (`None`: missing), its directory present.
pub fn found(path: &str, text: Option<&str>) -> FoundFile {
    FoundFile {
        path: PathBuf::from(path),
        bytes: text.map(|t| t.as_bytes().to_vec()),
        read_only: false,
        missing_dirs: Vec::new(),
        access: None,
    }
}
