//! Table-driven per tool, over real-looking fixture files: what setup writes is exactly the
//! reviewed `.expected` file (so untouched content is byte-identical and our keys are what
//! the tool reads), teardown gives back the original bytes, a second setup changes
//! nothing, and a key the user changed afterwards is kept and reported.
//!
//! `LLMAUTH_BLESS=1` rewrites the `.expected` files (review the diff before committing).

use std::path::{Path, PathBuf};
use std::time::Duration;

use llmauth_core::secret::LocalKey;
use llmauth_core::setup::edit::{NoteKind, PatchError};
use llmauth_core::setup::helper::Helper;
use llmauth_core::setup::plan::FileSpec;
use llmauth_core::setup::plan::{FileAction, plan_file, teardown_file};
use llmauth_core::setup::shell_env::Shell;
use llmauth_core::setup::tool::{Environment, Platform, Tool};
use llmauth_core::setup::wiring::{Settings, files};
use llmauth_core::testing::setup::environment;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/setup")
}

fn settings() -> Settings {
    Settings {
        gateway_url: "https://llm.example.com".into(),
        anthropic_prefix: String::new(),
        helper: Helper {
            program: "/opt/llmauth/bin/llmauth".into(),
            on_path: false,
            config: None,
            lean: Some("/opt/llmauth/bin/llmauth-token".into()),
        },
        interval: Duration::from_secs(100),
        ca_file: Some("/etc/ssl/corp-ca.pem".into()),
        proxy_port: 14000,
        local_key: Some(LocalKey::from_random([1; 32])),
        shim_path: PathBuf::from("/home/u/.local/state/llmauth/claude-desktop-helper.sh"),
        desktop_document_id: "0c6c0a8e-5b1d-4c8e-9a55-2f3b9d1e7a10".into(),
        models: Vec::new(),
        bedrock_compat: false,
        bedrock_enable_1m: false,
        shell_env: Vec::new(),
        shell_env_file: PathBuf::from("/home/u/.local/state/llmauth/gemini-cli.env"),
    }
}

/// Gemini CLI's variables in every shell's start-up file too (`--shell-env`): its files
/// are then settings.json, the variables' file, `.bashrc`, `.zshrc`, fish's file, `.env`.
fn shell_env_settings() -> Settings {
    Settings {
        shell_env: Shell::ALL.to_vec(),
        ..settings()
    }
}

/// A gateway fronting Amazon Bedrock, with models pinned for two tiers (haiku keeps its
/// default) and the 1M-context variants.
fn bedrock_settings() -> Settings {
    Settings {
        models: vec![
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0".into(),
            "us.anthropic.claude-opus-4-8".into(),
        ],
        bedrock_compat: true,
        bedrock_enable_1m: true,
        ..settings()
    }
}

fn env() -> Environment {
    Environment {
        home: PathBuf::from("/home/u"),
        ..environment(Platform::Linux)
    }
}

fn spec(tool: Tool, index: usize) -> FileSpec {
    files(tool, &settings(), &env()).unwrap().swap_remove(index)
}

fn spec_with(settings: &Settings, tool: Tool, index: usize) -> FileSpec {
    files(tool, settings, &env()).unwrap().swap_remove(index)
}

/// One fixture: a tool's `index`-th file, starting as `input` (`None`: missing).
struct Case {
    tool: Tool,
    index: usize,
    input: Option<&'static str>,
    expected: &'static str,
    /// A later edit by the user to one of our keys: (replace this, with this).
    user_edit: Option<(&'static str, &'static str)>,
    /// With `llm.models` and Bedrock compatibility ([`bedrock_settings`]).
    bedrock: bool,
    /// With `--shell-env` ([`shell_env_settings`]).
    shell_env: bool,
}

const CASES: &[Case] = &[
    Case {
        tool: Tool::GeminiCli,
        index: 1,
        input: None,
        expected: "gemini-cli/shell-env.expected",
        user_edit: None,
        bedrock: false,
        shell_env: true,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 2,
        input: Some("gemini-cli/bashrc"),
        expected: "gemini-cli/bashrc.expected",
        user_edit: Some(("if [ -r", "if [ -f")),
        bedrock: false,
        shell_env: true,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 3,
        input: None,
        expected: "gemini-cli/missing-zshrc.expected",
        user_edit: None,
        bedrock: false,
        shell_env: true,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 4,
        input: None,
        expected: "gemini-cli/llmauth.fish.expected",
        user_edit: None,
        bedrock: false,
        shell_env: true,
    },
    Case {
        tool: Tool::ClaudeCode,
        index: 0,
        input: Some("claude-code/commented.json"),
        expected: "claude-code/commented.json.expected",
        user_edit: Some((
            "\"https://llm.example.com\"",
            "\"https://mine.example.com\"",
        )),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeCode,
        index: 0,
        input: Some("claude-code/crlf-tabs.json"),
        expected: "claude-code/crlf-tabs.json.expected",
        user_edit: Some(("\"100000\"", "\"60000\"")),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeCode,
        index: 0,
        input: Some("claude-code/compact.json"),
        expected: "claude-code/compact.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeCode,
        index: 0,
        input: Some("claude-code/empty.json"),
        expected: "claude-code/empty.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeCode,
        index: 0,
        input: None,
        expected: "claude-code/missing.json.expected",
        user_edit: Some(("/opt/llmauth/bin/llmauth-token", "my-own-helper")),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Codex,
        index: 0,
        input: Some("codex/commented.toml"),
        expected: "codex/commented.toml.expected",
        user_edit: Some(("model_provider = \"llmauth\"", "model_provider = \"azure\"")),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Codex,
        index: 0,
        input: Some("codex/crlf.toml"),
        expected: "codex/crlf.toml.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Codex,
        index: 0,
        input: Some("codex/inline.toml"),
        expected: "codex/inline.toml.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Codex,
        index: 0,
        input: Some("codex/empty.toml"),
        expected: "codex/empty.toml.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 0,
        input: Some("gemini-cli/settings.json"),
        expected: "gemini-cli/settings.json.expected",
        user_edit: Some(("\"gemini-api-key\"", "\"vertex-ai\"")),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 1,
        input: Some("gemini-cli/dotenv"),
        expected: "gemini-cli/dotenv.expected",
        user_edit: Some((
            "GOOGLE_GEMINI_BASE_URL=http://localhost:14000",
            "GOOGLE_GEMINI_BASE_URL=http://localhost:15000",
        )),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 1,
        input: Some("gemini-cli/dotenv-crlf"),
        expected: "gemini-cli/dotenv-crlf.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::GeminiCli,
        index: 1,
        input: None,
        expected: "gemini-cli/missing-dotenv.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Vscode,
        index: 0,
        input: Some("vscode/settings.json"),
        expected: "vscode/settings.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeCode,
        index: 0,
        input: Some("claude-code/bedrock.json"),
        expected: "claude-code/bedrock.json.expected",
        user_edit: Some((
            "\"us.anthropic.claude-haiku-4-5-20251001-v1:0\"",
            "\"my-haiku\"",
        )),
        bedrock: true,
        shell_env: false,
    },
    Case {
        tool: Tool::VscodeInsiders,
        index: 0,
        input: Some("vscode-insiders/settings.json"),
        expected: "vscode-insiders/settings.json.expected",
        user_edit: Some((
            "\"http://localhost:14000/v1\"",
            "\"http://localhost:15000/v1\"",
        )),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Xcode,
        index: 0,
        input: Some("xcode/editorSettings.json"),
        expected: "xcode/editorSettings.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::Xcode,
        index: 0,
        input: None,
        expected: "xcode/missing.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeDesktop,
        index: 1,
        input: None,
        expected: "claude-desktop/document-models.json.expected",
        user_edit: None,
        bedrock: true,
        shell_env: false,
    },
    Case {
        tool: Tool::Cursor,
        index: 0,
        input: Some("cursor/settings.json"),
        expected: "cursor/settings.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeDesktop,
        index: 0,
        input: None,
        expected: "claude-desktop/shim.sh.expected",
        user_edit: Some(("exec", "exec nice")),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeDesktop,
        index: 1,
        input: None,
        expected: "claude-desktop/document.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeDesktop,
        index: 2,
        input: Some("claude-desktop/meta.json"),
        expected: "claude-desktop/meta.json.expected",
        user_edit: Some((
            "\"appliedId\": \"0c6c0a8e-5b1d-4c8e-9a55-2f3b9d1e7a10\"",
            "\"appliedId\": \"5f0c6f2e-1111-4a4a-8888-000000000001\"",
        )),
        bedrock: false,
        shell_env: false,
    },
    Case {
        tool: Tool::ClaudeDesktop,
        index: 2,
        input: None,
        expected: "claude-desktop/missing-meta.json.expected",
        user_edit: None,
        bedrock: false,
        shell_env: false,
    },
];

fn read(name: &str) -> String {
    let path = fixtures().join(name);
    String::from_utf8(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap()
}

fn compare(name: &str, actual: &str) {
    let path = fixtures().join(name);
    if std::env::var_os("LLMAUTH_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = read(name);
    assert_eq!(
        actual,
        expected,
        "{} differs from what setup wrote (LLMAUTH_BLESS=1 rewrites it)",
        path.display()
    );
}

#[test]
fn every_tool_file_is_patched_as_expected_and_restored_exactly() {
    for case in CASES {
        let label = format!("{} {}", case.tool, case.expected);
        let settings = if case.bedrock {
            bedrock_settings()
        } else if case.shell_env {
            shell_env_settings()
        } else {
            settings()
        };
        let spec = spec_with(&settings, case.tool, case.index);
        let original = case.input.map(read);
        let path = spec.path.to_string_lossy().into_owned();
        let plan = plan_file(&spec, &path, original.as_deref(), None, Vec::new())
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        let patched = plan
            .new_text
            .clone()
            .unwrap_or_else(|| panic!("{label}: no change"));
        compare(case.expected, &patched);

        // Teardown gives back the original bytes (or removes a file setup created).
        let teardown = teardown_file(&plan.receipt, Some(&patched)).unwrap();
        match &original {
            Some(original) => assert_eq!(
                teardown.action,
                FileAction::Write(original.clone()),
                "{label}"
            ),
            None => assert_eq!(teardown.action, FileAction::Delete, "{label}"),
        }
        assert_eq!(teardown.remaining, None, "{label}");
        assert!(teardown.notes.is_empty(), "{label}");

        // setup → setup → teardown == setup → teardown.
        let again = plan_file(
            &spec,
            &path,
            Some(&patched),
            Some(&plan.receipt),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(
            again.new_text, None,
            "{label}: the second setup changed the file"
        );
        assert_eq!(
            again.receipt, plan.receipt,
            "{label}: the second setup changed the receipt"
        );
        assert_eq!(
            teardown_file(&again.receipt, Some(&patched)).unwrap(),
            teardown,
            "{label}"
        );

        // A key the user changed after setup is kept, reported, and stays in the receipt.
        if let Some((from, to)) = case.user_edit {
            assert!(
                patched.contains(from),
                "{label}: {from:?} not in the patched file"
            );
            let edited = patched.replacen(from, to, 1);
            let teardown = teardown_file(&plan.receipt, Some(&edited)).unwrap();
            assert_eq!(teardown.notes.len(), 1, "{label}: {:?}", teardown.notes);
            assert_eq!(teardown.notes[0].kind, NoteKind::Changed, "{label}");
            let kept = teardown
                .remaining
                .expect("the changed key stays in the receipt");
            assert_eq!(kept.entries.len(), 1, "{label}");
            let left = match teardown.action {
                FileAction::Write(text) => text,
                FileAction::Leave => edited.clone(),
                FileAction::Delete => {
                    panic!("{label}: a file holding the user's change was deleted")
                }
            };
            assert!(
                left.contains(to),
                "{label}: the user's value is gone:\n{left}"
            );
            compare(&format!("{}.user-edit", case.expected), &left);
        }
    }
}

#[test]
fn files_that_do_not_parse_are_refused_with_line_and_column() {
    let cases = [
        (Tool::ClaudeCode, "claude-code/broken.json", 2),
        (Tool::Codex, "codex/broken.toml", 2),
    ];
    for (tool, name, line) in cases {
        let spec = spec(tool, 0);
        let text = read(name);
        let error = plan_file(&spec, "/x", Some(&text), None, Vec::new()).unwrap_err();
        let PatchError::Parse {
            line: found,
            column,
            ..
        } = &error
        else {
            panic!("{name}: {error:?}");
        };
        assert_eq!(*found, line, "{name}: {error}");
        assert!(*column >= 1, "{name}: {error}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("line {line}, column "))
        );
    }
}

#[test]
fn later_setups_with_new_settings_keep_the_first_previous_values() {
    let original = read("claude-code/commented.json");
    let spec1 = spec(Tool::ClaudeCode, 0);
    let first = plan_file(&spec1, "/p", Some(&original), None, Vec::new()).unwrap();
    let patched = first.new_text.unwrap();
    let mut newer = settings();
    newer.gateway_url = "https://llm2.example.com".into();
    newer.ca_file = None;
    let spec2 = files(Tool::ClaudeCode, &newer, &env())
        .unwrap()
        .swap_remove(0);
    let second = plan_file(
        &spec2,
        "/p",
        Some(&patched),
        Some(&first.receipt),
        Vec::new(),
    )
    .unwrap();
    let repatched = second.new_text.unwrap();
    assert!(repatched.contains("https://llm2.example.com"));
    let teardown = teardown_file(&second.receipt, Some(&repatched)).unwrap();
    assert_eq!(teardown.action, FileAction::Write(original));
}

#[test]
fn switching_bedrock_off_gives_back_the_users_values() {
    // The user pinned an opus model by hand; setup with Bedrock compatibility replaced it,
    // and a setup with compatibility off gives it back: the file is what a setup without
    // compatibility makes of the original.
    let original = read("claude-code/bedrock.json");
    let on = plan_file(
        &spec_with(&bedrock_settings(), Tool::ClaudeCode, 0),
        "/p",
        Some(&original),
        None,
        Vec::new(),
    )
    .unwrap();
    let on_text = on.new_text.unwrap();
    let off = plan_file(
        &spec(Tool::ClaudeCode, 0),
        "/p",
        Some(&on_text),
        Some(&on.receipt),
        Vec::new(),
    )
    .unwrap();
    let off_text = off.new_text.unwrap();
    compare("claude-code/bedrock.json.expected.compat-off", &off_text);
    assert!(
        off_text.contains("\"us.anthropic.claude-opus-4-6-v1\""),
        "{off_text}"
    );
    assert!(
        !off_text.contains("ANTHROPIC_DEFAULT_HAIKU_MODEL"),
        "{off_text}"
    );
    let teardown = teardown_file(&off.receipt, Some(&off_text)).unwrap();
    assert_eq!(teardown.action, FileAction::Write(original));
}

#[test]
fn every_tool_keeps_its_files_where_each_platform_puts_them() {
    let mut lines = String::new();
    for platform in [Platform::Linux, Platform::Mac, Platform::Windows] {
        let env = environment(platform);
        for tool in Tool::ALL {
            for file in files(tool, &bedrock_settings(), &env).unwrap() {
                lines.push_str(&format!(
                    "{platform:?} {tool}: {} ({:?})\n",
                    file.path.display(),
                    file.edits
                ));
            }
        }
    }
    compare("paths.expected", &lines);
}
