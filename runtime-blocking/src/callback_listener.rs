//! The loopback listener that receives the authorization redirect (SPEC §6, RFC 8252 §7.3).
//!
//! It listens on `127.0.0.1` and `::1` on the same port (browsers may resolve
//! `localhost` to either), hands every GET request's target to core — core decides which
//! one is the redirect — and answers the last one with the page core gives. Connections
//! that never send a request (browser pre-connects) are read without blocking the others
//! and dropped after a while. Optionally a URL pasted on the terminal is accepted too.

use std::io::{self, BufRead as _, ErrorKind, Read as _, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use llmauth_core::intent::{BindError, CallbackEvent};
use llmauth_core::secret::SecretUrl;
use llmauth_core::time::UnixTime;

use crate::clock;

/// Largest request head read (request line and headers).
const MAX_HEAD: usize = 8 * 1024;
/// How long a connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long writing the answer page may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the rest of a refused request is drained before closing.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(50);
/// How much of a refused request is drained at most.
const MAX_DRAIN: usize = 64 * 1024;
/// Polling interval while nothing happens.
const POLL: Duration = Duration::from_millis(10);
/// Attempts at finding a port free on both loopback addresses when any port will do.
const ANY_PORT_ATTEMPTS: usize = 8;
/// Answer pages may run inline styles and nothing else (no scripts, no external assets).
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Listening sockets plus the connections that have not sent their request yet.
#[derive(Default)]
pub(crate) struct CallbackListener {
    listeners: Vec<TcpListener>,
    pending: Vec<Pending>,
    /// The connection whose request was last returned, awaiting its answer page.
    open: Option<TcpStream>,
}

struct Pending {
    stream: TcpStream,
    head: Vec<u8>,
    since: Instant,
}

/// What reading a pending connection produced.
enum Read {
    /// Not complete yet; keep the connection.
    Waiting,
    /// A GET request with this target.
    Request(String),
    /// Not something to hand to core; the connection is dropped.
    Drop,
}

impl CallbackListener {
    /// Binds `127.0.0.1:port` and `[::1]:port`; port 0 picks a port free on both.
    /// An unavailable IPv6 loopback is tolerated; a port taken on either address is not
    /// (the other program would receive the redirect).
    pub(crate) fn bind(&mut self, port: u16) -> Result<u16, BindError> {
        self.close();
        let attempts = if port == 0 { ANY_PORT_ATTEMPTS } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            match bind_pair(port) {
                Ok((listeners, bound)) => {
                    self.listeners = listeners;
                    return Ok(bound);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(BindError {
            port,
            in_use: false,
            detail: "no attempt made".to_owned(),
        }))
    }

    /// Waits for the next GET request (its target), a pasted line when `paste` is given,
    /// or the deadline.
    pub(crate) fn wait(
        &mut self,
        deadline: UnixTime,
        paste: Option<&Receiver<String>>,
    ) -> CallbackEvent {
        // An unanswered previous request is dropped: core moved on without answering.
        self.open = None;
        loop {
            self.accept_new();
            if let Some(event) = self.read_pending() {
                return event;
            }
            if clock::now() >= deadline {
                return CallbackEvent::TimedOut;
            }
            let pause = POLL.min(deadline.since(clock::now()));
            match paste {
                Some(lines) => match lines.recv_timeout(pause) {
                    Ok(line) => return CallbackEvent::Pasted(SecretUrl::new(line)),
                    Err(RecvTimeoutError::Timeout) => {}
                    // Standard input closed: only the listener is left.
                    Err(RecvTimeoutError::Disconnected) => std::thread::sleep(pause),
                },
                None => std::thread::sleep(pause),
            }
        }
    }

    /// Writes a complete response with `page` to the connection last returned by
    /// [`wait`](Self::wait), then closes it; nothing to do when there is none.
    pub(crate) fn respond(&mut self, status: u16, page: &str) {
        let Some(mut stream) = self.open.take() else {
            return;
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\n\
             Content-Type: text/html; charset=utf-8\r\n\
             Content-Length: {}\r\n\
             Connection: close\r\n\
             Cache-Control: no-store\r\n\
             Pragma: no-cache\r\n\
             Referrer-Policy: no-referrer\r\n\
             X-Content-Type-Options: nosniff\r\n\
             Content-Security-Policy: {CSP}\r\n\
             \r\n",
            reason_phrase(status),
            page.len()
        );
        // A browser that went away cannot be helped; the flow continues either way.
        let _ = stream
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .and_then(|()| stream.write_all(head.as_bytes()))
            .and_then(|()| stream.write_all(page.as_bytes()))
            .and_then(|()| stream.flush());
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }

    /// Stops listening and drops every connection.
    pub(crate) fn close(&mut self) {
        self.listeners.clear();
        self.pending.clear();
        self.open = None;
    }

    fn accept_new(&mut self) {
        for listener in &self.listeners {
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if stream.set_nonblocking(true).is_ok() {
                            self.pending.push(Pending {
                                stream,
                                head: Vec::new(),
                                since: Instant::now(),
                            });
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // WouldBlock: nothing more to accept; other errors (a connection
                    // reset before accept) concern one client only.
                    Err(_) => break,
                }
            }
        }
    }

    /// Reads what the pending connections sent; returns the first complete request.
    fn read_pending(&mut self) -> Option<CallbackEvent> {
        let mut i = 0;
        while i < self.pending.len() {
            let Some(pending) = self.pending.get_mut(i) else {
                break;
            };
            match read_some(pending) {
                Read::Waiting if pending.since.elapsed() < HEAD_TIMEOUT => i += 1,
                Read::Waiting | Read::Drop => {
                    self.pending.swap_remove(i);
                }
                Read::Request(target) => {
                    let pending = self.pending.swap_remove(i);
                    let stream = pending.stream;
                    // Answered with blocking writes.
                    let _ = stream.set_nonblocking(false);
                    self.open = Some(stream);
                    return Some(CallbackEvent::Request(SecretUrl::new(target)));
                }
            }
        }
        None
    }
}

fn bind_pair(port: u16) -> Result<(Vec<TcpListener>, u16), BindError> {
    let fail = |port: u16, e: &io::Error| BindError {
        port,
        in_use: e.kind() == ErrorKind::AddrInUse,
        detail: e.to_string(),
    };
    let v4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .map_err(|e| fail(port, &e))?;
    let bound = v4.local_addr().map_err(|e| fail(port, &e))?.port();
    let mut listeners = vec![v4];
    match TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, bound))) {
        Ok(v6) => listeners.push(v6),
        Err(e) if e.kind() == ErrorKind::AddrInUse => return Err(fail(port, &e)),
        // No IPv6 loopback on this machine: browsers will use 127.0.0.1.
        Err(_) => {}
    }
    for listener in &listeners {
        listener.set_nonblocking(true).map_err(|e| fail(port, &e))?;
    }
    Ok((listeners, bound))
}

fn read_some(pending: &mut Pending) -> Read {
    let mut buf = [0u8; 1024];
    loop {
        match pending.stream.read(&mut buf) {
            Ok(0) => return Read::Drop,
            Ok(n) => {
                pending
                    .head
                    .extend_from_slice(buf.get(..n).unwrap_or_default());
                if let Some(end) = find_head_end(&pending.head) {
                    let head = pending.head.get(..end).unwrap_or_default();
                    return match request_target(head) {
                        Some(target) => Read::Request(target),
                        None => {
                            answer_plain(&mut pending.stream, "405 Method Not Allowed");
                            Read::Drop
                        }
                    };
                }
                if pending.head.len() > MAX_HEAD {
                    answer_plain(&mut pending.stream, "431 Request Header Fields Too Large");
                    return Read::Drop;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Read::Waiting,
            Err(_) => return Read::Drop,
        }
    }
}

fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n")
}

/// The target of `GET <target> HTTP/1.x`; `None` for anything else.
fn request_target(head: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    let line = head.lines().next()?;
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if method != "GET"
        || !version.starts_with("HTTP/1.")
        || parts.next().is_some()
        || target.is_empty()
    {
        return None;
    }
    Some(target.to_owned())
}

/// A minimal answer for requests that are not handed to core. The rest of the request
/// is drained briefly: closing with unread input would reset the connection and could
/// destroy the answer before the client reads it.
fn answer_plain(stream: &mut TcpStream, status: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(DRAIN_TIMEOUT));
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    while drained < MAX_DRAIN {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "",
    }
}

/// Lines typed on standard input, read by one background thread started on first use
/// (a blocking terminal read cannot be combined with socket polling otherwise). The
/// thread lives until the process exits.
pub(crate) fn stdin_lines() -> &'static Mutex<Receiver<String>> {
    static LINES: OnceLock<Mutex<Receiver<String>>> = OnceLock::new();
    LINES.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("llmauth-paste".to_owned())
            .spawn(move || {
                let stdin = io::stdin();
                let mut line = String::new();
                loop {
                    line.clear();
                    match stdin.lock().read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            let trimmed = line.trim();
                            if !trimmed.is_empty() && tx.send(trimmed.to_owned()).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        // Without the thread no paste ever arrives; the listener still works.
        drop(spawned);
        Mutex::new(rx)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_target_accepts_only_get() {
        assert_eq!(
            request_target(b"GET /callback?code=x&state=y HTTP/1.1\r\nHost: a").as_deref(),
            Some("/callback?code=x&state=y")
        );
        assert_eq!(request_target(b"POST /callback HTTP/1.1"), None);
        assert_eq!(request_target(b"GET /x"), None);
        assert_eq!(request_target(b"GET /x SMTP/1.0"), None);
        assert_eq!(request_target(b"\xff\xfe"), None);
    }
}
