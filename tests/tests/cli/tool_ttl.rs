//! Helper TTLs that follow the token (SPEC §5): after a lazy setup (which could only
//! assume a 300 s interval), the first token — here a 5-minute one, whose refresh margin
//! is 150 s — rewrites the interval in the tools' files to a third of its lifetime,
//! through setup's transaction (receipts follow, no drift); a TTL someone wrote by hand
//! is left alone, and `status` warns when it outlives the refresh margin.

use serde_json::Value;

use super::common::{World, expect_exit, printed_token};

fn claude_settings(world: &World) -> Value {
    let path = world.sandbox.home().join(".claude/settings.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn codex_config(world: &World) -> String {
    std::fs::read_to_string(world.sandbox.home().join(".codex/config.toml")).unwrap()
}

#[test]
fn the_first_token_of_a_lazy_setup_rewrites_the_ttl_and_status_flags_one_set_by_hand() {
    // The test IdP issues 5-minute tokens.
    let mut world = World::new();
    let bin = world.sandbox.fake_binaries(&["claude", "codex"]);
    world
        .sandbox
        .set_env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .set_env("DISPLAY", ":99");
    for client in ["claude-code", "codex"] {
        let setup = world.run(&["setup", "--lazy", "--client", client]);
        expect_exit(&setup, 0, "setup --lazy");
    }
    assert_eq!(
        claude_settings(&world)["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"],
        "300000",
        "a lazy setup knows no lifetime yet"
    );
    assert!(codex_config(&world).contains("refresh_interval_ms = 300000"));

    // The first token a tool asks for: a browser-only sign-in, then the TTLs follow.
    printed_token(&world.run(&["token"]));
    assert_eq!(
        claude_settings(&world)["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"],
        "100000"
    );
    let codex = codex_config(&world);
    assert!(codex.contains("refresh_interval_ms = 100000"), "{codex}");
    assert!(codex.contains("timeout_ms = 150000"), "{codex}");
    let status = world.run(&["status"]);
    expect_exit(&status, 0, "status");
    assert_eq!(
        status.stdout.matches("— as setup left it").count(),
        2,
        "receipts followed the rewrite: {}",
        status.stdout
    );
    assert!(!status.stdout.contains("warning:"), "{}", status.stdout);

    // A TTL set by hand, longer than the 150 s margin: status says so, and the next
    // refresh leaves it alone.
    let path = world.sandbox.home().join(".claude/settings.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"100000\"", "\"600000\"")).unwrap();
    let status = world.run(&["status"]);
    assert!(
        status.stdout.contains(
            "warning: claude-code: its file lets it cache a token for 600s, longer than the 150s before the current token is refreshed"
        ),
        "{}",
        status.stdout
    );
    assert!(
        !status.stdout.contains("codex: its file lets it cache"),
        "{}",
        status.stdout
    );
    printed_token(&world.run(&["token", "--force-refresh"]));
    assert_eq!(
        claude_settings(&world)["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"],
        "600000",
        "a TTL someone wrote stays theirs"
    );

    // Teardown still restores exactly: the files setup created go.
    let teardown = world.run(&["teardown", "codex"]);
    expect_exit(&teardown, 0, "teardown codex");
    assert!(!world.sandbox.home().join(".codex/config.toml").exists());
}
