//! `llmauth-token`, the lean token helper setup wires tools to: it answers from the stored
//! token alone, and hands every other call to the full `llmauth token` beside it, which
//! then answers exactly as if it had been called itself.
//!
//! "Alone" is a copy of the lean binary in a directory without llmauth: when it answers,
//! it answered by itself; when it hands over, it says it cannot run llmauth.

use std::path::{Path, PathBuf};

use llmauth_tests::idp::{GrantType, IdpOptions};
use llmauth_tests::keyring_session::SecretService;
use llmauth_tests::sandbox::Finished;
use serde_json::Value;

use super::common::{World, expect_exit, printed_token};

/// The lean binary built beside `llmauth-under-test`, named after it.
const LEAN: &str = env!("CARGO_BIN_EXE_llmauth-under-test-token");

/// A copy of the lean binary with no llmauth beside it.
fn alone(world: &World) -> PathBuf {
    let dir = world.sandbox.root().join("alone");
    let copy = dir.join(Path::new(LEAN).file_name().unwrap());
    if !copy.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(LEAN, &copy).unwrap();
    }
    copy
}

fn lean(world: &World, args: &[&str]) -> Finished {
    world.sandbox.run_program(Path::new(LEAN), args)
}

fn lean_alone(world: &World, args: &[&str]) -> Finished {
    world.sandbox.run_program(&alone(world), args)
}

/// The lean binary tried to hand the call over (and could not, alone).
fn assert_handed_over(finished: &Finished, what: &str) {
    expect_exit(finished, 1, what);
    assert!(
        finished.stderr.starts_with("error: cannot run ")
            && finished.stderr.contains("llmauth-under-test"),
        "{what}: {}",
        finished.stderr
    );
    assert!(finished.stdout.is_empty(), "{what}: {}", finished.stdout);
}

/// `$STATE/snapshots/` holds one snapshot, for the sandbox's config; its path.
fn snapshot_file(world: &World) -> PathBuf {
    let dir = world.sandbox.state_dir().join("snapshots");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn refreshes(world: &World) -> usize {
    world.idp.token_requests(GrantType::RefreshToken)
}

#[test]
fn a_stored_token_is_answered_alone_as_llmauth_token_answers_it() {
    let world = World::new();
    world.login();
    let full = printed_token(&world.run(&["token"]));
    assert_eq!(printed_token(&lean_alone(&world, &[])), full);
    assert_eq!(printed_token(&lean(&world, &[])), full);
    // Every option of a plain call, with the config named on the command line.
    let config = world.sandbox.config_file();
    let args = [
        "--non-interactive",
        "--format",
        "json",
        "--kind=access",
        "--min-valid",
        "1m",
        "--timeout=5s",
        "--config",
        config.to_str().unwrap(),
    ];
    let answered = lean_alone(&world, &args);
    expect_exit(&answered, 0, "lean --format json");
    let mut full_args = vec!["token"];
    full_args.extend(args);
    let expected = world.run(&full_args);
    assert_eq!(answered.stdout, expected.stdout);
    let json: Value = serde_json::from_str(&answered.stdout).unwrap();
    assert_eq!(json["access_token"], full.as_str());
    assert_eq!(json["token_kind"], "access");
    assert!(answered.stderr.is_empty(), "{}", answered.stderr);
    assert_eq!(refreshes(&world), 0);
}

#[test]
fn every_call_it_cannot_answer_from_the_store_goes_to_llmauth_token() {
    let world = World::new();
    // No session: the full binary fails (exit 3, recorded for `status`) as it would.
    assert_handed_over(&lean_alone(&world, &[]), "no session");
    let failed = lean(&world, &[]);
    expect_exit(&failed, 3, "no session, through llmauth-token");
    assert_eq!(failed.stderr, world.run(&["token"]).stderr);
    assert!(world.last_error_file().exists(), "the failure is recorded");

    world.login();
    printed_token(&lean_alone(&world, &[]));
    for (args, what) in [
        (&["--force-refresh"][..], "--force-refresh"),
        (
            &["--min-valid", "1h"],
            "--min-valid beyond the token's life",
        ),
        (&["-v"], "-v"),
        (&["--help"], "--help"),
        (&["--bogus"], "an unknown option"),
        (&["--format", "yaml"], "a value llmauth token refuses"),
    ] {
        assert_handed_over(&lean_alone(&world, args), what);
    }
    let before = refreshes(&world);
    printed_token(&lean(&world, &["--force-refresh"]));
    assert_eq!(refreshes(&world), before + 1, "the full binary refreshed");
    let verbose = lean(&world, &["-v"]);
    expect_exit(&verbose, 0, "-v");
    assert!(verbose.stderr.contains("debug:"), "{}", verbose.stderr);
    let usage = lean(&world, &["--format", "yaml"]);
    expect_exit(&usage, 2, "--format yaml");
    assert_eq!(
        usage.stderr,
        world.run(&["token", "--format", "yaml"]).stderr
    );

    // The environment's token and the debug log are the full binary's business too.
    let mut world = world;
    world.sandbox.set_env("LLMAUTH_ACCESS_TOKEN", "env-token");
    assert_handed_over(&lean_alone(&world, &[]), "LLMAUTH_ACCESS_TOKEN");
    assert_eq!(printed_token(&lean(&world, &[])), "env-token");
    world.sandbox.unset_env("LLMAUTH_ACCESS_TOKEN");
    world.sandbox.set_env("LLMAUTH_LOG", "debug");
    assert_handed_over(&lean_alone(&world, &[]), "LLMAUTH_LOG");
    // A level `llmauth token` does not trace at is no reason to hand over.
    world.sandbox.set_env("LLMAUTH_LOG", "info");
    printed_token(&lean_alone(&world, &[]));
    world.sandbox.unset_env("LLMAUTH_LOG");

    // An expired token: one refresh, by the full binary.
    world.login_expired();
    let before = refreshes(&world);
    assert_handed_over(&lean_alone(&world, &[]), "expired");
    printed_token(&lean(&world, &[]));
    assert_eq!(refreshes(&world), before + 1);
    printed_token(&lean_alone(&world, &[]));
}

#[test]
fn a_config_changed_by_hand_is_read_again_by_the_full_binary() {
    let world = World::new();
    world.login();
    let token = printed_token(&lean_alone(&world, &[]));
    let snapshot = snapshot_file(&world);

    // Edited by hand, in place: the snapshot no longer describes the file.
    let config = world.sandbox.config_file();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}# edited by hand\n")).unwrap();
    assert_handed_over(&lean_alone(&world, &[]), "config edited in place");
    // The full binary answers, and writes the snapshot of the file as it is now.
    assert_eq!(printed_token(&lean(&world, &[])), token);
    assert_eq!(printed_token(&lean_alone(&world, &[])), token);

    // Another file put in its place (as editors save) with another session in it: the
    // snapshot must not answer with the old session's token.
    let moved = text.replace(
        world.idp.client_id(),
        &format!("{}-other", world.idp.client_id()),
    );
    let replacement = world.sandbox.root().join("config.new");
    std::fs::write(&replacement, moved).unwrap();
    std::fs::rename(&replacement, &config).unwrap();
    assert_handed_over(&lean_alone(&world, &[]), "config replaced");
    expect_exit(&lean(&world, &[]), 3, "another session: not signed in");

    // Back to the original; a missing snapshot or one of another llmauth version is
    // stale too.
    std::fs::write(&config, &text).unwrap();
    assert_eq!(printed_token(&lean(&world, &[])), token);
    std::fs::remove_file(&snapshot).unwrap();
    assert_handed_over(&lean_alone(&world, &[]), "no snapshot");
    assert_eq!(printed_token(&lean(&world, &[])), token);
    let written = std::fs::read_to_string(&snapshot).unwrap();
    let version = format!("\"llmauth\":\"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(written.contains(&version), "{written}");
    std::fs::write(
        &snapshot,
        written.replace(&version, "\"llmauth\":\"0.0.1\""),
    )
    .unwrap();
    assert_handed_over(&lean_alone(&world, &[]), "another version's snapshot");
    assert_eq!(printed_token(&lean(&world, &[])), token);
    printed_token(&lean_alone(&world, &[]));

    // `config set` writes the snapshot with the file; `config reset` removes both.
    let set = world.run(&["config", "set", "--refresh-window", "5m"]);
    expect_exit(&set, 0, "config set");
    assert_eq!(printed_token(&lean_alone(&world, &[])), token);
    expect_exit(&world.run(&["config", "reset", "--yes"]), 0, "config reset");
    assert!(!snapshot.exists(), "removed with the config");
}

#[test]
fn kind_id_hands_out_the_stored_id_token() {
    let world = World::new();
    world.configure(&["--token-kind", "id"]);
    world.login();
    let id = printed_token(&lean_alone(&world, &[]));
    assert_eq!(id, printed_token(&world.run(&["token"])));
    assert_eq!(Some(id.clone()), world.idp.last_id_token());
    let access = printed_token(&lean_alone(&world, &["--kind", "access"]));
    assert_ne!(access, id);
    assert_eq!(
        access,
        printed_token(&world.run(&["token", "--kind", "access"]))
    );
    let json = lean_alone(&world, &["--format", "json"]);
    let json: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(json["token_kind"], "id");
    assert_eq!(json["access_token"], id.as_str());
    assert_handed_over(
        &lean_alone(&world, &["--kind", "refresh"]),
        "an unknown kind",
    );
}

#[test]
fn with_auto_the_backend_must_have_been_recorded() {
    let world = World::with(IdpOptions::default(), "auto");
    // Nothing recorded yet: only the full binary probes the keychain.
    std::fs::remove_file(world.sandbox.state_dir().join("backend")).ok();
    assert_handed_over(&lean_alone(&world, &[]), "auto, not yet probed");
    world.login();
    assert!(world.sandbox.state_dir().join("backend").exists());
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(printed_token(&lean_alone(&world, &[])), token);
}

#[test]
fn the_keyring_backends_cache_is_read_and_the_keychain_left_to_llmauth() {
    let service =
        SecretService::start().unwrap_or_else(|e| panic!("no Secret Service for this test: {e}"));
    let mut world = World::unconfigured(IdpOptions::default());
    world
        .sandbox
        .set_env("DBUS_SESSION_BUS_ADDRESS", service.bus_address());
    world.configure(&["--secrets-backend", "keyring"]);
    world.login();
    let token = printed_token(&world.run(&["token"]));
    assert_eq!(printed_token(&lean_alone(&world, &[])), token);
    // Without the runtime-dir cache the refresh token is in the keychain: the full
    // binary's business (it reads the keychain, refreshes, and writes the cache again).
    std::fs::remove_file(world.access_cache_file()).unwrap();
    assert_handed_over(&lean_alone(&world, &[]), "no cache");
    printed_token(&lean(&world, &[]));
    assert!(world.access_cache_file().exists());
    printed_token(&lean_alone(&world, &[]));
}

#[test]
fn a_stored_answer_leaves_the_last_failure_as_llmauth_token_does() {
    let world = World::new();
    world.login();
    let file = world.last_error_file();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let record =
        r#"{"time":"2026-01-01T00:00:00Z","unix_ms":1,"exit_code":4,"message":"error: x"}"#;
    std::fs::write(&file, record).unwrap();
    printed_token(&lean_alone(&world, &[]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), record);
    // A refresh through the full binary clears it, as a direct call would.
    printed_token(&lean(&world, &["--force-refresh"]));
    assert!(!file.exists());
}

#[test]
fn a_copy_not_named_after_llmauth_says_so_when_it_must_hand_over() {
    let world = World::new();
    let dir = world.sandbox.root().join("renamed");
    std::fs::create_dir_all(&dir).unwrap();
    let renamed = dir.join("token-helper");
    std::fs::copy(LEAN, &renamed).unwrap();

    // No session yet: the call needs the full binary, which the name does not lead to.
    let finished = world.sandbox.run_program(&renamed, &[]);

    expect_exit(&finished, 1, "a renamed llmauth-token");
    assert_eq!(
        finished.stderr.trim_end(),
        format!(
            "error: {} is not named <llmauth>-token, so the llmauth beside it is unknown — run `llmauth token` instead, or reinstall llmauth",
            renamed.display()
        ),
    );
    assert!(finished.stdout.is_empty(), "{}", finished.stdout);
}

#[test]
fn a_token_it_cannot_print_fails_as_llmauth_token_fails() {
    let world = World::new();
    world.login();
    let to_full_disk = |mut command: std::process::Command| {
        command.stdout(std::fs::File::create("/dev/full").unwrap());
        llmauth_tests::sandbox::wait(command.spawn().unwrap(), std::time::Duration::from_secs(60))
    };

    let full = to_full_disk(world.sandbox.command(&["token"]));
    let answered = to_full_disk(world.sandbox.command_of(&alone(&world), &[]));

    assert_ne!(full.code, 0, "{}", full.stderr);
    assert_eq!(answered.code, full.code, "{}", answered.stderr);
    assert_eq!(answered.stderr, full.stderr);
    assert!(
        answered.stderr.starts_with("error: "),
        "{}",
        answered.stderr
    );
}
