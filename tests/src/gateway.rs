//! `TestGateway`: a loopback HTTPS stand-in for an LLM gateway behind OIDC.
//!
//! It checks the bearer JWT the way a real gateway does (signature against the IdP's
//! JWKS, `exp`, `iss`, `aud`), records every request — with the model it asked for — so
//! tests can assert what reached it (and what did not: a tool's own `x-api-key` must never
//! arrive), and speaks just enough of the Anthropic Messages, OpenAI Chat Completions and
//! Responses, and Gemini APIs — streaming included — for real tools and the proxy to be
//! exercised. A few utility endpoints serve the proxy's
//! streaming, upload and latency tests.
//!
//! Routes match on the path's end, so a gateway URL with a prefix (`/anthropic`) works:
//!
//! | route | answer |
//! |---|---|
//! | `POST …/v1/messages` | Anthropic message; SSE when `"stream": true` |
//! | `GET …/v1/models` | model list (Anthropic shape with `anthropic-version`, else OpenAI) |
//! | `POST …/v1/chat/completions` | OpenAI chat completion; SSE when `"stream": true` |
//! | `POST …/v1/responses` | OpenAI Responses API answer; SSE when `"stream": true` (Codex) |
//! | `POST …/models/<m>:generateContent` | Gemini API answer (Gemini CLI) |
//! | `POST …/models/<m>:streamGenerateContent` | the same streamed: SSE with `?alt=sse`, else a JSON array |
//! | `POST …/models/<m>:countTokens` | `{"totalTokens"}` |
//! | `GET …/v1beta/models` | model list (Gemini API shape) |
//! | `GET …/sse?events=N&interval_ms=M` | N `tick` events, each with its send time in µs |
//! | `POST …/upload` | `{"bytes", "sha256", "chunked"}` of the body received |
//! | `GET …/download?bytes=N` | N bytes of [`download_pattern`], chunked |
//! | `GET …/cut?announce=N&send=M` | `Content-Length: N`, then M bytes, then the connection drops |
//! | `…/echo` | the request's method, path, query and headers as JSON |

mod auth;
mod llm;
mod tools;

pub use tools::download_pattern;

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::ca::TestCa;
use crate::faults::{Fault, FaultQueue};
use crate::http_server::{HttpServer, Request, Response, ServerOptions, lock};
use crate::idp::TestIdp;

/// Start-time configuration of a gateway.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Port on 127.0.0.1; 0 (default) lets the OS choose.
    pub port: u16,
    /// Where to fetch verification keys (ES256 and RS256 keys are used). `None`: any
    /// bearer token is accepted unverified (only its presence is checked).
    pub jwks_url: Option<String>,
    /// Extra roots (PEM) for fetching the JWKS, beyond the gateway's own CA — e.g. for an
    /// IdP with its own certificate.
    pub jwks_extra_roots_pem: Option<String>,
    /// RFC 7662 introspection endpoint: when set, tokens are checked there (active,
    /// then the same claim checks) instead of against the JWKS — how a gateway accepts
    /// opaque tokens (GitLab, Django OAuth Toolkit).
    pub introspection_url: Option<String>,
    /// Required `iss`; `None` skips the check.
    pub expected_issuer: Option<String>,
    /// Required audience (`aud` as a string, or contained in an array); `None` skips it.
    pub expected_audience: Option<String>,
    /// Clock-skew allowance for `exp` (and `nbf`). Default 5 s.
    pub leeway: Duration,
    /// Whether requests need a bearer token at all. Default true.
    pub require_token: bool,
    /// The assistant's answer text. Default "Hello from the test gateway".
    pub answer_text: String,
    /// The model name in answers when the request names none.
    pub model: String,
    /// Pause between the events of a streamed chat answer. Default 0.
    pub stream_event_interval: Duration,
    /// Most requests kept for [`TestGateway::requests`] (the oldest are dropped), so a
    /// benchmark's millions of requests do not fill memory. Default 100,000.
    pub max_recorded_requests: usize,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            port: 0,
            jwks_url: None,
            jwks_extra_roots_pem: None,
            introspection_url: None,
            expected_issuer: None,
            expected_audience: None,
            leeway: Duration::from_secs(5),
            require_token: true,
            answer_text: "Hello from the test gateway".to_string(),
            model: "test-model-1".to_string(),
            stream_event_interval: Duration::ZERO,
            max_recorded_requests: 100_000,
        }
    }
}

impl GatewayOptions {
    /// Verifies tokens from `idp`: its JWKS and issuer, and the audience its tokens carry
    /// when no `resource` is requested (the client id). Override `expected_audience`
    /// when the client sends a resource.
    pub fn for_idp(idp: &TestIdp) -> GatewayOptions {
        GatewayOptions {
            jwks_url: Some(idp.jwks_uri()),
            expected_issuer: Some(idp.token_issuer()),
            expected_audience: Some(idp.client_id().to_string()),
            ..GatewayOptions::default()
        }
    }
}

/// One request as the gateway saw it.
#[derive(Clone)]
pub struct GatewayRequest {
    /// Method as sent.
    pub method: String,
    /// Path as sent.
    pub path: String,
    /// Raw query, without `?`.
    pub query: String,
    /// Every header, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// Body length after de-chunking.
    pub body_len: usize,
    /// Whether the body came chunked (the client streamed it).
    pub chunked: bool,
    /// The status answered (0 when the connection was dropped on purpose).
    pub status: u16,
    /// Why the token was rejected, when it was.
    pub rejection: Option<String>,
    /// The verified token's claims, when one was verified.
    pub claims: Option<Value>,
    /// The `model` the request asked for (in the JSON body of the Anthropic, OpenAI and
    /// Responses APIs; in the path of the Gemini API).
    pub model: Option<String>,
    /// When the request was complete (body read), before any processing or fault.
    pub received_at: SystemTime,
}

impl GatewayRequest {
    /// The first value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a header is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// The bearer token sent, if any.
    pub fn bearer_token(&self) -> Option<&str> {
        let (scheme, token) = self.header("authorization")?.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

impl std::fmt::Debug for GatewayRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("GatewayRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("header_names", &names)
            .field("body_len", &self.body_len)
            .field("status", &self.status)
            .field("model", &self.model)
            .field("rejection", &self.rejection)
            .finish_non_exhaustive()
    }
}

/// A running gateway stand-in. Dropping it stops it.
pub struct TestGateway {
    inner: Arc<Inner>,
    server: HttpServer,
    ca: Arc<TestCa>,
}

/// Mutable settings and records.
#[derive(Default)]
struct Control {
    answer_text: String,
    reject_next: usize,
    reject_issued_before: Option<u64>,
    rejected_tokens: Vec<String>,
    faults: FaultQueue,
    requests: VecDeque<GatewayRequest>,
    /// Requests since start or the last clear, recorded or not.
    request_count: usize,
}

pub(crate) struct Inner {
    options: GatewayOptions,
    verifier: auth::Verifier,
    control: Mutex<Control>,
}

impl TestGateway {
    /// Starts a gateway serving a certificate from `ca`; panics if it cannot.
    pub fn start(options: GatewayOptions, ca: Arc<TestCa>) -> TestGateway {
        match TestGateway::try_start(options, ca) {
            Ok(gateway) => gateway,
            Err(e) => panic!("test gateway failed to start: {e}"),
        }
    }

    /// A gateway verifying `idp`'s tokens ([`GatewayOptions::for_idp`]), sharing its CA.
    pub fn for_idp(idp: &TestIdp) -> TestGateway {
        TestGateway::start(GatewayOptions::for_idp(idp), Arc::clone(idp.ca()))
    }

    /// Starts a gateway, reporting failure instead of panicking.
    pub fn try_start(options: GatewayOptions, ca: Arc<TestCa>) -> io::Result<TestGateway> {
        let mut roots: Vec<CertificateDer<'static>> = vec![ca.ca_der().clone()];
        if let Some(pem) = &options.jwks_extra_roots_pem {
            roots.extend(crate::client::certs_from_pem(pem.as_bytes()));
        }
        let inner = Arc::new(Inner {
            verifier: auth::Verifier::new(&options, &roots),
            control: Mutex::new(Control {
                answer_text: options.answer_text.clone(),
                ..Control::default()
            }),
            options,
        });
        let handler_inner = Arc::clone(&inner);
        let server = HttpServer::start(
            ServerOptions {
                port: inner.options.port,
                tls: Some(ca.server_config()),
            },
            move |_| Arc::new(move |request: &Request| handler_inner.handle(request)),
        )?;
        Ok(TestGateway { inner, server, ca })
    }

    /// `https://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        self.server.base_url()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The CA whose leaf this gateway serves.
    pub fn ca(&self) -> &Arc<TestCa> {
        &self.ca
    }

    /// The underlying server (connection counts).
    pub fn server(&self) -> &HttpServer {
        &self.server
    }

    /// The gateway goes away: connections refused, open ones cut.
    pub fn down(&self) {
        self.server.down();
    }

    /// The gateway comes back on the same port.
    pub fn up(&self) -> io::Result<()> {
        self.server.up()
    }

    /// The recorded requests (the latest `max_recorded_requests`), in arrival order.
    pub fn requests(&self) -> Vec<GatewayRequest> {
        lock(&self.inner.control).requests.iter().cloned().collect()
    }

    /// The latest request.
    pub fn last_request(&self) -> Option<GatewayRequest> {
        lock(&self.inner.control).requests.back().cloned()
    }

    /// How many requests arrived since start or the last clear.
    pub fn request_count(&self) -> usize {
        lock(&self.inner.control).request_count
    }

    /// Forgets recorded requests and resets the count.
    pub fn clear_requests(&self) {
        let mut control = lock(&self.inner.control);
        control.requests.clear();
        control.request_count = 0;
    }

    /// Answers the next `n` requests with 401, whatever token they carry.
    pub fn reject_next(&self, n: usize) {
        lock(&self.inner.control).reject_next = n;
    }

    /// Rejects tokens whose `iat` is before `time` (a gateway that revoked old sessions);
    /// `None` lifts it.
    pub fn reject_tokens_issued_before(&self, time: Option<SystemTime>) {
        lock(&self.inner.control).reject_issued_before =
            time.map(|t| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    }

    /// Rejects this exact token from now on.
    pub fn reject_token(&self, token: &str) {
        lock(&self.inner.control)
            .rejected_tokens
            .push(token.to_string());
    }

    /// Changes the assistant's answer text.
    pub fn set_answer_text(&self, text: &str) {
        lock(&self.inner.control).answer_text = text.to_string();
    }

    /// Fails the next request not claimed by an earlier one-shot fault.
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.inner.control).faults.push(fault);
    }

    /// Fails every request (after one-shot faults) until set to `None`.
    pub fn set_sticky_fault(&self, fault: Option<Fault>) {
        lock(&self.inner.control).faults.set_sticky(fault);
    }

    /// How many JWKS fetches the gateway made.
    pub fn jwks_fetches(&self) -> usize {
        self.inner.verifier.fetches()
    }
}

impl std::fmt::Debug for TestGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestGateway")
            .field("url", &self.url())
            .field("up", &self.server.is_up())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn handle(&self, request: &Request) -> Response {
        let received_at = SystemTime::now();
        let fault = lock(&self.control).faults.take();
        let mut rejection = None;
        let mut claims = None;
        let response = match fault {
            Some(fault) => fault.apply(request, || {
                self.process(request, &mut rejection, &mut claims)
            }),
            None => self.process(request, &mut rejection, &mut claims),
        };
        let record = GatewayRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            query: request.query.clone(),
            headers: request.headers.clone(),
            body_len: request.body.len(),
            chunked: request.chunked,
            status: response.status(),
            rejection,
            claims,
            model: requested_model(&request.body)
                .or_else(|| llm::gemini_model(&request.path).map(str::to_owned)),
            received_at,
        };
        let mut control = lock(&self.control);
        control.request_count += 1;
        if self.options.max_recorded_requests > 0 {
            if control.requests.len() >= self.options.max_recorded_requests {
                control.requests.pop_front();
            }
            control.requests.push_back(record);
        }
        response
    }

    fn process(
        &self,
        request: &Request,
        rejection: &mut Option<String>,
        claims: &mut Option<Value>,
    ) -> Response {
        match self.authenticate(request) {
            Ok(verified) => *claims = verified,
            Err(Denial::Unauthorized(why)) => {
                let response = unauthorized(request, &why);
                *rejection = Some(why);
                return response;
            }
            Err(Denial::Broken(why)) => {
                return Response::json(
                    500,
                    &json!({"error": {"message": why, "type": "api_error"}}),
                );
            }
        }
        let answer_text = lock(&self.control).answer_text.clone();
        let path = request.path.as_str();
        let method = request.method.to_ascii_uppercase();
        match method.as_str() {
            "POST" if path.ends_with("/v1/messages") => {
                llm::anthropic_messages(request, &self.options, &answer_text)
            }
            "GET" if path.ends_with("/v1/models") => llm::models(request, &self.options),
            "POST" if path.ends_with("/v1/chat/completions") => {
                llm::openai_chat(request, &self.options, &answer_text)
            }
            "POST" if path.ends_with("/v1/responses") => {
                llm::openai_responses(request, &self.options, &answer_text)
            }
            "POST" if path.ends_with(":generateContent") => {
                llm::gemini_generate(request, &self.options, &answer_text, false)
            }
            "POST" if path.ends_with(":streamGenerateContent") => {
                llm::gemini_generate(request, &self.options, &answer_text, true)
            }
            "POST" if path.ends_with(":countTokens") => llm::gemini_count_tokens(request),
            "GET" if path.ends_with("/v1beta/models") => llm::gemini_models(&self.options),
            "GET" if path.ends_with("/sse") => tools::sse_ticks(request),
            "POST" if path.ends_with("/upload") => tools::upload(request),
            "GET" if path.ends_with("/download") => tools::download(request),
            "GET" if path.ends_with("/cut") => tools::cut(request),
            _ if path.ends_with("/echo") => tools::echo(request),
            _ => Response::json(
                404,
                &json!({"error": {"message": format!("no route for {method} {path}"), "type": "not_found_error"}}),
            ),
        }
    }

    /// `Ok(Some(claims))` for a verified JWT, `Ok(None)` when nothing was verified but the
    /// request may pass.
    fn authenticate(&self, request: &Request) -> Result<Option<Value>, Denial> {
        let token = request.bearer_token();
        {
            let mut control = lock(&self.control);
            if control.reject_next > 0 {
                control.reject_next -= 1;
                return Err(Denial::Unauthorized("forced rejection".into()));
            }
            if let Some(token) = token
                && control.rejected_tokens.iter().any(|t| t == token)
            {
                return Err(Denial::Unauthorized("token rejected by the test".into()));
            }
        }
        if !self.options.require_token {
            return Ok(None);
        }
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(Denial::Unauthorized("missing bearer token".into()));
        };
        let Some(claims) = self.verifier.verify(token)? else {
            return Ok(None);
        };
        let issued_before = lock(&self.control).reject_issued_before;
        if let Some(cutoff) = issued_before {
            let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(0);
            if iat < cutoff {
                return Err(Denial::Unauthorized(
                    "token issued before the cutoff".into(),
                ));
            }
        }
        Ok(Some(claims))
    }
}

/// The `model` of a JSON object body, if it names one.
fn requested_model(body: &[u8]) -> Option<String> {
    if body.first() != Some(&b'{') {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("model")?.as_str().map(str::to_owned)
}

/// Why a request is not served.
pub(crate) enum Denial {
    /// 401: the token is missing or bad (the reason is recorded).
    Unauthorized(String),
    /// 500: the gateway cannot verify at all (JWKS unreachable).
    Broken(String),
}

/// 401 in the caller's dialect (Anthropic for `/v1/messages` or with `anthropic-version`).
fn unauthorized(request: &Request, why: &str) -> Response {
    let anthropic =
        request.path.ends_with("/v1/messages") || request.header("anthropic-version").is_some();
    let body = if anthropic {
        json!({"type": "error", "error": {"type": "authentication_error", "message": why}})
    } else {
        json!({"error": {"message": why, "type": "invalid_request_error", "code": "invalid_token"}})
    };
    Response::json(401, &body).with_header("www-authenticate", "Bearer error=\"invalid_token\"")
}

/// Microseconds since the UNIX epoch, for timestamped events.
pub(crate) fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}
