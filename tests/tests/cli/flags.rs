//! Flags are taken as the user meant them, and refused the way the config refuses the
//! same value (issue 9.11).

use std::time::Duration;

use llmauth_tests::idp::IdpOptions;
use llmauth_tests::sandbox::wait;

use super::common::{World, expect_exit};

#[test]
fn a_relative_ca_file_is_made_absolute() {
    let world = World::unconfigured(IdpOptions::default());
    let root = world.sandbox.root().to_path_buf();
    std::fs::copy(&world.ca_file, root.join("corp-ca.pem")).expect("copy the CA file");
    let mut command = world.sandbox.command(&[
        "config",
        "set",
        "--gateway-url",
        "https://gw.example",
        "--ca-file",
        "corp-ca.pem",
    ]);
    command.current_dir(&root);
    let finished = wait(
        command.spawn().expect("start llmauth"),
        Duration::from_secs(60),
    );
    expect_exit(&finished, 0, "config set --ca-file with a relative path");
    let config = std::fs::read_to_string(world.sandbox.config_file()).expect("config");
    let absolute = root.join("corp-ca.pem");
    assert!(
        config.contains(&format!("ca_file: {}", absolute.display())),
        "{config}"
    );
}

#[test]
fn proxy_start_refuses_a_port_config_set_refuses() {
    let world = World::new();
    let set = world.run(&["config", "set", "--proxy-port", "1023"]);
    expect_exit(&set, 2, "config set --proxy-port 1023");
    let start = world.run(&["proxy", "start", "--port", "1023"]);
    expect_exit(&start, 2, "proxy start --port 1023");
    assert_eq!(start.stdout, "", "nothing listens");
    assert!(
        start
            .stderr
            .contains("--port: must be 0 (any free port) or between 1024 and 65535, not 1023"),
        "{}",
        start.stderr
    );
}

#[test]
fn file_only_settings_have_flags_too() {
    let world = World::new();
    let set = world.run(&[
        "config",
        "set",
        "--refresh-window",
        "5m",
        "--require-local-key=false",
    ]);
    expect_exit(
        &set,
        0,
        "config set --refresh-window --require-local-key=false",
    );
    assert!(
        set.stderr
            .contains("warning: the proxy will accept requests without the local key"),
        "{}",
        set.stderr
    );
    let config = std::fs::read_to_string(world.sandbox.config_file()).expect("config");
    assert!(config.contains("refresh_window: 5m"), "{config}");
    assert!(config.contains("require_local_key: false"), "{config}");

    let back = world.run(&[
        "config",
        "set",
        "--require-local-key",
        "--refresh-window",
        "",
    ]);
    expect_exit(
        &back,
        0,
        "config set --require-local-key --refresh-window ''",
    );
    let config = std::fs::read_to_string(world.sandbox.config_file()).expect("config");
    assert!(config.contains("require_local_key: true"), "{config}");
    assert!(!config.contains("refresh_window"), "{config}");

    let wrong = world.run(&["config", "set", "--refresh-window", "soon"]);
    expect_exit(&wrong, 2, "config set --refresh-window soon");
    assert!(
        wrong.stderr.contains("llm.oidc.refresh_window"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn the_version_is_one_line_however_it_is_asked_for() {
    let world = World::new();
    for args in [&["--version"][..], &["-V"], &["--version", "--verbose"]] {
        let finished = world.run(args);
        expect_exit(&finished, 0, &args.join(" "));
        assert_eq!(
            finished.stdout,
            format!("llmauth {}\n", env!("CARGO_PKG_VERSION")),
            "{args:?}"
        );
        assert_eq!(finished.stderr, "", "{args:?}");
    }
}
