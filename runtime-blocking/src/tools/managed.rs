//! Which managed profiles `llmauth_core::setup::managed` names are on this machine.

use std::path::Path;

use llmauth_core::setup::managed::{ManagedProfile, ManagedRoots, present};
use llmauth_core::setup::tool::{Environment, Tool};

/// The managed profiles installed for `tools` (only macOS has them).
pub fn profiles(env: &Environment, tools: &[Tool]) -> Vec<ManagedProfile> {
    profiles_under(env, tools, &ManagedRoots::system())
}

fn profiles_under(env: &Environment, tools: &[Tool], roots: &ManagedRoots) -> Vec<ManagedProfile> {
    present(tools, env, roots, Path::is_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmauth_core::setup::tool::Platform;
    use llmauth_core::testing::setup::environment;

    #[test]
    fn profiles_are_found_where_they_are_installed() {
        let dir = tempfile::tempdir().unwrap();
        let roots = ManagedRoots {
            managed_preferences: dir.path().join("Managed Preferences"),
            application_support: dir.path().join("Application Support"),
        };
        let user_profile = roots
            .managed_preferences
            .join("u")
            .join("com.anthropic.claudefordesktop.plist");
        std::fs::create_dir_all(user_profile.parent().unwrap()).unwrap();
        std::fs::write(&user_profile, b"<plist/>").unwrap();
        // A directory where a profile would be is not a profile.
        std::fs::create_dir_all(
            roots
                .managed_preferences
                .join("com.anthropic.claudecode.plist"),
        )
        .unwrap();
        let settings = roots
            .application_support
            .join("ClaudeCode/managed-settings.json");
        std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
        std::fs::write(&settings, b"{}").unwrap();

        let mac = environment(Platform::Mac);
        let tools = [Tool::ClaudeCode, Tool::ClaudeDesktop, Tool::Cursor];
        assert_eq!(
            profiles_under(&mac, &tools, &roots),
            [
                ManagedProfile {
                    tool: Tool::ClaudeCode,
                    path: settings,
                },
                ManagedProfile {
                    tool: Tool::ClaudeDesktop,
                    path: user_profile,
                },
            ]
        );
        assert!(profiles_under(&environment(Platform::Linux), &tools, &roots).is_empty());
        assert!(profiles_under(&mac, &[Tool::Codex], &roots).is_empty());
    }
}
