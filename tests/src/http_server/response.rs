//! What a handler answers: a full body, a chunked stream written live, or nothing at all
//! (the connection is dropped, to simulate a server dying mid-request).

use std::io::{self, Write};

/// Writes a streaming body live. Each [`StreamWriter::send`] becomes one HTTP chunk
/// written and flushed at once (over TLS, one record), so SSE events are never coalesced.
pub type StreamFn = Box<dyn FnOnce(&mut StreamWriter<'_>) -> io::Result<()> + Send + 'static>;

pub(crate) enum Body {
    Full(Vec<u8>),
    Stream(StreamFn),
    /// Drop the connection without writing anything.
    Abort,
    /// Announce `announced` bytes, send these, then drop the connection (a server dying
    /// mid-body).
    CutShort {
        announced: usize,
        sent: Vec<u8>,
    },
}

/// A handler's answer. `Content-Length`, `Transfer-Encoding` and `Connection` are added by
/// the server; handlers must not set them.
pub struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
    pub(crate) close: bool,
}

impl Response {
    /// An empty-bodied response with this status.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Full(Vec::new()),
            close: false,
        }
    }

    /// A JSON response.
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status)
            .with_header("content-type", "application/json")
            .with_body(value.to_string())
    }

    /// A `text/plain` response.
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(text)
    }

    /// A `text/html` response.
    pub fn html(status: u16, html: &str) -> Response {
        Response::new(status)
            .with_header("content-type", "text/html; charset=utf-8")
            .with_body(html)
    }

    /// A `302 Found` to `location`.
    pub fn redirect(location: &str) -> Response {
        Response::new(302).with_header("location", location)
    }

    /// A chunked response whose body `write` produces live.
    pub fn stream<F>(status: u16, write: F) -> Response
    where
        F: FnOnce(&mut StreamWriter<'_>) -> io::Result<()> + Send + 'static,
    {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Stream(Box::new(write)),
            close: false,
        }
    }

    /// No answer: the server closes the socket without writing a byte.
    pub fn abort() -> Response {
        Response {
            status: 0,
            headers: Vec::new(),
            body: Body::Abort,
            close: true,
        }
    }

    /// Announces a body of `announced` bytes (`Content-Length`), sends only `sent`, and
    /// drops the connection: a server that dies mid-body.
    pub fn cut_short(status: u16, announced: usize, sent: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::CutShort {
                announced,
                sent: sent.into(),
            },
            close: true,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces the body with these bytes (turning a stream into a full body).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = Body::Full(body.into());
        self
    }

    /// Closes the connection after this response instead of keeping it alive.
    pub fn close_connection(mut self) -> Response {
        self.close = true;
        self
    }

    /// The status code (0 for [`Response::abort`]).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether this response drops the connection without answering.
    pub fn is_abort(&self) -> bool {
        matches!(self.body, Body::Abort)
    }

    /// The full body, if this is not a stream or an abort.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Full(bytes) => Some(bytes),
            Body::Stream(_) | Body::Abort | Body::CutShort { .. } => None,
        }
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = match &self.body {
            Body::Full(b) => format!("{} bytes", b.len()),
            Body::Stream(_) => "stream".to_string(),
            Body::Abort => "abort".to_string(),
            Body::CutShort { announced, sent } => format!("{} of {announced} bytes", sent.len()),
        };
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body", &body)
            .finish_non_exhaustive()
    }
}

/// The live body of a streaming response.
pub struct StreamWriter<'a> {
    out: &'a mut dyn Write,
    chunked: bool,
    sent: u64,
}

impl<'a> StreamWriter<'a> {
    pub(crate) fn new(out: &'a mut dyn Write, chunked: bool) -> StreamWriter<'a> {
        StreamWriter {
            out,
            chunked,
            sent: 0,
        }
    }

    /// Sends `data` as one chunk and flushes it. Empty data is skipped (an empty chunk
    /// would end the body).
    pub fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if self.chunked {
            let mut frame = Vec::with_capacity(data.len() + 16);
            frame.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
            frame.extend_from_slice(data);
            frame.extend_from_slice(b"\r\n");
            self.out.write_all(&frame)?;
        } else {
            self.out.write_all(data)?;
        }
        self.out.flush()?;
        self.sent += data.len() as u64;
        Ok(())
    }

    /// Body bytes sent so far (framing excluded).
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    pub(crate) fn finish(self) -> io::Result<()> {
        if self.chunked {
            self.out.write_all(b"0\r\n\r\n")?;
        }
        self.out.flush()
    }
}

/// A reason phrase for the status line (clients ignore it; humans reading captures don't).
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
