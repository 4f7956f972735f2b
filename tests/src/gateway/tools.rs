//! Utility endpoints for the proxy's tests and benchmarks: timestamped SSE, uploads,
//! chunked downloads, and a header echo.

use std::time::Duration;

use serde_json::json;

use super::unix_micros;
use crate::http_server::{Request, Response, StreamWriter};

/// Most events one `/sse` request may ask for.
const MAX_EVENTS: u64 = 1_000_000;
/// Largest `/download`.
const MAX_DOWNLOAD: u64 = 4 * 1024 * 1024 * 1024;
/// `/download` chunk size.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

fn number_param(request: &Request, name: &str, default: u64) -> u64 {
    request
        .query_param(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `GET /sse?events=N&interval_ms=M` (defaults 10 and 100): event `i` is
/// `id: i`, `event: tick`, `data: {"seq": i, "sent_us": <µs since the epoch when written>}`.
pub(crate) fn sse_ticks(request: &Request) -> Response {
    let events = number_param(request, "events", 10).min(MAX_EVENTS);
    let interval = Duration::from_millis(number_param(request, "interval_ms", 100));
    Response::stream(200, move |out: &mut StreamWriter<'_>| {
        for seq in 0..events {
            if seq > 0 && !interval.is_zero() {
                std::thread::sleep(interval);
            }
            let data = json!({"seq": seq, "sent_us": unix_micros()});
            out.send(format!("id: {seq}\nevent: tick\ndata: {data}\n\n").as_bytes())?;
        }
        Ok(())
    })
    .with_header("content-type", "text/event-stream")
    .with_header("cache-control", "no-cache")
}

/// `POST /upload`: what arrived.
pub(crate) fn upload(request: &Request) -> Response {
    let digest = ring::digest::digest(&ring::digest::SHA256, &request.body);
    Response::json(
        200,
        &json!({
            "bytes": request.body.len(),
            "sha256": hex(digest.as_ref()),
            "chunked": request.chunked,
        }),
    )
}

/// The bytes `/download?bytes=N` sends: byte `i` is `i % 251` (a prime, so chunk
/// boundaries never line up with the pattern).
pub fn download_pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `GET /download?bytes=N` (default 1 MiB): N bytes of [`download_pattern`], chunked.
pub(crate) fn download(request: &Request) -> Response {
    let total = number_param(request, "bytes", 1024 * 1024).min(MAX_DOWNLOAD);
    Response::stream(200, move |out: &mut StreamWriter<'_>| {
        // Its length is a multiple of 251, so slicing it at `sent % len` continues the pattern.
        let block = download_pattern(251 * 261);
        let mut sent: u64 = 0;
        while sent < total {
            let offset = (sent % block.len() as u64) as usize;
            let want = DOWNLOAD_CHUNK.min((total - sent) as usize);
            let available = &block[offset..];
            let take = want.min(available.len());
            out.send(&available[..take])?;
            sent += take as u64;
        }
        Ok(())
    })
    .with_header("content-type", "application/octet-stream")
    .with_header("x-download-bytes", &total.to_string())
}

/// `GET /cut?announce=N&send=M` (defaults 1,000 and 10): a body of N bytes announced, M
/// of them sent, then the connection dropped — a gateway dying mid-answer.
pub(crate) fn cut(request: &Request) -> Response {
    let announced = number_param(request, "announce", 1000);
    let sent = number_param(request, "send", 10).min(announced);
    let (Ok(announced), Ok(sent)) = (usize::try_from(announced), usize::try_from(sent)) else {
        return Response::text(400, "too large");
    };
    Response::cut_short(200, announced, download_pattern(sent))
        .with_header("content-type", "application/octet-stream")
}

/// `/echo`: the request as JSON (headers as `[name, value]` pairs, in order).
pub(crate) fn echo(request: &Request) -> Response {
    let headers: Vec<[&str; 2]> = request
        .headers
        .iter()
        .map(|(k, v)| [k.as_str(), v.as_str()])
        .collect();
    Response::json(
        200,
        &json!({
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": headers,
            "body_len": request.body.len(),
        }),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
