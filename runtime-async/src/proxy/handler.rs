//! One request through the proxy: its facts handed to core's
//! [`admit`](llmauth_core::broker::admission::admit), and what that decides performed —
//! the health answer, a refusal, or forwarding with the token swapped in (and one retry
//! after a gateway 401 when core's [`may_retry`] and the broker agree). No policy here.

use std::convert::Infallible;
use std::error::Error as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use llmauth_core::broker::admission::{
    self, Admission, BodyFacts, BodyPlan, Denial, Forward, RequestFacts, may_retry,
};
use llmauth_core::broker::health::{Health, HealthFacts};
use llmauth_core::broker::rules::{self, Dialect};
use llmauth_core::broker::{Lease, Refusal};
use llmauth_core::secret::LocalKey;
use llmauth_core::service::Manager;
use llmauth_core::time::UnixTime;

use super::body::ProxyBody;
use super::upstream::{ConnectError, GatewayClient, GatewayConnector};
use crate::clock;
use crate::token_supply::TokenSupply;

/// The gateway may stay silent this long between bytes (or before answering).
pub(crate) const UPSTREAM_IDLE: Duration = Duration::from_secs(300);

/// Everything a request needs, shared by all connections.
pub(crate) struct Handler {
    /// The port the proxy listens on (for the Host check).
    pub(crate) port: u16,
    /// `None` when `proxy.require_local_key` is off.
    pub(crate) local_key: Option<LocalKey>,
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) client: GatewayClient,
    pub(crate) supply: TokenSupply,
    /// The `Authorization` value for the current lease, built once per token.
    bearer: Mutex<Option<(u64, HeaderValue)>>,
    /// Request headers never forwarded: the key headers, the dropped ones and the
    /// hop-by-hop ones (parsed once).
    request_strip: Vec<HeaderName>,
    /// Response headers never passed back: the hop-by-hop ones.
    response_strip: Vec<HeaderName>,
    stats: Arc<Stats>,
}

/// What the health answer tells about the proxy besides its token.
pub(crate) struct Stats {
    started_at: UnixTime,
    managed_by: Option<Manager>,
    requests_served: AtomicU64,
    last_upstream_error: Mutex<Option<(UnixTime, String)>>,
}

impl Stats {
    /// Counting from now.
    pub(crate) fn new(managed_by: Option<Manager>) -> Self {
        Self {
            started_at: clock::now(),
            managed_by,
            requests_served: AtomicU64::new(0),
            last_upstream_error: Mutex::new(None),
        }
    }

    fn served(&self) {
        self.requests_served.fetch_add(1, Ordering::Relaxed);
    }

    fn upstream_failed(&self, message: &str) {
        let mut last = self
            .last_upstream_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *last = Some((clock::now(), message.to_owned()));
    }

    fn last_upstream_error(&self) -> Option<(UnixTime, String)> {
        self.last_upstream_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The gateway URL, split once.
pub(crate) struct Gateway {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    host: HeaderValue,
}

/// The gateway URL cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the gateway URL {0:?} is not an absolute https URL with a host")]
pub struct InvalidGatewayUrl(pub String);

impl Gateway {
    /// Splits `https://host[:port][/base]`.
    pub(crate) fn parse(url: &str) -> Result<Self, InvalidGatewayUrl> {
        let invalid = || InvalidGatewayUrl(url.to_owned());
        let uri: Uri = url.parse().map_err(|_| invalid())?;
        let scheme = uri.scheme().cloned().ok_or_else(invalid)?;
        let authority = uri.authority().cloned().ok_or_else(invalid)?;
        if scheme != http::uri::Scheme::HTTPS {
            return Err(invalid());
        }
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| invalid())?;
        Ok(Self {
            scheme,
            authority,
            base_path: uri.path().to_owned(),
            host,
        })
    }

    /// The gateway URL for core's path and query.
    fn uri(&self, target: String) -> Option<Uri> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(target)
            .build()
            .ok()
    }
}

/// A request ready to send (and, when its body was kept, to send again).
struct Outgoing {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Kept,
    /// How core said the body travels (which decides a retry).
    plan: BodyPlan,
}

enum Kept {
    /// Held in memory: the request can be retried.
    Bytes(Bytes),
    /// Streaming: sent once.
    Stream(Option<Incoming>),
}

impl Handler {
    pub(crate) fn new(
        port: u16,
        local_key: Option<LocalKey>,
        gateway: Arc<Gateway>,
        connector: GatewayConnector,
        supply: TokenSupply,
        stats: Arc<Stats>,
    ) -> Self {
        let names = |names: &[&'static str]| -> Vec<HeaderName> {
            names
                .iter()
                .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
                .collect()
        };
        let mut request_strip = names(&rules::KEY_HEADERS);
        request_strip.extend(names(&rules::DROPPED_REQUEST_HEADERS));
        request_strip.extend(names(&rules::HOP_BY_HOP));
        Self {
            port,
            local_key,
            gateway,
            client: super::upstream::client(connector),
            supply,
            bearer: Mutex::new(None),
            request_strip,
            response_strip: names(&rules::HOP_BY_HOP),
            stats,
        }
    }

    /// Answers one request; every failure becomes a JSON error in the caller's dialect.
    pub(crate) async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let dialect = Dialect::of(
            request.uri().path(),
            request.headers().contains_key("anthropic-version"),
        );
        Ok(match self.serve(request).await {
            Ok(response) => response,
            Err(error) => {
                if let Some(message) = error.upstream_message() {
                    self.stats.upstream_failed(message);
                }
                error.response(dialect)
            }
        })
    }

    async fn serve(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, Failure> {
        let forward = match admission::admit(&self.facts(&request)) {
            Admission::Health => {
                return Ok(json_response(StatusCode::OK, self.health().render()));
            }
            Admission::Deny(denial) => return Err(Failure::Denied(denial)),
            Admission::Forward(forward) => forward,
        };
        let mut outgoing = self.prepare(request, forward).await?;
        let lease = self.supply.lease().await.map_err(Failure::Refused)?;
        let response = self.send(&mut outgoing, &lease).await?;
        self.stats.served();
        if !may_retry(response.status().as_u16(), outgoing.plan) {
            return Ok(self.pass_back(response).await);
        }
        match self.supply.after_rejection(&lease.token).await {
            None => Ok(self.pass_back(response).await),
            Some(Err(refusal)) => Err(Failure::Refused(refusal)),
            Some(Ok(lease)) => {
                drop(response);
                let retried = self.send(&mut outgoing, &lease).await?;
                Ok(self.pass_back(retried).await)
            }
        }
    }

    /// The health answer: the token's expiry, the process, what it served — never a
    /// token.
    fn health(&self) -> Health {
        Health::of(&HealthFacts {
            token_expires_at: self.supply.token_expires_at(),
            pid: std::process::id(),
            port: self.port,
            started_at: self.stats.started_at,
            now: clock::now(),
            requests_served: self.stats.requests_served.load(Ordering::Relaxed),
            last_upstream_error: self.stats.last_upstream_error(),
            managed_by: self.stats.managed_by,
        })
    }

    /// What core needs to admit `request`, borrowed from it.
    fn facts<'a>(&'a self, request: &'a Request<Incoming>) -> RequestFacts<'a, HeaderValues<'a>> {
        let uri = request.uri();
        let body = request.body();
        RequestFacts {
            port: self.port,
            local_key: self.local_key.as_ref(),
            gateway_path: &self.gateway.base_path,
            method: request.method().as_str(),
            authority: uri.authority().map(http::uri::Authority::as_str),
            path: uri.path(),
            query: uri.query(),
            headers: HeaderValues(request.headers()),
            body: BodyFacts {
                empty: body.is_end_stream(),
                length: body.size_hint().exact(),
            },
        }
    }

    /// The gateway request: core's target, key and hop-by-hop headers gone, the body read
    /// first when core says to keep it.
    async fn prepare(
        &self,
        request: Request<Incoming>,
        forward: Forward,
    ) -> Result<Outgoing, Failure> {
        let (parts, body) = request.into_parts();
        let uri = self.gateway.uri(forward.target).ok_or_else(|| {
            Failure::BadRequest("the request path cannot be forwarded".to_owned())
        })?;
        let mut headers = parts.headers;
        strip(&mut headers, &self.request_strip);
        headers.insert(header::HOST, self.gateway.host.clone());
        let kept = match forward.body {
            BodyPlan::Empty => Kept::Bytes(Bytes::new()),
            BodyPlan::Keep => {
                let idle = super::body::Idle::new(body, UPSTREAM_IDLE);
                let collected = idle.collect().await.map_err(|e| {
                    Failure::BadRequest(format!("reading the request body failed: {e}"))
                })?;
                Kept::Bytes(collected.to_bytes())
            }
            BodyPlan::Stream => Kept::Stream(Some(body)),
        };
        Ok(Outgoing {
            method: parts.method,
            uri,
            headers,
            body: kept,
            plan: forward.body,
        })
    }

    /// Sends `outgoing` with `lease`'s token and waits for the response head.
    async fn send(
        &self,
        outgoing: &mut Outgoing,
        lease: &Lease,
    ) -> Result<Response<Incoming>, Failure> {
        let body = match &mut outgoing.body {
            Kept::Bytes(bytes) => ProxyBody::full(bytes.clone()),
            Kept::Stream(stream) => match stream.take() {
                Some(incoming) => ProxyBody::stream(incoming, UPSTREAM_IDLE),
                None => ProxyBody::empty(),
            },
        };
        let mut request = Request::new(body);
        *request.method_mut() = outgoing.method.clone();
        *request.uri_mut() = outgoing.uri.clone();
        let mut headers = outgoing.headers.clone();
        headers.insert(header::AUTHORIZATION, self.bearer(lease)?);
        *request.headers_mut() = headers;
        let answered = async {
            self.client
                .request(request)
                .await
                .map_err(Failure::upstream)
        };
        tokio::time::timeout(UPSTREAM_IDLE, answered)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::GatewayTimeout(format!(
                    "the gateway did not answer within {} s",
                    UPSTREAM_IDLE.as_secs()
                )))
            })
    }

    /// `Bearer <token>`, marked sensitive (never logged by hyper), cached per lease.
    fn bearer(&self, lease: &Lease) -> Result<HeaderValue, Failure> {
        let mut cache = self.bearer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((serial, value)) = &*cache
            && *serial == lease.serial
        {
            return Ok(value.clone());
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {}", lease.token.expose_secret()))
            .map_err(|_| {
            Failure::Internal("the access token is not a valid header value".to_owned())
        })?;
        value.set_sensitive(true);
        *cache = Some((lease.serial, value.clone()));
        Ok(value)
    }
}

impl Handler {
    /// The gateway's response, streamed back as it arrives, minus hop-by-hop headers (a
    /// small answer of announced size with its first frame, see [`ProxyBody::prime`]).
    async fn pass_back(&self, response: Response<Incoming>) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        strip(&mut parts.headers, &self.response_strip);
        let body = ProxyBody::stream(body, UPSTREAM_IDLE).prime().await;
        Response::from_parts(parts, body)
    }
}

/// A request's headers as core reads them.
#[derive(Clone, Copy)]
struct HeaderValues<'a>(&'a HeaderMap);

impl admission::Headers for HeaderValues<'_> {
    fn values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.0.get_all(name).iter().map(HeaderValue::as_bytes)
    }
}

/// Removes the headers named in `Connection` (RFC 9110 §7.6.1), then `names`.
fn strip(headers: &mut HeaderMap, names: &[HeaderName]) {
    if headers.contains_key(header::CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| rules::connection_options(value).collect::<Vec<_>>())
            .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    for name in names {
        headers.remove(name);
    }
}

fn json_response(status: StatusCode, body: String) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::full(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Why the proxy answers itself.
enum Failure {
    /// Core did not admit the request (400, 401, 403 or 405).
    Denied(Denial),
    /// 400: the request could not be read or rebuilt.
    BadRequest(String),
    /// The broker refused a token (401, 502, 504 or 500).
    Refused(Refusal),
    /// 502: the gateway could not be reached or broke the connection.
    BadGateway(String),
    /// 504: connecting timed out, or the gateway said nothing for too long.
    GatewayTimeout(String),
    /// 500
    Internal(String),
}

impl Failure {
    fn upstream(error: hyper_util::client::legacy::Error) -> Self {
        let mut source = error.source();
        while let Some(cause) = source {
            if let Some(connect) = cause.downcast_ref::<ConnectError>() {
                return match connect {
                    ConnectError::Timeout(_) => Self::GatewayTimeout(connect.to_string()),
                    ConnectError::Tcp(_)
                    | ConnectError::Tls(_)
                    | ConnectError::Proxy(_)
                    | ConnectError::Url(_) => Self::BadGateway(connect.to_string()),
                };
            }
            source = cause.source();
        }
        let detail = error
            .source()
            .map_or_else(|| error.to_string(), ToString::to_string);
        Self::BadGateway(format!("the gateway connection failed: {detail}"))
    }

    /// The message of a failure of the gateway or the IdP (what `proxy status` shows as
    /// the last upstream error); `None` for the client's own faults.
    fn upstream_message(&self) -> Option<&str> {
        match self {
            Self::BadGateway(message) | Self::GatewayTimeout(message) => Some(message),
            Self::Refused(refusal) if refusal.status() >= 500 => Some(&refusal.message),
            Self::Denied(_) | Self::BadRequest(_) | Self::Refused(_) | Self::Internal(_) => None,
        }
    }

    fn response(self, dialect: Dialect) -> Response<ProxyBody> {
        let allow = match &self {
            Self::Denied(denial) => denial.allow(),
            Self::BadRequest(_)
            | Self::Refused(_)
            | Self::BadGateway(_)
            | Self::GatewayTimeout(_)
            | Self::Internal(_) => None,
        };
        let (status, message) = match self {
            Self::Denied(denial) => (
                StatusCode::from_u16(denial.status()).unwrap_or(StatusCode::BAD_REQUEST),
                denial.to_string(),
            ),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Self::Refused(refusal) => (
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                refusal.message,
            ),
            Self::BadGateway(m) => (StatusCode::BAD_GATEWAY, m),
            Self::GatewayTimeout(m) => (StatusCode::GATEWAY_TIMEOUT, m),
            Self::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, m),
        };
        let body = rules::error_body(
            dialect,
            status.as_u16(),
            &format!("llmauth proxy: {message}"),
        );
        let mut response = json_response(status, body);
        if let Some(allow) = allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}
