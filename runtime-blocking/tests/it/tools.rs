//! Setup's transaction, teardown and drift on real files in a private home: all or
//! nothing when a tool or the final save fails, teardown giving back the original bytes,
//! drift after a user's change.

use std::path::Path;

use llmauth_blocking::tools;
use llmauth_core::setup::drift::Drift;
use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::tool::{Environment, Platform, Tool};
use llmauth_core::setup::transaction::Progress;
use llmauth_core::setup::wiring::Settings;
use llmauth_core::testing::setup::{environment, settings};

use crate::support::temp_paths;

const CLAUDE: &str = "{\n  // mine\n  \"model\": \"opus\"\n}\n";
const CODEX: &str = "model = \"o3\" # mine\n";

/// A home under `root` holding Claude Code's and Codex's files, and settings for them
/// naming an llmauth binary at `root/bin/llmauth`.
fn home(root: &Path) -> (Environment, Settings) {
    let env = Environment {
        home: root.join("home"),
        ..environment(Platform::Linux)
    };
    write(&env.home.join(".claude/settings.json"), CLAUDE);
    write(&env.home.join(".codex/config.toml"), CODEX);
    let mut settings = settings();
    let program = root.join("bin/llmauth");
    write(&program, "");
    settings.helper.program = program.display().to_string();
    (env, settings)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

const BOTH: [Tool; 2] = [Tool::ClaudeCode, Tool::Codex];

#[test]
fn a_failed_save_puts_every_file_and_receipt_back() {
    let (dir, paths) = temp_paths();
    let (env, settings) = home(dir.path());
    let mut events = Vec::new();
    let result = tools::setup::set_up(
        &paths,
        &BOTH,
        &settings,
        &env,
        |configured| {
            assert_eq!(configured.len(), 2);
            // Both files are wired when the config is saved.
            assert!(read(&env.home.join(".codex/config.toml")).contains("llmauth"));
            Err(SetupError::LockBusy("config".into()))
        },
        |progress| events.push(progress.to_string()),
    );
    assert_eq!(result, Err(SetupError::LockBusy("config".into())));
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(read(&env.home.join(".claude/settings.json")), CLAUDE);
    assert_eq!(read(&env.home.join(".codex/config.toml")), CODEX);
    assert!(tools::teardown::pending(&paths).is_empty());
}

#[test]
fn a_tool_that_fails_undoes_the_run_and_nothing_is_saved() {
    let (dir, paths) = temp_paths();
    let (env, settings) = home(dir.path());
    let codex = env.home.join(".codex/config.toml");
    write(&codex, "[broken");
    let mut events = Vec::new();
    let result = tools::setup::set_up(
        &paths,
        &BOTH,
        &settings,
        &env,
        |_| -> Result<(), SetupError> { panic!("saved although a tool failed") },
        |progress| {
            if let Progress::ToolFailed(tool, _) = progress {
                events.push(tool);
            }
        },
    );
    let Err(SetupError::ChangedNothing(first)) = result else {
        panic!("{result:?}");
    };
    assert!(
        matches!(*first, SetupError::Unparsable { ref path, .. } if *path == codex),
        "{first:?}"
    );
    assert_eq!(events, [Tool::Codex]);
    assert_eq!(read(&env.home.join(".claude/settings.json")), CLAUDE);
    assert_eq!(read(&codex), "[broken");
    assert!(tools::teardown::pending(&paths).is_empty());
}

#[test]
fn teardown_gives_back_the_original_and_drift_sees_a_change() {
    let (dir, paths) = temp_paths();
    let (env, settings) = home(dir.path());
    let configured = tools::setup::set_up(
        &paths,
        &BOTH,
        &settings,
        &env,
        |_| Ok::<_, SetupError>(()),
        |_| {},
    )
    .unwrap();
    assert_eq!(configured.len(), 2);
    assert_eq!(tools::teardown::pending(&paths).len(), 2);

    let claude = env.home.join(".claude/settings.json");
    let edited = read(&claude).replace("https://gw.example.com/anthropic", "https://mine");
    std::fs::write(&claude, edited).unwrap();
    let drift = tools::drift::inspect(&paths);
    let claude_drift = drift.iter().find(|t| t.tool == "claude-code").unwrap();
    assert!(
        matches!(&claude_drift.files[0].drift, Ok(Drift::Keys(keys)) if keys.len() == 1),
        "{claude_drift:?}"
    );
    assert!(
        drift
            .iter()
            .find(|t| t.tool == "codex")
            .unwrap()
            .as_setup_left_it()
    );
    // Codex names llmauth by its path: status notices when an upgrade moved it.
    std::fs::remove_file(&settings.helper.program).unwrap();
    let moved = tools::drift::inspect(&paths);
    let codex_drift = moved.iter().find(|t| t.tool == "codex").unwrap();
    assert_eq!(
        codex_drift.stale_helper.as_deref(),
        Some(settings.helper.program.as_str())
    );

    let report = tools::teardown::revert(&paths, None, &[]).unwrap();
    assert!(report.failures.is_empty(), "{report:?}");
    assert_eq!(report.cleared, ["codex"]);
    assert_eq!(report.kept.len(), 1, "{report:?}");
    assert_eq!(read(&env.home.join(".codex/config.toml")), CODEX);
    assert!(read(&claude).contains("https://mine"));
    assert!(read(&claude).contains("// mine"));
    assert_eq!(
        tools::teardown::revert(&paths, Some("codex"), &[]),
        Err(SetupError::NotConfigured("codex".into()))
    );
}
