//! Streaming through the proxy: SSE events as they are sent, large bodies both ways in
//! flat memory, client disconnects, and a graceful stop during a stream.

use std::io::BufRead as _;
use std::io::Read as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::Digest as _;

use super::http::{Body, Opened, Req};
use super::rig::{Rig, eventually};

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Reads SSE `data:` lines: (event's send time from the gateway, arrival time here), µs.
fn read_events(opened: &mut Opened, count: usize) -> Vec<(u128, u128)> {
    let mut events = Vec::new();
    let mut line = String::new();
    while events.len() < count {
        line.clear();
        let n = opened
            .body
            .read_line(&mut line)
            .expect("read an event line");
        assert!(n > 0, "the stream ended after {} events", events.len());
        if let Some(data) = line.trim().strip_prefix("data: ") {
            let arrived = unix_micros();
            let json: serde_json::Value = serde_json::from_str(data).expect("event JSON");
            let sent = u128::from(json["sent_us"].as_u64().expect("sent_us"));
            events.push((sent, arrived));
        }
    }
    events
}

#[test]
fn sse_events_arrive_as_they_are_sent() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    let (_stream, mut opened) = Req::get("/sse?events=6&interval_ms=200")
        .header("x-api-key", key)
        .open(proxy.port)
        .expect("open the stream");
    assert_eq!(opened.status, 200);
    assert_eq!(opened.header("content-type"), Some("text/event-stream"));
    let events = read_events(&mut opened, 6);
    let last_sent = events[5].0;
    // The first event arrived long before the last one was sent: nothing was buffered.
    assert!(
        events[0].1 + 800_000 < last_sent,
        "first event at {}, last sent at {last_sent}",
        events[0].1
    );
    for (i, (sent, arrived)) in events.iter().enumerate() {
        let delay = arrived.saturating_sub(*sent);
        assert!(delay < 100_000, "event {i} took {delay} µs to arrive");
    }
    for pair in events.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            (120_000..=400_000).contains(&gap),
            "events arrived {gap} µs apart (sent 200 ms apart)"
        );
    }
}

#[test]
fn ten_megabytes_stream_both_ways_in_flat_memory() {
    const SIZE: usize = 10 * 1024 * 1024;
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    // Warm up (TLS, pool, first token) so the baseline includes the fixed costs.
    let warm = Req::get("/download?bytes=65536")
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(warm.status, 200);
    let upload_warm = Req::post("/upload", b"x")
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(upload_warm.status, 200);
    let (baseline, _) = proxy.memory_kib();

    let pattern = llmauth_tests::gateway::download_pattern(SIZE);
    let expected_sha = hex(&sha2::Sha256::digest(&pattern));
    // Upload with a length (too big to keep for a retry: streamed).
    let mut upload = Req::post("/upload", &pattern).header("x-api-key", key.clone());
    upload.headers.retain(|(k, _)| *k != "content-type");
    let response = upload.send(proxy.port);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["bytes"], SIZE);
    assert_eq!(response.json()["sha256"], expected_sha);
    // Upload chunked (no length at all).
    let chunked = Req {
        method: "POST",
        target: "/upload",
        headers: vec![("x-api-key", key.clone())],
        body: Some(Body::Chunked {
            total: SIZE,
            piece: 64 * 1024,
        }),
    }
    .send(proxy.port);
    assert_eq!(chunked.status, 200, "{}", chunked.text());
    assert_eq!(chunked.json()["bytes"], SIZE);
    assert_eq!(chunked.json()["sha256"], expected_sha);
    assert_eq!(
        chunked.json()["chunked"],
        true,
        "streamed on to the gateway"
    );
    // Download, read slowly at first so the proxy must hold back rather than buffer.
    let (_stream, mut opened) = Req::get(&format!("/download?bytes={SIZE}"))
        .header("x-api-key", key)
        .open(proxy.port)
        .expect("open the download");
    assert_eq!(opened.status, 200);
    let mut received = Vec::with_capacity(SIZE);
    let mut buf = vec![0u8; 64 * 1024];
    let started = Instant::now();
    loop {
        let n = opened.body.read(&mut buf).expect("read the download");
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buf[..n]);
        if started.elapsed() < Duration::from_millis(500) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert_eq!(received.len(), SIZE);
    assert!(received == pattern, "the download arrived intact");

    let (_, peak) = proxy.memory_kib();
    let growth = peak.saturating_sub(baseline);
    assert!(
        growth <= 6 * 1024,
        "the proxy's memory grew by {growth} KiB (baseline {baseline} KiB, peak {peak} KiB)"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_client_disconnect_cancels_the_upstream_request() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    assert_eq!(rig.gateway.server().active_connections(), 0);
    let (stream, mut opened) = Req::get("/sse?events=100&interval_ms=100")
        .header("x-api-key", key.clone())
        .open(proxy.port)
        .expect("open the stream");
    read_events(&mut opened, 2);
    assert_eq!(rig.gateway.server().active_connections(), 1);
    drop(opened);
    stream.shutdown(std::net::Shutdown::Both).expect("hang up");
    drop(stream);
    // The gateway sees its connection closed: its next event write fails.
    assert!(
        eventually(Duration::from_secs(3), || rig
            .gateway
            .server()
            .active_connections()
            == 0),
        "the upstream request was not cancelled"
    );
    // And the proxy keeps serving.
    let response = Req::get("/echo").header("x-api-key", key).send(proxy.port);
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn sigterm_during_a_stream_lets_it_finish_then_stops() {
    let rig = Rig::new();
    let key = rig.key();
    let mut proxy = rig.start_proxy();
    let (_stream, mut opened) = Req::get("/sse?events=6&interval_ms=200")
        .header("x-api-key", key)
        .open(proxy.port)
        .expect("open the stream");
    read_events(&mut opened, 1);
    let signalled = Instant::now();
    proxy.terminate();
    // New connections are refused once the listeners are closed.
    assert!(
        eventually(Duration::from_secs(2), || std::net::TcpStream::connect((
            "127.0.0.1",
            proxy.port
        ))
        .is_err()),
        "still accepting after SIGTERM"
    );
    // The stream in flight is delivered to its end.
    read_events(&mut opened, 5);
    let mut rest = Vec::new();
    opened
        .body
        .read_to_end(&mut rest)
        .expect("the stream ends cleanly");
    assert_eq!(
        proxy.wait_exit(Duration::from_secs(6)),
        Some(0),
        "{}",
        proxy.stderr()
    );
    assert!(signalled.elapsed() < Duration::from_secs(6));
    assert!(proxy.stderr().contains("llmauth proxy stopped"));
}

#[test]
fn sigterm_cuts_streams_that_outlast_the_drain_time() {
    let rig = Rig::new();
    let key = rig.key();
    let mut proxy = rig.start_proxy();
    let (_stream, mut opened) = Req::get("/sse?events=100&interval_ms=200")
        .header("x-api-key", key)
        .open(proxy.port)
        .expect("open the stream");
    read_events(&mut opened, 1);
    let signalled = Instant::now();
    proxy.terminate();
    let code = proxy.wait_exit(Duration::from_secs(10));
    let waited = signalled.elapsed();
    assert_eq!(code, Some(0), "{}", proxy.stderr());
    assert!(
        waited >= Duration::from_millis(4500) && waited < Duration::from_secs(7),
        "stopped after {waited:?}"
    );
}

/// A gateway that dies mid-answer: the client gets what was sent, then its connection
/// closes — never a body that looks complete, whether or not any of it arrived (the proxy
/// reads the first frame of a small answer before passing the head on).
#[test]
fn a_body_cut_short_at_the_gateway_is_cut_short_for_the_client() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    for sent in [10, 0] {
        let target = format!("/cut?announce=1000&send={sent}");
        match Req::get(&target)
            .header("x-api-key", key.clone())
            .open(proxy.port)
        {
            Ok((_stream, opened)) => {
                assert_eq!(opened.status, 200, "send={sent}");
                assert_eq!(opened.header("content-length"), Some("1000"));
                let finished = opened.read_all();
                assert_eq!(
                    finished.body,
                    llmauth_tests::gateway::download_pattern(sent),
                    "send={sent}: only what the gateway sent, then the end"
                );
            }
            // The head itself may not make it before the connection closes.
            Err(error) => assert_eq!(sent, 0, "send={sent}: {error}"),
        }
    }
    let after = Req::get("/echo").header("x-api-key", key).send(proxy.port);
    assert_eq!(after.status, 200, "{}", after.text());
}
