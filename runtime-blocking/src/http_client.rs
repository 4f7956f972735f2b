//! HTTP requests to the IdP with ureq 3 over rustls (ring).
//!
//! The agent is built on the first request only: loading trust roots costs milliseconds
//! the cached-token fast path must not pay (DEPENDENCIES.md). Redirects are never
//! followed (a token endpoint that redirects is answered as is, STYLE §4.10), any status
//! comes back as a response (core classifies it), and the intent's deadline, connect
//! timeout and body limit are enforced here.

mod progress;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use llmauth_core::http::{HttpRequest, HttpResponse, Method, TransportError, TransportErrorKind};
use llmauth_core::net::{ProxyEnv, ProxyServer, Route};
use llmauth_core::secret::{AccessToken, SecretBytes};
use llmauth_core::time::UnixTime;
use rustls_pki_types::CertificateDer;
use ureq::http::HeaderValue;
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::{Agent, Proxy, ProxyProtocol, Timeout};

use crate::ca_file;
use progress::{Progress, Stage};

/// The HTTP client of one process; cheap until its first request.
pub(crate) struct HttpClient {
    ca_file: Option<PathBuf>,
    /// `HTTPS_PROXY` and friends, read at the first request (core decides what they
    /// mean).
    proxies: Option<ProxyEnv>,
    agent: Option<Agent>,
    /// How far the request in flight got, for what its failure means.
    progress: Progress,
}

impl HttpClient {
    /// A client that will trust the platform's roots plus `ca_file` (SPEC §3).
    pub(crate) fn new(ca_file: Option<PathBuf>) -> Self {
        Self {
            ca_file,
            proxies: None,
            agent: None,
            progress: Progress::default(),
        }
    }

    /// Sends `request` and reads the answer, within the request's deadline.
    pub(crate) fn perform(
        &mut self,
        request: &HttpRequest,
        now: UnixTime,
    ) -> Result<HttpResponse, TransportError> {
        self.exchange(request, None, now)
            .map(|exchanged| exchanged.response)
    }

    /// [`perform`](Self::perform), sending `bearer` as `Authorization: Bearer` (marked
    /// sensitive, so no HTTP layer logs it), and keeping the answer's `Date` header.
    pub(crate) fn exchange(
        &mut self,
        request: &HttpRequest,
        bearer: Option<&AccessToken>,
        now: UnixTime,
    ) -> Result<Exchanged, TransportError> {
        let total = request.deadline.since(now);
        if total.is_zero() {
            return Err(TransportError {
                kind: TransportErrorKind::Timeout,
                request_sent: false,
                detail: "before the request was sent".to_owned(),
            });
        }
        let connect = request.connect_timeout.min(total);
        let uri: ureq::http::Uri = request.url.parse().map_err(|_| not_sent("invalid URL"))?;
        let proxies = self
            .proxies
            .get_or_insert_with(|| ProxyEnv::from_vars(|name| std::env::var(name).ok()));
        let proxy = match proxies.route(&request.url) {
            Ok(Route::Direct) => None,
            Ok(Route::Proxy(server)) => Some(ureq_proxy(server)?),
            Err(invalid) => return Err(proxy_error(invalid.to_string())),
        };
        let agent = self.agent()?;

        let mut builder = ureq::http::Request::builder()
            .method(match request.method {
                Method::Get => ureq::http::Method::GET,
                Method::Post => ureq::http::Method::POST,
            })
            .uri(uri);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value.as_str());
        }
        if let Some(token) = bearer {
            let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
                .map_err(|_| not_sent("the access token cannot be sent in a header"))?;
            value.set_sensitive(true);
            builder = builder.header("authorization", value);
        }
        let limits = Limits {
            total,
            connect,
            proxy,
        };
        self.progress.start();
        let mut response = match &request.body {
            Some(body) => {
                let http = builder
                    .body(body.expose_secret())
                    .map_err(|_| not_sent("invalid request header"))?;
                run(&agent, http, limits)
            }
            None => {
                let http = builder
                    .body(())
                    .map_err(|_| not_sent("invalid request header"))?;
                run(&agent, http, limits)
            }
        }
        .map_err(|e| map_error(&e, self.progress.stage()))?;

        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let date = header("date");
        let limit = u64::try_from(request.max_body).unwrap_or(u64::MAX);
        let body = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| map_error(&e, Stage::Ready))?;
        Ok(Exchanged {
            response: HttpResponse {
                status,
                content_type,
                body: SecretBytes::new(body),
            },
            date,
        })
    }

    fn agent(&mut self) -> Result<Agent, TransportError> {
        if let Some(agent) = &self.agent {
            return Ok(agent.clone());
        }
        let roots = root_certs(self.ca_file.as_deref())?;
        let config = Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            // Chosen per request by core's `ProxyEnv`; ureq's own reading is bypassed.
            .proxy(None)
            .user_agent(concat!("llmauth/", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build();
        let agent = Agent::with_parts(
            config,
            self.progress.connector(),
            DefaultResolver::default(),
        );
        self.agent = Some(agent.clone());
        Ok(agent)
    }
}

/// An answer, with the `Date` header core's response type does not carry.
pub(crate) struct Exchanged {
    /// Status, content type and body.
    pub(crate) response: HttpResponse,
    /// The `Date` header, as sent.
    pub(crate) date: Option<String>,
}

/// Per-request settings derived from the intent.
struct Limits {
    total: Duration,
    connect: Duration,
    proxy: Option<Proxy>,
}

fn run<S: ureq::AsSendBody>(
    agent: &Agent,
    request: ureq::http::Request<S>,
    limits: Limits,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let request = agent
        .configure_request(request)
        .timeout_global(Some(limits.total))
        // Resolution and connection are budgeted separately so a stall there is
        // reported as such (the request was certainly not sent).
        .timeout_resolve(Some(limits.connect))
        .timeout_connect(Some(limits.connect))
        .proxy(limits.proxy)
        .build();
    agent.run(request)
}

/// Trust roots (SPEC §3): the platform verifier, unless a CA file or `SSL_CERT_FILE`
/// asks for more; then the platform's native roots plus those files' certificates.
///
/// ureq has no stable way to give the platform verifier extra roots, hence the split
/// (DEPENDENCIES.md). On Linux `rustls-native-certs` itself reads `SSL_CERT_FILE` (and
/// `SSL_CERT_DIR`) *instead of* the system bundle, as OpenSSL does; adding the file
/// explicitly matters on macOS and Windows, where the native store ignores it.
fn root_certs(ca_file: Option<&Path>) -> Result<RootCerts, TransportError> {
    let ssl_cert_file = std::env::var_os("SSL_CERT_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    if ca_file.is_none() && ssl_cert_file.is_none() {
        return Ok(RootCerts::PlatformVerifier);
    }
    let mut seen = BTreeSet::new();
    let mut roots = Vec::new();
    let mut add = |der: &CertificateDer<'_>| {
        if seen.insert(der.as_ref().to_vec()) {
            roots.push(Certificate::from_der(der.as_ref()).to_owned());
        }
    };
    // Individual unreadable platform certificates are skipped, as every TLS stack does.
    for der in &rustls_native_certs::load_native_certs().certs {
        add(der);
    }
    for file in [ca_file, ssl_cert_file.as_deref()].into_iter().flatten() {
        for der in &read_pem_certificates(file)? {
            add(der);
        }
    }
    Ok(RootCerts::Specific(Arc::new(roots)))
}

/// The certificates of a CA file, as a transport error before sending when unusable.
fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    ca_file::read(path).map_err(|error| TransportError {
        kind: TransportErrorKind::Tls,
        request_sent: false,
        detail: error.to_string(),
    })
}

/// ureq's form of the proxy core chose (an `http://` proxy; ureq encodes the
/// credentials for `Proxy-Authorization` itself).
fn ureq_proxy(server: &ProxyServer) -> Result<Proxy, TransportError> {
    let mut builder = Proxy::builder(ProxyProtocol::Http)
        .host(server.host())
        .port(server.port());
    if let Some(user) = server.user() {
        builder = builder.username(user);
    }
    if let Some(password) = server.password() {
        builder = builder.password(password.expose_secret());
    }
    // The proxy URL may carry a password, so it is never quoted in errors.
    builder
        .build()
        .map_err(|_| proxy_error("ureq cannot use the proxy named in the environment".to_owned()))
}

fn proxy_error(detail: String) -> TransportError {
    TransportError {
        kind: TransportErrorKind::Proxy,
        request_sent: false,
        detail,
    }
}

fn not_sent(detail: &str) -> TransportError {
    TransportError {
        kind: TransportErrorKind::Connect,
        request_sent: false,
        detail: detail.to_owned(),
    }
}

/// Maps a ureq error on a request that reached `stage` into core's transport error.
///
/// `request_sent` decides whether core marks the refresh token `maybe_spent` (SPEC §5),
/// so it is `false` only where the request certainly never left: name resolution,
/// connecting, the proxy handshake, the TLS handshake — anything before the connection
/// was ready. Everything later — and anything unrecognised — counts as sent. Details
/// never include a body or a URL (which may carry a query).
fn map_error(error: &ureq::Error, stage: Stage) -> TransportError {
    use TransportErrorKind as Kind;
    if let Some(tls) = rustls_error(error) {
        return map_tls_error(tls);
    }
    let (kind, request_sent, detail) = match error {
        ureq::Error::HostNotFound => (Kind::Dns, false, "host not found".to_owned()),
        ureq::Error::Timeout(Timeout::Resolve) => (
            Kind::Dns,
            false,
            "timed out resolving the host name".to_owned(),
        ),
        // Read as "timed out <detail>".
        ureq::Error::Timeout(_) if stage == Stage::Connecting => {
            (Kind::Timeout, false, "connecting".to_owned())
        }
        ureq::Error::Timeout(_) => (
            Kind::Timeout,
            true,
            "waiting for the IdP to answer".to_owned(),
        ),
        ureq::Error::Io(e) if is_lookup_failure(e) => (Kind::Dns, false, e.to_string()),
        ureq::Error::Io(e) => {
            let before_sending = matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
                    | std::io::ErrorKind::NetworkDown
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::AddrInUse
            );
            let kind = if before_sending {
                Kind::Connect
            } else {
                Kind::Io
            };
            (kind, !before_sending, e.to_string())
        }
        ureq::Error::ConnectionFailed => (Kind::Connect, false, "connection failed".to_owned()),
        ureq::Error::ConnectProxyFailed(why) => {
            (Kind::Proxy, false, format!("the proxy refused: {why}"))
        }
        ureq::Error::InvalidProxyUrl => (Kind::Proxy, false, "invalid proxy URL".to_owned()),
        ureq::Error::Tls(why) => (Kind::Tls, false, (*why).to_owned()),
        ureq::Error::Pem(e) => (Kind::Tls, false, format!("PEM: {e:?}")),
        ureq::Error::Rustls(e) => return map_tls_error(e),
        ureq::Error::TlsRequired => (Kind::Tls, false, "TLS required".to_owned()),
        ureq::Error::BadUri(_) => (Kind::Connect, false, "invalid URL".to_owned()),
        ureq::Error::Http(_) => (Kind::Connect, false, "invalid request".to_owned()),
        ureq::Error::BodyExceedsLimit(limit) => (
            Kind::TooLarge,
            true,
            format!("the response body exceeds {limit} bytes"),
        ),
        ureq::Error::LargeResponseHeader(size, limit) => (
            Kind::TooLarge,
            true,
            format!("the response header is too large ({size} > {limit} bytes)"),
        ),
        ureq::Error::Protocol(e) => (Kind::Io, true, format!("HTTP protocol error: {e}")),
        ureq::Error::StatusCode(status) => (Kind::Io, true, format!("HTTP status {status}")),
        ureq::Error::RedirectFailed | ureq::Error::TooManyRedirects => {
            (Kind::Io, true, "redirect handling failed".to_owned())
        }
        ureq::Error::RequireHttpsOnly(_) => (Kind::Connect, false, "https required".to_owned()),
        ureq::Error::Other(e) => (Kind::Io, true, e.to_string()),
        // ureq's error enum is non-exhaustive; anything new counts as sent.
        _ => (Kind::Io, true, "HTTP client error".to_owned()),
    };
    TransportError {
        kind,
        request_sent: request_sent && stage == Stage::Ready,
        detail,
    }
}

/// The rustls error behind `error`: ureq reports it as its own variant, or — when the
/// handshake fails while the request is being written — inside an I/O error.
fn rustls_error(error: &ureq::Error) -> Option<&rustls::Error> {
    if let ureq::Error::Rustls(e) = error {
        return Some(e);
    }
    if let ureq::Error::Io(e) = error {
        return e.get_ref()?.downcast_ref::<rustls::Error>();
    }
    None
}

/// Maps a rustls error. Certificate and negotiation failures happen in the handshake,
/// before any request byte is sent; other TLS errors may come mid-exchange.
fn map_tls_error(error: &rustls::Error) -> TransportError {
    if matches!(
        error,
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
    ) {
        return TransportError {
            kind: TransportErrorKind::UntrustedCertificate,
            request_sent: false,
            detail: "the server's certificate is not signed by a trusted authority".to_owned(),
        };
    }
    let handshake = matches!(
        error,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::PeerIncompatible(_)
            | rustls::Error::AlertReceived(_)
            | rustls::Error::UnsupportedNameType
    );
    TransportError {
        kind: TransportErrorKind::Tls,
        request_sent: !handshake,
        detail: error.to_string(),
    }
}

/// Whether an I/O error is the system resolver's: ureq passes `getaddrinfo` failures on
/// as plain I/O errors, which std words "failed to lookup address information: …"
/// (Windows reports the WSA host-lookup codes instead). The request was then never sent.
fn is_lookup_failure(error: &std::io::Error) -> bool {
    const WSAHOST_NOT_FOUND: i32 = 11001;
    const WSANO_DATA: i32 = 11004;
    if cfg!(windows)
        && error
            .raw_os_error()
            .is_some_and(|code| (WSAHOST_NOT_FOUND..=WSANO_DATA).contains(&code))
    {
        return true;
    }
    error
        .to_string()
        .starts_with("failed to lookup address information")
}
