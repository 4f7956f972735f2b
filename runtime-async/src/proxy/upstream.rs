//! The connection to the gateway: TCP (through an `HTTPS_PROXY` tunnel when the
//! environment says so, as core's `net` decides), TLS with the platform verifier plus
//! `tls.ca_file`, HTTP/1.1 connections pooled by hyper-util's client — one pool per
//! worker, whose connections that worker's reactor serves.
//!
//! The connector is ours, a `tower_service::Service<Uri>` that hyper-util's pooled client
//! calls when it needs a new connection: hyper-util's `HttpConnector` knows neither the
//! proxy rules nor TLS.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use llmauth_blocking::ca_file::{self, CaFileError};
use llmauth_core::net::{ProxyEnv, ProxyServer, Route};
use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::body::ProxyBody;

/// The pooled client the proxy forwards with.
pub(crate) type GatewayClient = Client<GatewayConnector, ProxyBody>;

/// How long idle pooled connections to the gateway are kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// Why the TLS setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// `tls.ca_file` is unreadable or holds no certificate.
    #[error("tls.ca_file: {0}")]
    CaFile(#[from] CaFileError),
    /// rustls refused the configuration (no platform roots at all, for example).
    #[error("cannot set up TLS for the gateway: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The TLS client configuration for the gateway: the platform verifier with the CA file
/// as extra roots, or — with `tls.skip_verify` — no certificate check at all (gateway
/// only; the IdP is never contacted with it).
///
/// # Errors
/// [`TlsSetupError`] when the CA file or the platform roots cannot be used.
pub(crate) fn client_config(
    ca_file: Option<&Path>,
    skip_verify: bool,
) -> Result<ClientConfig, TlsSetupError> {
    let provider = llmauth_blocking::tls::provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let verifier: Arc<dyn ServerCertVerifier> = if skip_verify {
        Arc::new(NoVerification(Arc::clone(&provider)))
    } else {
        let extra = match ca_file {
            Some(path) => ca_file::read(path)?,
            None => Vec::new(),
        };
        Arc::new(rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra, provider,
        )?)
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // hyper speaks HTTP/1.1 here; offering h2 would make an h2 gateway pick it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// `tls.skip_verify`: accepts any certificate, but still checks that the server holds the
/// key of the certificate it sent (the handshake signatures).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Builds the pooled client for the calling thread's runtime (its connections are
/// served by the thread that opened them).
pub(crate) fn client(connector: GatewayConnector) -> GatewayClient {
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(connector)
}

/// Why a connection to the gateway could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// Nothing answered within the connect timeout.
    #[error("connecting to the gateway timed out after {0} s")]
    Timeout(u64),
    /// TCP failed (refused, unreachable, DNS).
    #[error("cannot connect to the gateway: {0}")]
    Tcp(io::Error),
    /// The TLS handshake failed (certificate not trusted, for example).
    #[error("TLS with the gateway failed: {0}")]
    Tls(io::Error),
    /// The `HTTPS_PROXY` tunnel failed.
    #[error("the HTTPS proxy failed: {0}")]
    Proxy(String),
    /// The URL cannot be connected to.
    #[error("{0}")]
    Url(&'static str),
}

/// Connects to the gateway (hyper-util calls it for each new pooled connection).
#[derive(Clone)]
pub(crate) struct GatewayConnector {
    inner: Arc<ConnectorInner>,
}

struct ConnectorInner {
    tls: TlsConnector,
    /// `HTTPS_PROXY` and friends, read once (core decides what they mean).
    proxies: ProxyEnv,
    timeout: Duration,
}

impl GatewayConnector {
    /// A connector with this TLS configuration, the environment's proxy settings and a
    /// connect timeout (which covers TCP, the proxy tunnel and the TLS handshake).
    pub(crate) fn new(tls: ClientConfig, timeout: Duration) -> Self {
        Self {
            inner: Arc::new(ConnectorInner {
                tls: TlsConnector::from(Arc::new(tls)),
                proxies: ProxyEnv::from_vars(|name| std::env::var(name).ok()),
                timeout,
            }),
        }
    }
}

impl tower_service::Service<Uri> for GatewayConnector {
    type Response = TlsIo;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<TlsIo, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let timeout = inner.timeout;
            tokio::time::timeout(timeout, inner.connect(uri))
                .await
                .unwrap_or(Err(ConnectError::Timeout(timeout.as_secs())))
        })
    }
}

impl ConnectorInner {
    async fn connect(&self, uri: Uri) -> Result<TlsIo, ConnectError> {
        let host = uri
            .host()
            .ok_or(ConnectError::Url("the gateway URL has no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(443);
        let tcp = match self.route(&uri)? {
            Route::Proxy(server) => tunnel(server, uri).await?,
            Route::Direct => connect_tcp(&host, port).await.map_err(ConnectError::Tcp)?,
        };
        tcp.set_nodelay(true).map_err(ConnectError::Tcp)?;
        let name = ServerName::try_from(host)
            .map_err(|_| ConnectError::Url("the gateway host is not a valid TLS server name"))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(ConnectError::Tls)?;
        Ok(TlsIo(TokioIo::new(tls)))
    }

    /// How to reach the gateway, as core decides from the environment (loopback
    /// gateways always directly).
    fn route(&self, uri: &Uri) -> Result<Route<'_>, ConnectError> {
        self.proxies
            .route(&uri.to_string())
            .map_err(|invalid| ConnectError::Proxy(invalid.to_string()))
    }
}

/// Connects to `host` (an IP address, or a name resolved on the blocking pool).
async fn connect_tcp(host: &str, port: u16) -> io::Result<TcpStream> {
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port)).await?.collect(),
    };
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name has no address")))
}

/// Opens a CONNECT tunnel through the proxy (with `Proxy-Authorization` from the proxy
/// URL's user info) and returns the raw stream for TLS to the gateway.
async fn tunnel(server: &ProxyServer, uri: Uri) -> Result<TcpStream, ConnectError> {
    // The proxy URL may carry a password, so it is never quoted.
    let proxy: Uri = format!("http://{}:{}/", server.host(), server.port())
        .parse()
        .map_err(|_| ConnectError::Proxy("the proxy's host is not usable".to_owned()))?;
    let mut tunnel = Tunnel::new(proxy, PlainTcp);
    if let Some(authorization) = server.basic_authorization() {
        let mut value = HeaderValue::from_str(authorization.expose_secret()).map_err(|_| {
            ConnectError::Proxy("the proxy's user name is not usable in a header".to_owned())
        })?;
        value.set_sensitive(true);
        tunnel = tunnel.with_auth(value);
    }
    let io = tower_service::Service::call(&mut tunnel, uri)
        .await
        .map_err(|e| ConnectError::Proxy(e.to_string()))?;
    Ok(io.into_inner())
}

/// Plain TCP to the proxy, for hyper-util's `Tunnel`.
#[derive(Clone, Copy)]
struct PlainTcp;

impl tower_service::Service<Uri> for PlainTcp {
    type Response = TokioIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<TokioIo<TcpStream>>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(async move {
            let host = uri
                .host()
                .ok_or_else(|| io::Error::other("the proxy URL has no host"))?
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(80);
            let tcp = connect_tcp(&host, port).await?;
            tcp.set_nodelay(true)?;
            Ok(TokioIo::new(tcp))
        })
    }
}

/// A TLS connection to the gateway, as hyper-util's client wants it.
pub(crate) struct TlsIo(TokioIo<TlsStream<TcpStream>>);

impl Connection for TlsIo {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

impl Read for TlsIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl Write for TlsIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn proxies(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    fn inner_with(vars: &[(&str, &str)]) -> ConnectorInner {
        let config = client_config(None, true).unwrap();
        ConnectorInner {
            tls: TlsConnector::from(Arc::new(config)),
            proxies: proxies(vars),
            timeout: Duration::from_secs(5),
        }
    }

    /// The proxy `inner` would reach `url` through.
    fn proxy_host(inner: &ConnectorInner, url: &str) -> Option<String> {
        match inner.route(&url.parse().unwrap()).unwrap() {
            Route::Direct => None,
            Route::Proxy(server) => Some(server.host().to_owned()),
        }
    }

    #[test]
    fn loopback_gateways_never_go_through_a_proxy() {
        let inner = inner_with(&[("ALL_PROXY", "http://proxy.example:3128")]);
        for url in [
            "https://127.0.0.1/",
            "https://localhost/",
            "https://[::1]/",
            "https://127.1.2.3/",
            "https://127.1/",
        ] {
            assert_eq!(proxy_host(&inner, url), None, "{url}");
        }
        assert_eq!(
            proxy_host(&inner, "https://llm.example.com/v1").as_deref(),
            Some("proxy.example")
        );
        let excluded = inner_with(&[
            ("ALL_PROXY", "http://proxy.example:3128"),
            ("NO_PROXY", "example.com"),
        ]);
        assert_eq!(proxy_host(&excluded, "https://llm.example.com/v1"), None);
    }

    /// A one-shot CONNECT proxy: checks the request line and the credentials, answers
    /// 200, then echoes what the client sends (standing in for the tunnelled gateway).
    fn connect_proxy() -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let thread = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                head.push(line.trim_end().to_owned());
            }
            let mut writer = stream;
            writer
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let mut buf = [0u8; 5];
            reader.read_exact(&mut buf).unwrap();
            writer.write_all(&buf).unwrap();
            head
        });
        (port, thread)
    }

    #[test]
    fn https_proxy_tunnels_with_its_credentials() {
        let (port, proxy) = connect_proxy();
        let env = proxies(&[("ALL_PROXY", &format!("http://user:secret@127.0.0.1:{port}"))]);
        let uri: Uri = "https://llm.example.com:8443/v1".parse().unwrap();
        let Ok(Route::Proxy(server)) = env.route(&uri.to_string()) else {
            panic!("not proxied");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut socket = runtime.block_on(async {
            let mut socket = tunnel(server, uri).await.expect("tunnel");
            socket.write_all(b"hello").await.unwrap();
            let mut echoed = [0u8; 5];
            socket.read_exact(&mut echoed).await.unwrap();
            assert_eq!(&echoed, b"hello");
            socket
        });
        let head = proxy.join().unwrap();
        assert_eq!(head[0], "CONNECT llm.example.com:8443 HTTP/1.1");
        assert!(
            head.iter()
                .any(|h| h.eq_ignore_ascii_case("proxy-authorization: Basic dXNlcjpzZWNyZXQ=")),
            "{head:?}"
        );
        let _ = runtime.block_on(socket.shutdown());
    }

    #[test]
    fn an_https_proxy_url_is_refused_not_misused() {
        let inner = inner_with(&[("ALL_PROXY", "https://127.0.0.1:9")]);
        let uri: Uri = "https://llm.example.com/".parse().unwrap();
        let error = inner.route(&uri).expect_err("refused");
        assert!(error.to_string().contains("http:// proxies"), "{error}");
    }

    #[test]
    fn a_bad_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let error = client_config(Some(&empty), false).unwrap_err();
        assert!(error.to_string().contains("empty.pem"), "{error}");
        let missing = dir.path().join("missing.pem");
        let error = client_config(Some(&missing), false).unwrap_err();
        assert!(error.to_string().contains("missing.pem"), "{error}");
    }
}
