//! What each tool gets: the files and keys setup writes, from the settings of this run.

use std::fmt;
use std::path::PathBuf;

use core::time::Duration;
use serde_json::{Value as Json, json};

use super::edit::Edit;
use super::error::NeedsLocalKey;
use super::helper::Helper;
use super::models;
use super::plan::FileSpec;
use super::prefix;
use super::receipt::{Format, Receipt};
use super::shell_env::{self, Shell};
use super::tool::{
    Environment, Mode, Platform, Tool, claude_desktop_library, editor_settings, location,
};
use crate::secret::LocalKey;

/// The name of our entry in Claude Desktop's configuration library.
pub const DESKTOP_ENTRY_NAME: &str = "llmauth gateway";
/// How long setup lets Codex (`auth.timeout_ms`, default 5 s) and Claude Desktop
/// (`inferenceCredentialHelperTimeoutSec`, default 60 s, at most 600 s) wait for
/// `llmauth token`: room for a browser-only sign-in
/// ([`BROWSER_SIGN_IN_WAIT`](crate::flow::BROWSER_SIGN_IN_WAIT)) plus starting the
/// process. Claude Code's own limit for `apiKeyHelper` is 10 minutes, and not settable.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(150);
/// The Codex model provider id.
pub const CODEX_PROVIDER: &str = "llmauth";

/// Everything the tool files depend on.
#[derive(Clone)]
pub struct Settings {
    /// `llm.gateway_url`, as written.
    pub gateway_url: String,
    /// The path prefix for Anthropic-style tools (`""` or e.g. `/anthropic`).
    pub anthropic_prefix: String,
    /// How to run `llmauth token`.
    pub helper: Helper,
    /// How long tools may cache a token (SPEC §5).
    pub interval: Duration,
    /// `tls.ca_file`, absolute.
    pub ca_file: Option<String>,
    /// The proxy's port.
    pub proxy_port: u16,
    /// The local key proxy-mode tools present; needed only for them.
    pub local_key: Option<LocalKey>,
    /// Where the Claude Desktop shim goes.
    pub shim_path: PathBuf,
    /// The id of our Claude Desktop configuration document.
    pub desktop_document_id: String,
    /// `llm.models`: Claude Desktop's model list, and Claude Code's tiers with Bedrock
    /// compatibility on.
    pub models: Vec<String>,
    /// `llm.bedrock.compat`: Claude Code gets Bedrock-style model ids and no beta headers.
    pub bedrock_compat: bool,
    /// `llm.bedrock.enable_1m`: the 1M-context variants of the opus and sonnet ids.
    pub bedrock_enable_1m: bool,
    /// The shells whose start-up files also give Gemini CLI its variables
    /// (`--shell-env`); empty for none.
    pub shell_env: Vec<Shell>,
    /// The variables' file those start-up files source.
    pub shell_env_file: PathBuf,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("gateway_url", &self.gateway_url)
            .field("anthropic_prefix", &self.anthropic_prefix)
            .field("helper", &self.helper)
            .field("interval", &self.interval)
            .field("ca_file", &self.ca_file)
            .field("proxy_port", &self.proxy_port)
            .field("local_key", &self.local_key)
            .field("models", &self.models)
            .field("bedrock_compat", &self.bedrock_compat)
            .field("bedrock_enable_1m", &self.bedrock_enable_1m)
            .field("shell_env", &self.shell_env)
            .finish_non_exhaustive()
    }
}

fn set(key: &[&str], value: Json) -> Edit {
    Edit::Set {
        key: key.iter().map(|k| (*k).to_owned()).collect(),
        value,
    }
}

/// Whole milliseconds, as tools' settings spell durations.
fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The gateway URL with a path appended, without doubling slashes.
fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    match path.trim_matches('/') {
        "" => base.to_owned(),
        path => format!("{base}/{path}"),
    }
}

impl Settings {
    /// The base URL for Anthropic-style tools (a trailing `/v1` of the gateway URL left
    /// to them: they add it themselves).
    pub fn anthropic_base_url(&self) -> String {
        join(
            prefix::anthropic_base(&self.gateway_url),
            &self.anthropic_prefix,
        )
    }

    /// Codex's base URL: the gateway's OpenAI-style `/v1` (not doubled).
    pub fn openai_base_url(&self) -> String {
        let base = self.gateway_url.trim_end_matches('/');
        if base.ends_with("/v1") {
            base.to_owned()
        } else {
            format!("{base}/v1")
        }
    }

    /// The proxy's origin, as tools should reach it (`localhost`: the proxy listens on
    /// both 127.0.0.1 and ::1).
    pub fn proxy_origin(&self) -> String {
        format!("http://localhost:{}", self.proxy_port)
    }
}

/// Where a token-helper tool keeps the interval it caches a printed token for (SPEC §5),
/// and how it spells it: one description, used to write it, to make it follow the
/// token's lifetime, and to read what a file holds now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelperTtl {
    /// The format of the file it is in.
    pub format: Format,
    /// Its key (in Claude Desktop's document, a top-level key of the whole file).
    pub key: &'static [&'static str],
    /// Milliseconds, else seconds.
    pub millis: bool,
    /// Written as a string (Claude Code's `env` values are strings).
    pub quoted: bool,
}

impl HelperTtl {
    /// Claude Code: `env.CLAUDE_CODE_API_KEY_HELPER_TTL_MS`.
    pub const CLAUDE_CODE: Self = Self {
        format: Format::Json,
        key: &["env", "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"],
        millis: true,
        quoted: true,
    };
    /// Codex: `model_providers.llmauth.auth.refresh_interval_ms`.
    pub const CODEX: Self = Self {
        format: Format::Toml,
        key: &[
            "model_providers",
            CODEX_PROVIDER,
            "auth",
            "refresh_interval_ms",
        ],
        millis: true,
        quoted: false,
    };
    /// Claude Desktop: `inferenceCredentialHelperTtlSec` in our configuration document.
    pub const CLAUDE_DESKTOP: Self = Self {
        format: Format::Whole,
        key: &["inferenceCredentialHelperTtlSec"],
        millis: false,
        quoted: false,
    };

    /// The setting of `tool`; `None` for proxy-mode tools, which cache no token.
    pub fn of(tool: Tool) -> Option<Self> {
        match tool {
            Tool::ClaudeCode => Some(Self::CLAUDE_CODE),
            Tool::Codex => Some(Self::CODEX),
            Tool::ClaudeDesktop => Some(Self::CLAUDE_DESKTOP),
            Tool::GeminiCli | Tool::Vscode | Tool::VscodeInsiders | Tool::Cursor | Tool::Xcode => {
                None
            }
        }
    }

    /// The key as a path.
    pub fn path(&self) -> Vec<String> {
        self.key.iter().map(|k| (*k).to_owned()).collect()
    }

    /// `interval` as the tool spells it.
    pub fn value(&self, interval: Duration) -> Json {
        let number = if self.millis {
            duration_ms(interval)
        } else {
            interval.as_secs()
        };
        if self.quoted {
            json!(number.to_string())
        } else {
            json!(number)
        }
    }

    /// The edit that writes `interval`.
    fn edit(&self, interval: Duration) -> Edit {
        set(self.key, self.value(interval))
    }

    /// The interval a value spells, if it is one (a number, or a string of digits).
    pub fn read(&self, value: &Json) -> Option<Duration> {
        let number = match value {
            Json::Number(n) => n.as_u64()?,
            Json::String(s) => s.trim().parse().ok()?,
            Json::Null | Json::Bool(_) | Json::Array(_) | Json::Object(_) => return None,
        };
        Some(if self.millis {
            Duration::from_millis(number)
        } else {
            Duration::from_secs(number)
        })
    }
}

/// Claude Desktop's configuration document as setup writes it.
pub(crate) fn document_text(document: &Json) -> String {
    let mut content = serde_json::to_string_pretty(document).unwrap_or_default();
    content.push('\n');
    content
}

/// The files and keys for `tool`.
///
/// # Errors
/// [`NeedsLocalKey`] for a proxy-mode tool when `settings.local_key` is `None`.
pub fn files(
    tool: Tool,
    settings: &Settings,
    env: &Environment,
) -> Result<Vec<FileSpec>, NeedsLocalKey> {
    let dir = location(tool, env).config_dir;
    let key = || {
        settings
            .local_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .ok_or(NeedsLocalKey(tool))
    };
    Ok(match tool {
        Tool::ClaudeCode => {
            let mut edits = vec![
                set(
                    &["apiKeyHelper"],
                    json!(settings.helper.shell_command(env.platform)),
                ),
                set(
                    &["env", "ANTHROPIC_BASE_URL"],
                    json!(settings.anthropic_base_url()),
                ),
                HelperTtl::CLAUDE_CODE.edit(settings.interval),
            ];
            if let Some(ca) = &settings.ca_file {
                edits.push(set(&["env", "NODE_EXTRA_CA_CERTS"], json!(ca)));
            }
            if settings.bedrock_compat {
                edits.push(set(&["env", models::DISABLE_BETAS], json!("1")));
                let tiers = models::tiers(&settings.models, settings.bedrock_enable_1m);
                for (variable, id) in tiers.ids {
                    edits.push(set(&["env", variable], json!(id)));
                }
            }
            vec![FileSpec {
                path: dir.join("settings.json"),
                format: Format::Json,
                edits,
                new_file_mode: 0o644,
                secret: false,
            }]
        }
        Tool::Codex => {
            let provider = |k: &[&'static str]| -> Vec<&'static str> {
                let mut key = vec!["model_providers", CODEX_PROVIDER];
                key.extend_from_slice(k);
                key
            };
            // No `--non-interactive`: without a terminal, `token` signs in through the
            // browser when a desktop can show one, and never prompts otherwise.
            let args = settings.helper.token_args(&[]);
            vec![FileSpec {
                path: dir.join("config.toml"),
                format: Format::Toml,
                edits: vec![
                    set(&["model_provider"], json!(CODEX_PROVIDER)),
                    set(&provider(&["name"]), json!("llmauth gateway")),
                    set(&provider(&["base_url"]), json!(settings.openai_base_url())),
                    set(&provider(&["wire_api"]), json!("responses")),
                    set(
                        &provider(&["auth", "command"]),
                        json!(settings.helper.token_program()),
                    ),
                    set(&provider(&["auth", "args"]), json!(args)),
                    HelperTtl::CODEX.edit(settings.interval),
                    set(
                        &provider(&["auth", "timeout_ms"]),
                        json!(duration_ms(HELPER_TIMEOUT)),
                    ),
                ],
                new_file_mode: 0o644,
                secret: false,
            }]
        }
        Tool::GeminiCli => {
            let key = key()?;
            let origin = settings.proxy_origin();
            let mut specs = vec![FileSpec {
                path: dir.join("settings.json"),
                format: Format::Json,
                edits: vec![set(
                    &["security", "auth", "selectedType"],
                    json!("gemini-api-key"),
                )],
                new_file_mode: 0o644,
                secret: false,
            }];
            specs.extend(shell_env::files(
                &settings.shell_env,
                env,
                &settings.shell_env_file,
                &key,
                &origin,
            ));
            specs.push(FileSpec {
                path: dir.join(".env"),
                format: Format::Dotenv,
                edits: vec![
                    set(&["GEMINI_API_KEY"], json!(key)),
                    set(&["GOOGLE_GEMINI_BASE_URL"], json!(origin)),
                ],
                new_file_mode: 0o600,
                secret: true,
            });
            specs
        }
        Tool::Vscode | Tool::VscodeInsiders => vec![FileSpec {
            path: editor_settings(tool, env),
            format: Format::Json,
            edits: vec![
                set(
                    &["github.copilot.advanced.serverUrl"],
                    json!(format!("{}/v1", settings.proxy_origin())),
                ),
                set(&["github.copilot.advanced.apiKey"], json!(key()?)),
            ],
            new_file_mode: 0o600,
            secret: true,
        }],
        Tool::Cursor => vec![FileSpec {
            path: editor_settings(tool, env),
            format: Format::Json,
            edits: vec![
                set(
                    &["cursor.general.openAIBaseURL"],
                    json!(format!("{}/v1", settings.proxy_origin())),
                ),
                set(&["cursor.general.openAIAPIKey"], json!(key()?)),
            ],
            new_file_mode: 0o600,
            secret: true,
        }],
        Tool::Xcode => vec![FileSpec {
            path: dir.join("editorSettings.json"),
            format: Format::Json,
            edits: vec![
                set(
                    &["openAIBaseURL"],
                    json!(format!("{}/v1", settings.proxy_origin())),
                ),
                set(&["apiKey"], json!(key()?)),
            ],
            new_file_mode: 0o600,
            secret: true,
        }],
        Tool::ClaudeDesktop => {
            let library = claude_desktop_library(env);
            let id = &settings.desktop_document_id;
            let mut document = json!({
                "inferenceProvider": "gateway",
                "inferenceGatewayBaseUrl": settings.anthropic_base_url(),
                "inferenceGatewayAuthScheme": "bearer",
                "inferenceCredentialKind": "helper-script",
                "inferenceCredentialHelper": settings.shim_path.to_string_lossy(),
                "inferenceCredentialHelperTtlSec": HelperTtl::CLAUDE_DESKTOP.value(settings.interval),
                "inferenceCredentialHelperTimeoutSec": HELPER_TIMEOUT.as_secs(),
            });
            if !settings.models.is_empty() {
                document["inferenceModels"] = json!(settings.models);
            }
            let content = document_text(&document);
            vec![
                FileSpec {
                    path: settings.shim_path.clone(),
                    format: Format::Whole,
                    edits: vec![Edit::Whole {
                        content: settings.helper.shim(env.platform),
                    }],
                    new_file_mode: 0o700,
                    secret: false,
                },
                FileSpec {
                    path: library.join(format!("{id}.json")),
                    format: Format::Whole,
                    edits: vec![Edit::Whole { content }],
                    new_file_mode: 0o600,
                    secret: false,
                },
                FileSpec {
                    path: library.join("_meta.json"),
                    format: Format::Json,
                    edits: vec![
                        set(&["appliedId"], json!(id)),
                        Edit::Append {
                            key: vec!["entries".to_owned()],
                            element: json!({"id": id, "name": DESKTOP_ENTRY_NAME}),
                        },
                    ],
                    new_file_mode: 0o644,
                    secret: false,
                },
            ]
        }
    })
}

/// The absolute path of the token program (`llmauth-token`, or llmauth) that `tool`'s
/// files name, if they name one (`status` warns when an upgrade moved it): Codex and the
/// Claude Desktop shim always do; Claude Code does unless it runs `llmauth token` from
/// PATH; proxy-mode tools name no program.
pub fn helper_program(tool: Tool, helper: &Helper) -> Option<String> {
    let names_path = match tool {
        Tool::ClaudeCode => helper.names_a_path(),
        Tool::Codex | Tool::ClaudeDesktop => true,
        Tool::GeminiCli | Tool::Vscode | Tool::VscodeInsiders | Tool::Cursor | Tool::Xcode => false,
    };
    names_path.then(|| helper.token_program().to_owned())
}

/// What the settings of a run need the runtime to find out, given the tools it wires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// The Anthropic path prefix (configured, or probed at the gateway).
    pub anthropic_prefix: bool,
    /// The proxy's local key (created when missing).
    pub local_key: bool,
    /// The id of our Claude Desktop configuration document.
    pub desktop_document_id: bool,
}

impl Needs {
    /// What wiring `tools` needs.
    pub fn of(tools: &[Tool]) -> Self {
        Self {
            anthropic_prefix: tools.iter().any(|t| t.anthropic()),
            local_key: tools.iter().any(|t| t.mode() == Mode::Proxy),
            desktop_document_id: tools.contains(&Tool::ClaudeDesktop),
        }
    }
}

/// The shim's file name for the platform.
pub fn shim_file_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Windows => "claude-desktop-helper.cmd",
        Platform::Linux | Platform::Mac => "claude-desktop-helper.sh",
    }
}

/// The id for our Claude Desktop document: the one an earlier setup used, else one of
/// ours already listed in `_meta.json`, else a new random (v4) UUID from `fresh`.
pub fn desktop_document_id(
    prior: Option<&Receipt>,
    meta_text: Option<&str>,
    fresh: [u8; 16],
) -> String {
    let safe = |id: &str| {
        !id.is_empty()
            && id.len() <= 64
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let from_receipt = prior.into_iter().flat_map(|r| &r.files).find_map(|f| {
        let name = f.path.rsplit(['/', '\\']).next()?;
        let id = name.strip_suffix(".json")?;
        (f.format == Format::Whole && safe(id)).then(|| id.to_owned())
    });
    if let Some(id) = from_receipt {
        return id;
    }
    let listed = meta_text
        .map(|text| super::edit::json::elements_at(text, &["entries".to_owned()]))
        .unwrap_or_default()
        .into_iter()
        .find_map(|entry| {
            let id = entry.get("id")?.as_str()?;
            (entry.get("name")?.as_str()? == DESKTOP_ENTRY_NAME && safe(id)).then(|| id.to_owned())
        });
    if let Some(id) = listed {
        return id;
    }
    let mut b = fresh;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::setup::{environment, settings};

    fn env() -> Environment {
        environment(Platform::Linux)
    }

    #[test]
    fn urls_join_without_doubling() {
        let mut s = settings();
        assert_eq!(s.anthropic_base_url(), "https://gw.example.com/anthropic");
        assert_eq!(s.openai_base_url(), "https://gw.example.com/v1");
        s.gateway_url = "https://gw.example.com/v1".into();
        s.anthropic_prefix = String::new();
        assert_eq!(s.openai_base_url(), "https://gw.example.com/v1");
        assert_eq!(s.anthropic_base_url(), "https://gw.example.com");
    }

    #[test]
    fn every_tool_has_files_and_proxy_tools_need_the_key() {
        for tool in Tool::ALL {
            let specs = files(tool, &settings(), &env()).unwrap();
            assert!(!specs.is_empty(), "{tool}");
            let debug = format!("{specs:?}");
            let key = LocalKey::from_random([7; 32]);
            assert!(!debug.contains(key.expose_secret()), "{debug}");
        }
        let mut no_key = settings();
        no_key.local_key = None;
        assert_eq!(
            files(Tool::GeminiCli, &no_key, &env()),
            Err(NeedsLocalKey(Tool::GeminiCli))
        );
        assert!(files(Tool::ClaudeCode, &no_key, &env()).is_ok());
    }

    fn env_keys(specs: &[FileSpec]) -> Vec<String> {
        specs[0]
            .edits
            .iter()
            .filter_map(|e| match e {
                Edit::Set { key, .. } if key[0] == "env" => Some(key[1].clone()),
                Edit::Set { .. }
                | Edit::Append { .. }
                | Edit::Whole { .. }
                | Edit::Block { .. } => None,
            })
            .collect()
    }

    #[test]
    fn bedrock_compat_gives_claude_code_its_tiers_and_desktop_the_models() {
        let mut s = settings();
        s.models = vec!["eu.anthropic.claude-opus-4-8".into(), "x-sonnet".into()];
        let plain = files(Tool::ClaudeCode, &s, &env()).unwrap();
        assert_eq!(
            env_keys(&plain),
            [
                "ANTHROPIC_BASE_URL",
                "CLAUDE_CODE_API_KEY_HELPER_TTL_MS",
                "NODE_EXTRA_CA_CERTS"
            ]
        );
        s.bedrock_compat = true;
        s.bedrock_enable_1m = true;
        let compat = files(Tool::ClaudeCode, &s, &env()).unwrap();
        assert_eq!(
            env_keys(&compat)[3..],
            [
                "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
                "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                "ANTHROPIC_DEFAULT_OPUS_MODEL",
                "ANTHROPIC_DEFAULT_SONNET_MODEL"
            ]
        );
        let Edit::Set { value, .. } = &compat[0].edits[6] else {
            panic!("{compat:?}");
        };
        assert_eq!(value, &json!("eu.anthropic.claude-opus-4-8[1m]"));

        let desktop = files(Tool::ClaudeDesktop, &s, &env()).unwrap();
        let Edit::Whole { content } = &desktop[1].edits[0] else {
            panic!("{desktop:?}");
        };
        let document: Json = serde_json::from_str(content).unwrap();
        // The list as configured: tiers and [1m] are Claude Code's business.
        assert_eq!(
            document["inferenceModels"],
            json!(["eu.anthropic.claude-opus-4-8", "x-sonnet"])
        );
        s.models.clear();
        let desktop = files(Tool::ClaudeDesktop, &s, &env()).unwrap();
        let Edit::Whole { content } = &desktop[1].edits[0] else {
            panic!("{desktop:?}");
        };
        assert!(!content.contains("inferenceModels"), "{content}");
    }

    #[test]
    fn the_new_editors_get_the_proxy_and_the_local_key() {
        let key = LocalKey::from_random([7; 32]);
        let insiders = files(Tool::VscodeInsiders, &settings(), &env()).unwrap();
        assert_eq!(
            insiders[0].path,
            PathBuf::from("/h/.config/Code - Insiders/User/settings.json")
        );
        assert_eq!(
            insiders[0].edits,
            files(Tool::Vscode, &settings(), &env()).unwrap()[0].edits
        );
        let xcode = files(Tool::Xcode, &settings(), &environment(Platform::Mac)).unwrap();
        assert_eq!(
            xcode[0].path,
            PathBuf::from(
                "/h/Library/Application Support/GitHub Copilot for Xcode/editorSettings.json"
            )
        );
        assert_eq!(
            xcode[0].edits,
            [
                set(&["openAIBaseURL"], json!("http://localhost:14000/v1")),
                set(&["apiKey"], json!(key.expose_secret())),
            ]
        );
        assert_eq!(xcode[0].new_file_mode, 0o600);
    }

    #[test]
    fn helpers_named_by_path_and_what_a_run_needs() {
        let mut helper = settings().helper;
        assert_eq!(helper_program(Tool::ClaudeCode, &helper), None);
        assert_eq!(
            helper_program(Tool::Codex, &helper).as_deref(),
            Some("/usr/local/bin/llmauth")
        );
        assert_eq!(helper_program(Tool::GeminiCli, &helper), None);
        helper.on_path = false;
        assert!(helper_program(Tool::ClaudeCode, &helper).is_some());
        // With llmauth-token beside it, every helper names that by its path.
        helper.on_path = true;
        helper.lean = Some("/usr/local/bin/llmauth-token".to_owned());
        for tool in [Tool::ClaudeCode, Tool::Codex, Tool::ClaudeDesktop] {
            assert_eq!(
                helper_program(tool, &helper).as_deref(),
                Some("/usr/local/bin/llmauth-token"),
                "{tool:?}"
            );
        }

        let needs = Needs::of(&[Tool::Codex, Tool::Cursor]);
        assert!(needs.local_key && !needs.anthropic_prefix && !needs.desktop_document_id);
        let needs = Needs::of(&[Tool::ClaudeDesktop]);
        assert!(!needs.local_key && needs.anthropic_prefix && needs.desktop_document_id);
    }

    #[test]
    fn desktop_ids_are_reused_or_fresh_uuids() {
        let fresh = desktop_document_id(None, None, [0xff; 16]);
        assert_eq!(fresh, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let meta = r#"{"entries": [{"id": "../evil", "name": "llmauth gateway"}, {"id": "e1", "name": "llmauth gateway"}]}"#;
        assert_eq!(desktop_document_id(None, Some(meta), [0; 16]), "e1");
    }
}
