//! Broken files: a config that does not parse or has a typo, and an unreadable session
//! record. Each is reported precisely and left exactly as it was.

use super::common::{World, expect_exit};

/// Runs commands that read the config against `text` and checks each fails with exit 2
/// naming the file, `line_mark` and every one of `needles`, leaving the file untouched.
fn assert_config_error(text: &str, line_mark: &str, needles: &[&str]) {
    let world = World::new();
    let path = world.sandbox.config_file();
    std::fs::write(&path, text).expect("write the config");
    let commands: [&[&str]; 4] = [
        &["token"],
        &["status"],
        &["login"],
        &["config", "set", "--client-id", "another-client"],
    ];
    for args in commands {
        let finished = world.run(args);
        expect_exit(&finished, 2, &args.join(" "));
        assert_eq!(finished.stdout, "", "{args:?}");
        let stderr = &finished.stderr;
        assert!(
            stderr.contains(&path.display().to_string()),
            "{args:?}: stderr names the file {}: {stderr}",
            path.display()
        );
        assert!(
            stderr.contains(line_mark),
            "{args:?}: stderr names the line ({line_mark}): {stderr}"
        );
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{args:?}: stderr names {needle}: {stderr}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&path).expect("config still there"),
            text,
            "{args:?} must leave the file unchanged"
        );
    }
    world.assert_browser_visits(0, "no browser");
}

#[test]
fn an_unparsable_config_is_exit_2_naming_the_file_and_line() {
    // Line 5 is indented one space too far.
    let text = "llm:\n  gateway_url: https://gw.example\n  oidc:\n    issuer: https://auth.example\n     client_id: x\n";
    assert_config_error(text, ":5:", &[]);
}

#[test]
fn an_unknown_config_key_is_exit_2_naming_the_key_and_line() {
    let text = "llm:\n  gateway_url: https://gw.example\n  oidc:\n    isuer: https://auth.example\n    client_id: x\n";
    assert_config_error(text, ":4:", &["llm.oidc.isuer"]);
}

#[test]
fn a_corrupt_session_record_is_exit_3_and_left_untouched() {
    let world = World::new();
    world.login();
    let file = world.session_file();
    let garbage = b"{\"version\":1,\"refresh\":{\"refresh_tok\x00\xff garbage";
    std::fs::write(&file, garbage).expect("corrupt the session file");
    let sessions = file.parent().expect("sessions directory").to_owned();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&sessions)
            .expect("sessions directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing();

    for args in [&["token"][..], &["token", "--non-interactive"][..]] {
        let finished = world.run(args);
        expect_exit(&finished, 3, &args.join(" "));
        assert_eq!(finished.stdout, "");
        assert!(
            finished.stderr.contains("unreadable"),
            "the reason is given: {}",
            finished.stderr
        );
        assert_eq!(
            std::fs::read(&file).expect("session file still there"),
            garbage,
            "{args:?} must not touch the record"
        );
        assert_eq!(listing(), before, "no .corrupt- copy non-interactively");
    }
    let status = world.run(&["status"]);
    expect_exit(&status, 3, "status with a corrupt session");
    assert_eq!(std::fs::read(&file).expect("session file"), garbage);
    world.assert_browser_visits(1, "only the login's");
}

/// Each thing said once (issue 9.10): no "config.yaml:2: line 2:", no "invalid
/// configuration in …: invalid configuration:", no "not configured (…): not configured".
#[test]
fn config_errors_say_each_thing_once() {
    let world = World::new();
    let path = world.sandbox.config_file();
    let file = path.display().to_string();
    let once = |stderr: &str, phrase: &str| {
        assert_eq!(
            stderr.matches(phrase).count(),
            1,
            "{phrase:?} once: {stderr}"
        );
    };

    let typo = "llm:\n  gateway_url: https://gw.example\n  oidc:\n    isuer: https://auth.example\n    client_id: x\n";
    std::fs::write(&path, typo).expect("write the config");
    let unknown = world.run(&["token"]);
    expect_exit(&unknown, 2, "token with a misspelt key");
    assert_eq!(
        unknown.stderr,
        format!(
            "error: {file}:4: unknown key `llm.oidc.isuer` (did you mean `llm.oidc.issuer`?) — fix the file, or run `llmauth config set`\n"
        )
    );

    let misplaced = "llm:\n  gateway_url: https://gw.example\n  require_local_key: false\n";
    std::fs::write(&path, misplaced).expect("write the config");
    let moved = world.run(&["status"]);
    expect_exit(&moved, 2, "status with a key in the wrong section");
    assert!(
        moved
            .stderr
            .contains("(did you mean `llm.proxy.require_local_key`?)"),
        "{}",
        moved.stderr
    );

    let unparsable = "llm:\n  gateway_url: https://gw.example\n  oidc:\n    issuer: https://auth.example\n     client_id: x\n";
    std::fs::write(&path, unparsable).expect("write the config");
    let parse = world.run(&["token"]);
    expect_exit(&parse, 2, "token with an unparsable config");
    assert!(
        parse.stderr.starts_with(&format!("error: {file}:5:")),
        "{}",
        parse.stderr
    );
    assert!(!parse.stderr.contains("line 5"), "{}", parse.stderr);

    let invalid = "llm:\n  gateway_url: http://gw.example\n  oidc:\n    issuer: https://auth.example\n    client_id: x\n";
    std::fs::write(&path, invalid).expect("write the config");
    let wrong = world.run(&["token"]);
    expect_exit(&wrong, 2, "token with an invalid config");
    once(&wrong.stderr, "invalid configuration");
    assert!(wrong.stderr.contains(&file), "{}", wrong.stderr);

    std::fs::remove_file(&path).expect("remove the config");
    for args in [&["token"][..], &["setup", "--lazy"][..]] {
        let unconfigured = world.run(args);
        expect_exit(&unconfigured, 2, &args.join(" "));
        once(&unconfigured.stderr, "not configured");
        assert!(
            unconfigured.stderr.contains(&file),
            "{}",
            unconfigured.stderr
        );
    }
}

/// A config file is a few hundred bytes: one over 1 MiB is refused unread, in one line,
/// and nothing in any file is echoed at length (issue 9.7).
#[test]
fn a_huge_config_is_refused_in_one_short_line() {
    let world = World::new();
    let last_error = world.last_error_file();
    let path = world.sandbox.config_file();
    let huge = format!("llm:\n  {}: 1\n", "k".repeat(2 * 1024 * 1024));
    std::fs::write(&path, &huge).expect("write the config");

    let finished = world.run(&["token"]);

    expect_exit(&finished, 2, "token with a 2 MiB config");
    assert_eq!(finished.stderr.lines().count(), 1, "{}", finished.stderr);
    assert!(
        finished.stderr.len() < 500,
        "{} bytes",
        finished.stderr.len()
    );
    assert!(
        finished
            .stderr
            .contains(&format!("{} is larger than 1 MiB", path.display())),
        "{}",
        finished.stderr
    );
    assert_eq!(std::fs::read_to_string(&path).expect("config"), huge);

    // Under the limit, a long key is quoted as an excerpt only. (A config that cannot be
    // read names no session, so no helper record is left for it: `status` reports it.)
    let long = format!("llm:\n  {}: 1\n", "k".repeat(100_000));
    std::fs::write(&path, long).expect("write the config");
    let finished = world.run(&["token", "--non-interactive"]);
    expect_exit(&finished, 2, "token with a long unknown key");
    assert!(
        finished.stderr.len() < 1000,
        "{} bytes",
        finished.stderr.len()
    );
    assert!(!last_error.exists());
}
