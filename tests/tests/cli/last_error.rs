//! `$STATE/last-error/<session>.json` (SPEC §2): a helper's failure is recorded per
//! session, the next call that gets a token from the IdP deletes it (the cached fast path
//! does not touch it), and `status` shows a failure only while it is newer than the
//! session's last issued token.

use super::common::{World, expect_exit, printed_token, unix_ms};

fn status(world: &World) -> String {
    let finished = world.run(&["status"]);
    finished.stdout
}

fn last_failure_line(world: &World) -> String {
    status(world)
        .lines()
        .find(|l| l.starts_with("last failure:"))
        .unwrap_or_default()
        .to_owned()
}

/// A record as `token` writes it, at `unix_ms`.
fn write_record(world: &World, unix_ms: u64, message: &str) {
    let file = world.last_error_file();
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let record = serde_json::json!({
        "time": "2026-01-01T00:00:00Z",
        "unix_ms": unix_ms,
        "exit_code": 4,
        "message": message,
    });
    std::fs::write(&file, record.to_string()).unwrap();
}

#[test]
fn the_next_success_clears_a_failure_and_status_shows_only_newer_ones() {
    let world = World::new();
    let failed = world.run(&["token"]);
    expect_exit(&failed, 3, "token with no session and no terminal");
    assert!(world.last_error_file().exists());
    assert!(
        last_failure_line(&world).contains("(exit 3) error: not signed in"),
        "{}",
        status(&world)
    );

    // A sign-in is a success: the record goes.
    world.login();
    assert!(!world.last_error_file().exists(), "cleared by the sign-in");
    assert!(last_failure_line(&world).contains("none recorded"));

    // A failure older than the last issued token is old news, even if its file is left.
    write_record(&world, unix_ms() - 60_000, "error: an old failure");
    assert!(
        last_failure_line(&world).contains("none recorded"),
        "{}",
        status(&world)
    );

    // The cached fast path never touches the record (no syscall spent on it) …
    write_record(&world, unix_ms(), "error: a newer failure");
    printed_token(&world.run(&["token"]));
    assert!(world.last_error_file().exists(), "the fast path leaves it");
    assert!(
        last_failure_line(&world).contains("a newer failure"),
        "{}",
        status(&world)
    );
    // … and the next refresh, a success from the IdP, deletes it.
    printed_token(&world.run(&["token", "--force-refresh"]));
    assert!(!world.last_error_file().exists(), "cleared by the refresh");
    assert!(last_failure_line(&world).contains("none recorded"));
}

#[test]
fn each_session_has_its_own_record() {
    let world = World::new();
    let failed = world.run(&["token"]);
    expect_exit(&failed, 3, "token with no session");
    let first = world.last_error_file();
    assert!(first.exists());
    // Another gateway is another session: its status shows no failure of the first.
    world.configure(&["--audience", "https://another-gateway.example"]);
    assert_ne!(world.last_error_file(), first);
    assert!(
        last_failure_line(&world).contains("none recorded"),
        "{}",
        status(&world)
    );
}
