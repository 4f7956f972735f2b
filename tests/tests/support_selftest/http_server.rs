//! The HTTP server under the test servers: keep-alive, chunked bodies, limits, bad input.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use llmauth_tests::http_server::{HttpServer, Request, Response, ServerOptions};

/// A plain-HTTP server answering each request with a summary of what it parsed; `/panic`
/// panics, `/stream` streams three chunks.
fn summary_server() -> HttpServer {
    HttpServer::start(ServerOptions::default(), |_| {
        Arc::new(|request: &Request| match request.path.as_str() {
            "/panic" => panic!("handler bug"),
            "/stream" => Response::stream(200, |out| {
                for part in ["one,", "two,", "three"] {
                    out.send(part.as_bytes())?;
                }
                Ok(())
            }),
            _ => Response::text(
                200,
                &format!(
                    "{} {} q={} body={} chunked={} x={}",
                    request.method,
                    request.path,
                    request.query,
                    String::from_utf8_lossy(&request.body),
                    request.chunked,
                    request.header("X-Test").unwrap_or("-"),
                ),
            ),
        })
    })
    .unwrap()
}

/// Sends raw bytes and reads until the server closes or `timeout` passes.
fn raw(server: &HttpServer, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn keep_alive_pipelining_and_chunked_requests() {
    let server = summary_server();
    let answer = raw(
        &server,
        b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Test: yes\r\n\r\n\
          POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
          POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n\
          GET /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert!(
        answer.contains("GET /a q=x=1 body= chunked=false x=yes"),
        "{answer}"
    );
    assert!(
        answer.contains("POST /b q= body=hello chunked=false"),
        "{answer}"
    );
    assert!(
        answer.contains("POST /c q= body=abcde chunked=true"),
        "{answer}"
    );
    assert!(
        answer.contains("transfer-encoding: chunked\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"),
        "{answer}"
    );
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 4);
    assert_eq!(server.accepted_connections(), 1);
}

#[test]
fn bad_input_gets_4xx_and_a_handler_panic_gets_500() {
    let server = summary_server();
    assert!(raw(&server, b"NOT HTTP AT ALL\r\n\r\n").starts_with("HTTP/1.1 400"));
    let mut huge = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 70 * 1024));
    huge.extend_from_slice(b"\r\n\r\n");
    let answer = raw(&server, &huge);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..200 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(raw(&server, &many).starts_with("HTTP/1.1 431"));
    assert!(
        raw(&server, b"POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
            .starts_with("HTTP/1.1 400")
    );
    assert!(
        raw(
            &server,
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"
        )
        .starts_with("HTTP/1.1 400")
    );
    assert!(
        raw(
            &server,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        .starts_with("HTTP/1.1 400")
    );
    assert!(
        raw(
            &server,
            b"POST / HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n"
        )
        .starts_with("HTTP/1.1 413")
    );
    assert!(raw(&server, b"GET /panic HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 500"));
    // The server survived all of that.
    assert!(raw(&server, b"GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n").contains("GET /ok"));
    // A client that sends half a request and hangs up does not hurt either.
    drop(
        TcpStream::connect(server.addr())
            .unwrap()
            .write_all(b"GET / HT"),
    );
    assert!(raw(&server, b"GET /ok2 HTTP/1.1\r\nConnection: close\r\n\r\n").contains("GET /ok2"));
}

#[test]
fn expect_continue_head_and_http10() {
    let server = summary_server();
    let answer = raw(
        &server,
        b"POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    );
    assert!(
        answer.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"),
        "{answer}"
    );
    assert!(answer.ends_with("body=ok chunked=false x=-"), "{answer}");
    let head = raw(&server, b"HEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(head.ends_with("\r\n\r\n"), "no body after a HEAD: {head}");
    let old = raw(&server, b"GET /stream HTTP/1.0\r\n\r\n");
    assert!(old.contains("connection: close"));
    assert!(old.ends_with("\r\n\r\none,two,three"), "{old}");
}

#[test]
fn drop_stops_the_server_and_cuts_connections() {
    let server = summary_server();
    let addr = server.addr();
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /x HTTP/1.1\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(server.active_connections(), 1);
    drop(server);
    assert!(TcpStream::connect(addr).is_err());
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest); // returns (EOF or reset) instead of hanging
}
