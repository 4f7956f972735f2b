//! The real `llmauth` binary in a private home: every tool set up at once (with stand-in
//! binaries on PATH), status, teardown, and the home tree identical to the start; files
//! that do not parse, read-only and symlinked files; user changes kept; `config reset`.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use llmauth_tests::ca::TestCa;
use llmauth_tests::http_server::{HttpServer, Request, Response, ServerOptions};
use llmauth_tests::sandbox::{Finished, Sandbox, tree};

/// Commands whose presence on PATH makes setup count a tool as installed (Copilot for
/// Xcode has none: its directory counts).
const TOOL_BINARIES: [&str; 7] = [
    "claude",
    "codex",
    "gemini",
    "code",
    "code-insiders",
    "cursor",
    "claude-desktop",
];
/// Every tool, as setup names them.
const ALL_TOOLS: [&str; 8] = [
    "claude-code",
    "codex",
    "claude-desktop",
    "gemini-cli",
    "vscode",
    "vscode-insiders",
    "cursor",
    "xcode",
];
const INLINE_CONFIG: [&str; 6] = [
    "--gateway-url",
    "https://llm.example.com",
    "--issuer",
    "https://idp.example.com",
    "--client-id",
    "llmauth-test",
];

fn llmauth() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_llmauth-under-test"))
}

/// The lean token helper built beside it, which setup wires tools to.
fn lean() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_llmauth-under-test-token"))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/setup")
            .join(name),
    )
    .unwrap()
}

/// A sandbox whose PATH holds stand-ins for `tools` (and the system's basics).
fn sandbox_with(tools: &[&str]) -> Sandbox {
    let mut sandbox = Sandbox::new(llmauth(), None);
    let bin = sandbox.fake_binaries(tools);
    sandbox.set_env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    sandbox
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn setup(sandbox: &Sandbox, extra: &[&str]) -> Finished {
    let mut args = vec!["setup", "--lazy"];
    args.extend_from_slice(&INLINE_CONFIG);
    args.extend_from_slice(extra);
    sandbox.run(&args)
}

fn ok(finished: &Finished) {
    assert_eq!(
        finished.code, 0,
        "stdout: {}\nstderr: {}",
        finished.stdout, finished.stderr
    );
}

fn read(path: &Path) -> String {
    String::from_utf8(std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn every_tool_set_up_then_torn_down_leaves_home_as_it_was() {
    let mut sandbox = sandbox_with(&TOOL_BINARIES);
    sandbox.set_env("ANTHROPIC_API_KEY", "sk-ant-users-own");
    let home = sandbox.home();
    let claude = home.join(".claude/settings.json");
    let codex = home.join(".codex/config.toml");
    let gemini_env = home.join(".gemini/.env");
    let gemini_settings = home.join(".gemini/settings.json");
    let vscode = home.join(".config/Code/User/settings.json");
    let insiders = home.join(".config/Code - Insiders/User/settings.json");
    let xcode_dir = home.join("Library/Application Support/GitHub Copilot for Xcode");
    let cursor_link = home.join(".config/Cursor/User/settings.json");
    let cursor_real = home.join("dotfiles/cursor-settings.json");
    write(&claude, &fixture("claude-code/commented.json"));
    write(&codex, &fixture("codex/crlf.toml"));
    write(&gemini_env, &fixture("gemini-cli/dotenv"));
    set_mode(&gemini_env, 0o640);
    write(&gemini_settings, &fixture("gemini-cli/settings.json"));
    write(&vscode, &fixture("vscode/settings.json"));
    write(&insiders, &fixture("vscode-insiders/settings.json"));
    // Copilot for Xcode installed, its settings file not written yet.
    std::fs::create_dir_all(&xcode_dir).unwrap();
    write(&cursor_real, &fixture("cursor/settings.json"));
    std::fs::create_dir_all(cursor_link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../../../dotfiles/cursor-settings.json", &cursor_link).unwrap();
    let before = tree(&home);

    let models = [
        "--bedrock-compat",
        "--models",
        "eu.anthropic.claude-opus-4-8,x-sonnet",
    ];
    let first = setup(&sandbox, &models);
    ok(&first);
    let configured: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| l.starts_with("configured "))
        .collect();
    assert_eq!(configured.len(), 8, "{}", first.stdout);
    for tool in ALL_TOOLS {
        assert!(
            configured
                .iter()
                .any(|l| l.starts_with(&format!("configured {tool} ("))),
            "{tool} missing from:\n{}",
            first.stdout
        );
    }
    assert!(
        first.stdout.contains("llmauth proxy start"),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("Cursor sends requests"),
        "{}",
        first.stderr
    );
    for unconfirmed in ["VS Code", "VS Code Insiders", "GitHub Copilot for Xcode"] {
        assert!(
            first.stderr.contains(&format!(
                "warning: llmauth could not confirm that current versions of {unconfirmed} read "
            )),
            "{unconfirmed}: {}",
            first.stderr
        );
    }

    // What each tool reads.
    let config_arg = format!("--config {}", sandbox.config_file().display());
    let settings = read(&claude);
    assert!(
        settings.contains(&format!(
            "\"apiKeyHelper\": \"{} {config_arg}\"",
            lean().display()
        )),
        "{settings}"
    );
    assert!(
        settings.contains("\"ANTHROPIC_BASE_URL\": \"https://llm.example.com\""),
        "{settings}"
    );
    assert!(
        settings.contains("// Claude Code user settings, kept in git"),
        "{settings}"
    );
    assert!(
        settings.contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"eu.anthropic.claude-opus-4-8\""),
        "{settings}"
    );
    assert!(
        settings.contains("\"CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS\": \"1\""),
        "{settings}"
    );
    assert!(read(&insiders).contains(&format!(
        "\"github.copilot.advanced.apiKey\": \"{}\"",
        read(&sandbox.state_dir().join("proxy.key")).trim()
    )));
    let xcode: serde_json::Value =
        serde_json::from_str(&read(&xcode_dir.join("editorSettings.json"))).unwrap();
    assert_eq!(xcode["openAIBaseURL"], "http://localhost:14000/v1");
    assert_eq!(mode(&xcode_dir.join("editorSettings.json")), 0o600);
    let toml = read(&codex);
    assert!(toml.contains("model_provider = \"llmauth\"\r\n"), "{toml}");
    assert!(
        toml.contains(&format!("command = \"{}\"\r\n", lean().display())),
        "{toml}"
    );
    let key = read(&sandbox.state_dir().join("proxy.key"))
        .trim()
        .to_owned();
    let dotenv = read(&gemini_env);
    assert!(
        dotenv.contains(&format!("export GEMINI_API_KEY={key}\n")),
        "{dotenv}"
    );
    assert!(
        dotenv.contains("GOOGLE_GEMINI_BASE_URL=http://localhost:14000\n"),
        "{dotenv}"
    );
    // It holds the local key: owner-only until teardown gives its mode back (below,
    // through `tree`).
    assert_eq!(mode(&gemini_env), 0o600);
    assert_eq!(mode(&vscode), 0o600);
    assert_eq!(
        mode(&cursor_real),
        0o600,
        "the link's target is made private"
    );
    assert_eq!(
        mode(&gemini_settings),
        0o644,
        "a file without the key keeps its mode"
    );
    assert!(
        std::fs::symlink_metadata(&cursor_link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        read(&cursor_real).contains(&key),
        "the link's target is edited"
    );
    let library = home.join(".config/Claude-3p/configLibrary");
    let meta = read(&library.join("_meta.json"));
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    let id = meta["appliedId"].as_str().unwrap();
    let document: serde_json::Value =
        serde_json::from_str(&read(&library.join(format!("{id}.json")))).unwrap();
    assert_eq!(document["inferenceCredentialKind"], "helper-script");
    assert_eq!(document["inferenceCredentialHelperTimeoutSec"], 150);
    assert_eq!(
        document["inferenceModels"],
        serde_json::json!(["eu.anthropic.claude-opus-4-8", "x-sonnet"])
    );
    let shim = PathBuf::from(document["inferenceCredentialHelper"].as_str().unwrap());
    assert_eq!(mode(&shim), 0o700);
    assert!(read(&shim).contains(&format!(
        "exec {} --non-interactive --config",
        lean().display()
    )));
    for receipt in std::fs::read_dir(sandbox.state_dir().join("receipts")).unwrap() {
        assert_eq!(mode(&receipt.unwrap().path()), 0o600);
    }

    // A second setup (the settings now saved) changes nothing.
    let after_first = tree(&home);
    ok(&setup(&sandbox, &[]));
    assert_eq!(tree(&home), after_first, "the second setup changed files");

    let status = sandbox.run(&["status"]);
    assert!(status.stdout.contains("tools:"), "{}", status.stdout);
    assert_eq!(
        status.stdout.matches("as setup left it").count(),
        8,
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("llm.bedrock.compat")
            && status
                .stdout
                .contains("eu.anthropic.claude-opus-4-8 x-sonnet"),
        "{}",
        status.stdout
    );
    let json = sandbox.run(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["tools"].as_array().unwrap().len(), 8);
    assert_eq!(json["config"]["llm"]["bedrock"]["compat"], true);
    assert!(
        !json.to_string().contains(&key),
        "status must not print the local key"
    );

    let teardown = sandbox.run(&["teardown"]);
    ok(&teardown);
    assert_eq!(
        teardown
            .stdout
            .lines()
            .filter(|l| l.starts_with("reverted "))
            .count(),
        8,
        "{}",
        teardown.stdout
    );
    assert_eq!(
        tree(&home),
        before,
        "teardown did not restore the home directory"
    );
    assert!(!shim.exists());
    assert!(
        std::fs::read_dir(sandbox.state_dir().join("receipts"))
            .unwrap()
            .next()
            .is_none()
    );
    assert!(!read(&sandbox.config_file()).contains("tool:"));
    // Nothing left to revert.
    let again = sandbox.run(&["teardown"]);
    ok(&again);
    assert!(
        again.stdout.contains("No tools are configured."),
        "{}",
        again.stdout
    );
}

#[test]
fn a_file_that_does_not_parse_is_named_and_left_untouched() {
    let sandbox = sandbox_with(&["claude", "codex"]);
    let claude = sandbox.home().join(".claude/settings.json");
    let broken = fixture("claude-code/broken.json");
    write(&claude, &broken);
    let finished = setup(&sandbox, &[]);
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains(&format!("{}: line 2, column ", claude.display())),
        "{}",
        finished.stderr
    );
    assert_eq!(std::fs::read(&claude).unwrap(), broken);
    // All or nothing: Codex, which was fine, was rolled back and no config was saved.
    assert!(!sandbox.home().join(".codex/config.toml").exists());
    assert!(!sandbox.home().join(".codex").exists());
    assert!(!sandbox.config_file().exists());
    assert!(!sandbox.state_dir().join("receipts/codex.json").exists());
}

#[test]
fn a_read_only_file_is_refused_and_left_untouched() {
    let sandbox = sandbox_with(&["claude"]);
    let claude = sandbox.home().join(".claude/settings.json");
    let original = fixture("claude-code/crlf-tabs.json");
    write(&claude, &original);
    set_mode(&claude, 0o444);
    let finished = setup(&sandbox, &["--client", "claude-code"]);
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("is read-only"),
        "{}",
        finished.stderr
    );
    assert_eq!(std::fs::read(&claude).unwrap(), original);
    assert_eq!(mode(&claude), 0o444);
}

#[test]
fn a_key_the_user_changed_is_kept_reported_and_remembered() {
    let sandbox = sandbox_with(&["claude"]);
    let claude = sandbox.home().join(".claude/settings.json");
    let original = fixture("claude-code/commented.json");
    write(&claude, &original);
    ok(&setup(&sandbox, &["--client", "claude-code"]));
    let changed = read(&claude).replace("https://llm.example.com", "https://mine.example.com");
    std::fs::write(&claude, &changed).unwrap();

    let status = sandbox.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("warning: claude-code: env.ANTHROPIC_BASE_URL in"),
        "{}",
        status.stdout
    );

    let teardown = sandbox.run(&["teardown", "claude-code"]);
    ok(&teardown);
    assert!(
        teardown.stdout.contains("kept ")
            && teardown
                .stdout
                .contains("env.ANTHROPIC_BASE_URL (changed since setup"),
        "{}",
        teardown.stdout
    );
    let left = read(&claude);
    assert_eq!(
        left,
        String::from_utf8(original)
            .unwrap()
            .replace("https://api.anthropic.com", "https://mine.example.com")
    );
    // The receipt keeps that key: once the user puts our value back, teardown restores it.
    std::fs::write(
        &claude,
        left.replace("https://mine.example.com", "https://llm.example.com"),
    )
    .unwrap();
    ok(&sandbox.run(&["teardown", "claude-code"]));
    assert_eq!(
        std::fs::read(&claude).unwrap(),
        fixture("claude-code/commented.json")
    );
}

#[test]
fn config_reset_reverts_the_tools_first() {
    let sandbox = sandbox_with(&["gemini"]);
    ok(&setup(&sandbox, &[]));
    let dotenv = sandbox.home().join(".gemini/.env");
    assert!(dotenv.exists());
    let refused = sandbox.run(&["config", "reset"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("revert gemini-cli"),
        "{}",
        refused.stderr
    );
    assert!(dotenv.exists(), "nothing changes without --yes");

    let reset = sandbox.run(&["config", "reset", "--yes"]);
    ok(&reset);
    assert!(
        reset.stdout.contains("reverted gemini-cli"),
        "{}",
        reset.stdout
    );
    assert!(!dotenv.exists());
    assert!(!sandbox.home().join(".gemini").exists());
    assert!(!sandbox.config_file().exists());
}

#[test]
fn a_gateway_url_ending_in_v1_is_not_doubled_by_tools_that_add_it() {
    let sandbox = sandbox_with(&["claude", "codex"]);
    let finished = sandbox.run(&[
        "setup",
        "--lazy",
        "--gateway-url",
        "https://llm.example.com/v1",
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "llmauth-test",
    ]);
    ok(&finished);
    let claude: serde_json::Value =
        serde_json::from_str(&read(&sandbox.home().join(".claude/settings.json"))).unwrap();
    // Claude Code appends /v1/messages itself.
    assert_eq!(
        claude["env"]["ANTHROPIC_BASE_URL"],
        "https://llm.example.com"
    );
    let codex = read(&sandbox.home().join(".codex/config.toml"));
    assert!(
        codex.contains("base_url = \"https://llm.example.com/v1\""),
        "{codex}"
    );
    assert!(
        finished
            .stderr
            .contains("llm.gateway_url ends in /v1, which Claude Code adds itself"),
        "{}",
        finished.stderr
    );
}

#[test]
fn files_holding_the_local_key_are_owner_only_until_teardown() {
    let sandbox = sandbox_with(&["gemini", "code"]);
    let home = sandbox.home();
    let dotenv = home.join(".gemini/.env");
    write(&dotenv, b"OTHER=1\n");
    set_mode(&dotenv, 0o644);
    let vscode = home.join(".config/Code/User/settings.json");
    write(&vscode, b"{}\n");
    set_mode(&vscode, 0o664);

    ok(&setup(&sandbox, &[]));

    assert_eq!(
        mode(&dotenv),
        0o600,
        "other users cannot read the local key"
    );
    assert_eq!(mode(&vscode), 0o600);
    let receipt = read(&sandbox.state_dir().join("receipts/gemini-cli.json"));
    let receipt: serde_json::Value = serde_json::from_str(&receipt).unwrap();
    let recorded: Vec<&serde_json::Value> = receipt["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["previous_mode"])
        .collect();
    assert!(recorded.contains(&&serde_json::json!(0o644)), "{receipt}");

    ok(&sandbox.run(&["teardown"]));
    assert_eq!(mode(&dotenv), 0o644, "teardown gives the mode back");
    assert_eq!(mode(&vscode), 0o664);
    assert_eq!(read(&dotenv), "OTHER=1\n");
}

#[test]
fn a_file_holding_the_local_key_that_another_user_owns_is_left_and_named() {
    let sandbox = sandbox_with(&["gemini"]);
    let dotenv = sandbox.home().join(".gemini/.env");
    write(&dotenv, b"OTHER=1\n");
    set_mode(&dotenv, 0o666);
    if let Err(e) = std::os::unix::fs::chown(&dotenv, Some(65534), None) {
        // Only root may give a file away; without it, the file stays ours and is made
        // owner-only like any other.
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
        ok(&setup(&sandbox, &[]));
        assert_eq!(mode(&dotenv), 0o600);
        return;
    }

    let finished = setup(&sandbox, &[]);

    ok(&finished);
    assert_eq!(
        mode(&dotenv),
        0o666,
        "another user's file keeps its permissions"
    );
    assert!(
        finished.stderr.contains(&format!(
            "warning: {} holds the proxy's local key, but it belongs to another user",
            dotenv.display()
        )),
        "{}",
        finished.stderr
    );
}

#[test]
fn config_reset_also_removes_the_proxy_key_and_the_last_failure() {
    let sandbox = sandbox_with(&["gemini"]);
    ok(&setup(&sandbox, &[]));
    let key = sandbox.state_dir().join("proxy.key");
    assert!(key.exists(), "setup of a proxy-mode tool creates the key");
    // A helper call that fails records why.
    let failed = sandbox.run(&["token", "--non-interactive"]);
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    let last_error = sandbox.state_dir().join("last-error");
    assert!(last_error.read_dir().is_ok_and(|mut d| d.next().is_some()));

    let reset = sandbox.run(&["config", "reset", "--yes"]);
    ok(&reset);
    assert!(!key.exists(), "a reset install gets a new local key");
    assert!(!last_error.exists(), "a reset install has no old failure");
    assert!(!sandbox.config_file().exists());
}

#[test]
fn tools_that_are_not_installed_are_named() {
    let sandbox = sandbox_with(&[]);
    let finished = setup(&sandbox, &["--client", "codex"]);
    assert_eq!(finished.code, 2);
    assert!(
        finished
            .stderr
            .contains("codex does not seem to be installed"),
        "{}",
        finished.stderr
    );
    // With nothing installed at all, setup still saves the settings.
    let none = setup(&sandbox, &[]);
    ok(&none);
    assert!(
        none.stderr.contains("No supported AI tools found"),
        "{}",
        none.stderr
    );
    assert!(read(&sandbox.config_file()).contains("https://llm.example.com"));
}

#[test]
fn a_failed_login_changes_nothing() {
    let sandbox = sandbox_with(&["claude"]);
    let mut args = vec!["setup", "--skip-browser", "--client", "claude-code"];
    let unreachable = [
        "--gateway-url",
        "https://llm.example.com",
        "--issuer",
        "http://127.0.0.1:1",
        "--client-id",
        "x",
    ];
    args.extend_from_slice(&unreachable);
    let finished = sandbox.run(&args);
    assert_ne!(finished.code, 0, "{}", finished.stderr);
    assert!(!sandbox.home().join(".claude/settings.json").exists());
    assert!(!sandbox.config_file().exists());
    assert!(!sandbox.state_dir().join("receipts").exists());
}

#[test]
fn the_anthropic_prefix_is_probed_when_asked() {
    // A gateway that serves the Anthropic API only under /anthropic (Envoy AI Gateway).
    let ca = TestCa::new();
    let server = HttpServer::start(
        ServerOptions {
            port: 0,
            tls: Some(ca.server_config()),
        },
        |_| {
            Arc::new(|request: &Request| {
                let status = if request.path.starts_with("/anthropic/") {
                    401
                } else {
                    404
                };
                Response::json(status, &serde_json::json!({"error": "x"}))
            })
        },
    )
    .unwrap();
    let sandbox = sandbox_with(&["claude"]);
    let ca_file = ca.write_ca_pem(sandbox.root()).unwrap();
    let ca_file = ca_file.display().to_string();
    let gateway = server.base_url();
    let args = [
        "setup",
        "--lazy",
        "--client",
        "claude-code",
        "--gateway-url",
        &gateway,
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "x",
        "--ca-file",
        &ca_file,
        "--anthropic-path-prefix",
        "auto",
    ];
    ok(&sandbox.run(&args));
    let settings = read(&sandbox.home().join(".claude/settings.json"));
    assert!(
        settings.contains(&format!("\"ANTHROPIC_BASE_URL\": \"{gateway}/anthropic\"")),
        "{settings}"
    );
    assert!(
        settings.contains(&format!("\"NODE_EXTRA_CA_CERTS\": \"{ca_file}\"")),
        "{settings}"
    );
}

#[test]
fn setup_logs_in_and_teardown_purge_tokens_signs_out() {
    use llmauth_tests::gateway::TestGateway;
    use llmauth_tests::idp::{IdpOptions, TestIdp};

    let idp = TestIdp::start(IdpOptions::default());
    let gateway = TestGateway::for_idp(&idp);
    let mut sandbox = Sandbox::new(
        llmauth(),
        Some(Path::new(env!("CARGO_BIN_EXE_fake-browser"))),
    );
    let bin = sandbox.fake_binaries(&["claude"]);
    let ca_file = idp.ca().write_ca_pem(sandbox.root()).unwrap();
    sandbox
        .set_env("LLMAUTH_TEST_CA", &ca_file)
        .set_env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    let ca = ca_file.display().to_string();
    let finished = sandbox.run(&[
        "setup",
        "--gateway-url",
        &gateway.url(),
        "--issuer",
        idp.issuer(),
        "--client-id",
        idp.client_id(),
        "--ca-file",
        &ca,
        "--callback-port",
        "0",
        "--secrets-backend",
        "file",
    ]);
    ok(&finished);
    assert_eq!(sandbox.browser_visits().len(), 1, "setup signed in once");
    let settings = read(&sandbox.home().join(".claude/settings.json"));
    // The test IdP's tokens live 5 minutes: tools cache them for a third of that.
    assert!(
        settings.contains("\"CLAUDE_CODE_API_KEY_HELPER_TTL_MS\": \"100000\""),
        "{settings}"
    );
    // A second setup reuses the session: no second browser visit.
    ok(&sandbox.run(&["setup"]));
    assert_eq!(sandbox.browser_visits().len(), 1);
    ok(&sandbox.run(&["status"]));

    let teardown = sandbox.run(&["teardown", "--purge-tokens"]);
    ok(&teardown);
    assert!(
        teardown.stderr.contains("Deleted the stored session"),
        "{}",
        teardown.stderr
    );
    assert!(!sandbox.home().join(".claude/settings.json").exists());
    assert_eq!(sandbox.run(&["status"]).code, 3, "signed out");
}

#[test]
fn switching_bedrock_compat_off_gives_back_the_users_values() {
    let sandbox = sandbox_with(&["claude"]);
    let claude = sandbox.home().join(".claude/settings.json");
    let original = fixture("claude-code/bedrock.json");
    write(&claude, &original);
    let on = setup(
        &sandbox,
        &[
            "--client",
            "claude-code",
            "--bedrock-compat",
            "--models",
            "team-opus,team-opus-2",
        ],
    );
    ok(&on);
    assert!(
        on.stderr.contains(
            "warning: --models entries \"team-opus\" and \"team-opus-2\" are both opus models; Claude Code uses the last one, \"team-opus-2\""
        ),
        "{}",
        on.stderr
    );
    let with_compat = read(&claude);
    assert!(
        with_compat.contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"team-opus-2\""),
        "{with_compat}"
    );
    assert!(
        with_compat.contains(
            "\"ANTHROPIC_DEFAULT_HAIKU_MODEL\": \"us.anthropic.claude-haiku-4-5-20251001-v1:0\""
        ),
        "{with_compat}"
    );

    // Compat off: the keys only compat writes go, the user's own opus model comes back.
    let off = setup(
        &sandbox,
        &["--client", "claude-code", "--bedrock-compat=false"],
    );
    ok(&off);
    let without = read(&claude);
    assert!(
        without.contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"us.anthropic.claude-opus-4-6-v1\""),
        "{without}"
    );
    for gone in [
        "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
        "ANTHROPIC_DEFAULT_HAIKU_MODEL",
        "ANTHROPIC_DEFAULT_SONNET_MODEL",
    ] {
        assert!(!without.contains(gone), "{gone}: {without}");
    }
    let status = sandbox.run(&["status"]);
    assert!(
        status.stdout.contains("as setup left it")
            && !status.stdout.contains("warning: claude-code"),
        "{}",
        status.stdout
    );
    // On again, off again through the saved config: still exact.
    ok(&setup(
        &sandbox,
        &["--client", "claude-code", "--bedrock-compat"],
    ));
    assert_eq!(read(&claude), with_compat);
    ok(&sandbox.run(&["teardown", "--client", "claude-code"]));
    assert_eq!(std::fs::read(&claude).unwrap(), original);
}

#[test]
fn flags_without_effect_are_named() {
    let sandbox = sandbox_with(&["claude", "codex"]);
    let codex_only = setup(
        &sandbox,
        &["--client", "codex", "--bedrock-compat", "--models", "gpt-5"],
    );
    ok(&codex_only);
    assert!(
        codex_only.stderr.contains(
            "warning: --bedrock-compat was given but Claude Code was not configured in this run, so it had no effect"
        ),
        "{}",
        codex_only.stderr
    );
    let no_compat = setup(
        &sandbox,
        &[
            "--client",
            "claude-code",
            "--bedrock-compat=false",
            "--enable-1m",
        ],
    );
    ok(&no_compat);
    assert!(
        no_compat.stderr.contains(
            "warning: --enable-1m has no effect without Bedrock compatibility (--bedrock-compat); it was ignored"
        ),
        "{}",
        no_compat.stderr
    );
    let unmatched = setup(&sandbox, &["--client", "claude-code", "--bedrock-compat"]);
    ok(&unmatched);
    assert!(
        unmatched.stderr.contains(
            "warning: --models entry \"gpt-5\" names no Claude Code tier (no haiku, opus or sonnet in it); Claude Code does not use it"
        ),
        "{}",
        unmatched.stderr
    );
    let settings = read(&sandbox.home().join(".claude/settings.json"));
    assert!(
        settings.contains("\"ANTHROPIC_DEFAULT_OPUS_MODEL\": \"us.anthropic.claude-opus-4-8[1m]\""),
        "the saved --enable-1m applies once compat is on: {settings}"
    );

    // The models and flags are saved, shown, and cleared with an empty --models.
    let show = sandbox.run(&["config", "show"]);
    assert!(show.stdout.contains("llm.models"), "{}", show.stdout);
    assert!(show.stdout.contains("gpt-5"), "{}", show.stdout);
    ok(&sandbox.run(&["config", "set", "--models", ""]));
    let json = sandbox.run(&["config", "show", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["llm"]["models"], serde_json::json!([]));
    assert_eq!(json["llm"]["bedrock"]["enable_1m"], true);
    let bad = sandbox.run(&["config", "set", "--models", "a-opus,two words"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("llm.models"), "{}", bad.stderr);
}

#[test]
fn skip_verify_is_explained_per_tool() {
    let sandbox = sandbox_with(&["claude", "codex", "gemini", "claude-desktop"]);
    let finished = setup(&sandbox, &["--tls-skip-verify"]);
    ok(&finished);
    for line in [
        "warning: claude-code talks to the gateway directly, so tls.skip_verify does not apply to it: it verifies the gateway's certificate itself and must trust it through NODE_EXTRA_CA_CERTS",
        "warning: codex talks to the gateway directly, so tls.skip_verify does not apply to it: it verifies the gateway's certificate itself and must trust it through CODEX_CA_CERTIFICATE=",
        "warning: claude-desktop talks to the gateway directly",
        "warning: gemini-cli reaches the gateway through the proxy: tls.skip_verify turns off certificate checks on the proxy's connection to the gateway only",
    ] {
        assert!(
            finished.stderr.contains(line),
            "{line}\n{}",
            finished.stderr
        );
    }
    // Without it, nothing is said about it.
    let sandbox = sandbox_with(&["gemini"]);
    let finished = setup(&sandbox, &[]);
    ok(&finished);
    assert!(
        !finished.stderr.contains("skip_verify"),
        "{}",
        finished.stderr
    );
}

#[test]
fn teardown_takes_the_tool_as_an_argument_or_with_client() {
    let sandbox = sandbox_with(&["gemini", "codex"]);
    ok(&setup(&sandbox, &[]));
    let both = sandbox.run(&["teardown", "codex", "--client", "codex"]);
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert!(
        both.stderr.contains("cannot be used with"),
        "{}",
        both.stderr
    );
    assert!(
        sandbox.home().join(".codex/config.toml").exists(),
        "nothing reverted"
    );
    let by_flag = sandbox.run(&["teardown", "--client", "codex"]);
    ok(&by_flag);
    assert!(
        by_flag.stdout.contains("reverted codex"),
        "{}",
        by_flag.stdout
    );
    assert!(!sandbox.home().join(".codex").exists());
    assert!(sandbox.home().join(".gemini/.env").exists(), "only codex");
    let by_name = sandbox.run(&["teardown", "gemini-cli"]);
    ok(&by_name);
    assert!(!sandbox.home().join(".gemini").exists());
}

#[test]
fn shell_env_reaches_every_shell_in_use_and_teardown_gives_each_file_back() {
    let mut sandbox = sandbox_with(&["gemini"]);
    let home = sandbox.home();
    let zdotdir = home.join("zsh");
    sandbox
        .set_env("SHELL", "/usr/bin/fish")
        .set_env("ZDOTDIR", &zdotdir);
    // bash and zsh are in use (their start-up files exist); fish is the login shell,
    // with no configuration yet.
    write(&home.join(".bashrc"), b"export EDITOR=vi");
    write(&zdotdir.join(".zshrc"), b"# zsh\nsetopt autocd\n");
    let before = tree(&home);

    let first = setup(&sandbox, &["--client", "gemini-cli", "--shell-env"]);
    ok(&first);
    let env_file = sandbox.state_dir().join("gemini-cli.env");
    let fish = home.join(".config/fish/conf.d/llmauth.fish");
    let key = read(&sandbox.state_dir().join("proxy.key"))
        .trim()
        .to_owned();
    assert_eq!(mode(&env_file), 0o600);
    assert_eq!(mode(&fish), 0o600);
    assert!(read(&env_file).contains(&format!("export GEMINI_API_KEY={key}\n")));
    assert!(read(&fish).contains(&format!("set -gx GEMINI_API_KEY {key}\n")));
    let source = format!("if [ -r {0} ]; then . {0}; fi\n", env_file.display());
    for rc in [home.join(".bashrc"), zdotdir.join(".zshrc")] {
        let text = read(&rc);
        assert!(text.contains(&source) && !text.contains(&key), "{text}");
    }
    assert!(
        first.stdout.contains("folders it trusts"),
        "{}",
        first.stdout
    );

    // A later setup without the flag keeps the files up to date (here: a new port).
    ok(&setup(
        &sandbox,
        &["--client", "gemini-cli", "--proxy-port", "15123"],
    ));
    assert!(read(&env_file).contains("GOOGLE_GEMINI_BASE_URL=http://localhost:15123\n"));
    assert!(read(&fish).contains("GOOGLE_GEMINI_BASE_URL http://localhost:15123\n"));

    ok(&sandbox.run(&["teardown", "gemini-cli"]));
    assert_eq!(tree(&home), before, "every start-up file as it was");
    assert!(!env_file.exists());
}

#[test]
fn shell_env_without_gemini_cli_or_a_shell_is_said_to_do_nothing() {
    let mut sandbox = sandbox_with(&["claude", "gemini"]);
    sandbox.unset_env("SHELL").set_env("SHELL", "/bin/sh");
    let claude_only = setup(&sandbox, &["--client", "claude-code", "--shell-env"]);
    ok(&claude_only);
    assert!(
        claude_only
            .stderr
            .contains("--shell-env is about Gemini CLI, which this run did not configure"),
        "{}",
        claude_only.stderr
    );
    let no_shell = setup(&sandbox, &["--client", "gemini-cli", "--shell-env"]);
    ok(&no_shell);
    assert!(
        no_shell
            .stderr
            .contains("--shell-env: no bash, zsh or fish start-up file was found"),
        "{}",
        no_shell.stderr
    );
    assert!(!sandbox.home().join(".bashrc").exists());
}
