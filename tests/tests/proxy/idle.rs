//! Idle connections cannot starve the proxy: with 2,000 sockets open that never send a
//! request (no key needed for that), a client holding the key still gets its answer at
//! once — whether the proxy could raise its descriptor limit (soft 1024 under a high hard
//! limit, the usual desktop default) or not (soft and hard 1024: the cap and the closing
//! of idle connections must do it).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use llmauth_tests::sandbox::through_shell;

use super::rig::{Rig, RunningProxy};

/// Idle sockets opened against the proxy.
const IDLE: usize = 2000;
/// How long the keyed request may take (a few seconds, as the issue asks).
const KEYED_LIMIT: Duration = Duration::from_secs(5);

/// Raises this test process's own soft descriptor limit to its hard one, and checks the
/// 2,000 sockets fit.
fn raise_own_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    )
    .expect("raise the soft descriptor limit");
    let now = getrlimit(Resource::Nofile).current;
    assert!(
        now.is_none_or(|n| n >= IDLE as u64 + 256),
        "this machine's hard descriptor limit ({now:?}) is too low to open {IDLE} sockets"
    );
}

/// Opens up to `count` connections that send nothing; stops early when the proxy no
/// longer completes connections (three connects in a row time out).
fn open_idle(addr: SocketAddr, count: usize) -> Vec<TcpStream> {
    let mut open = Vec::with_capacity(count);
    let mut timeouts = 0;
    while open.len() < count && timeouts < 3 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(stream) => {
                timeouts = 0;
                open.push(stream);
            }
            Err(_) => timeouts += 1,
        }
    }
    open
}

/// A keyed request on a new connection: the status line, or why there was none.
fn keyed_request(addr: SocketAddr, key: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, KEYED_LIMIT).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET /echo HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nx-api-key: {key}\r\nconnection: close\r\n\r\n",
        addr.port()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    text.lines()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| "the proxy closed the connection without answering".to_owned())
}

/// Descriptors the process holds.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[test]
fn a_keyed_client_gets_through_while_2000_idle_sockets_are_open() {
    raise_own_limit();
    let rig = Rig::new();
    let key = rig.key();
    for limits in [
        "ulimit -S -n 1024",
        "ulimit -S -n 1024 && ulimit -H -n 1024",
    ] {
        let command = rig
            .sandbox
            .command(&["proxy", "start", "--port", "0", "--skip-browser"]);
        let proxy = RunningProxy::start(through_shell(
            &command,
            &format!("{limits} && exec \"$0\" \"$@\""),
        ));
        let addr = SocketAddr::from(([127, 0, 0, 1], proxy.port));
        // The proxy has its token before the crowd arrives.
        assert_eq!(
            keyed_request(addr, &key).as_deref(),
            Ok("HTTP/1.1 200 OK"),
            "{limits}: {}",
            proxy.stderr()
        );
        let opening = Instant::now();
        let idle = open_idle(addr, IDLE);
        let opened_in = opening.elapsed();
        let held = descriptors(proxy.pid());
        let asked = Instant::now();
        let answer = keyed_request(addr, &key);
        let took = asked.elapsed();
        eprintln!(
            "{limits}: {} idle sockets open (in {opened_in:?}); the proxy holds {held} descriptors; keyed request: {answer:?} in {took:?}",
            idle.len()
        );
        assert_eq!(idle.len(), IDLE, "{limits}: the proxy stopped accepting");
        assert_eq!(answer.as_deref(), Ok("HTTP/1.1 200 OK"), "{limits}");
        assert!(
            took < KEYED_LIMIT,
            "{limits}: the keyed request took {took:?}"
        );
        drop(idle);
    }
}

/// However few connections are open, one that has waited 30 s for a request head is
/// closed: a slow head (slowloris), and an idle keep-alive connection between requests.
#[test]
fn a_slow_head_and_an_idle_keep_alive_connection_are_closed_after_30_s() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    let addr = SocketAddr::from(([127, 0, 0, 1], proxy.port));
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(format!("GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", proxy.port).as_bytes())
        .unwrap();
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(
        format!(
            "GET /echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nx-api-key: {key}\r\n\r\n",
            proxy.port
        )
        .as_bytes(),
    )
    .unwrap();
    for (name, mut stream) in [("slow head", slow), ("idle keep-alive", idle)] {
        stream
            .set_read_timeout(Some(Duration::from_secs(45)))
            .unwrap();
        let mut received = Vec::new();
        // Until the proxy closes it (the idle one first gets its answer).
        let read = stream.read_to_end(&mut received);
        let waited = started.elapsed();
        assert!(read.is_ok(), "{name}: not closed within 45 s ({read:?})");
        assert!(
            (Duration::from_secs(29)..Duration::from_secs(40)).contains(&waited),
            "{name}: closed after {waited:?}"
        );
        if name == "idle keep-alive" {
            assert!(
                received.starts_with(b"HTTP/1.1 200"),
                "{name}: {received:?}"
            );
        } else {
            assert!(received.is_empty(), "{name}: answered {received:?}");
        }
    }
}
