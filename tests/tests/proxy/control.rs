//! `proxy status` and `proxy stop` against a proxy started in a terminal (the foreground
//! `proxy start`), and what `stop` refuses to signal.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::http::echo;
use super::rig::{Rig, eventually, free_port};

/// `proxy status --format json`, parsed, with its exit code.
fn status(rig: &Rig) -> (i32, serde_json::Value) {
    let finished = rig.run(&["proxy", "status", "--format", "json"]);
    let json = serde_json::from_str(&finished.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", finished.stdout));
    (finished.code, json)
}

#[test]
fn status_and_stop_against_a_foreground_proxy() {
    let rig = Rig::new();
    let key = rig.key();
    let port = free_port();
    let set = rig.run(&["config", "set", "--proxy-port", &port.to_string()]);
    assert_eq!(set.code, 0, "{}", set.stderr);

    let (code, json) = status(&rig);
    assert_eq!((code, &json["running"]), (4, &serde_json::json!(false)));

    let mut proxy = rig.start_proxy_on(&port.to_string());
    let response = echo(port, &key);
    assert_eq!(response.status, 200);
    let (code, json) = status(&rig);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["pid"], proxy.pid());
    assert_eq!(json["port"], port);
    assert_eq!(json["requests_served"], 1);
    assert_eq!(json["managed_by"], serde_json::Value::Null);
    assert_eq!(json["last_upstream_error"], serde_json::Value::Null);
    assert!(json["token_expires_at"].is_string(), "{json}");
    assert!(json["uptime_secs"].is_u64(), "{json}");
    assert!(
        !json.to_string().contains(&rig.last_token()),
        "the token leaked"
    );
    let text = rig.run(&["proxy", "status"]);
    assert!(
        text.stdout
            .contains(&format!("{} (started by hand)", proxy.pid())),
        "{}",
        text.stdout
    );

    let stop = rig.run(&["proxy", "stop"]);
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert_eq!(
        stop.stdout.trim(),
        format!("Stopped the llmauth proxy (pid {}).", proxy.pid())
    );
    // Gracefully, as on SIGTERM: the proxy says so and exits 0.
    assert_eq!(proxy.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(
        eventually(Duration::from_secs(5), || proxy
            .stderr()
            .contains("llmauth proxy stopped")),
        "{}",
        proxy.stderr()
    );
    assert_eq!(status(&rig).0, 4);
    let again = rig.run(&["proxy", "stop"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("No llmauth proxy is running"),
        "{}",
        again.stdout
    );
}

#[test]
fn an_unreachable_gateway_is_the_last_upstream_error() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    // Make sure the proxy has its token, then take the gateway away.
    assert_eq!(echo(proxy.port, &key).status, 200);
    let set = rig.run(&["config", "set", "--proxy-port", &proxy.port.to_string()]);
    assert_eq!(set.code, 0);
    rig.gateway.down();
    let failed = echo(proxy.port, &key);
    assert_eq!(failed.status, 502, "{}", failed.text());
    let (code, json) = status(&rig);
    assert_eq!(code, 0);
    let message = json["last_upstream_error"]["message"].as_str().unwrap();
    assert!(!message.is_empty(), "{json}");
    assert!(json["last_upstream_error"]["at"].is_string(), "{json}");
}

/// Answers every connection on `listener` with `body` as the health answer, until the
/// returned sender is dropped.
fn fake_health(listener: TcpListener, body: String) -> std::sync::mpsc::Sender<()> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        loop {
            if !matches!(
                stopped.try_recv(),
                Err(std::sync::mpsc::TryRecvError::Empty)
            ) {
                return;
            }
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let mut buf = [0u8; 2048];
                    let _ = stream.read(&mut buf);
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    stop
}

#[test]
fn stop_signals_only_this_users_llmauth_proxy() {
    let rig = Rig::new();
    let port = free_port();
    let set = rig.run(&["config", "set", "--proxy-port", &port.to_string()]);
    assert_eq!(set.code, 0);
    // Something on the port claims to be a proxy whose pid is an innocent process.
    let mut innocent = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let body = format!(
        r#"{{"status":"ok","token_expires_at":null,"pid":{},"port":{port}}}"#,
        innocent.id()
    );
    let _server = fake_health(TcpListener::bind(("127.0.0.1", port)).unwrap(), body);
    let stop = rig.run(&["proxy", "stop"]);
    assert_eq!(stop.code, 1, "{}", stop.stderr);
    assert!(
        stop.stderr.contains("is not an llmauth proxy")
            && stop.stderr.contains("nothing was stopped"),
        "{}",
        stop.stderr
    );
    assert!(
        innocent.try_wait().unwrap().is_none(),
        "the innocent process was signalled"
    );
    let _ = innocent.kill();
    let _ = innocent.wait();
}

#[test]
fn a_systemd_run_proxy_is_stopped_through_systemd() {
    let mut rig = Rig::new();
    let port = free_port();
    let set = rig.run(&["config", "set", "--proxy-port", &port.to_string()]);
    assert_eq!(set.code, 0);
    // A stand-in systemctl that logs its call; the stand-in proxy stops answering once
    // it was called.
    let bin = rig.sandbox.root().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = rig.sandbox.root().join("systemctl.log");
    std::fs::write(
        bin.join("systemctl"),
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        bin.join("systemctl"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    rig.sandbox.set_env("PATH", &bin);
    let body = format!(
        r#"{{"status":"ok","token_expires_at":null,"pid":1,"port":{port},"managed_by":"systemd"}}"#
    );
    let server = fake_health(TcpListener::bind(("127.0.0.1", port)).unwrap(), body);
    let watcher = {
        let log = log.clone();
        std::thread::spawn(move || {
            assert!(eventually(Duration::from_secs(30), || log.exists()));
            drop(server);
        })
    };
    let stop = rig.run(&["proxy", "stop"]);
    watcher.join().unwrap();
    assert_eq!(stop.code, 0, "{}", stop.stderr);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "--user stop llmauth-proxy.socket llmauth-proxy.service\n"
    );
    assert!(stop.stdout.contains("and its socket"), "{}", stop.stdout);
}
