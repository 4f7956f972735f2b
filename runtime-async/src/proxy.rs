//! The localhost proxy (SPEC §7): loopback listeners (bound here, or inherited from a
//! service manager), one hyper HTTP/1.1 connection task per client, a cap on connections
//! under the descriptor limit (idle ones closed first when it is near, as core's
//! `broker::connections` says), and a graceful stop.
//!
//! ```text
//! client ──▶ 127.0.0.1 / [::1]:<port> ──▶ acceptor ──▶ a worker thread (in turn)
//!        ──▶ core's admit (method, Host, Origin, health, local key, path)
//!        ──▶ token from TokenSupply (memory, or the broker's flow)
//!        ──▶ the worker's pooled TLS connection to the gateway ──▶ response streamed back
//! ```
//!
//! One worker per core, each a single-threaded tokio runtime with its own reactor and its
//! own pool of gateway connections: a client connection and the gateway connections that
//! serve it stay on one thread, so a request costs no cross-thread wake-up, and sockets are
//! registered once (edge-triggered) instead of re-armed for every wait. The calling
//! thread's worker also runs the acceptor, the token supply and the connection checker.

mod body;
mod connections;
mod handler;
mod upstream;

pub use handler::InvalidGatewayUrl;
pub use upstream::TlsSetupError;

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use llmauth_core::error::ErrorClass;
use llmauth_core::secret::LocalKey;
use llmauth_core::service::Manager;
use llmauth_core::service::activation::{InheritedError, inherited_port};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::FlowSetup;
use crate::token_supply::TokenSupply;
use connections::{Connections, Registration, Tracked};
use handler::{Gateway, Handler, Stats};
use upstream::GatewayConnector;

/// How often a full proxy (every connection busy) looks for room again.
const ROOM_POLL: Duration = Duration::from_millis(20);
/// How long a stop waits for streams in flight (SPEC §7).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Connecting to the gateway (TCP, proxy tunnel and TLS) gives up after this (SPEC §7).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the proxy needs to run.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    /// `llm.gateway_url`.
    pub gateway_url: String,
    /// The port for `127.0.0.1` and `[::1]`; 0 picks a free one (tests).
    pub port: u16,
    /// The local key requests must carry; `None` when `proxy.require_local_key` is off.
    pub local_key: Option<LocalKey>,
    /// `tls.ca_file`: extra roots for the gateway (and the IdP, through the flows).
    pub ca_file: Option<PathBuf>,
    /// `tls.skip_verify`: the gateway's certificate is not checked (never the IdP's).
    pub skip_verify: bool,
    /// How token flows run.
    pub flow: FlowSetup,
    /// How long a request waits for a token before a 401 (60 s; shorter in tests).
    pub login_wait: Duration,
    /// Worker threads (at least 1): one per core serves best.
    pub threads: usize,
    /// Most client connections held at once; the descriptor limit may lower it
    /// (`llmauth_core::broker::connections`).
    pub max_connections: usize,
    /// The service manager that started the proxy, if one did (the health answer says
    /// so, and `proxy stop` stops it through the manager).
    pub managed_by: Option<Manager>,
}

/// Why the proxy could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The port is taken (on 127.0.0.1 or ::1).
    #[error("port {port} on {address} is already in use")]
    PortInUse {
        /// The port.
        port: u16,
        /// Which loopback address.
        address: String,
    },
    /// Binding failed otherwise.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// The OS error.
        source: io::Error,
    },
    /// `gateway_url` cannot be used.
    #[error(transparent)]
    Gateway(#[from] InvalidGatewayUrl),
    /// TLS for the gateway cannot be set up.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The stop signal could not be installed.
    #[error("cannot handle signals: {0}")]
    Signals(io::Error),
    /// The listening sockets a service manager passed cannot be served.
    #[error(transparent)]
    Inherited(#[from] InheritedError),
    /// A worker's runtime could not start (no threads or descriptors left).
    #[error("cannot start the proxy's workers: {0}")]
    Runtime(io::Error),
}

impl ProxyError {
    /// Whose move it is (the exit code of `proxy start` follows it).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::PortInUse { .. }
            | Self::Bind { .. }
            | Self::Gateway(_)
            | Self::Tls(_)
            | Self::Inherited(_) => ErrorClass::Config,
            // Threads and descriptors come back when other programs end.
            Self::Runtime(_) => ErrorClass::Transient,
            Self::Signals(_) => ErrorClass::Bug,
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Self::PortInUse { .. } => Some(
                "stop the program using it (`llmauth proxy stop` stops an llmauth proxy, however it was started), or choose another port (`llmauth proxy start --port N`, or `llmauth config set --proxy-port N`)",
            ),
            Self::Inherited(_) => Some(
                "the service's socket must listen on 127.0.0.1 and [::1] only: run `llmauth proxy install` again to rewrite it",
            ),
            Self::Gateway(_) | Self::Tls(_) => Some("check `llmauth config show`"),
            Self::Runtime(_) => Some(
                "the machine is out of threads or file descriptors: end some programs, or raise the limits (`ulimit -u`, `ulimit -n`), then start the proxy again",
            ),
            Self::Bind { .. } | Self::Signals(_) => None,
        }
    }
}

/// A proxy bound to its loopback ports, ready to run: everything that can fail before it
/// serves has been done, so a caller that says "listening" once it has one is right.
pub struct Proxy {
    options: ProxyOptions,
    listeners: Vec<tokio::net::TcpListener>,
    port: u16,
    ready: Ready,
}

/// What the proxy makes before it binds: the gateway, TLS to it, the connection cap and
/// every worker's runtime. A gateway URL or CA file that cannot be used, or a machine out
/// of threads or descriptors, is found here, before the port is taken.
struct Ready {
    gateway: Arc<Gateway>,
    connector: GatewayConnector,
    cap: usize,
    /// The runtime of the thread that runs the proxy, made at once so the stop signals
    /// can be installed before it serves ([`crate::signals::first_signal`]).
    runtime: Runtime,
    /// The other workers' runtimes.
    others: Vec<Runtime>,
}

impl Ready {
    fn new(options: &ProxyOptions) -> Result<Self, ProxyError> {
        let gateway = Arc::new(Gateway::parse(&options.gateway_url)?);
        let tls = upstream::client_config(options.ca_file.as_deref(), options.skip_verify)?;
        // Raised before the runtimes take descriptors of their own.
        let cap = options.max_connections.min(crate::limits::raise_and_cap());
        let runtime = worker_runtime()?;
        let others = (1..options.threads.max(1))
            .map(|_| worker_runtime())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            gateway,
            connector: GatewayConnector::new(tls, CONNECT_TIMEOUT),
            cap,
            runtime,
            others,
        })
    }

    /// `listeners` registered with the calling thread's runtime (the acceptor's).
    fn register(
        &self,
        listeners: Vec<TcpListener>,
    ) -> Result<Vec<tokio::net::TcpListener>, ProxyError> {
        let _inside = self.runtime.enter();
        listeners
            .into_iter()
            .map(tokio::net::TcpListener::from_std)
            .collect::<io::Result<Vec<_>>>()
            .map_err(|source| ProxyError::Bind {
                address: "loopback".to_owned(),
                source,
            })
    }
}

impl Proxy {
    /// Binds `127.0.0.1:<port>` and, when the machine has IPv6, `[::1]:<port>`. Nothing
    /// but loopback is ever bound.
    ///
    /// # Errors
    /// [`ProxyError::PortInUse`] (on either address: a different program on `::1` would
    /// otherwise receive the requests of tools that resolve `localhost` to it), another
    /// bind error, or what [`Ready`] finds: an unusable gateway URL or TLS setup, or no
    /// threads or descriptors left for the workers.
    pub fn bind(options: ProxyOptions) -> Result<Self, ProxyError> {
        let ready = Ready::new(&options)?;
        // Port 0: the OS picks one on 127.0.0.1, which may be taken on ::1; try again.
        let attempts = if options.port == 0 { 20 } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            match bind_loopback(options.port) {
                Ok((listeners, port)) => {
                    return Ok(Self {
                        listeners: ready.register(listeners)?,
                        options,
                        port,
                        ready,
                    });
                }
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| ProxyError::Bind {
            address: "127.0.0.1".to_owned(),
            source: io::Error::other("no attempt made"),
        }))
    }

    /// Serves `listeners` (inherited from a service manager) instead of binding: they
    /// must all be loopback, on one port. `options.port` is not used.
    ///
    /// # Errors
    /// [`ProxyError::Inherited`] for sockets that cannot be served, [`ProxyError::Bind`]
    /// when one cannot be made non-blocking, or what [`Proxy::bind`] finds before binding.
    pub fn with_listeners(
        options: ProxyOptions,
        listeners: Vec<TcpListener>,
    ) -> Result<Self, ProxyError> {
        let addresses: Vec<SocketAddr> = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<Result<_, _>>()
            .map_err(|source| ProxyError::Bind {
                address: "an inherited socket".to_owned(),
                source,
            })?;
        let port = inherited_port(&addresses)?;
        for (listener, address) in listeners.iter().zip(&addresses) {
            listener
                .set_nonblocking(true)
                .map_err(|source| ProxyError::Bind {
                    address: address.to_string(),
                    source,
                })?;
        }
        let ready = Ready::new(&options)?;
        Ok(Self {
            listeners: ready.register(listeners)?,
            options,
            port,
            ready,
        })
    }

    /// The port bound (the one asked for, or the OS's choice for 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The addresses bound.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The runtime the stop signals are delivered through.
    pub(crate) fn runtime(&self) -> &Runtime {
        &self.ready.runtime
    }

    /// Serves until `stop` resolves, then stops accepting, lets streams in flight finish
    /// for up to 5 s, and returns. Blocks the calling thread, which is one of the
    /// workers; the others get threads of their own.
    ///
    /// # Errors
    /// [`ProxyError::Runtime`] when a worker's thread cannot be started.
    pub fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ProxyError> {
        let Self {
            options,
            listeners,
            port,
            ready:
                Ready {
                    gateway,
                    connector,
                    cap,
                    runtime,
                    others,
                },
        } = self;
        let stats = Arc::new(Stats::new(options.managed_by));
        let (senders, mut inboxes): (Vec<_>, Vec<_>) = (0..=others.len())
            .map(|_| unbounded_channel::<(TcpStream, Registration)>())
            .unzip();
        let own_inbox = inboxes.remove(0);
        // The token supply and the connection checker live on this thread's runtime, which
        // runs until every worker has drained.
        let (supply, connections) = {
            let _inside = runtime.enter();
            (
                TokenSupply::start(options.flow.clone(), options.login_wait),
                Connections::start(cap.max(1)),
            )
        };
        let handler = || {
            Arc::new(Handler::new(
                port,
                options.local_key.clone(),
                Arc::clone(&gateway),
                connector.clone(),
                supply.clone(),
                Arc::clone(&stats),
            ))
        };
        let mut threads = Vec::with_capacity(others.len());
        for (worker, inbox) in others.into_iter().zip(inboxes) {
            let handler = handler();
            let thread = std::thread::Builder::new()
                .name("llmauth-proxy".to_owned())
                .spawn(move || {
                    worker.block_on(serve(inbox, handler));
                    worker.shutdown_background();
                })
                .map_err(ProxyError::Runtime)?;
            threads.push(thread);
        }
        let own = handler();
        runtime.block_on(async move {
            let acceptor = tokio::spawn(accept(listeners, senders, Arc::clone(&connections), stop));
            serve(own_inbox, own).await;
            let _ = acceptor.await;
            // The others drain while this runtime still answers their token waits.
            let _ = tokio::task::spawn_blocking(move || {
                for thread in threads {
                    let _ = thread.join();
                }
            })
            .await;
        });
        // A flow may still wait on the blocking pool (a sign-in nobody finished): it is
        // not waited for.
        runtime.shutdown_background();
        Ok(())
    }
}

/// A worker's runtime: one thread, its own reactor and timers.
fn worker_runtime() -> Result<Runtime, ProxyError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ProxyError::Runtime)
}

/// Accepts connections on every listener until `stop`, handing them to the workers in
/// turn; then closes the listeners, and the workers drain once their inbox is closed.
async fn accept(
    listeners: Vec<tokio::net::TcpListener>,
    workers: Vec<UnboundedSender<(TcpStream, Registration)>>,
    connections: Arc<Connections>,
    stop: impl Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    let mut turn = 0;
    loop {
        let accepted = async {
            // Each listener is asked first in turn, so a flood on one address cannot keep
            // the other's connections waiting.
            let first = turn % listeners.len().max(1);
            let accept = listeners
                .iter()
                .cycle()
                .skip(first)
                .take(listeners.len())
                .map(|l| Box::pin(l.accept()));
            let result = first_of(accept).await;
            // Every connection busy at the cap: the new one waits, unserved (as the ones
            // behind it in the backlog), until a request is done.
            while result.is_ok() && !connections.may_accept() {
                tokio::time::sleep(ROOM_POLL).await;
            }
            Some(result)
        };
        let stopped = async {
            stop.as_mut().await;
            None
        };
        let Some(result) = futures_lite::future::or(stopped, accepted).await else {
            return;
        };
        let Ok((stream, _peer)) = result else {
            // EMFILE and friends: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        // Counted at once, so a burst of accepts cannot overshoot the cap.
        let registration = connections.register();
        // Registered with this worker's reactor until now: the worker it goes to
        // registers it with its own.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let mut connection = (stream, registration);
        for _ in 0..workers.len() {
            let worker = &workers[turn % workers.len()];
            turn = turn.wrapping_add(1);
            match worker.send(connection) {
                Ok(()) => break,
                // That worker has stopped: the next one.
                Err(returned) => connection = returned.0,
            }
        }
    }
}

/// Serves the connections handed to this worker until its inbox closes, then lets
/// requests in flight finish for up to [`DRAIN_TIMEOUT`].
async fn serve(mut inbox: UnboundedReceiver<(TcpStream, Registration)>, handler: Arc<Handler>) {
    let graceful = GracefulShutdown::new();
    while let Some((stream, mut registration)) = inbox.recv().await {
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = registration.activity();
        let handler = Arc::clone(&handler);
        // No header-read timer: `Connections` closes connections that wait too long for a
        // head (core's `WAIT_LIMIT`, shorter under pressure).
        let connection = http1::Builder::new()
            .header_read_timeout(None::<Duration>)
            .serve_connection(
                TokioIo::new(stream),
                service_fn(move |request| {
                    let busy = activity.begin();
                    let handler = Arc::clone(&handler);
                    async move {
                        let response = handler.handle(request).await?;
                        Ok::<_, std::convert::Infallible>(
                            response.map(|body| Tracked::new(body, busy)),
                        )
                    }
                }),
            );
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that vanished or sent garbage ends only its own connection; one
            // that crowds the cap while waiting for a head is dropped (closed).
            let served = async {
                let _ = watched.await;
            };
            futures_lite::future::or(served, registration.closed()).await;
        });
    }
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
}

/// The output of whichever future finishes first (the listeners' accepts; the others
/// are dropped, which loses nothing: an accept is only a readiness wait until it
/// returns).
async fn first_of<F: Future + Unpin>(futures: impl Iterator<Item = F>) -> F::Output {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(move |cx| {
        for future in &mut futures {
            if let std::task::Poll::Ready(output) = std::pin::Pin::new(future).poll(cx) {
                return std::task::Poll::Ready(output);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Binds both loopback addresses on one port.
fn bind_loopback(port: u16) -> Result<(Vec<TcpListener>, u16), ProxyError> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let first = TcpListener::bind(v4).map_err(|e| bind_error(v4, port, e))?;
    let port = first
        .local_addr()
        .map_err(|e| bind_error(v4, port, e))?
        .port();
    let mut listeners = vec![first];
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    match TcpListener::bind(v6) {
        Ok(listener) => listeners.push(listener),
        // No IPv6 on this machine (or no ::1): IPv4 alone serves everyone.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AddrNotAvailable | io::ErrorKind::Unsupported
            ) || e.raw_os_error() == Some(97) => {}
        Err(e) => return Err(bind_error(v6, port, e)),
    }
    for listener in &listeners {
        listener
            .set_nonblocking(true)
            .map_err(|e| bind_error(v4, port, e))?;
    }
    Ok((listeners, port))
}

fn bind_error(address: SocketAddr, port: u16, source: io::Error) -> ProxyError {
    if source.kind() == io::ErrorKind::AddrInUse {
        ProxyError::PortInUse {
            port,
            address: address.ip().to_string(),
        }
    } else {
        ProxyError::Bind {
            address: address.to_string(),
            source,
        }
    }
}
