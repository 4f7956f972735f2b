//! `llmauth doctor` against the test IdP and gateway: a healthy setup passes every check
//! and exits 0; each way a setup breaks that users meet — the IdP down, a wrong audience,
//! a skewed clock, an untrusted CA, a helper path gone after an upgrade, no keychain — is
//! named on its line with the fix, and doctor exits with the code of its class (SPEC §2).

use std::path::{Path, PathBuf};

use llmauth_tests::idp::IdpOptions;
use llmauth_tests::sandbox::Finished;
use serde_json::Value;

use super::common::{LLMAUTH, World, expect_exit, printed_token};

/// Every check's line, in order.
const CHECKS: [&str; 11] = [
    "config",
    "provider",
    "discovery",
    "clock",
    "tls",
    "keychain",
    "session",
    "token",
    "gateway",
    "claude-code",
    "proxy",
];

/// `llmauth doctor`, its report shown with the test's output (seen when it fails, or
/// with `--nocapture`).
fn doctor(world: &World) -> Finished {
    let finished = world.run(&["doctor"]);
    eprintln!(
        "llmauth doctor (exit {}):\n{}{}",
        finished.code, finished.stdout, finished.stderr
    );
    finished
}

/// The line doctor printed for `check`.
fn line<'a>(finished: &'a Finished, check: &str) -> &'a str {
    finished
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| {
            panic!(
                "no {check} line\nstdout: {}\nstderr: {}",
                finished.stdout, finished.stderr
            )
        })
}

/// Asserts `check`'s line has `status` and contains each of `words` (message and fix).
fn assert_line(finished: &Finished, check: &str, status: &str, words: &[&str]) {
    let line = line(finished, check);
    assert!(
        line.starts_with(&format!("{status} ")),
        "{check} is not {status}: {line}\n{}",
        finished.stdout
    );
    for word in words {
        assert!(line.contains(word), "{check} line lacks {word:?}: {line}");
    }
}

/// Sets Claude Code up in the sandbox (its settings directory makes it installed).
fn wire_claude_code(world: &World) {
    std::fs::create_dir_all(world.sandbox.home().join(".claude")).expect("~/.claude");
    let setup = world.run(&["setup", "--client", "claude-code"]);
    expect_exit(&setup, 0, "setup --client claude-code");
}

/// Places the binary under test at `path`, as an installation would.
fn install_at(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("a directory")).expect("install directory");
    if std::fs::hard_link(LLMAUTH, path).is_err() {
        std::fs::copy(LLMAUTH, path).expect("copy llmauth");
    }
}

#[test]
fn a_healthy_setup_passes_every_check_and_exits_0() {
    let world = World::new();
    world.login();
    wire_claude_code(&world);
    let token = printed_token(&world.run(&["token"]));
    let refresh_token = world.stored_refresh_token();

    let finished = doctor(&world);
    expect_exit(&finished, 0, "doctor");
    for check in &CHECKS[..10] {
        assert_line(&finished, check, "pass", &[]);
    }
    assert_line(&finished, "proxy", "skip", &["no proxy-mode tool"]);
    assert_line(
        &finished,
        "claude-code",
        "pass",
        &["Claude Code's apiKeyHelper printed a token in", "ms"],
    );
    assert_line(&finished, "provider", "pass", &["generic"]);
    assert_line(
        &finished,
        "token",
        "pass",
        &["iss matches; aud \"llmauth-test\"", "scopes"],
    );
    assert_line(
        &finished,
        "gateway",
        "pass",
        &["GET /v1/models accepted the token (HTTP 200)"],
    );
    for secret in [&token, &refresh_token] {
        assert!(
            !finished.stdout.contains(secret.as_str())
                && !finished.stderr.contains(secret.as_str()),
            "doctor printed a token"
        );
    }

    let json = world.run(&["doctor", "--format", "json"]);
    expect_exit(&json, 0, "doctor --format json");
    let findings: Value = serde_json::from_str(&json.stdout).expect("a JSON array");
    let findings = findings.as_array().expect("an array");
    let names: Vec<&str> = findings
        .iter()
        .map(|f| f["check"].as_str().expect("check"))
        .collect();
    assert_eq!(names, CHECKS);
    for finding in findings {
        let keys: Vec<&str> = finding
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["check", "fix", "message", "status"], "{finding}");
        assert!(finding["fix"].is_null(), "{finding}");
    }
}

#[test]
fn the_idp_down_is_named_and_exits_4() {
    let world = World::new();
    world.login();
    let token = printed_token(&world.run(&["token"]));
    // The gateway has fetched the IdP's keys, as a running gateway would have.
    assert_eq!(world.gateway_status(&token), 200);
    world.idp.down();

    let finished = doctor(&world);
    expect_exit(&finished, 4, "doctor with the IdP down");
    let discovery_url = format!("{}/.well-known/openid-configuration", world.idp.issuer());
    assert_line(
        &finished,
        "discovery",
        "fail",
        &[
            &format!("cannot reach the IdP at {discovery_url}: connection failed"),
            "— check the network (and HTTPS_PROXY / NO_PROXY), and that the issuer URL is right",
        ],
    );
    assert_line(&finished, "clock", "skip", &["the IdP did not answer"]);
    // The cached token still works, and the gateway takes it.
    assert_line(&finished, "session", "pass", &[]);
    assert_line(&finished, "gateway", "pass", &[]);
    assert!(
        finished.stderr.contains("doctor found problems: discovery"),
        "{}",
        finished.stderr
    );
}

#[test]
fn a_wrong_audience_is_named_by_its_aud_and_exits_2() {
    let world = World::new();
    // The gateway accepts tokens for the client id; this asks the IdP for another audience.
    world.configure(&["--audience", "https://wrong-audience.example"]);
    world.login();

    let finished = doctor(&world);
    expect_exit(&finished, 2, "doctor with a wrong audience");
    assert_line(
        &finished,
        "gateway",
        "fail",
        &[
            "the gateway rejected the token: HTTP 401",
            "the token's aud is \"https://wrong-audience.example\"",
            "— ask the gateway's owner which audience it accepts and `llmauth config set --audience <it>`",
        ],
    );
    // The IdP did issue what was asked for: the token line says so.
    assert_line(
        &finished,
        "token",
        "pass",
        &["aud \"https://wrong-audience.example\""],
    );
}

#[test]
fn a_skewed_clock_is_named_and_exits_2() {
    let world = World::with(
        IdpOptions {
            clock_offset_secs: 3600,
            ..IdpOptions::default()
        },
        "file",
    );
    world.login();

    let finished = doctor(&world);
    expect_exit(&finished, 2, "doctor with the IdP's clock an hour ahead");
    assert_line(
        &finished,
        "clock",
        "fail",
        &[
            "this machine's clock is 59m",
            "behind the IdP's (its Date header): tokens look expired or not yet valid",
            "— turn on automatic time synchronisation (NTP)",
        ],
    );
    assert_eq!(
        finished
            .stdout
            .lines()
            .filter(|l| l.starts_with("fail"))
            .count(),
        1,
        "only the clock fails:\n{}",
        finished.stdout
    );
}

#[test]
fn an_untrusted_ca_is_explained_for_llmauth_and_the_tools_and_exits_2() {
    let world = World::new();
    world.login();
    // A corporate network's CA that llmauth was not told about.
    expect_exit(
        &world.run(&["config", "set", "--ca-file", ""]),
        0,
        "config set --ca-file \"\"",
    );

    let finished = doctor(&world);
    expect_exit(&finished, 2, "doctor with an untrusted CA");
    assert_line(
        &finished,
        "tls",
        "fail",
        &[
            "the certificate of the IdP and the gateway comes from an authority this machine does not trust",
            "— get your organisation's CA certificate (PEM) and run `llmauth config set --ca-file <path>`",
            "NODE_EXTRA_CA_CERTS",
            "CODEX_CA_CERTIFICATE=<path>",
        ],
    );
    assert_line(
        &finished,
        "discovery",
        "fail",
        &["does not trust", "— see the tls line"],
    );
    assert_line(
        &finished,
        "gateway",
        "fail",
        &["does not trust", "— see the tls line"],
    );

    // A refresh refused in the TLS handshake never reached the IdP: the cached token is
    // served, and the refresh token is not marked as possibly spent.
    let refresh = world.run(&["token", "--force-refresh", "--non-interactive"]);
    printed_token(&refresh);
    assert!(
        refresh.stderr.contains(
            "(TLS failed: the server's certificate is not signed by a trusted authority)"
        ),
        "{}",
        refresh.stderr
    );
    assert_ne!(
        world.stored_session()["refresh"]["maybe_spent"],
        Value::Bool(true),
        "the refresh token is marked maybe-spent"
    );
}

#[test]
fn a_helper_path_gone_after_an_upgrade_is_named_with_the_fix_and_exits_2() {
    let mut world = World::unconfigured(IdpOptions::default());
    let old = world.sandbox.root().join("opt/llmauth-1.0/llmauth");
    install_at(&old);
    let old = std::fs::canonicalize(&old).expect("the old install");
    world.sandbox.set_program(&old);
    world.configure(&["--secrets-backend", "file"]);
    world.login();
    wire_claude_code(&world);

    // The upgrade: the new version lives elsewhere, the old one is gone.
    let new: PathBuf = world.sandbox.root().join("opt/llmauth-1.1/llmauth");
    std::fs::create_dir_all(new.parent().expect("a directory")).expect("new install directory");
    std::fs::rename(&old, &new).expect("upgrade");
    world.sandbox.set_program(&new);

    let finished = doctor(&world);
    expect_exit(&finished, 2, "doctor after the upgrade");
    assert_line(
        &finished,
        "claude-code",
        "fail",
        &[
            &format!(
                "its helper runs {}, which no longer exists (did an upgrade move llmauth?)",
                old.display()
            ),
            "— `llmauth setup --client claude-code` writes the path of this llmauth",
        ],
    );

    // The fix it names works.
    wire_claude_code(&world);
    let finished = doctor(&world);
    expect_exit(&finished, 0, "doctor after setup again");
    assert_line(&finished, "claude-code", "pass", &["printed a token"]);
}

#[test]
fn an_unavailable_keychain_is_named_and_exits_4() {
    // The sandbox's session bus does not exist: no Secret Service.
    let world = World::with(IdpOptions::default(), "keyring");

    let finished = doctor(&world);
    expect_exit(&finished, 4, "doctor without a keychain");
    assert_line(
        &finished,
        "keychain",
        "fail",
        &[
            "the OS keychain, which holds the session, is not usable:",
            "— unlock the keychain, or start one",
            "`llmauth config set --secrets-backend file`",
        ],
    );
    assert_line(&finished, "session", "fail", &["keychain"]);
    // The IdP and the gateway are fine.
    assert_line(&finished, "discovery", "pass", &[]);
}

#[test]
fn without_a_configuration_only_config_fails_with_its_fix() {
    let world = World::unconfigured(IdpOptions::default());
    let finished = doctor(&world);
    expect_exit(&finished, 2, "doctor without a config");
    assert_line(
        &finished,
        "config",
        "fail",
        &["llmauth is not configured", "llmauth config set"],
    );
    assert_eq!(finished.stdout.lines().count(), 11, "{}", finished.stdout);
    assert_line(&finished, "discovery", "skip", &["no usable configuration"]);
}

#[test]
fn the_probe_path_is_the_users_to_choose() {
    let world = World::new();
    world.login();
    let other = world.run(&["doctor", "--probe-path", "/v1/nothing-here"]);
    expect_exit(&other, 0, "doctor --probe-path to a missing endpoint");
    assert_line(
        &other,
        "gateway",
        "warn",
        &["GET /v1/nothing-here: HTTP 404", "--probe-path"],
    );
    let bad = world.run(&["doctor", "--probe-path", "v1/models"]);
    expect_exit(&bad, 2, "doctor --probe-path without a leading slash");
    assert!(bad.stderr.contains("--probe-path"), "{}", bad.stderr);
    assert!(bad.stdout.is_empty(), "{}", bad.stdout);
}
