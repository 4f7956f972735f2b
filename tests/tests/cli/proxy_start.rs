//! `llmauth proxy start` refuses what it cannot serve before it says it is listening: a
//! supervisor or script that waits for the "listening" line never sees it from a proxy
//! that is about to exit.

use std::time::Duration;

use llmauth_tests::sandbox::{Finished, through_shell, wait};

use super::common::{World, expect_exit};

/// `llmauth proxy start --port 0`, with `env` set, run through `sh -c <script>`, which
/// ends with `exec "$0" "$@"`.
fn start(world: &World, env: &[(&str, &str)], script: &str) -> Finished {
    let llmauth = world
        .sandbox
        .command(&["proxy", "start", "--port", "0", "--skip-browser"]);
    let mut shell = through_shell(&llmauth, script);
    shell.envs(env.iter().copied());
    wait(shell.spawn().expect("start sh"), Duration::from_secs(60))
}

const PLAIN: &str = "exec \"$0\" \"$@\"";

/// The proxy ended with `code` before it said it was listening, and said each of `said`.
#[track_caller]
fn refused(started: &Finished, code: i32, what: &str, said: &[&str]) {
    expect_exit(started, code, what);
    assert_eq!(started.stdout, "", "{what}: nothing listens");
    for text in said {
        assert!(started.stderr.contains(text), "{what}: {}", started.stderr);
    }
}

#[test]
fn a_worker_count_it_cannot_use_is_refused() {
    let world = World::new();

    let started = start(&world, &[("LLMAUTH_PROXY_THREADS", "0")], PLAIN);

    refused(
        &started,
        2,
        "LLMAUTH_PROXY_THREADS=0",
        &["error: LLMAUTH_PROXY_THREADS is \"0\": set a whole number from 1 to 64, or unset it"],
    );
}

#[test]
fn an_unusable_ca_file_is_refused_before_listening() {
    let world = World::new();
    std::fs::write(&world.ca_file, "not a certificate\n").expect("spoil the CA file");

    let started = start(&world, &[], PLAIN);

    refused(&started, 2, "a spoiled CA file", &["error: tls.ca_file:"]);
}

#[test]
fn too_few_descriptors_for_the_workers_is_transient_and_named() {
    let world = World::new();

    // Eight workers need more descriptors than 16, and the hard limit keeps the proxy
    // from raising it.
    let started = start(
        &world,
        &[("LLMAUTH_PROXY_THREADS", "8")],
        "ulimit -n 16 && exec \"$0\" \"$@\"",
    );

    refused(
        &started,
        4,
        "`ulimit -n 16`",
        &[
            "error: cannot start the proxy's workers: Too many open files",
            "raise the limits",
        ],
    );
}
