//! A raw HTTP/1.1 client over `std::net::TcpStream`: full control of the `Host` header,
//! of when bytes are read (SSE timing) and of when the connection is dropped (client
//! disconnect), which a client library would hide.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A response head, with the body still on the wire.
pub(crate) struct Opened {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Box<dyn BufRead + Send>,
}

impl Opened {
    /// The first value of a header (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads the rest of the body.
    pub(crate) fn read_all(mut self) -> Finished {
        let mut body = Vec::new();
        self.body.read_to_end(&mut body).expect("read the body");
        Finished {
            status: self.status,
            headers: self.headers,
            body,
        }
    }
}

/// A complete response.
pub(crate) struct Finished {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Finished {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A `GET /echo` with `key` as its `x-api-key`, sent to `port` on a new connection.
pub(crate) fn echo(port: u16, key: &str) -> Finished {
    Req::get("/echo").header("x-api-key", key).send(port)
}

/// A request to write.
pub(crate) struct Req<'a> {
    pub(crate) method: &'a str,
    pub(crate) target: &'a str,
    /// Headers as sent; `Host: 127.0.0.1:<port>` is added unless one is given.
    pub(crate) headers: Vec<(&'a str, String)>,
    pub(crate) body: Option<Body<'a>>,
}

/// How a request body is sent.
pub(crate) enum Body<'a> {
    /// With `Content-Length`.
    Bytes(&'a [u8]),
    /// Chunked, written in pieces of this many bytes, `total` bytes of the download
    /// pattern.
    Chunked { total: usize, piece: usize },
}

impl<'a> Req<'a> {
    pub(crate) fn get(target: &'a str) -> Self {
        Self {
            method: "GET",
            target,
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn post(target: &'a str, body: &'a [u8]) -> Self {
        Self {
            method: "POST",
            target,
            headers: vec![("content-type", "application/json".to_owned())],
            body: Some(Body::Bytes(body)),
        }
    }

    pub(crate) fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sends the request on a new connection and reads the response head.
    pub(crate) fn open(&self, port: u16) -> io::Result<(TcpStream, Opened)> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: 127.0.0.1:{port}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        match &self.body {
            None => {}
            Some(Body::Bytes(bytes)) => {
                head.push_str(&format!("content-length: {}\r\n", bytes.len()))
            }
            Some(Body::Chunked { .. }) => head.push_str("transfer-encoding: chunked\r\n"),
        }
        head.push_str("\r\n");
        let mut writer = stream.try_clone()?;
        writer.write_all(head.as_bytes())?;
        match &self.body {
            None => {}
            Some(Body::Bytes(bytes)) => writer.write_all(bytes)?,
            Some(Body::Chunked { total, piece }) => {
                let pattern = llmauth_tests::gateway::download_pattern(*total);
                for chunk in pattern.chunks(*piece) {
                    writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                    writer.write_all(chunk)?;
                    writer.write_all(b"\r\n")?;
                }
                writer.write_all(b"0\r\n\r\n")?;
            }
        }
        writer.flush()?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let (status, headers) = read_head(&mut reader)?;
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        let body: Box<dyn BufRead + Send> =
            if self.method == "HEAD" || status == 204 || status == 304 {
                Box::new(io::empty())
            } else if chunked {
                Box::new(BufReader::new(Chunked::new(reader)))
            } else if let Some(length) = length {
                Box::new(reader.take(length))
            } else {
                Box::new(reader)
            };
        Ok((
            stream,
            Opened {
                status,
                headers,
                body,
            },
        ))
    }

    /// Sends the request and reads the whole response; panics on I/O errors.
    pub(crate) fn send(&self, port: u16) -> Finished {
        let (_stream, opened) = self
            .open(port)
            .unwrap_or_else(|e| panic!("{} {}: {e}", self.method, self.target));
        opened.read_all()
    }
}

fn read_head(reader: &mut impl BufRead) -> io::Result<(u16, Vec<(String, String)>)> {
    let mut raw = Vec::new();
    loop {
        let before = raw.len();
        reader.read_until(b'\n', &mut raw)?;
        if raw.len() == before {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        if raw.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    response
        .parse(&raw)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let status = response.code.unwrap_or(0);
    let headers = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    Ok((status, headers))
}

/// Decodes a chunked body as it arrives.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Chunked<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            left: 0,
            done: false,
        }
    }

    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        self.inner.read_line(&mut line)?;
        Ok(line.trim().to_owned())
    }
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let size = self.line()?;
            let size = size.split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(size, 16).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("chunk size {size:?}"))
            })?;
            if self.left == 0 {
                // Trailers, then the blank line.
                while !self.line()?.is_empty() {}
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "body cut short",
            ));
        }
        self.left -= n;
        if self.left == 0 {
            self.line()?;
        }
        Ok(n)
    }
}
