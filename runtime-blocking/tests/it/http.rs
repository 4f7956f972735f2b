//! The HTTP client against plain-HTTP loopback servers started here.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use llmauth_blocking::{BlockingIo, IoOptions, now};
use llmauth_core::http::{HttpRequest, HttpResponse, Method, TransportError, TransportErrorKind};
use llmauth_core::intent::{Intent, IntentResult};
use llmauth_core::secret::SecretBytes;

use crate::support::{quiet_io, temp_paths};

/// What the test server does after reading the request.
enum Answer {
    /// Write these bytes and close.
    Bytes(Vec<u8>),
    /// Keep the connection open without answering for this long.
    Silence(Duration),
    /// Close the connection without answering.
    Hangup,
}

/// Accepts one connection, reads one request (head and `Content-Length` body), answers,
/// and returns the raw request.
fn serve_once(answer: Answer) -> (u16, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "client closed early");
            request.extend_from_slice(&buf[..n]);
            if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while request.len() < head_end + length {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "client closed early");
            request.extend_from_slice(&buf[..n]);
        }
        match answer {
            Answer::Bytes(bytes) => {
                stream.write_all(&bytes).unwrap();
            }
            Answer::Silence(how_long) => std::thread::sleep(how_long),
            Answer::Hangup => drop(stream),
        }
        request
    });
    (port, handle)
}

fn response(status_line: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut bytes = format!(
        "HTTP/1.1 {status_line}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for header in headers {
        bytes.push_str(header);
        bytes.push_str("\r\n");
    }
    bytes.push_str("Connection: close\r\n\r\n");
    let mut bytes = bytes.into_bytes();
    bytes.extend_from_slice(body);
    Answer::Bytes(bytes)
}

fn request(method: Method, url: String, body: Option<&str>, within: Duration) -> HttpRequest {
    let mut headers = vec![("accept", "application/json".to_owned())];
    if body.is_some() {
        headers.push((
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ));
    }
    HttpRequest {
        method,
        url,
        headers,
        body: body.map(|b| SecretBytes::new(b.as_bytes().to_vec())),
        connect_timeout: Duration::from_secs(2),
        deadline: now().saturating_add(within),
        max_body: 1024 * 1024,
    }
}

fn send(io: &mut BlockingIo, request: HttpRequest) -> Result<HttpResponse, TransportError> {
    match io.perform(&Intent::Http(request)) {
        IntentResult::Http(result) => result,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn status_and_body_pass_through_and_the_request_is_sent_as_given() {
    let body = br#"{"error":"invalid_grant","error_description":"expired"}"#;
    let (port, server) = serve_once(response(
        "400 Bad Request",
        &["Content-Type: application/json;charset=UTF-8"],
        body,
    ));
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let form = "grant_type=refresh_token&refresh_token=CANARY-rt&client_id=c";
    let answer = send(
        &mut io,
        request(
            Method::Post,
            format!("http://127.0.0.1:{port}/token?x=1"),
            Some(form),
            Duration::from_secs(5),
        ),
    )
    .unwrap();
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(answer.body.expose_secret(), body);

    let raw = String::from_utf8(server.join().unwrap()).unwrap();
    let (head, sent_body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("POST /token?x=1 HTTP/1.1\r\n"), "{head}");
    let head_lower = head.to_ascii_lowercase();
    assert!(
        head_lower.contains("\r\naccept: application/json"),
        "{head}"
    );
    assert!(
        head_lower.contains("\r\ncontent-type: application/x-www-form-urlencoded"),
        "{head}"
    );
    assert!(
        head_lower.contains(&format!("\r\ncontent-length: {}", form.len())),
        "{head}"
    );
    assert!(head_lower.contains("\r\nuser-agent: llmauth/"), "{head}");
    assert_eq!(sent_body, form);
}

#[test]
fn a_get_sends_no_body() {
    let (port, server) = serve_once(response(
        "200 OK",
        &["Content-Type: application/json"],
        b"{}",
    ));
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let answer = send(
        &mut io,
        request(
            Method::Get,
            format!("http://127.0.0.1:{port}/.well-known/openid-configuration"),
            None,
            Duration::from_secs(5),
        ),
    )
    .unwrap();
    assert_eq!(
        (answer.status, answer.body.expose_secret()),
        (200, &b"{}"[..])
    );
    let raw = String::from_utf8(server.join().unwrap()).unwrap();
    assert!(
        raw.starts_with("GET /.well-known/openid-configuration HTTP/1.1\r\n"),
        "{raw}"
    );
    assert!(raw.ends_with("\r\n\r\n"), "{raw}");
    assert!(
        !raw.to_ascii_lowercase().contains("content-length"),
        "{raw}"
    );
}

#[test]
fn redirects_are_returned_not_followed() {
    // The redirect target would answer 200 if it were ever asked.
    let (other_port, other) = serve_once(response("200 OK", &[], b"followed"));
    let (port, server) = serve_once(response(
        "302 Found",
        &[&format!(
            "Location: http://127.0.0.1:{other_port}/elsewhere"
        )],
        b"",
    ));
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let answer = send(
        &mut io,
        request(
            Method::Post,
            format!("http://127.0.0.1:{port}/token"),
            Some("a=b"),
            Duration::from_secs(5),
        ),
    )
    .unwrap();
    assert_eq!(answer.status, 302);
    assert!(answer.body.is_empty());
    server.join().unwrap();
    assert!(!other.is_finished(), "the redirect was followed");
}

#[test]
fn a_body_over_the_limit_is_too_large() {
    let (port, server) = serve_once(response("200 OK", &[], &[b'x'; 2000]));
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let mut req = request(
        Method::Get,
        format!("http://127.0.0.1:{port}/big"),
        None,
        Duration::from_secs(5),
    );
    req.max_body = 1000;
    let err = send(&mut io, req).unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::TooLarge, "{err}");
    assert!(err.request_sent);
    server.join().unwrap();

    // Exactly at the limit is fine.
    let (port, server) = serve_once(response("200 OK", &[], &[b'x'; 1000]));
    let mut req = request(
        Method::Get,
        format!("http://127.0.0.1:{port}/big"),
        None,
        Duration::from_secs(5),
    );
    req.max_body = 1000;
    assert_eq!(send(&mut io, req).unwrap().body.len(), 1000);
    server.join().unwrap();
}

#[test]
fn a_server_that_never_answers_times_out_after_sending() {
    let (port, server) = serve_once(Answer::Silence(Duration::from_secs(3)));
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let start = Instant::now();
    let err = send(
        &mut io,
        request(
            Method::Post,
            format!("http://127.0.0.1:{port}/token"),
            Some("grant_type=refresh_token&refresh_token=CANARY-rt"),
            Duration::from_millis(500),
        ),
    )
    .unwrap_err();
    let waited = start.elapsed();
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(err.request_sent, "{err:?}");
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert!(
        !err.detail.contains("CANARY") && !err.detail.contains("token"),
        "{}",
        err.detail
    );
    server.join().unwrap();
}

#[test]
fn a_server_that_accepts_but_never_answers_tls_is_waited_for_not_connected_to() {
    // TCP is accepted (the kernel's backlog); the TLS handshake never gets an answer.
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let err = send(
        &mut io,
        request(
            Method::Get,
            format!("https://127.0.0.1:{port}/.well-known/openid-configuration"),
            None,
            Duration::from_millis(500),
        ),
    )
    .unwrap_err();
    drop(listener);
    assert_eq!(err.kind, TransportErrorKind::Timeout, "{err}");
    assert!(!err.request_sent, "the handshake never finished: {err:?}");
    assert_eq!(err.to_string(), "timed out waiting for the IdP to answer");
}

#[test]
fn a_refused_connection_was_not_sent() {
    let port = {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
        listener.local_addr().unwrap().port()
    };
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let err = send(
        &mut io,
        request(
            Method::Post,
            format!("http://127.0.0.1:{port}/token?secret=q"),
            Some("a=b"),
            Duration::from_secs(5),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Connect, "{err}");
    assert!(!err.request_sent);
    assert!(!err.detail.contains("secret=q"), "{}", err.detail);
}

#[test]
fn a_passed_deadline_sends_nothing() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let mut req = request(
        Method::Get,
        "http://127.0.0.1:9/".to_owned(),
        None,
        Duration::ZERO,
    );
    req.deadline = llmauth_core::time::UnixTime::EPOCH;
    let err = send(&mut io, req).unwrap_err();
    assert_eq!(
        (err.kind, err.request_sent),
        (TransportErrorKind::Timeout, false)
    );
}

#[test]
fn an_unusable_ca_file_is_a_tls_error_before_sending() {
    let (dir, paths) = temp_paths();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let mut io = BlockingIo::new(
        paths,
        IoOptions {
            ca_file: Some(ca_file.clone()),
        },
    )
    .with_notice_sink(|_| {});
    let err = send(
        &mut io,
        request(
            Method::Get,
            "https://127.0.0.1:9/".to_owned(),
            None,
            Duration::from_secs(2),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Tls, "{err}");
    assert!(!err.request_sent);
    assert!(
        err.detail.contains(&ca_file.display().to_string()),
        "{}",
        err.detail
    );
}

#[test]
fn an_unknown_host_is_a_name_resolution_failure_before_sending() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    // `.invalid` never resolves (RFC 6761 §6.4).
    let err = send(
        &mut io,
        request(
            Method::Get,
            "http://llmauth-test.invalid/x?secret=q".to_owned(),
            None,
            Duration::from_secs(3),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Dns, "{err}");
    assert!(!err.request_sent);
    assert!(!err.detail.contains("secret=q"), "{}", err.detail);
}

#[test]
fn a_connection_closed_after_the_request_counts_as_sent() {
    let (port, server) = serve_once(Answer::Hangup);
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let err = send(
        &mut io,
        request(
            Method::Post,
            format!("http://127.0.0.1:{port}/token"),
            Some("a=b"),
            Duration::from_secs(5),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind, TransportErrorKind::Io, "{err}");
    assert!(err.request_sent, "{err:?}");
    server.join().unwrap();
}
