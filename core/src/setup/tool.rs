//! The tools setup knows, how each is wired, and where each keeps its files on Linux, macOS
//! and Windows (as each tool defines them).

use std::fmt;
use std::path::PathBuf;

/// A tool setup can configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    /// Claude Code (`apiKeyHelper`).
    ClaudeCode,
    /// OpenAI Codex CLI (`model_providers.<id>.auth`).
    Codex,
    /// Claude Desktop (third-party inference with a credential helper).
    ClaudeDesktop,
    /// Gemini CLI (through the proxy).
    GeminiCli,
    /// Visual Studio Code (through the proxy; best effort).
    Vscode,
    /// Visual Studio Code Insiders (through the proxy; best effort).
    VscodeInsiders,
    /// Cursor (through the proxy; best effort).
    Cursor,
    /// GitHub Copilot for Xcode (through the proxy; best effort).
    Xcode,
}

/// How a tool gets its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The tool runs `llmauth token` and sends the token itself.
    TokenHelper,
    /// The tool runs a credential-helper shim around `llmauth token`.
    CredentialHelper,
    /// The tool sends the local key to `llmauth proxy`, which injects the token.
    Proxy,
}

impl Mode {
    /// The spelling in `configured_tools` and receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenHelper => "token-helper",
            Self::CredentialHelper => "credential-helper",
            Self::Proxy => "proxy",
        }
    }

    /// Words for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::TokenHelper => "token helper",
            Self::CredentialHelper => "credential helper",
            Self::Proxy => "proxy",
        }
    }
}

impl Tool {
    /// Every tool, in the order setup reports them.
    pub const ALL: [Self; 8] = [
        Self::ClaudeCode,
        Self::Codex,
        Self::ClaudeDesktop,
        Self::GeminiCli,
        Self::Vscode,
        Self::VscodeInsiders,
        Self::Cursor,
        Self::Xcode,
    ];

    /// The `--client` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeCode => "claude-code",
            Self::Codex => "codex",
            Self::ClaudeDesktop => "claude-desktop",
            Self::GeminiCli => "gemini-cli",
            Self::Vscode => "vscode",
            Self::VscodeInsiders => "vscode-insiders",
            Self::Cursor => "cursor",
            Self::Xcode => "xcode",
        }
    }

    /// The name people know the application by.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::ClaudeCode => "Claude Code",
            Self::Codex => "Codex",
            Self::ClaudeDesktop => "Claude Desktop",
            Self::GeminiCli => "Gemini CLI",
            Self::Vscode => "VS Code",
            Self::VscodeInsiders => "VS Code Insiders",
            Self::Cursor => "Cursor",
            Self::Xcode => "GitHub Copilot for Xcode",
        }
    }

    /// The tool named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// How it is wired.
    pub fn mode(self) -> Mode {
        match self {
            Self::ClaudeCode | Self::Codex => Mode::TokenHelper,
            Self::ClaudeDesktop => Mode::CredentialHelper,
            Self::GeminiCli | Self::Vscode | Self::VscodeInsiders | Self::Cursor | Self::Xcode => {
                Mode::Proxy
            }
        }
    }

    /// Whether the keys written are known to work with current versions of the tool; the
    /// editors' proxy settings are not (SPEC §9), and setup says so.
    pub fn best_effort(self) -> bool {
        matches!(
            self,
            Self::Vscode | Self::VscodeInsiders | Self::Cursor | Self::Xcode
        )
    }

    /// Whether the tool talks to the gateway's Anthropic API (and so needs the path prefix).
    pub fn anthropic(self) -> bool {
        matches!(self, Self::ClaudeCode | Self::ClaudeDesktop)
    }

    /// Whether the tool reads its configuration only when it starts.
    pub fn desktop_app(self) -> bool {
        matches!(
            self,
            Self::ClaudeDesktop | Self::Vscode | Self::VscodeInsiders | Self::Cursor | Self::Xcode
        )
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The operating system whose conventions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Linux and other Unix-likes (XDG directories).
    Linux,
    /// macOS (`~/Library/Application Support`).
    Mac,
    /// Windows (`%APPDATA%`, `%LOCALAPPDATA%`, `cmd.exe`).
    Windows,
}

/// What the runtime read from the environment to place the tools' files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    /// The platform.
    pub platform: Platform,
    /// The home directory (`%USERPROFILE%` on Windows).
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` when set to an absolute path.
    pub xdg_config_home: Option<PathBuf>,
    /// `%APPDATA%`.
    pub appdata: Option<PathBuf>,
    /// `%LOCALAPPDATA%`.
    pub local_appdata: Option<PathBuf>,
    /// `$CLAUDE_CONFIG_DIR` (Claude Code's settings directory).
    pub claude_config_dir: Option<PathBuf>,
    /// `$CODEX_HOME` (Codex's settings directory).
    pub codex_home: Option<PathBuf>,
    /// The login name (`$USER`, `%USERNAME%`): macOS keeps per-user managed profiles under
    /// it.
    pub user: Option<String>,
    /// `$SHELL`: the login shell, whose start-up file `setup --shell-env` writes to even
    /// when it does not exist yet.
    pub login_shell: Option<String>,
    /// `$ZDOTDIR`: where zsh reads `.zshrc` from.
    pub zdotdir: Option<PathBuf>,
}

impl Environment {
    /// Where per-user application data of desktop apps lives: `~/.config` (XDG),
    /// `~/Library/Application Support`, `%APPDATA%`.
    fn app_config_dir(&self) -> PathBuf {
        match self.platform {
            Platform::Linux => self
                .xdg_config_home
                .clone()
                .unwrap_or_else(|| self.home.join(".config")),
            Platform::Mac => self.home.join("Library").join("Application Support"),
            Platform::Windows => self
                .appdata
                .clone()
                .unwrap_or_else(|| self.home.join("AppData").join("Roaming")),
        }
    }

    /// `~/Library/Application Support`, where macOS apps keep their data. Copilot for
    /// Xcode exists only on macOS; elsewhere this directory is simply never there.
    fn mac_app_support(&self) -> PathBuf {
        self.home.join("Library").join("Application Support")
    }

    /// Local (non-roaming) application data; the same as the config dir except on Windows.
    fn app_local_dir(&self) -> PathBuf {
        match self.platform {
            Platform::Windows => self
                .local_appdata
                .clone()
                .unwrap_or_else(|| self.home.join("AppData").join("Local")),
            Platform::Linux | Platform::Mac => self.app_config_dir(),
        }
    }
}

/// Where a tool lives on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The directory whose presence means the tool is installed (and where its settings
    /// file is, for most tools).
    pub config_dir: PathBuf,
    /// Commands whose presence on PATH means the tool is installed.
    pub binaries: &'static [&'static str],
}

/// Where `tool` keeps its configuration.
pub fn location(tool: Tool, env: &Environment) -> Location {
    let (config_dir, binaries): (PathBuf, &'static [&'static str]) = match tool {
        Tool::ClaudeCode => (
            env.claude_config_dir
                .clone()
                .unwrap_or_else(|| env.home.join(".claude")),
            &["claude"],
        ),
        Tool::Codex => (
            env.codex_home
                .clone()
                .unwrap_or_else(|| env.home.join(".codex")),
            &["codex"],
        ),
        Tool::GeminiCli => (env.home.join(".gemini"), &["gemini"]),
        Tool::Vscode => (env.app_config_dir().join("Code"), &["code"]),
        Tool::VscodeInsiders => (
            env.app_config_dir().join("Code - Insiders"),
            &["code-insiders"],
        ),
        Tool::Cursor => (env.app_config_dir().join("Cursor"), &["cursor"]),
        // The directory the reference design names (its notes found no documentation of
        // a settings file: the app keeps its data in `com.github.CopilotForXcode`), and no
        // command: the app is found only by its directory.
        Tool::Xcode => (env.mac_app_support().join("GitHub Copilot for Xcode"), &[]),
        Tool::ClaudeDesktop => (
            env.app_config_dir().join("Claude"),
            match env.platform {
                Platform::Linux => &["claude-desktop"],
                Platform::Mac | Platform::Windows => &[],
            },
        ),
    };
    Location {
        config_dir,
        binaries,
    }
}

/// Claude Desktop's third-party inference configuration library.
pub fn claude_desktop_library(env: &Environment) -> PathBuf {
    env.app_local_dir().join("Claude-3p").join("configLibrary")
}

/// The settings file of the editors (`…/User/settings.json`).
pub(crate) fn editor_settings(tool: Tool, env: &Environment) -> PathBuf {
    location(tool, env)
        .config_dir
        .join("User")
        .join("settings.json")
}

/// Whether a tool counts as installed: its configuration directory exists, or one of its
/// commands is on PATH (a fresh install may have either without the other).
pub fn detected(config_dir_exists: bool, binary_on_path: bool) -> bool {
    config_dir_exists || binary_on_path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::setup::environment as env;

    #[test]
    fn names_round_trip() {
        for tool in Tool::ALL {
            assert_eq!(Tool::parse(tool.name()), Some(tool));
        }
        assert_eq!(Tool::parse("vscode-insider"), None);
        assert_eq!(Tool::ALL.len(), 8);
    }

    #[test]
    fn paths_per_platform() {
        let linux = env(Platform::Linux);
        assert_eq!(
            location(Tool::ClaudeCode, &linux).config_dir,
            PathBuf::from("/h/.claude")
        );
        assert_eq!(
            editor_settings(Tool::Vscode, &linux),
            PathBuf::from("/h/.config/Code/User/settings.json")
        );
        assert_eq!(
            claude_desktop_library(&linux),
            PathBuf::from("/h/.config/Claude-3p/configLibrary")
        );
        let mut xdg = linux.clone();
        xdg.xdg_config_home = Some(PathBuf::from("/x"));
        xdg.claude_config_dir = Some(PathBuf::from("/cc"));
        xdg.codex_home = Some(PathBuf::from("/cx"));
        assert_eq!(
            editor_settings(Tool::Cursor, &xdg),
            PathBuf::from("/x/Cursor/User/settings.json")
        );
        assert_eq!(
            location(Tool::ClaudeCode, &xdg).config_dir,
            PathBuf::from("/cc")
        );
        assert_eq!(location(Tool::Codex, &xdg).config_dir, PathBuf::from("/cx"));

        let mac = env(Platform::Mac);
        assert_eq!(
            editor_settings(Tool::Vscode, &mac),
            PathBuf::from("/h/Library/Application Support/Code/User/settings.json")
        );
        assert_eq!(
            claude_desktop_library(&mac),
            PathBuf::from("/h/Library/Application Support/Claude-3p/configLibrary")
        );

        let mut windows = env(Platform::Windows);
        windows.appdata = Some(PathBuf::from("/h/AppData/Roaming"));
        windows.local_appdata = Some(PathBuf::from("/h/AppData/Local"));
        assert_eq!(
            editor_settings(Tool::Cursor, &windows),
            PathBuf::from("/h/AppData/Roaming/Cursor/User/settings.json")
        );
        assert_eq!(
            claude_desktop_library(&windows),
            PathBuf::from("/h/AppData/Local/Claude-3p/configLibrary")
        );
        assert_eq!(
            location(Tool::ClaudeDesktop, &windows).config_dir,
            PathBuf::from("/h/AppData/Roaming/Claude")
        );
        assert_eq!(
            editor_settings(Tool::VscodeInsiders, &windows),
            PathBuf::from("/h/AppData/Roaming/Code - Insiders/User/settings.json")
        );
        assert_eq!(
            editor_settings(Tool::VscodeInsiders, &linux),
            PathBuf::from("/h/.config/Code - Insiders/User/settings.json")
        );
        let xcode = location(Tool::Xcode, &mac);
        assert_eq!(
            xcode.config_dir,
            PathBuf::from("/h/Library/Application Support/GitHub Copilot for Xcode")
        );
        assert!(xcode.binaries.is_empty());
    }

    #[test]
    fn either_sign_of_installation_counts() {
        assert!(detected(true, false));
        assert!(detected(false, true));
        assert!(!detected(false, false));
    }
}
