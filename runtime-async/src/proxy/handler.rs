//! One request through the proxy: the gate (Host, Origin, local key), the health
//! endpoint, and forwarding with the token swapped in — applying core's rules
//! (`llmauth_core::broker::rules`) and the broker's decisions, nothing more.

use std::convert::Infallible;
use std::error::Error as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body as _;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use llmauth_core::broker::rules::{self, Dialect};
use llmauth_core::broker::{Lease, Refusal};
use llmauth_core::secret::LocalKey;

use super::body::ProxyBody;
use super::deadline::Deadlines;
use super::upstream::{ConnectError, GatewayClient};
use crate::token_supply::TokenSupply;

/// Request bodies up to this size are kept in memory so the request can be retried once
/// after a gateway 401 (SPEC §7); larger ones stream through without a retry.
pub(crate) const MAX_RETRY_BODY: u64 = 1024 * 1024;

/// The gateway may stay silent this long between bytes (or before answering).
pub(crate) const UPSTREAM_IDLE: Duration = Duration::from_secs(300);

/// Everything a request needs, shared by all connections.
pub(crate) struct Handler {
    /// The port the proxy listens on (for the Host check).
    pub(crate) port: u16,
    /// `None` when `proxy.require_local_key` is off.
    pub(crate) local_key: Option<LocalKey>,
    pub(crate) gateway: Gateway,
    pub(crate) client: GatewayClient,
    pub(crate) supply: TokenSupply,
    /// The `Authorization` value for the current lease, built once per token.
    bearer: Mutex<Option<(u64, HeaderValue)>>,
    /// Request headers never forwarded: the key headers, the dropped ones and the
    /// hop-by-hop ones (parsed once).
    request_strip: Vec<HeaderName>,
    /// Response headers never passed back: the hop-by-hop ones.
    response_strip: Vec<HeaderName>,
    deadlines: Deadlines,
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

    fn uri(&self, path: &str, query: Option<&str>) -> Option<Uri> {
        let mut path_and_query = rules::join_path(&self.base_path, path);
        if let Some(query) = query {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
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
        gateway: Gateway,
        client: GatewayClient,
        supply: TokenSupply,
        deadlines: Deadlines,
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
            client,
            supply,
            bearer: Mutex::new(None),
            request_strip,
            response_strip: names(&rules::HOP_BY_HOP),
            deadlines,
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
            Err(error) => error.response(dialect),
        })
    }

    async fn serve(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, Failure> {
        self.check_gate(&request)?;
        if request.uri().path() == rules::HEALTH_PATH
            && matches!(*request.method(), Method::GET | Method::HEAD)
        {
            let body = rules::health_body(self.supply.token_expires_at());
            return Ok(json_response(StatusCode::OK, body));
        }
        self.check_key(&request)?;
        let mut outgoing = self.prepare(request).await?;
        let lease = self.supply.lease().await.map_err(Failure::Refused)?;
        let response = self.send(&mut outgoing, &lease).await?;
        if response.status() != StatusCode::UNAUTHORIZED || !outgoing.retryable() {
            return Ok(self.pass_back(response));
        }
        match self.supply.after_rejection(&lease.token).await {
            None => Ok(self.pass_back(response)),
            Some(Err(refusal)) => Err(Failure::Refused(refusal)),
            Some(Ok(lease)) => {
                drop(response);
                let retried = self.send(&mut outgoing, &lease).await?;
                Ok(self.pass_back(retried))
            }
        }
    }

    /// DNS-rebinding and cross-site protection (SPEC §7).
    fn check_gate(&self, request: &Request<Incoming>) -> Result<(), Failure> {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        let authority_ok = request
            .uri()
            .authority()
            .is_none_or(|a| rules::host_allowed(Some(a.as_str()), self.port));
        if !authority_ok || !rules::host_allowed(host, self.port) {
            return Err(Failure::Forbidden(format!(
                "this proxy only answers requests addressed to localhost:{} (Host header)",
                self.port
            )));
        }
        let origin = request.headers().get(header::ORIGIN);
        let origin_ok = match origin {
            None => true,
            Some(value) => value
                .to_str()
                .is_ok_and(|origin| rules::origin_allowed(Some(origin))),
        };
        if !origin_ok {
            return Err(Failure::Forbidden(
                "requests from web pages are not allowed (Origin is not this machine)".to_owned(),
            ));
        }
        Ok(())
    }

    /// The local key, in any of the places tools put an API key (SPEC §9).
    fn check_key(&self, request: &Request<Incoming>) -> Result<(), Failure> {
        let Some(key) = &self.local_key else {
            return Ok(());
        };
        let headers = request.headers();
        let in_headers = rules::KEY_HEADERS.iter().any(|name| {
            headers.get_all(*name).iter().any(|value| {
                let bytes = value.as_bytes();
                let presented = if *name == "authorization" {
                    rules::bearer_value(bytes)
                } else {
                    Some(bytes.trim_ascii())
                };
                presented.is_some_and(|p| key.matches(p))
            })
        });
        let in_query = || {
            request.uri().query().is_some_and(|query| {
                rules::split_query_key(query)
                    .0
                    .iter()
                    .any(|presented| key.matches(presented.as_bytes()))
            })
        };
        if in_headers || in_query() {
            return Ok(());
        }
        Err(Failure::Unauthorized(
            "missing or wrong local key: set the tool's API key to the output of `llmauth proxy key`"
                .to_owned(),
        ))
    }

    /// The gateway request: path joined, key and hop-by-hop headers gone, the body kept
    /// when it is small enough to retry.
    async fn prepare(&self, request: Request<Incoming>) -> Result<Outgoing, Failure> {
        let (parts, body) = request.into_parts();
        let query = parts
            .uri
            .query()
            .and_then(|query| rules::split_query_key(query).1);
        let uri = self
            .gateway
            .uri(parts.uri.path(), query.as_deref())
            .ok_or_else(|| {
                Failure::BadRequest("the request path cannot be forwarded".to_owned())
            })?;
        let mut headers = parts.headers;
        strip(&mut headers, &self.request_strip);
        headers.insert(header::HOST, self.gateway.host.clone());
        let body = if body.is_end_stream() {
            Kept::Bytes(Bytes::new())
        } else if body
            .size_hint()
            .exact()
            .is_some_and(|len| len <= MAX_RETRY_BODY)
        {
            let idle = super::body::Idle::new(body, UPSTREAM_IDLE);
            let collected = idle.collect().await.map_err(|e| {
                Failure::BadRequest(format!("reading the request body failed: {e}"))
            })?;
            Kept::Bytes(collected.to_bytes())
        } else {
            Kept::Stream(Some(body))
        };
        Ok(Outgoing {
            method: parts.method,
            uri,
            headers,
            body,
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
        let silent = async {
            self.deadlines.after(UPSTREAM_IDLE).await;
            Err(Failure::GatewayTimeout(format!(
                "the gateway did not answer within {} s",
                UPSTREAM_IDLE.as_secs()
            )))
        };
        futures_lite::future::or(answered, silent).await
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
    /// The gateway's response, streamed back as it arrives, minus hop-by-hop headers.
    fn pass_back(&self, response: Response<Incoming>) -> Response<ProxyBody> {
        let (mut parts, body) = response.into_parts();
        strip(&mut parts.headers, &self.response_strip);
        Response::from_parts(parts, ProxyBody::stream(body, UPSTREAM_IDLE))
    }
}

impl Outgoing {
    fn retryable(&self) -> bool {
        matches!(self.body, Kept::Bytes(_))
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
    /// 400
    BadRequest(String),
    /// 401: the local key is missing or wrong.
    Unauthorized(String),
    /// 403: Host or Origin.
    Forbidden(String),
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

    fn response(self, dialect: Dialect) -> Response<ProxyBody> {
        let (status, message) = match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Self::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m),
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
        json_response(status, body)
    }
}
