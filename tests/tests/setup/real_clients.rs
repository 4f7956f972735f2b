//! Real clients, installed from npm into `tests/real-clients` (`npm ci --prefix
//! tests/real-clients`): `llmauth setup` wires them in a private home against the test IdP
//! and the JWT-verifying gateway stand-in, and a prompt must come back with the gateway's
//! answer — the token having come from `llmauth token`, run by the tool itself (Claude
//! Code, Codex; after a lazy setup, signing in through the scripted browser), or from
//! `llmauth proxy start` (Gemini CLI).
//!
//! A missing install is a failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use llmauth_tests::gateway::{GatewayRequest, TestGateway};
use llmauth_tests::idp::{GrantType, IdpOptions, TestIdp};
use llmauth_tests::sandbox::{Finished, Sandbox, wait};

/// The lean token helper setup wires tools to (beside `llmauth-under-test`).
const LEAN: &str = env!("CARGO_BIN_EXE_llmauth-under-test-token");

/// How long a real client may take to answer one prompt.
const CLIENT_LIMIT: Duration = Duration::from_secs(180);

fn node_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("real-clients/node_modules/.bin")
}

fn client(name: &str) -> PathBuf {
    let path = node_bin().join(name);
    assert!(
        path.exists(),
        "{} is missing: install the real clients with `npm ci --prefix tests/real-clients` \
         (scripts/test does this)",
        path.display()
    );
    path
}

/// The test IdP, the gateway verifying its tokens, and a sandbox configured for both with
/// the real clients on PATH.
struct World {
    idp: TestIdp,
    gateway: TestGateway,
    sandbox: Sandbox,
    ca_file: PathBuf,
    path: String,
}

fn world(answer: &str) -> World {
    let idp = TestIdp::start(IdpOptions::default());
    let gateway = TestGateway::for_idp(&idp);
    gateway.set_answer_text(answer);
    let mut sandbox = Sandbox::new(
        Path::new(env!("CARGO_BIN_EXE_llmauth-under-test")),
        Some(Path::new(env!("CARGO_BIN_EXE_fake-browser"))),
    );
    let ca_file = idp.ca().write_ca_pem(sandbox.root()).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", node_bin().display());
    sandbox
        .set_env("LLMAUTH_TEST_CA", &ca_file)
        .set_env("PATH", &path);
    sandbox.configure(
        idp.issuer(),
        &gateway.url(),
        idp.client_id(),
        &ca_file,
        &["--secrets-backend", "file"],
    );
    World {
        idp,
        gateway,
        sandbox,
        ca_file,
        path,
    }
}

impl World {
    /// A command for a real client: only what a user's shell would give it (no test
    /// variables, no `NODE_EXTRA_CA_CERTS`: trust must come from what setup wrote).
    fn client_command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(self.sandbox.root())
            .env_clear()
            .env("HOME", self.sandbox.home())
            .env("XDG_CONFIG_HOME", self.sandbox.home().join(".config"))
            .env("PATH", &self.path)
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("NO_COLOR", "1")
            // The sandbox's state directory is not the default one, so the helper needs
            // it in its environment (setup warns about exactly this).
            .env("LLMAUTH_STATE_DIR", self.sandbox.state_dir())
            .env("XDG_RUNTIME_DIR", self.sandbox.runtime_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// The client runs in a desktop session (`DISPLAY`) whose browser is the scripted
    /// one: a helper call it makes with no session signs in there.
    fn on_a_desktop(&self, command: &mut Command) {
        command
            .env("DISPLAY", ":99")
            .env("BROWSER", env!("CARGO_BIN_EXE_fake-browser"))
            .env("FAKE_BROWSER_LOG", self.sandbox.browser_log())
            .env("LLMAUTH_TEST_CA", &self.ca_file);
    }

    /// After a lazy setup and one prompt: the scripted browser was the only sign-in, once.
    fn signed_in_once_through_the_browser(&self) {
        assert_eq!(
            self.idp.token_requests(GrantType::AuthorizationCode),
            1,
            "one sign-in"
        );
        let visits = self.sandbox.browser_visits();
        assert_eq!(visits.len(), 1, "{visits:?}");
        assert_eq!(visits[0]["reached_callback"], true, "{visits:?}");
    }

    fn run_client(&self, command: &mut Command) -> Finished {
        wait(command.spawn().expect("start the client"), CLIENT_LIMIT)
    }

    /// The requests to `route` that the gateway answered with 200 after verifying the JWT.
    fn verified(&self, route: &str) -> Vec<GatewayRequest> {
        self.gateway
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with(route) && r.status == 200 && r.claims.is_some())
            .collect()
    }

    /// The token `llmauth token` hands out now (cached: the one the tool was given).
    fn current_token(&self) -> String {
        let token = self.sandbox.run(&["token"]);
        assert_eq!(token.code, 0, "{}", token.stderr);
        token.stdout.trim().to_owned()
    }
}

fn ok(finished: &Finished) {
    assert_eq!(
        finished.code, 0,
        "stdout: {}\nstderr: {}",
        finished.stdout, finished.stderr
    );
}

#[test]
fn claude_code_answers_through_the_gateway_with_a_token_from_llmauth() {
    let claude = client("claude");
    let answer = "Hi from the llmauth gateway stand-in";
    let world = world(answer);

    let setup = world.sandbox.run(&["setup", "--client", "claude-code"]);
    ok(&setup);
    assert!(
        setup
            .stdout
            .contains("configured claude-code (token helper) → "),
        "{}",
        setup.stdout
    );
    let settings_file = world.sandbox.home().join(".claude/settings.json");
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&settings_file).unwrap()).unwrap();
    let helper = settings["apiKeyHelper"].as_str().unwrap();
    assert!(
        helper.starts_with(&format!("{LEAN} ")),
        "the helper is the lean llmauth-token beside llmauth, by its path: {helper}"
    );
    assert_eq!(
        settings["env"]["NODE_EXTRA_CA_CERTS"],
        world.ca_file.display().to_string()
    );
    world.gateway.clear_requests();

    let mut command = world.client_command(&claude, &["-p", "say hi"]);
    command.env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    let finished = world.run_client(&mut command);
    ok(&finished);
    assert!(
        finished.stdout.contains(answer),
        "Claude Code did not print the gateway's answer.\nstdout: {}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );

    let served = world.verified("/v1/messages");
    assert!(!served.is_empty(), "{:?}", world.gateway.requests());
    let token = world.current_token();
    for request in &served {
        assert_eq!(request.bearer_token(), Some(token.as_str()));
        let claims = request.claims.as_ref().unwrap();
        assert_eq!(claims["iss"], world.idp.issuer());
    }
    assert!(
        world
            .gateway
            .requests()
            .iter()
            .all(|r| r.rejection.is_none()),
        "the gateway rejected a token: {:?}",
        world.gateway.requests()
    );

    let teardown = world.sandbox.run(&["teardown", "claude-code"]);
    ok(&teardown);
    assert!(
        !settings_file.exists(),
        "setup created it, teardown removes it"
    );
}

#[test]
fn claude_code_asks_a_bedrock_style_gateway_for_the_configured_tier_models() {
    let claude = client("claude");
    let answer = "Hi from the Bedrock-style stand-in";
    let world = world(answer);
    // Ids a Bedrock-fronting gateway would serve, none of them llmauth's defaults.
    let haiku = "eu.anthropic.claude-haiku-4-5-20251001-v1:0";
    let sonnet = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let opus = "eu.anthropic.claude-opus-4-6-v1";
    let models = format!("{sonnet},{opus},{haiku}");
    let setup = world.sandbox.run(&[
        "setup",
        "--client",
        "claude-code",
        "--bedrock-compat",
        "--models",
        &models,
    ]);
    ok(&setup);
    let settings_file = world.sandbox.home().join(".claude/settings.json");
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&settings_file).unwrap()).unwrap();
    assert_eq!(
        settings["env"]["CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"],
        "1"
    );
    assert_eq!(settings["env"]["ANTHROPIC_DEFAULT_OPUS_MODEL"], opus);

    for (tier, id) in [("opus", opus), ("sonnet", sonnet), ("haiku", haiku)] {
        world.gateway.clear_requests();
        let mut command = world.client_command(&claude, &["-p", "--model", tier, "say hi"]);
        command.env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
        let finished = world.run_client(&mut command);
        ok(&finished);
        assert!(
            finished.stdout.contains(answer),
            "--model {tier}: Claude Code did not print the gateway's answer.\nstdout: {}\nstderr: {}",
            finished.stdout,
            finished.stderr
        );
        let asked: Vec<Option<String>> = world
            .verified("/v1/messages")
            .into_iter()
            .map(|r| r.model)
            .collect();
        assert!(
            asked.iter().any(|m| m.as_deref() == Some(id)),
            "--model {tier} never asked for {id}: {asked:?}"
        );
        // Whatever else it asked for (background tasks run on haiku) is a configured id.
        assert!(
            asked.iter().all(|m| m
                .as_deref()
                .is_some_and(|m| [haiku, sonnet, opus].contains(&m))),
            "--model {tier}: {asked:?}"
        );
    }

    ok(&world.sandbox.run(&["teardown", "--client", "claude-code"]));
    assert!(!settings_file.exists());
}

#[test]
fn codex_answers_through_the_gateway_with_a_token_from_llmauth() {
    let codex = client("codex");
    let answer = "Hi from the llmauth Responses stand-in";
    let world = world(answer);

    let setup = world.sandbox.run(&["setup", "--client", "codex"]);
    ok(&setup);
    assert!(
        setup.stderr.contains("CODEX_CA_CERTIFICATE="),
        "setup says how Codex trusts the CA: {}",
        setup.stderr
    );
    let config = std::fs::read_to_string(world.sandbox.home().join(".codex/config.toml")).unwrap();
    assert!(
        config.contains(&format!("command = \"{LEAN}\"\n")),
        "Codex runs the lean llmauth-token: {config}"
    );
    world.gateway.clear_requests();

    let mut command = world.client_command(
        &codex,
        &[
            "exec",
            "--skip-git-repo-check",
            "--color",
            "never",
            "say hi",
        ],
    );
    command.env("CODEX_CA_CERTIFICATE", &world.ca_file);
    let finished = world.run_client(&mut command);
    ok(&finished);
    assert!(
        finished.stdout.contains(answer),
        "Codex did not print the gateway's answer.\nstdout: {}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );

    let served = world.verified("/v1/responses");
    assert!(!served.is_empty(), "{:?}", world.gateway.requests());
    let token = world.current_token();
    for request in &served {
        assert_eq!(request.bearer_token(), Some(token.as_str()));
    }
    assert!(
        world
            .gateway
            .requests()
            .iter()
            .all(|r| r.rejection.is_none()),
        "the gateway rejected a token: {:?}",
        world.gateway.requests()
    );

    ok(&world.sandbox.run(&["teardown"]));
    assert!(!world.sandbox.home().join(".codex/config.toml").exists());
}

#[test]
fn claude_code_signs_in_through_the_browser_after_a_lazy_setup() {
    let claude = client("claude");
    let answer = "Hi after a browser sign-in";
    let world = world(answer);
    ok(&world
        .sandbox
        .run(&["setup", "--lazy", "--client", "claude-code"]));
    assert_eq!(world.idp.token_requests(GrantType::AuthorizationCode), 0);

    let mut command = world.client_command(&claude, &["-p", "say hi"]);
    command.env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    world.on_a_desktop(&mut command);
    let finished = world.run_client(&mut command);
    ok(&finished);
    assert!(
        finished.stdout.contains(answer),
        "Claude Code did not print the gateway's answer.\nstdout: {}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );
    world.signed_in_once_through_the_browser();
    let served = world.verified("/v1/messages");
    assert!(!served.is_empty(), "{:?}", world.gateway.requests());
    let token = world.current_token();
    assert!(
        served
            .iter()
            .all(|r| r.bearer_token() == Some(token.as_str()))
    );
    ok(&world.sandbox.run(&["teardown", "claude-code"]));
}

#[test]
fn codex_signs_in_through_the_browser_after_a_lazy_setup() {
    let codex = client("codex");
    let answer = "Hi from Responses after a browser sign-in";
    let world = world(answer);
    ok(&world.sandbox.run(&["setup", "--lazy", "--client", "codex"]));

    let mut command = world.client_command(
        &codex,
        &[
            "exec",
            "--skip-git-repo-check",
            "--color",
            "never",
            "say hi",
        ],
    );
    command.env("CODEX_CA_CERTIFICATE", &world.ca_file);
    world.on_a_desktop(&mut command);
    let finished = world.run_client(&mut command);
    ok(&finished);
    assert!(
        finished.stdout.contains(answer),
        "Codex did not print the gateway's answer.\nstdout: {}\nstderr: {}",
        finished.stdout,
        finished.stderr
    );
    world.signed_in_once_through_the_browser();
    let served = world.verified("/v1/responses");
    assert!(!served.is_empty(), "{:?}", world.gateway.requests());
    let token = world.current_token();
    assert!(
        served
            .iter()
            .all(|r| r.bearer_token() == Some(token.as_str()))
    );
    ok(&world.sandbox.run(&["teardown", "codex"]));
}

/// `llmauth proxy start` for the proxy-mode client, killed (by its pid) when dropped.
struct ProxyProcess(std::process::Child);

impl ProxyProcess {
    /// Starts the proxy on the configured port and waits until it accepts connections.
    fn start(sandbox: &Sandbox, port: u16) -> Self {
        let proxy = Self(sandbox.spawn(&["proxy", "start", "--skip-browser"]));
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the proxy never listened on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

#[test]
fn gemini_cli_answers_through_the_proxy_in_trusted_and_skip_trust_folders() {
    let gemini = client("gemini");
    let answer = "Hi from the Gemini stand-in";
    let mut world = world(answer);
    let port = free_port();
    ok(&world
        .sandbox
        .run(&["config", "set", "--proxy-port", &port.to_string()]));
    world.sandbox.set_env("SHELL", "/bin/bash");
    let home = world.sandbox.home();
    let bashrc = home.join(".bashrc");
    let original_bashrc = "# the user's own\n[ -z \"$PS1\" ] && return\nalias ll='ls -l'\n";
    std::fs::write(&bashrc, original_bashrc).unwrap();
    let gemini_dir = home.join(".gemini");
    std::fs::create_dir_all(&gemini_dir).unwrap();
    let original_settings = "{\n  // the user's own\n  \"ui\": {\"theme\": \"GitHub\"}\n}\n";
    std::fs::write(gemini_dir.join("settings.json"), original_settings).unwrap();

    let setup = world
        .sandbox
        .run(&["setup", "--client", "gemini-cli", "--shell-env"]);
    ok(&setup);
    assert!(
        setup
            .stdout
            .contains("Gemini CLI reads ~/.gemini/.env only in folders it trusts"),
        "{}",
        setup.stdout
    );
    let status = world.sandbox.run(&["status"]);
    assert!(
        status.stdout.contains(
            "note: gemini-cli: Gemini CLI reads ~/.gemini/.env only in folders it trusts"
        ) && status.stdout.contains("--skip-trust"),
        "{}",
        status.stdout
    );
    let key = world
        .sandbox
        .run(&["proxy", "key"])
        .stdout
        .trim()
        .to_owned();

    // A shell started from the start-up file setup wrote has both variables.
    let shell = Command::new("bash")
        .args([
            "-i",
            "-c",
            "printf '%s|%s' \"$GEMINI_API_KEY\" \"$GOOGLE_GEMINI_BASE_URL\"",
        ])
        .env_clear()
        .env("HOME", &home)
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    assert_eq!(
        String::from_utf8_lossy(&shell.stdout),
        format!("{key}|http://localhost:{port}"),
        "stderr: {}",
        String::from_utf8_lossy(&shell.stderr)
    );

    let proxy = ProxyProcess::start(&world.sandbox, port);
    world.gateway.clear_requests();
    // A folder the user trusted (as Gemini CLI records it; llmauth never does), and one
    // never trusted, run headless with --skip-trust.
    let trusted = world.sandbox.root().join("trusted-project");
    let untrusted = world.sandbox.root().join("never-trusted");
    std::fs::create_dir_all(&trusted).unwrap();
    std::fs::create_dir_all(&untrusted).unwrap();
    std::fs::write(
        gemini_dir.join("trustedFolders.json"),
        serde_json::json!({ trusted.display().to_string(): "TRUST_FOLDER" }).to_string(),
    )
    .unwrap();
    for (folder, args) in [
        (&trusted, &["-p", "say hi"][..]),
        (&untrusted, &["--skip-trust", "-p", "say hi"][..]),
    ] {
        let mut command = world.client_command(&gemini, args);
        command.current_dir(folder);
        let finished = world.run_client(&mut command);
        ok(&finished);
        assert!(
            finished.stdout.contains(answer),
            "Gemini CLI in {} did not print the gateway's answer.\nstdout: {}\nstderr: {}",
            folder.display(),
            finished.stdout,
            finished.stderr
        );
    }
    drop(proxy);

    // Both prompts streamed their answer through the proxy (Gemini CLI also asks its
    // model router, with structured output, first).
    let streamed = world
        .gateway
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(":streamGenerateContent") && r.query == "alt=sse")
        .count();
    assert_eq!(streamed, 2, "{:?}", world.gateway.requests());
    for request in &world.gateway.requests() {
        assert!(request.claims.is_some(), "a verified JWT: {request:?}");
        assert_ne!(request.bearer_token(), Some(key.as_str()), "{request:?}");
        assert!(!request.has_header("x-goog-api-key"), "{request:?}");
        assert!(!request.query.contains("key="), "{request:?}");
        assert!(request.rejection.is_none(), "{request:?}");
    }

    ok(&world.sandbox.run(&["teardown", "gemini-cli"]));
    assert_eq!(std::fs::read_to_string(&bashrc).unwrap(), original_bashrc);
    assert!(!gemini_dir.join(".env").exists());
    assert!(!world.sandbox.state_dir().join("gemini-cli.env").exists());
    let settings = std::fs::read_to_string(gemini_dir.join("settings.json")).unwrap();
    assert!(
        !settings.contains("gemini-api-key"),
        "setup's key is gone: {settings}"
    );
}
