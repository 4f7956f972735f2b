//! Socket activation as a service manager does it: the listening socket is the proxy's
//! descriptor 3, `LISTEN_FDS=1`, and `LISTEN_PID` the pid of the process that serves it —
//! here a shell wrapper that moves the socket (handed to it as its stdin) to descriptor 3,
//! sets `LISTEN_PID=$$` and execs the proxy, which keeps the shell's pid.

use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::Stdio;

use llmauth_tests::sandbox::through_shell;

use super::http::{Req, echo};
use super::rig::{Rig, RunningProxy};

/// Starts `llmauth proxy start --port <port>` with `listener` as descriptor 3 and
/// `LISTEN_PID` set by `pid` (shell syntax: `$$` is the proxy's own pid).
fn start_with_socket(rig: &Rig, listener: TcpListener, port: &str, pid: &str) -> RunningProxy {
    let command = rig
        .sandbox
        .command(&["proxy", "start", "--port", port, "--skip-browser"]);
    let mut shell = through_shell(
        &command,
        &format!("exec 3<&0 0</dev/null; LISTEN_PID={pid} LISTEN_FDS=1 exec \"$0\" \"$@\""),
    );
    shell.stdin(Stdio::from(OwnedFd::from(listener)));
    RunningProxy::start(shell)
}

#[test]
fn an_inherited_listening_socket_is_served() {
    let rig = Rig::new();
    let key = rig.key();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let inherited = listener.local_addr().unwrap().port();
    // The port it would bind by itself stays free: it serves the socket it was given.
    let own = super::rig::free_port();
    let proxy = start_with_socket(&rig, listener, &own.to_string(), "$$");
    assert_eq!(proxy.port, inherited, "{}", proxy.stderr());
    let response = echo(inherited, &key);
    assert_eq!(response.status, 200, "{}", response.text());
    let seen = rig.gateway.last_request().expect("the gateway saw it");
    assert_eq!(seen.bearer_token(), Some(rig.last_token().as_str()));
    assert!(
        TcpStream::connect(("127.0.0.1", own)).is_err(),
        "the proxy also bound port {own} by itself"
    );
}

#[test]
fn a_socket_meant_for_another_process_is_not_taken() {
    let rig = Rig::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let inherited = listener.local_addr().unwrap().port();
    // LISTEN_PID names the shell's parent (the test), not the proxy.
    let proxy = start_with_socket(&rig, listener, "0", "$PPID");
    assert_ne!(proxy.port, inherited, "{}", proxy.stderr());
    let health = Req::get("/.llmauth/health").send(proxy.port);
    assert_eq!(health.status, 200);
}

#[test]
fn an_inherited_socket_that_is_not_loopback_is_refused() {
    let rig = Rig::new();
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let command = rig
        .sandbox
        .command(&["proxy", "start", "--port", "0", "--skip-browser"]);
    let mut shell = through_shell(
        &command,
        "exec 3<&0 0</dev/null; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"",
    );
    shell.stdin(Stdio::from(OwnedFd::from(listener)));
    let finished =
        llmauth_tests::sandbox::wait(shell.spawn().unwrap(), std::time::Duration::from_secs(30));
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("is not on a loopback address"),
        "{}",
        finished.stderr
    );
}
