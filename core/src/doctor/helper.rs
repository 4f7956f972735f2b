//! How each tool runs its helper, read from the tool's files as they are now — what the
//! tool itself will run, whoever wrote it — so `doctor` can run it the same way.

use core::time::Duration;

use serde_json::Value as Json;

use super::requests::HELPER_CAP;
use crate::setup::edit::value_at;
use crate::setup::receipt::Format;
use crate::setup::tool::{Platform, Tool};
use crate::setup::wiring::CODEX_PROVIDER;

/// Claude Desktop's helper context for a call no person is waiting for: the helper must
/// not prompt (Claude Desktop also sends `interactive`, `mid-session-refresh`,
/// `scheduled-task` and `setup-test`).
const DESKTOP_CONTEXT: &str = "background";
/// Claude Desktop's default helper timeout, when its document names none.
const DESKTOP_DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One of a tool's files, as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolFile {
    /// Where it is.
    pub path: String,
    /// How it is read.
    pub format: Format,
    /// Its content (`None` when it is gone), or why it cannot be read.
    pub text: Result<Option<String>, String>,
}

/// A helper as its tool runs it: no terminal, the tool's environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Invocation {
    /// What the tool calls it, for messages.
    pub name: String,
    /// The program started.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables the tool adds to its own environment.
    pub env: Vec<(String, String)>,
    /// How long the tool waits for it (at most [`HELPER_CAP`]).
    pub limit: Duration,
}

impl core::fmt::Debug for Invocation {
    /// Only the name and the program: the arguments and the environment are the user's
    /// and may hold anything.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Invocation")
            .field("name", &self.name)
            .field("program", &self.program)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// How `tool` runs its helper, from its `files`; `None` for a proxy-mode tool, which runs
/// none.
///
/// # Errors
/// Why the files no longer say how (a file gone, a key removed), in words for people.
pub fn invocation(
    tool: Tool,
    files: &[ToolFile],
    platform: Platform,
) -> Option<Result<Invocation, String>> {
    Some(match tool {
        Tool::ClaudeCode => claude_code(files, platform),
        Tool::Codex => codex(files),
        Tool::ClaudeDesktop => claude_desktop(files),
        Tool::GeminiCli | Tool::Vscode | Tool::VscodeInsiders | Tool::Cursor | Tool::Xcode => {
            return None;
        }
    })
}

fn key(path: &[&str]) -> Vec<String> {
    path.iter().map(|k| (*k).to_owned()).collect()
}

/// The text of the first file in `format` (whose path ends with `suffix`).
fn file<'a>(files: &'a [ToolFile], format: Format, suffix: &str) -> Result<&'a str, String> {
    let found = files
        .iter()
        .find(|f| f.format == format && f.path.ends_with(suffix))
        .ok_or_else(|| "setup's record of its files names no such file".to_owned())?;
    match &found.text {
        Ok(Some(text)) => Ok(text),
        Ok(None) => Err(format!("{} is gone", found.path)),
        Err(why) => Err(format!("{} cannot be read: {why}", found.path)),
    }
}

fn string(value: Option<Json>, path: &str, what: &str) -> Result<String, String> {
    value
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| format!("{path} no longer sets {what}"))
}

/// Claude Code runs `apiKeyHelper` through the system shell, with the `env` of its
/// settings in its environment, and warns when it takes more than 10 s.
fn claude_code(files: &[ToolFile], platform: Platform) -> Result<Invocation, String> {
    let path = files
        .iter()
        .find(|f| f.format == Format::Json)
        .map_or("settings.json", |f| f.path.as_str());
    let text = file(files, Format::Json, "settings.json")?;
    let line = string(
        value_at(Format::Json, text, &key(&["apiKeyHelper"])),
        path,
        "apiKeyHelper",
    )?;
    let env = match value_at(Format::Json, text, &key(&["env"])) {
        Some(Json::Object(vars)) => vars
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.as_str()?.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    let (program, flag) = match platform {
        Platform::Windows => ("cmd", "/C"),
        Platform::Linux | Platform::Mac => ("/bin/sh", "-c"),
    };
    Ok(Invocation {
        name: "Claude Code's apiKeyHelper".to_owned(),
        program: program.to_owned(),
        args: vec![flag.to_owned(), line],
        env,
        limit: HELPER_CAP,
    })
}

/// Codex runs `auth.command` with `auth.args`, no shell; its app-server gives it 10 s.
fn codex(files: &[ToolFile]) -> Result<Invocation, String> {
    let path = files
        .iter()
        .find(|f| f.format == Format::Toml)
        .map_or("config.toml", |f| f.path.as_str());
    let text = file(files, Format::Toml, "config.toml")?;
    let at = |k: &str| key(&["model_providers", CODEX_PROVIDER, "auth", k]);
    let program = string(
        value_at(Format::Toml, text, &at("command")),
        path,
        "model_providers.llmauth.auth.command",
    )?;
    let args = match value_at(Format::Toml, text, &at("args")) {
        Some(Json::Array(args)) => args
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let timeout = value_at(Format::Toml, text, &at("timeout_ms"))
        .and_then(|v| v.as_u64())
        .map(Duration::from_millis);
    Ok(Invocation {
        name: "Codex's auth.command".to_owned(),
        program,
        args,
        env: Vec::new(),
        limit: timeout.map_or(HELPER_CAP, |t| t.min(HELPER_CAP)),
    })
}

/// Claude Desktop runs `inferenceCredentialHelper` (setup's shim) with no arguments and
/// `CLAUDE_HELPER_CONTEXT` saying who waits.
fn claude_desktop(files: &[ToolFile]) -> Result<Invocation, String> {
    let document = files
        .iter()
        .find(|f| f.format == Format::Whole && f.path.ends_with(".json"))
        .map_or("the Claude Desktop configuration", |f| f.path.as_str());
    let text = file(files, Format::Whole, ".json")?;
    let program = string(
        value_at(Format::Json, text, &key(&["inferenceCredentialHelper"])),
        document,
        "inferenceCredentialHelper",
    )?;
    let timeout = value_at(
        Format::Json,
        text,
        &key(&["inferenceCredentialHelperTimeoutSec"]),
    )
    .and_then(|v| v.as_u64())
    .map_or(DESKTOP_DEFAULT_TIMEOUT, Duration::from_secs);
    Ok(Invocation {
        name: "Claude Desktop's credential helper".to_owned(),
        program,
        args: Vec::new(),
        env: vec![(
            "CLAUDE_HELPER_CONTEXT".to_owned(),
            DESKTOP_CONTEXT.to_owned(),
        )],
        limit: timeout.min(HELPER_CAP),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, format: Format, text: Option<&str>) -> ToolFile {
        ToolFile {
            path: path.to_owned(),
            format,
            text: Ok(text.map(str::to_owned)),
        }
    }

    #[test]
    fn claude_code_runs_its_shell_line_with_its_env() {
        let settings = r#"{
          // comments are fine
          "apiKeyHelper": "'/opt/llm auth/llmauth' token",
          "env": {"ANTHROPIC_BASE_URL": "https://gw", "N": 1}
        }"#;
        let files = [file(
            "/h/.claude/settings.json",
            Format::Json,
            Some(settings),
        )];
        let run = invocation(Tool::ClaudeCode, &files, Platform::Linux)
            .unwrap()
            .unwrap();
        assert_eq!(run.program, "/bin/sh");
        assert_eq!(run.args, ["-c", "'/opt/llm auth/llmauth' token"]);
        assert_eq!(
            run.env,
            [("ANTHROPIC_BASE_URL".to_owned(), "https://gw".to_owned())]
        );
        assert_eq!(run.limit, HELPER_CAP);
        let windows = invocation(Tool::ClaudeCode, &files, Platform::Windows)
            .unwrap()
            .unwrap();
        assert_eq!(
            (windows.program.as_str(), windows.args[0].as_str()),
            ("cmd", "/C")
        );
        assert!(!format!("{run:?}").contains("token"), "{run:?}");
    }

    #[test]
    fn codex_runs_its_command_and_args() {
        let config = "model_provider = \"llmauth\"\n[model_providers.llmauth.auth]\ncommand = \"/usr/bin/llmauth\"\nargs = [\"token\", \"--non-interactive\"]\ntimeout_ms = 4000\n";
        let files = [file("/h/.codex/config.toml", Format::Toml, Some(config))];
        let run = invocation(Tool::Codex, &files, Platform::Mac)
            .unwrap()
            .unwrap();
        assert_eq!(run.program, "/usr/bin/llmauth");
        assert_eq!(run.args, ["token", "--non-interactive"]);
        assert_eq!(run.limit, Duration::from_secs(4));
    }

    #[test]
    fn claude_desktop_runs_the_shim_in_the_background_context() {
        let document = r#"{"inferenceCredentialHelper": "/s/helper.sh", "inferenceCredentialHelperTimeoutSec": 30}"#;
        let files = [
            file("/s/helper.sh", Format::Whole, Some("#!/bin/sh\n")),
            file("/lib/abc.json", Format::Whole, Some(document)),
            file("/lib/_meta.json", Format::Json, Some("{}")),
        ];
        let run = invocation(Tool::ClaudeDesktop, &files, Platform::Linux)
            .unwrap()
            .unwrap();
        assert_eq!(run.program, "/s/helper.sh");
        assert!(run.args.is_empty());
        assert_eq!(
            run.env,
            [("CLAUDE_HELPER_CONTEXT".to_owned(), "background".to_owned())]
        );
        assert_eq!(run.limit, HELPER_CAP);
    }

    #[test]
    fn files_that_no_longer_say_how_are_named() {
        let gone = [file("/h/.claude/settings.json", Format::Json, None)];
        assert_eq!(
            invocation(Tool::ClaudeCode, &gone, Platform::Linux),
            Some(Err("/h/.claude/settings.json is gone".to_owned()))
        );
        let removed = [file("/h/.codex/config.toml", Format::Toml, Some("x = 1\n"))];
        assert_eq!(
            invocation(Tool::Codex, &removed, Platform::Linux),
            Some(Err(
                "/h/.codex/config.toml no longer sets model_providers.llmauth.auth.command"
                    .to_owned()
            ))
        );
        let unreadable = [ToolFile {
            text: Err("permission denied".into()),
            ..file("/h/.claude/settings.json", Format::Json, None)
        }];
        assert_eq!(
            invocation(Tool::ClaudeCode, &unreadable, Platform::Linux),
            Some(Err(
                "/h/.claude/settings.json cannot be read: permission denied".to_owned()
            ))
        );
        assert_eq!(invocation(Tool::GeminiCli, &[], Platform::Linux), None);
        assert!(matches!(
            invocation(Tool::ClaudeDesktop, &[], Platform::Linux),
            Some(Err(_))
        ));
    }
}
