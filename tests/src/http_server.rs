//! A small threaded HTTP/1.1 server (optionally over rustls) for the loopback test servers.
//!
//! Why not hyper: the test servers must be trivially in-process, blocking, and able to
//! misbehave on purpose (hold a request, drop a socket mid-answer, refuse connections and
//! come back on the same port). A few hundred lines over `httparse` give exactly that.
//!
//! Shape: one accept thread, one thread per connection, keep-alive, bounded request heads,
//! `Content-Length` and chunked request bodies, full or chunked-streaming responses. The
//! server stops (listener closed, live connections shut down) when [`HttpServer`] is
//! dropped. [`HttpServer::down`] / [`HttpServer::up`] simulate an outage on the same port.

mod connection;
mod request;
mod response;

pub use request::Request;
pub use response::{Response, StreamFn, StreamWriter};

use std::collections::HashMap;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::ServerConfig;

/// What a server does with each request. It runs on the connection's own thread, so it may
/// block (sleep, wait for another server) without affecting other connections.
pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync + 'static>;

/// How to start a server.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// Port on 127.0.0.1; 0 lets the OS choose a free one.
    pub port: u16,
    /// TLS configuration; `None` serves plain HTTP (e.g. a stand-in redirect listener).
    pub tls: Option<Arc<ServerConfig>>,
}

impl std::fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerOptions")
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// A running loopback HTTP(S) server. Dropping it stops it.
pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Mutex<Option<AcceptLoop>>,
}

/// State shared by the accept loop and every connection thread.
pub(crate) struct Shared {
    pub(crate) handler: Handler,
    pub(crate) tls: Option<Arc<ServerConfig>>,
    /// Clones of live sockets, so `down()` and `Drop` can cut them.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
    accepted: AtomicU64,
}

struct AcceptLoop {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: a test
/// server must keep answering after one handler panicked (the panic is the test's failure).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl HttpServer {
    /// Binds `127.0.0.1:<port>` and starts serving. `make_handler` receives the bound
    /// address first, so the handler can know its own URL (an issuer must).
    pub fn start<F>(options: ServerOptions, make_handler: F) -> io::Result<HttpServer>
    where
        F: FnOnce(SocketAddr) -> Handler,
    {
        let listener = TcpListener::bind(("127.0.0.1", options.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            handler: make_handler(addr),
            tls: options.tls,
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let accept = spawn_accept_loop(listener, Arc::clone(&shared))?;
        Ok(HttpServer {
            addr,
            shared,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// The bound address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://127.0.0.1:<port>` (or `http://` without TLS), no trailing slash.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Connections accepted since start (across `down`/`up`): lets tests assert that a
    /// client reuses connections.
    pub fn accepted_connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections currently open.
    pub fn active_connections(&self) -> usize {
        lock(&self.shared.connections).len()
    }

    /// Whether the listener is currently accepting.
    pub fn is_up(&self) -> bool {
        lock(&self.accept).is_some()
    }

    /// Simulates an outage: closes the listener (new connections are refused) and cuts
    /// every open connection. Idempotent.
    pub fn down(&self) {
        let accept = lock(&self.accept).take();
        if let Some(accept) = accept {
            accept.stop.store(true, Ordering::SeqCst);
            // Wake the blocking accept() so the thread sees the flag and drops the listener.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
            let _ = accept.thread.join();
        }
        self.shared.cut_all_connections();
    }

    /// Ends an outage: listens again on the same port. Idempotent.
    pub fn up(&self) -> io::Result<()> {
        let mut accept = lock(&self.accept);
        if accept.is_some() {
            return Ok(());
        }
        let listener = bind_again(self.addr)?;
        *accept = Some(spawn_accept_loop(listener, Arc::clone(&self.shared))?);
        Ok(())
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.down();
    }
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("addr", &self.addr)
            .field("tls", &self.shared.tls.is_some())
            .field("up", &self.is_up())
            .finish()
    }
}

impl Shared {
    fn register(&self, stream: &TcpStream) -> Option<u64> {
        let clone = stream.try_clone().ok()?;
        let id = self.next_connection.fetch_add(1, Ordering::SeqCst);
        lock(&self.connections).insert(id, clone);
        Some(id)
    }

    fn unregister(&self, id: Option<u64>) {
        if let Some(id) = id {
            lock(&self.connections).remove(&id);
        }
    }

    fn cut_all_connections(&self) {
        let cut: Vec<TcpStream> = lock(&self.connections).drain().map(|(_, s)| s).collect();
        for stream in cut {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Rebinding right after closing can briefly fail on some systems; retry for up to 2 s.
fn bind_again(addr: SocketAddr) -> io::Result<TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match TcpListener::bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) if Instant::now() < deadline && e.kind() == io::ErrorKind::AddrInUse => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

fn spawn_accept_loop(listener: TcpListener, shared: Arc<Shared>) -> io::Result<AcceptLoop> {
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("test-http-accept".into())
        .spawn(move || accept_loop(&listener, &thread_stop, &shared))?;
    Ok(AcceptLoop { stop, thread })
}

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, shared: &Arc<Shared>) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                // Registered before the thread starts, so a `down()` racing with this
                // accept still cuts the connection.
                let id = shared.register(&stream);
                let thread_shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("test-http-conn".into())
                    .stack_size(512 * 1024)
                    .spawn(move || {
                        connection::serve(&thread_shared, stream, peer);
                        thread_shared.unregister(id);
                    });
                if spawned.is_err() {
                    // Out of threads: the socket was moved into the failed closure and is
                    // closed; back off instead of spinning.
                    shared.unregister(id);
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            // EMFILE and friends: back off instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}
