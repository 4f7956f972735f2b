//! One connection's life: read a request, call the handler, write the answer, repeat
//! while keep-alive holds. Malformed or oversized input gets a 4xx and a close — never a
//! panic; a panicking handler gets a 500.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use rustls::{ServerConnection, StreamOwned};

use super::Shared;
use super::request::Request;
use super::response::{Body, Response, StreamWriter, reason};

/// Longest request head (request line + headers) accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most header fields accepted.
const MAX_HEADERS: usize = 128;
/// Longest request body accepted (uploads in tests stay well below).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;
/// Longest chunk-size or trailer line.
const MAX_LINE_BYTES: usize = 4096;
/// A connection silent for this long (between or inside requests) is closed.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// A client not reading its answer for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// How a connection ends.
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum End {
    /// Orderly: TLS close_notify, then close.
    Graceful,
    /// Abrupt: the socket is cut (I/O error, or a handler asked for it).
    Abort,
}

/// What to do after writing a response.
enum After {
    KeepAlive,
    Close,
    Abort,
}

pub(crate) fn serve(shared: &Shared, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(READ_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(WRITE_TIMEOUT));
    match &shared.tls {
        Some(config) => {
            let Ok(conn) = ServerConnection::new(Arc::clone(config)) else {
                return;
            };
            let mut stream = StreamOwned::new(conn, tcp);
            if serve_http(shared, &mut stream, peer, true) == End::Graceful {
                stream.conn.send_close_notify();
                let _ = stream.flush();
                linger(&stream.sock);
            }
            let _ = stream.sock.shutdown(Shutdown::Both);
        }
        None => {
            let mut stream = tcp;
            if serve_http(shared, &mut stream, peer, false) == End::Graceful {
                linger(&stream);
            }
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Lingering close: stop sending, then read and discard what the client still sends for a
/// moment. Closing a socket with unread input makes the kernel send a reset, which can
/// destroy the answer we just wrote (a 413 or 431 sent before the body was read).
fn linger(sock: &TcpStream) {
    const MAX_DRAIN_BYTES: usize = 1024 * 1024;
    const MAX_DRAIN_TIME: Duration = Duration::from_millis(500);
    if sock.shutdown(Shutdown::Write).is_err()
        || sock
            .set_read_timeout(Some(Duration::from_millis(100)))
            .is_err()
    {
        return;
    }
    let started = std::time::Instant::now();
    let mut drained = 0;
    let mut buf = [0u8; 16 * 1024];
    let mut reader = sock;
    while drained < MAX_DRAIN_BYTES && started.elapsed() < MAX_DRAIN_TIME {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

fn serve_http<S: Read + Write>(
    shared: &Shared,
    stream: &mut S,
    peer: SocketAddr,
    tls: bool,
) -> End {
    let mut input = Input::default();
    loop {
        let head = match input.read_head(stream) {
            Ok(Some(head)) => head,
            Ok(None) => return End::Graceful,
            Err(Failure::Io) => return End::Abort,
            Err(Failure::TooLarge) => return reject(stream, 431, "request head too large"),
            Err(Failure::Malformed) => return reject(stream, 400, "malformed request"),
        };
        if head.expects_continue() && stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").is_err() {
            return End::Abort;
        }
        let (body, chunked) = match input.read_body(stream, &head) {
            Ok(body) => body,
            Err(Failure::Io) => return End::Abort,
            Err(Failure::TooLarge) => return reject(stream, 413, "request body too large"),
            Err(Failure::Malformed) => return reject(stream, 400, "malformed request body"),
        };
        let keep_alive = head.keep_alive();
        let is_head = head.method.eq_ignore_ascii_case("HEAD");
        let http11 = head.version == 1;
        let (path, query) = split_target(&head.target);
        let request = Request {
            method: head.method,
            path,
            query,
            headers: head.headers,
            body,
            chunked,
            peer,
            tls,
        };
        let response = match catch_unwind(AssertUnwindSafe(|| (shared.handler)(&request))) {
            Ok(response) => response,
            Err(_) => Response::text(500, "test server handler panicked").close_connection(),
        };
        match write_response(stream, response, keep_alive, is_head, http11) {
            After::KeepAlive => {}
            After::Close => return End::Graceful,
            After::Abort => return End::Abort,
        }
    }
}

fn reject<S: Write>(stream: &mut S, status: u16, message: &str) -> End {
    let response = Response::text(status, message).close_connection();
    match write_response(stream, response, false, false, true) {
        After::KeepAlive | After::Close => End::Graceful,
        After::Abort => End::Abort,
    }
}

fn write_response<S: Write>(
    stream: &mut S,
    response: Response,
    keep_alive: bool,
    is_head: bool,
    http11: bool,
) -> After {
    let keep = keep_alive && !response.close;
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    match response.body {
        Body::Abort => After::Abort,
        Body::CutShort { announced, sent } => {
            head.push_str(&format!("content-length: {announced}\r\n\r\n"));
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&sent);
            let _ = stream.write_all(&bytes).and_then(|()| stream.flush());
            After::Abort
        }
        Body::Full(body) => {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
            if !keep {
                head.push_str("connection: close\r\n");
            }
            head.push_str("\r\n");
            let mut bytes = head.into_bytes();
            if !is_head {
                bytes.extend_from_slice(&body);
            }
            match stream.write_all(&bytes).and_then(|()| stream.flush()) {
                Ok(()) if keep => After::KeepAlive,
                Ok(()) => After::Close,
                Err(_) => After::Abort,
            }
        }
        Body::Stream(write_body) => {
            // HTTP/1.0 clients cannot take chunks: send raw bytes and mark the end by closing.
            let chunked = http11;
            if chunked {
                head.push_str("transfer-encoding: chunked\r\n");
            }
            if !keep || !chunked {
                head.push_str("connection: close\r\n");
            }
            head.push_str("\r\n");
            if stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.flush())
                .is_err()
            {
                return After::Abort;
            }
            if is_head {
                return After::Close;
            }
            let mut writer = StreamWriter::new(stream, chunked);
            let written = write_body(&mut writer).and_then(|()| writer.finish());
            match written {
                Ok(()) if keep && chunked => After::KeepAlive,
                Ok(()) => After::Close,
                // The client went away, or the stream chose to end abruptly.
                Err(_) => After::Abort,
            }
        }
    }
}

/// Splits a request target into (path, query); an absolute-form target (as sent to a
/// forward proxy) loses its scheme and authority.
fn split_target(target: &str) -> (String, String) {
    let origin_form = match target.find("://") {
        Some(i) if !target.starts_with('/') => {
            let after = &target[i + 3..];
            after.find('/').map_or("/", |slash| &after[slash..])
        }
        _ => target,
    };
    match origin_form.split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (origin_form.to_string(), String::new()),
    }
}

/// Why reading a request failed.
enum Failure {
    Io,
    TooLarge,
    Malformed,
}

impl From<io::Error> for Failure {
    fn from(_: io::Error) -> Failure {
        Failure::Io
    }
}

/// The request line and headers.
struct Head {
    method: String,
    target: String,
    /// The minor HTTP version: 0 or 1.
    version: u8,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    fn keep_alive(&self) -> bool {
        self.version == 1 && !self.has_token("connection", "close")
    }

    fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
    }
}

/// Bytes read from the socket but not yet consumed (keep-alive requests may arrive
/// back to back in one read).
#[derive(Default)]
struct Input {
    buf: Vec<u8>,
}

impl Input {
    fn fill<S: Read>(&mut self, stream: &mut S) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// `Ok(None)` when the client closed cleanly between requests.
    fn read_head<S: Read>(&mut self, stream: &mut S) -> Result<Option<Head>, Failure> {
        loop {
            if !self.buf.is_empty() {
                if let Some((head, used)) = parse_head(&self.buf)? {
                    self.buf.drain(..used);
                    return Ok(Some(head));
                }
                if self.buf.len() > MAX_HEAD_BYTES {
                    return Err(Failure::TooLarge);
                }
            }
            if self.fill(stream)? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(Failure::Io)
                };
            }
        }
    }

    fn read_body<S: Read>(
        &mut self,
        stream: &mut S,
        head: &Head,
    ) -> Result<(Vec<u8>, bool), Failure> {
        let chunked = head.has_token("transfer-encoding", "chunked");
        let lengths: Vec<&str> = head
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.trim())
            .collect();
        if chunked {
            if !lengths.is_empty() {
                return Err(Failure::Malformed);
            }
            return Ok((self.read_chunked(stream)?, true));
        }
        if head.header("transfer-encoding").is_some() {
            return Err(Failure::Malformed);
        }
        let Some(first) = lengths.first() else {
            return Ok((Vec::new(), false));
        };
        if lengths.iter().any(|l| l != first) {
            return Err(Failure::Malformed);
        }
        let length: usize = first.parse().map_err(|_| Failure::Malformed)?;
        if length > MAX_BODY_BYTES {
            return Err(Failure::TooLarge);
        }
        Ok((self.take(stream, length)?, false))
    }

    fn take<S: Read>(&mut self, stream: &mut S, n: usize) -> Result<Vec<u8>, Failure> {
        while self.buf.len() < n {
            if self.fill(stream)? == 0 {
                return Err(Failure::Io);
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    fn read_line<S: Read>(&mut self, stream: &mut S) -> Result<String, Failure> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).take(end).collect();
                return String::from_utf8(line).map_err(|_| Failure::Malformed);
            }
            if self.buf.len() > MAX_LINE_BYTES {
                return Err(Failure::Malformed);
            }
            if self.fill(stream)? == 0 {
                return Err(Failure::Io);
            }
        }
    }

    fn read_chunked<S: Read>(&mut self, stream: &mut S) -> Result<Vec<u8>, Failure> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(stream)?;
            let size_text = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| Failure::Malformed)?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.read_line(stream)?.is_empty() {}
                return Ok(body);
            }
            if body.len().saturating_add(size) > MAX_BODY_BYTES {
                return Err(Failure::TooLarge);
            }
            body.extend(self.take(stream, size)?);
            if !self.read_line(stream)?.is_empty() {
                return Err(Failure::Malformed);
            }
        }
    }
}

/// Parses a complete head at the start of `buf`; `Ok(None)` when more bytes are needed.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Failure> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let used = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(used)) if used > MAX_HEAD_BYTES => {
            return Err(Failure::TooLarge);
        }
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Failure::TooLarge),
        Err(_) => return Err(Failure::Malformed),
    };
    let (Some(method), Some(target), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(Failure::Malformed);
    };
    let headers = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let head = Head {
        method: method.to_string(),
        target: target.to_string(),
        version,
        headers,
    };
    Ok(Some((head, used)))
}

#[cfg(test)]
mod tests {
    use super::split_target;

    #[test]
    fn targets_split_into_path_and_query() {
        assert_eq!(
            split_target("/a/b?x=1&y=2"),
            ("/a/b".to_string(), "x=1&y=2".to_string())
        );
        assert_eq!(split_target("/a"), ("/a".to_string(), String::new()));
        assert_eq!(
            split_target("http://h:1/p?q"),
            ("/p".to_string(), "q".to_string())
        );
        assert_eq!(split_target("http://h:1"), ("/".to_string(), String::new()));
    }
}
