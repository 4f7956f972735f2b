//! What a setup run's tool files depend on, found out on this machine: the Anthropic path
//! prefix (probed at the gateway when configured `auto`), the running binary, the proxy's
//! local key, Claude Desktop's document id. Which of them a run needs is core's
//! `Needs::of`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use llmauth_core::config::Config;
use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::helper::Helper;
use llmauth_core::setup::prefix::{self, PrefixChoice};
use llmauth_core::setup::shell_env::{self, Shell};
use llmauth_core::setup::tool::{Environment, Tool, claude_desktop_library};
use llmauth_core::setup::wiring::{self, Needs, Settings, shim_file_name};
use llmauth_core::token::helper_interval;

use super::detect::{default_config_file, lean_binary, running_binary};
use super::files::read_tool_file;
use super::probe::probe_status;
use super::receipts;
use crate::paths::Paths;
use crate::proxy_key;

/// The settings of a run, and what was learnt on the way.
#[derive(Debug)]
pub struct Gathered {
    /// Everything the tool files depend on.
    pub settings: Settings,
    /// The prefix the gateway was found to serve the Anthropic API under (`auto`), when
    /// it has one.
    pub probed_prefix: Option<String>,
    /// `--shell-env` was asked for, but no shell start-up file could be found.
    pub no_shell_for_env: bool,
}

/// The settings for wiring `tools` with `config`, `lifetime` being the token lifetime the
/// IdP granted (when a login told), `shell_env` whether Gemini CLI's variables go into
/// shell start-up files too (`--shell-env`; kept once a run wrote them).
///
/// # Errors
/// The running binary cannot be located, the local key cannot be created, or the Claude
/// Desktop receipt cannot be read.
pub fn gather(
    paths: &Paths,
    config: &Config,
    env: &Environment,
    tools: &[Tool],
    lifetime: Option<Duration>,
    shell_env: bool,
) -> Result<Gathered, SetupError> {
    let needs = Needs::of(tools);
    let (anthropic_prefix, probed_prefix) = if needs.anthropic_prefix {
        match prefix::choice(&config.anthropic_path_prefix) {
            PrefixChoice::Fixed(prefix) => (prefix, None),
            PrefixChoice::Probe => {
                let found = probe_prefix(config);
                let probed = (!found.is_empty()).then(|| found.clone());
                (found, probed)
            }
        }
    } else {
        (String::new(), None)
    };
    let helper = helper(paths)?;
    let local_key = needs
        .local_key
        .then(|| proxy_key::load_or_create(paths))
        .transpose()
        .map_err(|e| SetupError::LocalKey(e.to_string()))?;
    let desktop_document_id = if needs.desktop_document_id {
        desktop_document_id(paths, env)?
    } else {
        String::new()
    };
    let shell_env_file = paths.state_dir.join(shell_env::ENV_FILE_NAME);
    let (shells, no_shell_for_env) = if tools.contains(&Tool::GeminiCli) {
        let prior = receipts::load(paths, Tool::GeminiCli.name())?;
        let wanted = shell_env || shell_env::in_receipt(prior.as_ref(), env, &shell_env_file);
        let in_use: Vec<Shell> = Shell::ALL
            .into_iter()
            .filter(|shell| shell.sign(env).exists())
            .collect();
        let shells = if wanted {
            shell_env::targets(env, &in_use)
        } else {
            Vec::new()
        };
        let none = shell_env && shells.is_empty();
        (shells, none)
    } else {
        (Vec::new(), false)
    };
    let settings = Settings {
        gateway_url: config.gateway_url.clone(),
        anthropic_prefix,
        helper,
        interval: helper_interval(lifetime),
        ca_file: config
            .ca_file
            .as_deref()
            .map(|ca| absolute(Path::new(ca)).to_string_lossy().into_owned()),
        proxy_port: config.proxy_port,
        local_key,
        shim_path: paths.state_dir.join(shim_file_name(env.platform)),
        desktop_document_id,
        models: config.models.clone(),
        bedrock_compat: config.bedrock_compat,
        bedrock_enable_1m: config.bedrock_enable_1m,
        shell_env: shells,
        shell_env_file,
    };
    Ok(Gathered {
        settings,
        probed_prefix,
        no_shell_for_env,
    })
}

fn probe_prefix(config: &Config) -> String {
    let ca = config.ca_file.as_deref().map(PathBuf::from);
    let [prefixed, plain] = prefix::probe_urls(&config.gateway_url);
    let prefixed = probe_status(&prefixed, ca.clone());
    let plain = probe_status(&plain, ca);
    prefix::from_probe(prefixed, plain)
}

fn desktop_document_id(paths: &Paths, env: &Environment) -> Result<String, SetupError> {
    let prior = receipts::load(paths, Tool::ClaudeDesktop.name())?;
    let meta = read_tool_file(&claude_desktop_library(env).join("_meta.json"))
        .ok()
        .and_then(|f| f.bytes)
        .and_then(|b| String::from_utf8(b).ok());
    let fresh = random_id_bytes().map_err(|e| SetupError::Entropy(e.to_string()))?;
    Ok(wiring::desktop_document_id(
        prior.as_ref(),
        meta.as_deref(),
        fresh,
    ))
}

/// 16 random bytes for a new document id.
///
/// # Errors
/// The OS random source failed.
/// How tools (and the proxy's service) run this llmauth: its absolute path, whether
/// `llmauth` on PATH is this binary, `llmauth-token` when it is installed beside it, and
/// `--config` when the config is not the default.
///
/// # Errors
/// [`SetupError::RunningBinary`] when the running binary cannot be located.
pub fn helper(paths: &Paths) -> Result<Helper, SetupError> {
    let (program, on_path) =
        running_binary().map_err(|e| SetupError::RunningBinary(e.to_string()))?;
    Ok(Helper {
        lean: lean_binary(&program).map(|lean| lean.to_string_lossy().into_owned()),
        program: program.to_string_lossy().into_owned(),
        on_path,
        config: non_default_config(&paths.config_file),
    })
}

fn random_id_bytes() -> std::io::Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes)
}

/// `--config <path>` for helper commands when the config is not where a tool's helper
/// would look by default (`--config` or `LLMAUTH_CONFIG` in this run).
fn non_default_config(config_file: &Path) -> Option<String> {
    let actual = absolute(config_file);
    let default = default_config_file().map(|p| absolute(&p));
    (default.as_ref() != Some(&actual)).then(|| actual.to_string_lossy().into_owned())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
