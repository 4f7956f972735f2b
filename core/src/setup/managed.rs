//! Managed profiles: settings an administrator installed for a tool (a macOS configuration
//! profile, a system-wide managed settings file), which the tool prefers to the user's own
//! file — the one setup writes. Setup and `status` warn when one is present, so a wiring
//! that silently does nothing is not a mystery.
//!
//! Core says where such profiles are for the tools it wires; the runtime says which of
//! those files exist.

use std::path::{Path, PathBuf};

use super::tool::{Environment, Platform, Tool};

/// The system directories managed profiles live in (replaced by temporary directories in
/// tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedRoots {
    /// Where macOS installs configuration profiles' preferences
    /// (`/Library/Managed Preferences`, with per-user profiles in `<user>/`).
    pub managed_preferences: PathBuf,
    /// The system-wide `/Library/Application Support`.
    pub application_support: PathBuf,
}

impl ManagedRoots {
    /// The directories on a Mac.
    pub fn system() -> Self {
        Self {
            managed_preferences: PathBuf::from("/Library/Managed Preferences"),
            application_support: PathBuf::from("/Library/Application Support"),
        }
    }
}

/// A managed profile that is present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedProfile {
    /// The tool it configures.
    pub tool: Tool,
    /// The profile's file.
    pub path: PathBuf,
}

/// The preference domains of the tools' macOS configuration profiles:
///
/// * Claude Desktop reads `com.anthropic.claudefordesktop` ("Cowork on 3P" configuration
///   reference, <https://claude.com/docs/cowork/3p/configuration>: when a managed source is
///   present it wins and the locally written configuration library is ignored; the
///   device-wide location is the one the reference design also checks);
/// * Claude Code reads `com.anthropic.claudecode` and the file
///   `/Library/Application Support/ClaudeCode/managed-settings.json` ("managed" scope in
///   Claude Code's settings documentation, <https://code.claude.com/docs/en/settings>),
///   which win over `~/.claude/settings.json` for every key they set.
///
/// The other tools document no managed profile.
fn preference_domain(tool: Tool) -> Option<&'static str> {
    match tool {
        Tool::ClaudeDesktop => Some("com.anthropic.claudefordesktop"),
        Tool::ClaudeCode => Some("com.anthropic.claudecode"),
        Tool::Codex
        | Tool::GeminiCli
        | Tool::Vscode
        | Tool::VscodeInsiders
        | Tool::Cursor
        | Tool::Xcode => None,
    }
}

/// Where a managed profile for `tool` may be, most specific first: the per-user
/// preferences (when the login name is known and is a plain name), the device's, and a
/// managed settings file. Only macOS has them.
pub fn candidates(tool: Tool, env: &Environment, roots: &ManagedRoots) -> Vec<PathBuf> {
    if env.platform != Platform::Mac {
        return Vec::new();
    }
    let mut paths = Vec::new();
    if let Some(domain) = preference_domain(tool) {
        let plist = format!("{domain}.plist");
        let user = env
            .user
            .as_deref()
            .filter(|u| !u.is_empty() && !u.contains(['/', '\\']) && *u != "." && *u != "..");
        if let Some(user) = user {
            paths.push(roots.managed_preferences.join(user).join(&plist));
        }
        paths.push(roots.managed_preferences.join(&plist));
    }
    if tool == Tool::ClaudeCode {
        paths.push(
            roots
                .application_support
                .join("ClaudeCode")
                .join("managed-settings.json"),
        );
    }
    paths
}

/// The profiles among the [`candidates`] of `tools` that `exists` says are there.
pub fn present(
    tools: &[Tool],
    env: &Environment,
    roots: &ManagedRoots,
    exists: impl Fn(&Path) -> bool,
) -> Vec<ManagedProfile> {
    tools
        .iter()
        .flat_map(|&tool| {
            candidates(tool, env, roots)
                .into_iter()
                .filter(|path| exists(path))
                .map(move |path| ManagedProfile { tool, path })
        })
        .collect()
}

/// The warning about a present profile (stderr for setup, a warning line in `status`).
pub fn warning(profile: &ManagedProfile) -> String {
    let tool = profile.tool;
    let effect = match tool {
        Tool::ClaudeDesktop => {
            "Claude Desktop uses it instead of the configuration setup wrote, which it ignores"
        }
        Tool::ClaudeCode
        | Tool::Codex
        | Tool::GeminiCli
        | Tool::Vscode
        | Tool::VscodeInsiders
        | Tool::Cursor
        | Tool::Xcode => {
            "its settings win over the ones setup wrote wherever both set the same key"
        }
    };
    format!(
        "a managed profile for {tool} is installed ({}): {effect} — configure the gateway in that profile, or ask whoever manages this Mac to remove it",
        profile.path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::setup::environment;

    fn roots() -> ManagedRoots {
        ManagedRoots {
            managed_preferences: PathBuf::from("/m"),
            application_support: PathBuf::from("/a"),
        }
    }

    #[test]
    fn only_macos_and_only_documented_profiles() {
        let mac = environment(Platform::Mac);
        assert_eq!(
            candidates(Tool::ClaudeDesktop, &mac, &roots()),
            [
                PathBuf::from("/m/u/com.anthropic.claudefordesktop.plist"),
                PathBuf::from("/m/com.anthropic.claudefordesktop.plist"),
            ]
        );
        assert_eq!(
            candidates(Tool::ClaudeCode, &mac, &roots()),
            [
                PathBuf::from("/m/u/com.anthropic.claudecode.plist"),
                PathBuf::from("/m/com.anthropic.claudecode.plist"),
                PathBuf::from("/a/ClaudeCode/managed-settings.json"),
            ]
        );
        for tool in [Tool::Codex, Tool::Vscode, Tool::Xcode, Tool::GeminiCli] {
            assert!(candidates(tool, &mac, &roots()).is_empty(), "{tool}");
        }
        for platform in [Platform::Linux, Platform::Windows] {
            let other = environment(platform);
            assert!(candidates(Tool::ClaudeDesktop, &other, &roots()).is_empty());
        }
        // A login name that is not a plain name is not used in a path.
        for user in [None, Some(".."), Some("a/b"), Some("")] {
            let mut odd = mac.clone();
            odd.user = user.map(str::to_owned);
            assert_eq!(
                candidates(Tool::ClaudeDesktop, &odd, &roots()),
                [PathBuf::from("/m/com.anthropic.claudefordesktop.plist")]
            );
        }
    }

    #[test]
    fn present_profiles_are_warned_about() {
        let mac = environment(Platform::Mac);
        let installed = |p: &Path| p == Path::new("/m/u/com.anthropic.claudefordesktop.plist");
        let found = present(
            &[Tool::ClaudeCode, Tool::ClaudeDesktop, Tool::Codex],
            &mac,
            &roots(),
            installed,
        );
        assert_eq!(
            found,
            [ManagedProfile {
                tool: Tool::ClaudeDesktop,
                path: PathBuf::from("/m/u/com.anthropic.claudefordesktop.plist"),
            }]
        );
        assert_eq!(
            warning(&found[0]),
            "a managed profile for claude-desktop is installed (/m/u/com.anthropic.claudefordesktop.plist): \
             Claude Desktop uses it instead of the configuration setup wrote, which it ignores — configure the \
             gateway in that profile, or ask whoever manages this Mac to remove it"
        );
        let code = ManagedProfile {
            tool: Tool::ClaudeCode,
            path: PathBuf::from("/a/ClaudeCode/managed-settings.json"),
        };
        assert_eq!(
            warning(&code),
            "a managed profile for claude-code is installed (/a/ClaudeCode/managed-settings.json): \
             its settings win over the ones setup wrote wherever both set the same key — configure the \
             gateway in that profile, or ask whoever manages this Mac to remove it"
        );
        assert!(present(&[Tool::ClaudeDesktop], &mac, &roots(), |_| false).is_empty());
    }
}
