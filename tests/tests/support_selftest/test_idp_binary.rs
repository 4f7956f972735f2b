//! The standalone `test-idp` binary used by benchmarks and demos.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn test_idp_binary_prints_its_endpoints_and_exits_when_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-idp"))
        .args(["--token-lifetime", "7", "--ca-dir"])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let ca_file = info["ca_file"].as_str().unwrap();
    let pem = std::fs::read(ca_file).unwrap();
    let roots = llmauth_tests::client::certs_from_pem(&pem);
    assert_eq!(roots.len(), 1);
    let agent = llmauth_tests::client::agent_trusting(&roots);
    let issuer = info["issuer"].as_str().unwrap();
    let discovery: Value = serde_json::from_str(
        &agent
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(discovery["issuer"], issuer);
    let gateway = info["gateway"].as_str().unwrap();
    let unauthorized = agent.get(format!("{gateway}/v1/models")).call().unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(info["client_id"], "llmauth-test");

    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success());

    let bad = Command::new(env!("CARGO_BIN_EXE_test-idp"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
