//! Real clients, installed from npm into `tests/real-clients` (`npm ci --prefix
//! tests/real-clients`): `llmauth setup` wires them in a private home against the test IdP
//! and the JWT-verifying gateway stand-in, and a prompt must come back with the gateway's
//! answer — the token having come from `llmauth token`, run by the tool itself.
//!
//! A missing install is a failure, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use llmauth_tests::gateway::{GatewayRequest, TestGateway};
use llmauth_tests::idp::{GrantType, IdpOptions, TestIdp};
use llmauth_tests::sandbox::{Finished, Sandbox, wait};

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
        helper.starts_with(env!("CARGO_BIN_EXE_llmauth-under-test")),
        "llmauth is not on PATH, so the helper names this binary: {helper}"
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
