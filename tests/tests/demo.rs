//! The demo (`cargo run -p llmauth-tests --bin demo`, the README's first command) runs
//! every step successfully, shows each command line, cleans up after itself, and never
//! prints a whole token.

use std::process::{Command, Stdio};
use std::time::Duration;

use llmauth_tests::sandbox::wait;

/// The demo takes a few seconds; this is the failure line, not the expectation.
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn demo_runs_every_step_and_cleans_up() {
    let child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env_remove("LLMAUTH_DEMO_ROLE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the demo");
    let finished = wait(child, LIMIT);
    let out = &finished.stdout;
    assert_eq!(
        finished.code, 0,
        "the demo failed\n--- stdout ---\n{out}\n--- stderr ---\n{}",
        finished.stderr
    );
    assert!(finished.stderr.is_empty(), "stderr: {}", finished.stderr);

    let expected = [
        "\n1. Start a test OpenID Provider and an LLM gateway\n",
        "  OpenID Provider: https://127.0.0.1:",
        "  LLM gateway:     https://127.0.0.1:",
        "\n2. Configure llmauth\n",
        "  $ llmauth config set --gateway-url https://127.0.0.1:",
        "\n3. Sign in",
        "  $ llmauth login\n",
        "Signed in as test-user",
        "The scripted browser followed",
        "reached llmauth's callback http://localhost:",
        "\n4. Get an access token",
        "  $ llmauth token\n",
        "Served from llmauth's cache",
        "\n5. Call the gateway with it\n",
        "/v1/messages\n",
        "→ 200 OK, the model says: \"Hello from the test gateway\"",
        "\n6. Let the token reach its refresh margin and ask again\n",
        "(a new token; expires ",
        "The IdP received 1 refresh request (grant_type=refresh_token) and rotated the refresh token.",
        "\n7. Check the status\n",
        "  $ llmauth status\n",
        "refresh token: present",
        "\n8. Run the localhost proxy, for tools that only take a static key\n",
        "  $ llmauth proxy start --port 0 &\n",
        "llmauth proxy listening on http://127.0.0.1:",
        "→ 200 OK, the model says: \"Hello from the test gateway\"",
        "(a fresh OIDC token) and never the local key.",
        "\n9. Sign out, revoking the session at the IdP\n",
        "  $ llmauth logout --revoke\n",
        "The IdP received the revocation request.",
        "  $ llmauth token --non-interactive\n",
        "→ exit 3\n",
        "Demo complete",
    ];
    let mut from = 0;
    for text in expected {
        match out[from..].find(text) {
            Some(at) => from += at + text.len(),
            None => panic!("missing or out of order: {text:?}\n--- stdout ---\n{out}"),
        }
    }

    // The sandbox it announced is gone.
    let sandbox = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("sandbox:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the sandbox line");
    assert!(
        !std::path::Path::new(sandbox).exists(),
        "{sandbox} was not removed"
    );

    // Tokens are shown abbreviated: no JWT (three dot-separated parts) in full.
    let whole_jwt = out.split_whitespace().find(|word| {
        let parts: Vec<&str> = word.split('.').collect();
        parts.len() == 3 && parts.iter().all(|p| p.len() > 8)
    });
    assert_eq!(whole_jwt, None, "the demo printed a whole token");
    assert!(
        finished.elapsed < Duration::from_secs(30),
        "the demo took {:?}",
        finished.elapsed
    );
}
