//! The words setup, teardown and status use, in one place.

use core::time::Duration;

use sha2::{Digest, Sha256};

use super::drift::{Drift, ToolDrift};
use super::edit::Note;
use super::prefix;
use super::tool::{Mode, Tool};
use crate::text::listing;

/// `configured <tool> (<mode>) → <files>`, marked when the keys are best effort.
pub fn configured(tool: Tool, files: &[String]) -> String {
    let best_effort = if tool.best_effort() {
        " [best effort]"
    } else {
        ""
    };
    format!(
        "configured {tool} ({}) → {}{best_effort}",
        tool.mode().describe(),
        files.join(", ")
    )
}

/// `reverted <tool> → <files>`.
pub fn reverted(tool: &str, files: &[String]) -> String {
    format!("reverted {tool} → {}", files.join(", "))
}

/// A key teardown left alone.
pub fn kept(file: &str, note: &Note) -> String {
    format!(
        "kept {file}: {} ({}; teardown restores only what still holds setup's value)",
        note.key,
        note.kind.describe()
    )
}

/// A configured tool in `status`: `<tool> (<mode>) <files> — as setup left it`.
pub fn tool_state(tool: &ToolDrift) -> String {
    let files: Vec<&str> = tool.files.iter().map(|f| f.path.as_str()).collect();
    format!(
        "{} ({}) {} — {}",
        tool.tool,
        tool.mode,
        files.join(", "),
        if tool.as_setup_left_it() {
            "as setup left it"
        } else {
            "changed since setup"
        }
    )
}

/// What `status` warns about a configured tool: files gone or changed, keys changed, and
/// a helper command naming an llmauth that is gone.
pub fn drift_warnings(tool: &ToolDrift) -> Vec<String> {
    let name = &tool.tool;
    let mut warnings = Vec::new();
    for file in &tool.files {
        let path = &file.path;
        match &file.drift {
            Ok(Drift::None) => {}
            Ok(Drift::Missing) => warnings.push(format!(
                "{name}: {path} no longer exists (run `llmauth setup` again)"
            )),
            Ok(Drift::Keys(notes)) => {
                for note in notes {
                    warnings.push(format!(
                        "{name}: {} in {path} {} (run `llmauth setup` again to restore it)",
                        note.key,
                        note.kind.describe()
                    ));
                }
            }
            Err(error) => warnings.push(format!("{name}: {error}")),
        }
    }
    if let Some(program) = &tool.stale_helper {
        warnings.push(format!(
            "{name}: its helper command names {program}, which no longer exists (run `llmauth setup` again)"
        ));
    }
    warnings
}

/// What `status` warns about a tool whose file lets it cache a printed token (`ttl`)
/// longer than the current token's refresh margin: it may use a token `token` would
/// already have replaced. `None` when the TTL fits.
pub fn stale_ttl(tool: &ToolDrift, margin: Duration) -> Option<String> {
    let ttl = tool.helper_ttl.filter(|ttl| *ttl > margin)?;
    Some(format!(
        "{}: its file lets it cache a token for {}s, longer than the {}s before the current token is refreshed, so it may send a token the gateway rejects (run `llmauth setup` again to write a TTL that fits)",
        tool.tool,
        ttl.as_secs(),
        margin.as_secs()
    ))
}

/// The one line about Gemini CLI's folder trust (setup and `status`): it reads the
/// wiring only in folders it trusts.
pub const GEMINI_FOLDER_TRUST: &str = "Gemini CLI reads ~/.gemini/.env only in folders it trusts: trust the folder when it asks (headless runs like `gemini -p` in any other folder need --skip-trust); `llmauth setup --client gemini-cli --shell-env` also sets the two variables in your shell, for folders you declined to trust";

/// What setup warns about `--shell-env`: it has no effect without Gemini CLI, or when no
/// shell start-up file was found (`no_shell`).
pub fn shell_env_warning(asked: bool, wired: &[Tool], no_shell: bool) -> Option<String> {
    if !asked {
        return None;
    }
    if !wired.contains(&Tool::GeminiCli) {
        return Some(
            "--shell-env is about Gemini CLI, which this run did not configure: it had no effect"
                .to_owned(),
        );
    }
    no_shell.then(|| "--shell-env: no bash, zsh or fish start-up file was found (and $SHELL names none of them): set GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL as ~/.gemini/.env does, in your shell's start-up".to_owned())
}

/// Facts the closing advice depends on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Situation {
    /// The tools configured in this run.
    pub tools: Vec<Tool>,
    /// Setup did not log in (`--lazy`).
    pub lazy: bool,
    /// `ANTHROPIC_API_KEY` is set in this environment.
    pub anthropic_api_key_set: bool,
    /// `tls.ca_file` is configured.
    pub ca_file: Option<String>,
    /// `LLMAUTH_STATE_DIR` is set (tools run the helper without it).
    pub state_dir_overridden: bool,
    /// `llm.gateway_url`, as written.
    pub gateway_url: String,
}

/// What the user has to do now (stdout: part of the result).
pub fn next_steps(situation: &Situation) -> Vec<String> {
    let mut steps = Vec::new();
    let restart: Vec<&str> = situation
        .tools
        .iter()
        .filter(|t| t.desktop_app())
        .map(|t| t.display_name())
        .collect();
    if !restart.is_empty() {
        let (they, read, their) = pronouns(restart.len());
        steps.push(format!(
            "Quit and reopen {}: {they} {read} {their} configuration only at launch.",
            listing(&restart, "and")
        ));
    }
    let proxied: Vec<&str> = situation
        .tools
        .iter()
        .filter(|t| t.mode() == Mode::Proxy)
        .map(|t| t.name())
        .collect();
    if !proxied.is_empty() {
        let one = proxied.len() == 1;
        steps.push(format!(
            "{} {} the gateway through the proxy: keep `llmauth proxy start` running while you use {}.",
            listing(&proxied, "and"),
            if one { "reaches" } else { "reach" },
            if one { "it" } else { "them" },
        ));
    }
    if situation.tools.contains(&Tool::ClaudeCode) {
        steps.push("Claude Code picks up the change in new sessions.".to_owned());
    }
    if situation.tools.contains(&Tool::GeminiCli) {
        steps.push(format!("{GEMINI_FOLDER_TRUST}."));
    }
    if situation.lazy {
        steps.push(
            "Not signed in yet (--lazy): the first token a tool asks for starts the sign-in, or run `llmauth login` now."
                .to_owned(),
        );
    }
    steps
}

/// The subject pronoun, the verb "read" and the possessive for `n` tools.
fn pronouns(n: usize) -> (&'static str, &'static str, &'static str) {
    if n == 1 {
        ("it", "reads", "its")
    } else {
        ("they", "read", "their")
    }
}

/// Warnings (stderr).
pub fn warnings(situation: &Situation) -> Vec<String> {
    let mut warnings = Vec::new();
    let has = |tool| situation.tools.contains(&tool);
    if situation.anthropic_api_key_set && has(Tool::ClaudeCode) {
        warnings.push(
            "ANTHROPIC_API_KEY is set in this environment: Claude Code uses it instead of the apiKeyHelper llmauth configured — unset it".to_owned(),
        );
    }
    if has(Tool::Cursor) {
        warnings.push(
            "Cursor sends requests for a custom OpenAI base URL from its own servers, which cannot reach a proxy on localhost: its settings were written, but Cursor is likely to ignore them".to_owned(),
        );
    }
    for tool in &situation.tools {
        if let Some(keys) = unconfirmed_keys(*tool) {
            warnings.push(format!(
                "llmauth could not confirm that current versions of {} read {keys}: they were written, best effort",
                tool.display_name()
            ));
        }
    }
    if let Some(ca) = &situation.ca_file
        && has(Tool::Codex)
    {
        warnings.push(format!(
            "Codex has no config.toml setting for extra trust roots: start it with CODEX_CA_CERTIFICATE={ca} in its environment (or trust the CA system-wide)"
        ));
    }
    let adds_v1: Vec<&str> = situation
        .tools
        .iter()
        .filter(|t| matches!(t, Tool::ClaudeCode | Tool::ClaudeDesktop))
        .map(|t| t.display_name())
        .collect();
    let base = prefix::anthropic_base(&situation.gateway_url);
    if !adds_v1.is_empty() && base != situation.gateway_url.trim_end_matches('/') {
        let (add, itself, it) = if adds_v1.len() == 1 {
            ("adds", "itself", "it")
        } else {
            ("add", "themselves", "them")
        };
        warnings.push(format!(
            "llm.gateway_url ends in /v1, which {} {add} {itself}: setup gave {it} {base}",
            listing(&adds_v1, "and")
        ));
    }
    if situation.state_dir_overridden && situation.tools.iter().any(|t| t.mode() != Mode::Proxy) {
        warnings.push(
            "LLMAUTH_STATE_DIR is set: tools run `llmauth token` with their own environment, which must set it too, or they will not find this session".to_owned(),
        );
    }
    warnings
}

/// The keys of a best-effort tool that no documentation confirms (Cursor's are known to be
/// ignored, which its own warning says).
fn unconfirmed_keys(tool: Tool) -> Option<&'static str> {
    match tool {
        Tool::Vscode | Tool::VscodeInsiders => {
            Some("github.copilot.advanced.serverUrl and github.copilot.advanced.apiKey")
        }
        Tool::Xcode => Some("openAIBaseURL and apiKey in editorSettings.json"),
        Tool::ClaudeCode | Tool::Codex | Tool::ClaudeDesktop | Tool::GeminiCli | Tool::Cursor => {
            None
        }
    }
}

/// The name of the lock serialising changes to one tool file: `tool-<16 hex>`.
pub fn tool_lock_name(path: &str) -> String {
    let digest = Sha256::digest(path.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("tool-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            configured(Tool::ClaudeCode, &["/h/.claude/settings.json".into()]),
            "configured claude-code (token helper) → /h/.claude/settings.json"
        );
        assert_eq!(
            configured(Tool::Cursor, &["/s.json".into()]),
            "configured cursor (proxy) → /s.json [best effort]"
        );
        assert_eq!(tool_lock_name("/a").len(), "tool-".len() + 16);
        assert_ne!(tool_lock_name("/a"), tool_lock_name("/b"));
    }

    #[test]
    fn advice_follows_the_situation() {
        let situation = Situation {
            tools: vec![
                Tool::ClaudeCode,
                Tool::GeminiCli,
                Tool::ClaudeDesktop,
                Tool::Cursor,
                Tool::Codex,
                Tool::VscodeInsiders,
                Tool::Xcode,
            ],
            lazy: true,
            anthropic_api_key_set: true,
            ca_file: Some("/ca.pem".into()),
            state_dir_overridden: false,
            gateway_url: "https://gw.example.com/v1/".into(),
        };
        let steps = next_steps(&situation).join("\n");
        assert!(
            steps.contains(
                "Quit and reopen Claude Desktop, Cursor, VS Code Insiders and GitHub Copilot for Xcode:"
            ),
            "{steps}"
        );
        assert!(
            steps.contains(
                "gemini-cli, cursor, vscode-insiders and xcode reach the gateway through the proxy"
            ),
            "{steps}"
        );
        assert!(steps.contains("--lazy"), "{steps}");
        assert!(
            steps.contains("Gemini CLI reads ~/.gemini/.env only in folders it trusts")
                && steps.contains("--skip-trust"),
            "{steps}"
        );
        let warnings = warnings(&situation).join("\n");
        assert!(warnings.contains("ANTHROPIC_API_KEY"), "{warnings}");
        assert!(warnings.contains("Cursor sends"), "{warnings}");
        assert!(
            warnings.contains("CODEX_CA_CERTIFICATE=/ca.pem"),
            "{warnings}"
        );
        assert!(
            warnings.contains(
                "llm.gateway_url ends in /v1, which Claude Code and Claude Desktop add themselves: \
                 setup gave them https://gw.example.com"
            ),
            "{warnings}"
        );
        assert!(
            warnings.contains(
                "llmauth could not confirm that current versions of VS Code Insiders read \
                 github.copilot.advanced.serverUrl and github.copilot.advanced.apiKey: they were \
                 written, best effort"
            ),
            "{warnings}"
        );
        assert!(
            warnings.contains(
                "llmauth could not confirm that current versions of GitHub Copilot for Xcode read \
                 openAIBaseURL and apiKey in editorSettings.json: they were written, best effort"
            ),
            "{warnings}"
        );
        assert!(next_steps(&Situation::default()).is_empty());
        assert!(super::warnings(&Situation::default()).is_empty());
    }

    #[test]
    fn one_tool_is_it_and_several_are_they() {
        let one = |tool| Situation {
            tools: vec![tool],
            ..Situation::default()
        };
        assert_eq!(
            next_steps(&one(Tool::GeminiCli))[0],
            "gemini-cli reaches the gateway through the proxy: keep `llmauth proxy start` running while you use it."
        );
        assert_eq!(
            next_steps(&one(Tool::ClaudeDesktop)),
            ["Quit and reopen Claude Desktop: it reads its configuration only at launch."]
        );
        let two = Situation {
            tools: vec![Tool::GeminiCli, Tool::Cursor],
            ..Situation::default()
        };
        assert_eq!(
            next_steps(&two)[..2],
            [
                "Quit and reopen Cursor: it reads its configuration only at launch.",
                "gemini-cli and cursor reach the gateway through the proxy: keep `llmauth proxy start` running while you use them.",
            ]
        );
    }
}
