//! The loopback redirect listener with real HTTP clients.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use llmauth_blocking::{BlockingIo, now};
use llmauth_core::intent::{CallbackEvent, Intent, IntentResult};

use crate::support::{quiet_io, temp_paths};

fn bind(io: &mut BlockingIo, port: u16) -> Result<u16, llmauth_core::intent::BindError> {
    match io.perform(&Intent::BindCallback { port }) {
        IntentResult::Bound(result) => result,
        other => panic!("unexpected {other:?}"),
    }
}

fn await_event(io: &mut BlockingIo, within: Duration) -> CallbackEvent {
    let deadline = now().saturating_add(within);
    match io.perform(&Intent::AwaitCallback {
        deadline,
        accept_paste: false,
    }) {
        IntentResult::Callback(event) => event,
        other => panic!("unexpected {other:?}"),
    }
}

fn target(event: CallbackEvent) -> String {
    match event {
        CallbackEvent::Request(url) => url.expose_secret().to_owned(),
        other => panic!("expected a request, got {other:?}"),
    }
}

/// Sends a GET from a client thread and returns what the client read back.
fn get(addr: SocketAddr, path: &str) -> std::thread::JoinHandle<String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
    std::thread::spawn(move || {
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        // A refused request may be reset after its answer; what arrived is checked.
        let _ = stream.read_to_string(&mut answer);
        answer
    })
}

#[test]
fn a_request_is_handed_over_and_answered_with_the_page() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let port = bind(&mut io, 0).unwrap();
    assert_ne!(port, 0);

    let client = get(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        "/callback?code=CANARY-code&state=s1",
    );
    let event = await_event(&mut io, Duration::from_secs(5));
    assert!(!format!("{event:?}").contains("CANARY"));
    assert_eq!(target(event), "/callback?code=CANARY-code&state=s1");

    let page = "<!doctype html><title>Signed in</title><p>You can close this tab. é";
    assert!(matches!(
        io.perform(&Intent::RespondCallback {
            status: 200,
            page: page.to_owned()
        }),
        IntentResult::Done
    ));
    let answer = client.join().unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let head_lower = head.to_ascii_lowercase();
    for header in [
        "content-type: text/html; charset=utf-8",
        &format!("content-length: {}", page.len()),
        "connection: close",
        "cache-control: no-store",
        "referrer-policy: no-referrer",
        "content-security-policy: default-src 'none'; style-src 'unsafe-inline'",
    ] {
        assert!(head_lower.contains(header), "missing {header} in {head}");
    }
    assert_eq!(body, page);

    // Answering again without a new request does nothing; closing stops listening.
    io.perform(&Intent::RespondCallback {
        status: 200,
        page: "x".to_owned(),
    });
    assert!(matches!(
        io.perform(&Intent::CloseCallback),
        IntentResult::Done
    ));
    assert!(TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).is_err());
}

#[test]
fn the_ipv6_loopback_listens_on_the_same_port() {
    if TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, 0))).is_err() {
        // This machine has no ::1; the listener tolerates that (checked by binding at all).
        let (_dir, paths) = temp_paths();
        assert!(bind(&mut quiet_io(paths), 0).is_ok());
        return;
    }
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let port = bind(&mut io, 0).unwrap();
    let client = get(
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
        "/callback?via=v6",
    );
    assert_eq!(
        target(await_event(&mut io, Duration::from_secs(5))),
        "/callback?via=v6"
    );
    io.perform(&Intent::RespondCallback {
        status: 400,
        page: "bad".to_owned(),
    });
    assert!(
        client
            .join()
            .unwrap()
            .starts_with("HTTP/1.1 400 Bad Request\r\n")
    );
}

#[test]
fn wrong_paths_are_passed_on_and_the_wait_continues() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let port = bind(&mut io, 0).unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    let favicon = get(addr, "/favicon.ico");
    assert_eq!(
        target(await_event(&mut io, Duration::from_secs(5))),
        "/favicon.ico"
    );
    io.perform(&Intent::RespondCallback {
        status: 404,
        page: "no".to_owned(),
    });
    assert!(
        favicon
            .join()
            .unwrap()
            .starts_with("HTTP/1.1 404 Not Found\r\n")
    );

    let real = get(addr, "/callback?code=c");
    assert_eq!(
        target(await_event(&mut io, Duration::from_secs(5))),
        "/callback?code=c"
    );
    io.perform(&Intent::RespondCallback {
        status: 200,
        page: "ok".to_owned(),
    });
    assert!(real.join().unwrap().ends_with("\r\n\r\nok"));
}

#[test]
fn idle_and_non_get_connections_do_not_block_the_redirect() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let port = bind(&mut io, 0).unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    // A browser pre-connect that never sends anything, and a POST.
    let _idle = TcpStream::connect(addr).unwrap();
    let mut post = TcpStream::connect(addr).unwrap();
    post.write_all(b"POST /callback HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        .unwrap();

    let client = get(addr, "/callback?code=after-idle");
    let start = Instant::now();
    assert_eq!(
        target(await_event(&mut io, Duration::from_secs(5))),
        "/callback?code=after-idle"
    );
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    io.perform(&Intent::RespondCallback {
        status: 200,
        page: "ok".to_owned(),
    });
    client.join().unwrap();

    post.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut answer = String::new();
    post.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
}

#[test]
fn an_oversized_request_head_is_refused() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let port = bind(&mut io, 0).unwrap();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let huge = format!("/callback?x={}", "a".repeat(10_000));
    let client = get(addr, &huge);
    assert!(matches!(
        await_event(&mut io, Duration::from_millis(700)),
        CallbackEvent::TimedOut
    ));
    assert!(client.join().unwrap().starts_with("HTTP/1.1 431"));
}

#[test]
fn a_busy_port_is_reported_as_in_use() {
    let taken = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let port = taken.local_addr().unwrap().port();
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let err = bind(&mut io, port).unwrap_err();
    assert!(err.in_use, "{err:?}");
    assert_eq!(err.port, port);
}

#[test]
fn the_deadline_ends_the_wait() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    bind(&mut io, 0).unwrap();
    let start = Instant::now();
    assert!(matches!(
        await_event(&mut io, Duration::from_millis(250)),
        CallbackEvent::TimedOut
    ));
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(240), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
}

#[test]
fn a_fixed_port_can_be_bound_again_after_close() {
    let (_dir, paths) = temp_paths();
    let mut io = quiet_io(paths);
    let port = bind(&mut io, 0).unwrap();
    io.perform(&Intent::CloseCallback);
    assert_eq!(bind(&mut io, port).unwrap(), port);
}

const PASTE_CHILD: &str = "LLMAUTH_TEST_PASTE_CHILD";

/// A redirect URL typed on standard input is returned as pasted; blank lines are not.
/// Runs in a child process whose standard input the test writes to.
#[test]
fn a_pasted_url_is_accepted_while_listening() {
    if std::env::var_os(PASTE_CHILD).is_some() {
        let (_dir, paths) = temp_paths();
        let mut io = quiet_io(paths);
        bind(&mut io, 0).unwrap();
        let event = match io.perform(&Intent::AwaitCallback {
            deadline: now().saturating_add(Duration::from_secs(20)),
            accept_paste: true,
        }) {
            IntentResult::Callback(event) => event,
            other => panic!("unexpected {other:?}"),
        };
        match event {
            CallbackEvent::Pasted(url) => assert_eq!(
                url.expose_secret(),
                "http://localhost:8666/callback?code=pasted&state=s"
            ),
            other => panic!("expected a pasted URL, got {other:?}"),
        }
        println!("child done");
        return;
    }
    let mut child = crate::support::spawn_self_with(
        "callback::a_pasted_url_is_accepted_while_listening",
        &[(PASTE_CHILD, "1")],
        std::process::Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"\n   \n  http://localhost:8666/callback?code=pasted&state=s  \n")
        .unwrap();
    drop(stdin);
    let (ok, output) = crate::support::finish(child, Duration::from_secs(30));
    assert!(ok, "child failed:\n{output}");
    assert!(output.contains("child done"), "{output}");
}
