//! `TestIdp`: an OpenID Provider on loopback HTTPS for integration tests.
//!
//! It implements what `llmauth` talks to — discovery, the authorization-code flow with
//! PKCE (auto-approved, or through a login form), refresh with rotation and reuse
//! detection, the device flow, revocation and JWKS — strictly enough to catch client
//! mistakes (wrong verifier, replayed code, reused refresh token), and it records what it
//! saw so tests can assert on it. Faults can be injected per endpoint.
//!
//! All state sits behind one mutex: fifty concurrent refreshes are serialized and counted
//! exactly. Tokens are signed JWTs with real-clock timestamps, because the binary under
//! test reads the real clock.

mod authorize;
mod device;
mod discovery;
mod options;
mod quirks;
mod state;
mod token;

pub use options::{
    AuthorizeMode, DEVICE_CODE_GRANT, GrantType, IdpEndpoint, IdpOptions, RedirectUris,
    RefreshPolicy,
};
pub use quirks::{
    AccessTokens, AudienceRule, ENTRA_TENANT, ExpiresIn, GOOGLE_CLIENT_SECRET, Quirks, audiences,
};

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ca::TestCa;
use crate::faults::{Fault, FaultQueue};
use crate::http_server::{HttpServer, Request, Response, ServerOptions, lock};
use crate::jwt::{SigningKey, jwks_document};
use state::{DeviceStatus, State};

/// A running test OpenID Provider. Dropping it stops it.
pub struct TestIdp {
    inner: Arc<Inner>,
    server: HttpServer,
    ca: Arc<TestCa>,
}

/// Tokens handed out by [`TestIdp::create_session`] (a grant made without a browser).
#[derive(Clone)]
pub struct IssuedTokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// The refresh token, when the grant got one.
    pub refresh_token: Option<String>,
    /// The ID token, when `openid` was in scope.
    pub id_token: Option<String>,
    /// `expires_in` of the access token, in seconds.
    pub expires_in: u64,
    /// The granted scope.
    pub scope: String,
}

impl std::fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedTokens")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Shared by the server's handler and the test-facing handle.
pub(crate) struct Inner {
    pub(crate) options: IdpOptions,
    /// `https://127.0.0.1:<port>` (or the plain-http origin asked for) + issuer path, and
    /// the trailing `/` of a quirk mode whose issuer has one.
    pub(crate) issuer: String,
    /// `https://127.0.0.1:<port>` (or the plain-http origin).
    pub(crate) origin: String,
    /// The origin and the issuer path: where the endpoints live.
    pub(crate) base: String,
    pub(crate) key: SigningKey,
    pub(crate) state: Mutex<State>,
    faults: Mutex<HashMap<IdpEndpoint, FaultQueue>>,
}

/// Where a request path leads (more precise than [`IdpEndpoint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    OpenIdConfiguration,
    OAuthMetadata,
    Authorize,
    Login,
    Token,
    DeviceAuthorization,
    DeviceVerification,
    Revoke,
    Introspect,
    Jwks,
}

impl Route {
    fn endpoint(self) -> IdpEndpoint {
        match self {
            Route::OpenIdConfiguration | Route::OAuthMetadata => IdpEndpoint::Discovery,
            Route::Authorize | Route::Login => IdpEndpoint::Authorize,
            Route::Token => IdpEndpoint::Token,
            Route::DeviceAuthorization => IdpEndpoint::DeviceAuthorization,
            Route::DeviceVerification => IdpEndpoint::DeviceVerification,
            Route::Revoke => IdpEndpoint::Revocation,
            Route::Introspect => IdpEndpoint::Introspection,
            Route::Jwks => IdpEndpoint::Jwks,
        }
    }
}

impl TestIdp {
    /// Starts an IdP with its own fresh CA; panics if it cannot (a broken test host).
    pub fn start(options: IdpOptions) -> TestIdp {
        match TestIdp::try_start(options, Arc::new(TestCa::new())) {
            Ok(idp) => idp,
            Err(e) => panic!("test IdP failed to start: {e}"),
        }
    }

    /// Starts an IdP serving a certificate from `ca` (share one CA between the IdP and
    /// the gateway so a single `ca_file` trusts both).
    pub fn start_with_ca(options: IdpOptions, ca: Arc<TestCa>) -> TestIdp {
        match TestIdp::try_start(options, ca) {
            Ok(idp) => idp,
            Err(e) => panic!("test IdP failed to start: {e}"),
        }
    }

    /// Starts an IdP, reporting failure instead of panicking.
    pub fn try_start(options: IdpOptions, ca: Arc<TestCa>) -> io::Result<TestIdp> {
        let key = SigningKey::generate(options.signing_alg).map_err(io::Error::other)?;
        let issuer_path = normalize_issuer_path(&options.issuer_path);
        let mut slot: Option<Arc<Inner>> = None;
        let tls = match options.plain_http_host {
            None => Some(ca.server_config()),
            Some(_) => None,
        };
        let server = HttpServer::start(
            ServerOptions {
                port: options.port,
                tls,
            },
            |addr| {
                let state = State::new(options.access_token_lifetime, options.subject.clone());
                let origin = match &options.plain_http_host {
                    None => format!("https://{addr}"),
                    Some(host) => format!("http://{host}:{}", addr.port()),
                };
                let base = format!("{origin}{issuer_path}");
                let slash = if options.quirks.issuer_trailing_slash {
                    "/"
                } else {
                    ""
                };
                let inner = Arc::new(Inner {
                    issuer: format!("{base}{slash}"),
                    origin,
                    base,
                    options: IdpOptions {
                        issuer_path,
                        ..options
                    },
                    key,
                    state: Mutex::new(state),
                    faults: Mutex::new(HashMap::new()),
                });
                slot = Some(Arc::clone(&inner));
                Arc::new(move |request: &Request| inner.handle(request))
            },
        )?;
        let inner = slot.ok_or_else(|| io::Error::other("handler factory not called"))?;
        Ok(TestIdp { inner, server, ca })
    }

    // ----- addresses -----

    /// The issuer: `https://127.0.0.1:<port>` (or `http://<plain_http_host>:<port>`) plus
    /// the configured issuer path (and the trailing `/` of Auth0's and authentik's quirk
    /// modes).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The `iss` of the access tokens it issues: the issuer, or — in Entra's
    /// multi-tenant quirk mode — the user's tenant's.
    pub fn token_issuer(&self) -> String {
        self.inner.token_issuer()
    }

    /// The endpoint at `path` (e.g. `"/token"`): the issuer without its trailing `/`,
    /// plus `path`.
    pub fn url(&self, path: &str) -> String {
        self.inner.url(path)
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        self.url("/.well-known/openid-configuration")
    }

    /// `<issuer>/authorize`.
    pub fn authorization_endpoint(&self) -> String {
        self.url("/authorize")
    }

    /// `<issuer>/token`.
    pub fn token_endpoint(&self) -> String {
        self.url("/token")
    }

    /// `<issuer>/device_authorization`.
    pub fn device_authorization_endpoint(&self) -> String {
        self.url("/device_authorization")
    }

    /// `<issuer>/revoke`.
    pub fn revocation_endpoint(&self) -> String {
        self.url("/revoke")
    }

    /// `<issuer>/jwks`.
    pub fn jwks_uri(&self) -> String {
        self.url("/jwks")
    }

    /// `<issuer>/introspect` (RFC 7662): how a gateway checks an opaque token.
    pub fn introspection_endpoint(&self) -> String {
        self.url("/introspect")
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The accepted client id.
    pub fn client_id(&self) -> &str {
        &self.inner.options.client_id
    }

    /// The options in force (the issuer path normalized).
    pub fn options(&self) -> &IdpOptions {
        &self.inner.options
    }

    /// The CA whose leaf this IdP serves.
    pub fn ca(&self) -> &Arc<TestCa> {
        &self.ca
    }

    /// The underlying server (connection counts).
    pub fn server(&self) -> &HttpServer {
        &self.server
    }

    // ----- outages and faults -----

    /// The whole IdP goes away: connections refused, open ones cut.
    pub fn down(&self) {
        self.server.down();
    }

    /// The IdP comes back on the same port, with its state intact.
    pub fn up(&self) -> io::Result<()> {
        self.server.up()
    }

    /// Fails the next request to `endpoint` that no earlier one-shot fault claims.
    pub fn push_fault(&self, endpoint: IdpEndpoint, fault: Fault) {
        lock(&self.inner.faults)
            .entry(endpoint)
            .or_default()
            .push(fault);
    }

    /// Fails every request to `endpoint` (after one-shot faults) until set to `None`.
    pub fn set_sticky_fault(&self, endpoint: IdpEndpoint, fault: Option<Fault>) {
        lock(&self.inner.faults)
            .entry(endpoint)
            .or_default()
            .set_sticky(fault);
    }

    /// Removes every planned fault on every endpoint.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// How many requests to `endpoint` were failed on purpose so far.
    pub fn faults_injected(&self, endpoint: IdpEndpoint) -> usize {
        lock(&self.inner.faults)
            .get(&endpoint)
            .map_or(0, FaultQueue::injected)
    }

    // ----- run-time behaviour -----

    /// Lifetime of access tokens issued from now on (whole seconds).
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        lock(&self.inner.state).access_token_lifetime = lifetime;
    }

    /// The `sub` of every token issued from now on — refreshes of existing grants
    /// included, so a test can make a refresh answer for a different user.
    pub fn set_subject(&self, subject: &str) {
        lock(&self.inner.state).subject = subject.to_string();
    }

    /// How `/authorize` answers valid requests from now on.
    pub fn set_authorize_mode(&self, mode: AuthorizeMode) {
        lock(&self.inner.state).authorize_mode = mode;
    }

    /// Approves the device authorization with this user code; false if unknown.
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.set_device_status(user_code, DeviceStatus::Approved)
    }

    /// Denies the device authorization with this user code; false if unknown.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.set_device_status(user_code, DeviceStatus::Denied)
    }

    /// Makes the device authorization with this user code expire now; false if unknown.
    pub fn expire_device(&self, user_code: &str) -> bool {
        let mut state = lock(&self.inner.state);
        match state.device_by_user_code(user_code) {
            Some(device) => {
                device.expires = Instant::now();
                true
            }
            None => false,
        }
    }

    fn set_device_status(&self, user_code: &str, status: DeviceStatus) -> bool {
        let mut state = lock(&self.inner.state);
        match state.device_by_user_code(user_code) {
            Some(device) if device.status == DeviceStatus::Pending => {
                device.status = status;
                true
            }
            Some(_) | None => false,
        }
    }

    /// Revokes the grant this refresh token belongs to (an administrator ending the
    /// session); false if the token is unknown.
    pub fn revoke_grant_of(&self, refresh_token: &str) -> bool {
        let mut state = lock(&self.inner.state);
        match state.refresh_index.get(refresh_token).copied() {
            Some(grant) => {
                state.revoke_grant(grant);
                true
            }
            None => false,
        }
    }

    /// Revokes every grant.
    pub fn revoke_all_grants(&self) {
        let mut state = lock(&self.inner.state);
        for grant in state.grants.values_mut() {
            grant.revoked = true;
        }
    }

    /// Creates a grant directly (as if a login had completed) and returns its tokens:
    /// lets a test seed a session without running a browser flow. `resource` becomes the
    /// access token's audience.
    pub fn create_session(&self, scope: &str, resource: Option<&str>) -> IssuedTokens {
        let mut state = lock(&self.inner.state);
        let refresh = token::refresh_allowed(&self.inner.options, scope, None, None);
        let resource = resource.map(str::to_string);
        let (grant, body) =
            token::grant_and_issue(&self.inner, &mut state, scope, refresh, resource, None);
        let granted = state.grants[&grant].scope.clone();
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        IssuedTokens {
            access_token: text("access_token").unwrap_or_default(),
            refresh_token: text("refresh_token"),
            id_token: text("id_token"),
            expires_in: body.get("expires_in").and_then(Value::as_u64).unwrap_or(0),
            scope: granted,
        }
    }

    /// Signs arbitrary claims with the IdP's key as an access token (`typ: at+jwt`): for
    /// expired, wrong-audience or otherwise doctored tokens that still verify.
    pub fn mint_access_token(&self, claims: &Value) -> String {
        self.inner.key.sign("at+jwt", claims).unwrap_or_default()
    }

    /// Claims a fresh access token would carry now (for doctoring with
    /// [`TestIdp::mint_access_token`]).
    pub fn access_token_claims(&self, audience: &str) -> Value {
        let state = lock(&self.inner.state);
        let now = state::unix_now();
        json!({
            "iss": self.inner.issuer,
            "sub": state.subject,
            "aud": audience,
            "iat": now,
            "exp": now + state.access_token_lifetime.as_secs(),
            "jti": state::random_token(12),
            "scope": "openid offline_access",
            "client_id": self.inner.options.client_id,
        })
    }

    /// The JWKS document served at `/jwks`.
    pub fn jwks(&self) -> Value {
        jwks_document(&[&self.inner.key])
    }

    // ----- records -----

    /// Requests that reached `endpoint` (counted on arrival, faulted ones included).
    pub fn requests(&self, endpoint: IdpEndpoint) -> usize {
        let state = lock(&self.inner.state);
        state
            .records
            .endpoint_hits
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Discovery requests (both documents).
    pub fn discovery_requests(&self) -> usize {
        self.requests(IdpEndpoint::Discovery)
    }

    /// Token requests of one grant type (counted on arrival, faulted ones included).
    pub fn token_requests(&self, grant_type: GrantType) -> usize {
        let state = lock(&self.inner.state);
        state
            .records
            .grant_requests
            .get(&grant_type)
            .copied()
            .unwrap_or(0)
    }

    /// Every refresh token presented to the token endpoint, in order.
    pub fn presented_refresh_tokens(&self) -> Vec<String> {
        lock(&self.inner.state)
            .records
            .presented_refresh_tokens
            .clone()
    }

    /// How many times a retired refresh token was presented (each revoked its grant).
    pub fn reuse_detections(&self) -> usize {
        lock(&self.inner.state).records.reuse_detections
    }

    /// Whether the grant of this refresh token is revoked; `None` for an unknown token.
    pub fn is_grant_revoked(&self, refresh_token: &str) -> Option<bool> {
        let state = lock(&self.inner.state);
        let grant = state.refresh_index.get(refresh_token)?;
        state.grants.get(grant).map(|g| g.revoked)
    }

    /// How many grants are revoked.
    pub fn revoked_grants(&self) -> usize {
        lock(&self.inner.state)
            .grants
            .values()
            .filter(|g| g.revoked)
            .count()
    }

    /// The current (newest, usable) refresh token of the most recent grant, if any.
    pub fn current_refresh_token(&self) -> Option<String> {
        let state = lock(&self.inner.state);
        let newest = state.grants.keys().max()?;
        state.grants.get(newest)?.refresh_tokens.last().cloned()
    }

    /// The query (or form) of the last `/authorize` request, decoded.
    pub fn last_authorize_query(&self) -> Option<Vec<(String, String)>> {
        lock(&self.inner.state)
            .records
            .authorize_queries
            .last()
            .cloned()
    }

    /// Every `/authorize` query, in order.
    pub fn authorize_queries(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.inner.state).records.authorize_queries.clone()
    }

    /// The form of the last token request (holds secrets; fine in tests).
    pub fn last_token_form(&self) -> Option<Vec<(String, String)>> {
        lock(&self.inner.state).records.token_forms.last().cloned()
    }

    /// Every token request form, in order.
    pub fn token_forms(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.inner.state).records.token_forms.clone()
    }

    /// Every device authorization request form, in order.
    pub fn device_authorization_forms(&self) -> Vec<Vec<(String, String)>> {
        lock(&self.inner.state).records.device_forms.clone()
    }

    /// The last ID token issued.
    pub fn last_id_token(&self) -> Option<String> {
        lock(&self.inner.state)
            .records
            .issued_id_tokens
            .last()
            .cloned()
    }

    /// Whether an access token is still active (what the introspection endpoint says).
    pub fn is_access_token_active(&self, token: &str) -> bool {
        lock(&self.inner.state).is_active(token).is_some()
    }

    /// The last access token issued.
    pub fn last_access_token(&self) -> Option<String> {
        lock(&self.inner.state)
            .records
            .issued_access_tokens
            .last()
            .cloned()
    }

    /// How many access tokens were issued.
    pub fn access_tokens_issued(&self) -> usize {
        lock(&self.inner.state).records.issued_access_tokens.len()
    }

    /// The last user code handed out by `/device_authorization`.
    pub fn last_user_code(&self) -> Option<String> {
        lock(&self.inner.state)
            .records
            .issued_user_codes
            .last()
            .cloned()
    }

    /// Tokens presented to `/revoke`, in order.
    pub fn revoked_tokens(&self) -> Vec<String> {
        lock(&self.inner.state).records.revoked_tokens.clone()
    }
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdp")
            .field("issuer", &self.inner.issuer)
            .field("up", &self.server.is_up())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn handle(&self, request: &Request) -> Response {
        self.answer(request).with_header("date", &self.date())
    }

    fn answer(&self, request: &Request) -> Response {
        let Some(route) = self.route(&request.path) else {
            return Response::json(404, &json!({"error": "not_found"}));
        };
        let endpoint = route.endpoint();
        self.record_arrival(route, request);
        let fault = lock(&self.faults)
            .get_mut(&endpoint)
            .and_then(FaultQueue::take);
        match fault {
            Some(fault) => fault.apply(request, || self.process(route, request)),
            None => self.process(route, request),
        }
    }

    /// The `Date` header (RFC 9110 §6.6.1): now, on the IdP's clock.
    fn date(&self) -> String {
        let offset = Duration::from_secs(self.options.clock_offset_secs.unsigned_abs());
        let now = std::time::SystemTime::now();
        let idp_now = if self.options.clock_offset_secs < 0 {
            now - offset
        } else {
            now + offset
        };
        httpdate::fmt_http_date(idp_now)
    }

    fn route(&self, path: &str) -> Option<Route> {
        let prefix = &self.options.issuer_path;
        let metadata = format!("/.well-known/oauth-authorization-server{prefix}");
        if path == metadata {
            return self
                .options
                .serve_oauth_metadata
                .then_some(Route::OAuthMetadata);
        }
        let local = path.strip_prefix(prefix.as_str())?;
        Some(match local {
            "/.well-known/openid-configuration" if self.options.serve_openid_configuration => {
                Route::OpenIdConfiguration
            }
            "/authorize" => Route::Authorize,
            "/login" => Route::Login,
            "/token" => Route::Token,
            "/device_authorization" => Route::DeviceAuthorization,
            "/device" => Route::DeviceVerification,
            "/revoke" => Route::Revoke,
            "/introspect" => Route::Introspect,
            "/jwks" => Route::Jwks,
            _ => return None,
        })
    }

    fn record_arrival(&self, route: Route, request: &Request) {
        let mut state = lock(&self.state);
        let records = &mut state.records;
        *records.endpoint_hits.entry(route.endpoint()).or_default() += 1;
        match route {
            Route::Authorize => records.authorize_queries.push(authorize::params(request)),
            Route::Token => {
                let form = request.form_pairs();
                let field = |name: &str| {
                    form.iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                };
                let grant_type = GrantType::from_form_value(field("grant_type"));
                *records.grant_requests.entry(grant_type).or_default() += 1;
                if grant_type == GrantType::RefreshToken
                    && let Some(token) = field("refresh_token")
                {
                    records.presented_refresh_tokens.push(token.to_string());
                }
                records.token_forms.push(form);
            }
            Route::DeviceAuthorization => records.device_forms.push(request.form_pairs()),
            Route::OpenIdConfiguration
            | Route::OAuthMetadata
            | Route::Login
            | Route::DeviceVerification
            | Route::Revoke
            | Route::Introspect
            | Route::Jwks => {}
        }
    }

    fn process(&self, route: Route, request: &Request) -> Response {
        match route {
            Route::OpenIdConfiguration => Response::json(200, &discovery::document(self, false)),
            Route::OAuthMetadata => Response::json(200, &discovery::document(self, true)),
            Route::Authorize => authorize::authorize(self, request),
            Route::Login => authorize::login(self, request),
            Route::Token => token::token(self, request),
            Route::DeviceAuthorization => device::device_authorization(self, request),
            Route::DeviceVerification => device::verification(self, request),
            Route::Revoke => token::revoke(self, request),
            Route::Introspect => token::introspect(self, request),
            Route::Jwks => Response::json(200, &jwks_document(&[&self.key])),
        }
    }

    /// The endpoint at `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `iss` of issued tokens (Entra's multi-tenant mode: the tenant's issuer).
    pub(crate) fn token_issuer(&self) -> String {
        match &self.options.quirks.tenant {
            Some(tenant) => format!("{}/{tenant}/v2.0", self.origin),
            None => self.issuer.clone(),
        }
    }
}

/// `""`, `"/"` → `""`; `"realms/x/"` → `"/realms/x"`.
fn normalize_issuer_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// An RFC 6749 §5.2 error response (401 for `invalid_client`, else the given status).
pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(
        status,
        &json!({"error": error, "error_description": description}),
    )
    .with_header("cache-control", "no-store")
}
