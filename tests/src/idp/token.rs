//! `/token` (authorization_code, refresh_token, device_code) and `/revoke`.
//!
//! The whole of each request runs under the state mutex: concurrent refreshes of one
//! refresh token are serialized, so exactly one wins and the others see reuse.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::options::{GrantType, IdpOptions, RefreshPolicy};
use super::quirks::{AccessTokens, AudienceRule, ExpiresIn};
use super::state::{DeviceStatus, IssuedAccess, State, has_scope, random_token, unix_now};
use super::{Inner, oauth_error};
use crate::http_server::{Request, Response, lock};
use crate::jwt::b64;

/// How long an authorization code stays redeemable.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// Polls this much earlier than the interval are still tolerated (timer jitter).
const POLL_TOLERANCE: Duration = Duration::from_millis(50);

/// What a token response does about the refresh token.
pub(crate) enum RefreshAction {
    /// Issue a new one (first issue, or rotation).
    New,
    /// Send this existing one back.
    Echo(String),
    /// Leave `refresh_token` out, the client keeps its own.
    Omit,
    /// This grant gets no refresh token.
    None,
}

type Form = Vec<(String, String)>;

fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn token(idp: &Inner, request: &Request) -> Response {
    if !request.method.eq_ignore_ascii_case("POST") {
        return oauth_error(405, "invalid_request", "the token endpoint takes POST");
    }
    let form = request.form_pairs();
    if let Err(rejection) = check_client(idp, request, &form) {
        return rejection;
    }
    let mut state = lock(&idp.state);
    let outcome = match GrantType::from_form_value(field(&form, "grant_type")) {
        GrantType::AuthorizationCode => authorization_code(idp, &mut state, &form),
        GrantType::RefreshToken => refresh(idp, &mut state, &form),
        GrantType::DeviceCode => device_code(idp, &mut state, &form),
        GrantType::Other => Err(oauth_error(
            400,
            "unsupported_grant_type",
            "grant_type not supported",
        )),
    };
    match outcome {
        Ok(body) => Response::json(200, &body)
            .with_header("cache-control", "no-store")
            .with_header("pragma", "no-cache"),
        Err(rejection) => rejection,
    }
}

/// A public client: `client_id` in the form, or as the user of HTTP Basic.
fn check_client(idp: &Inner, request: &Request, form: &Form) -> Result<(), Response> {
    let from_basic = request
        .header("authorization")
        .and_then(|v| v.trim().strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, _)| id.to_string()))
        .map(|id| {
            url::form_urlencoded::parse(format!("x={id}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or(id)
        });
    let client = field(form, "client_id").map(str::to_string).or(from_basic);
    match client {
        Some(id) if id == idp.options.client_id => {}
        Some(_) => return Err(oauth_error(401, "invalid_client", "unknown client")),
        None => return Err(oauth_error(401, "invalid_client", "client_id is required")),
    }
    let quirks = &idp.options.quirks;
    let secret = field(form, "client_secret");
    match (&quirks.client_secret, secret) {
        // Google's desktop clients (R6).
        (Some(_), None) => Err(oauth_error(
            400,
            "invalid_request",
            "client_secret is missing.",
        )),
        (Some(expected), Some(sent)) if sent != expected => {
            Err(oauth_error(401, "invalid_client", "Unauthorized"))
        }
        // A public Entra client (R6).
        (None, Some(_)) if quirks.rejects_client_secret => Err(oauth_error(
            401,
            "invalid_client",
            "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        )),
        _ => Ok(()),
    }
}

fn authorization_code(idp: &Inner, state: &mut State, form: &Form) -> Result<Value, Response> {
    let invalid_grant = |why: &str| oauth_error(400, "invalid_grant", why);
    let Some(code) = field(form, "code") else {
        return Err(oauth_error(400, "invalid_request", "code is required"));
    };
    let Some(entry) = state.codes.get(code) else {
        return Err(invalid_grant("unknown authorization code"));
    };
    if let Some(grant) = entry.redeemed_grant {
        // RFC 6749 §4.1.2: a replayed code revokes what it produced.
        state.revoke_grant(grant);
        return Err(invalid_grant("authorization code already used"));
    }
    if entry.issued.elapsed() > CODE_LIFETIME {
        return Err(invalid_grant("authorization code expired"));
    }
    if field(form, "redirect_uri") != Some(entry.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let verifier = field(form, "code_verifier").unwrap_or_default();
    let verifier_ok = (43..=128).contains(&verifier.len())
        && b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
            == entry.code_challenge;
    if !verifier_ok {
        return Err(invalid_grant("PKCE verification failed"));
    }
    let quirks = &idp.options.quirks;
    if quirks.spa_redirect {
        return Err(oauth_error(
            400,
            "invalid_request",
            "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
        ));
    }
    let nonce = entry.nonce.clone();
    let requested_scope = entry.scope.clone();
    let prompt_consent = entry.prompt_consent;
    let access_type = entry.access_type_offline;
    let resource = token_resource(idp, form)?.or_else(|| entry.resource.clone());

    let with_refresh = refresh_allowed(
        &idp.options,
        &requested_scope,
        Some(prompt_consent),
        Some(access_type),
    );
    let (grant, body) =
        grant_and_issue(idp, state, &requested_scope, with_refresh, resource, nonce);
    if let Some(entry) = state.codes.get_mut(code) {
        entry.redeemed_grant = Some(grant);
    }
    Ok(body)
}

fn refresh(idp: &Inner, state: &mut State, form: &Form) -> Result<Value, Response> {
    let invalid_grant = |why: &str| oauth_error(400, "invalid_grant", why);
    let Some(presented) = field(form, "refresh_token") else {
        return Err(oauth_error(
            400,
            "invalid_request",
            "refresh_token is required",
        ));
    };
    let Some(&grant_id) = state.refresh_index.get(presented) else {
        return Err(invalid_grant("unknown refresh token"));
    };
    let Some(grant) = state.grants.get(&grant_id) else {
        return Err(invalid_grant("unknown grant"));
    };
    if grant.revoked {
        return Err(invalid_grant("grant revoked"));
    }
    let keeps_old = idp.options.refresh_policy == RefreshPolicy::RotateKeepOld;
    if grant.refresh_tokens.last().map(String::as_str) != Some(presented) && !keeps_old {
        // Reuse of a rotated token: someone has a copy. Kill the whole grant.
        state.revoke_grant(grant_id);
        state.records.reuse_detections += 1;
        return Err(invalid_grant("refresh token already used; grant revoked"));
    }
    let quirks = &idp.options.quirks;
    let scope = match field(form, "scope") {
        Some(requested) => {
            if !requested
                .split_ascii_whitespace()
                .all(|s| has_scope(&grant.scope, s))
            {
                return Err(oauth_error(400, "invalid_scope", "scope exceeds the grant"));
            }
            requested.to_string()
        }
        // Keycloak 26.7.0 (R12): without `scope`, the refreshed token loses `openid`.
        None if quirks.drops_openid_unless_scope_resent => grant
            .scope
            .split_ascii_whitespace()
            .filter(|s| *s != "openid")
            .collect::<Vec<_>>()
            .join(" "),
        None => grant.scope.clone(),
    };
    let nonce = grant
        .nonce
        .clone()
        .filter(|_| quirks.repeat_nonce_on_refresh);
    let resource = token_resource(idp, form)?.or_else(|| grant.resource.clone());
    let action = match idp.options.refresh_policy {
        RefreshPolicy::Rotate | RefreshPolicy::RotateKeepOld => RefreshAction::New,
        RefreshPolicy::ReuseAndEcho => RefreshAction::Echo(presented.to_string()),
        RefreshPolicy::ReuseAndOmit => RefreshAction::Omit,
    };
    if quirks.refresh_invalidates_access_tokens {
        // GitLab (S22): the old access token dies with the refresh, no grace.
        state.invalidate_access_tokens(grant_id);
        if let Some(grant) = state.grants.get_mut(&grant_id) {
            grant.refresh_tokens.retain(|token| token != presented);
        }
    }
    let mut body = issue(
        idp,
        state,
        grant_id,
        nonce.as_deref(),
        resource.as_deref(),
        &scope,
        action,
    );
    if !idp.options.id_token_on_refresh
        && let Some(object) = body.as_object_mut()
    {
        object.remove("id_token");
    }
    Ok(body)
}

fn device_code(idp: &Inner, state: &mut State, form: &Form) -> Result<Value, Response> {
    let Some(code) = field(form, "device_code") else {
        return Err(oauth_error(
            400,
            "invalid_request",
            "device_code is required",
        ));
    };
    let interval = idp.options.device_interval;
    let Some(device) = state.devices.get_mut(code) else {
        return Err(oauth_error(400, "invalid_grant", "unknown device code"));
    };
    let now = Instant::now();
    if now >= device.expires {
        return Err(oauth_error(400, "expired_token", "the device code expired"));
    }
    let too_fast = device
        .last_poll
        .is_some_and(|last| now.duration_since(last) + POLL_TOLERANCE < interval);
    device.last_poll = Some(now);
    match device.status {
        DeviceStatus::Denied => Err(oauth_error(400, "access_denied", "the user declined")),
        DeviceStatus::Redeemed => Err(oauth_error(
            400,
            "invalid_grant",
            "device code already used",
        )),
        DeviceStatus::Pending if too_fast => Err(oauth_error(
            400,
            "slow_down",
            "polling faster than the interval",
        )),
        DeviceStatus::Pending => Err(oauth_error(
            400,
            "authorization_pending",
            "the user has not finished yet",
        )),
        DeviceStatus::Approved => {
            device.status = DeviceStatus::Redeemed;
            let requested_scope = device.scope.clone();
            let device_resource = device.resource.clone();
            let resource = token_resource(idp, form)?.or(device_resource);
            let with_refresh = refresh_allowed(&idp.options, &requested_scope, None, None);
            let (_, body) =
                grant_and_issue(idp, state, &requested_scope, with_refresh, resource, None);
            Ok(body)
        }
    }
}

/// Whether a new grant gets a refresh token. `prompt_consent` and `access_type_offline`
/// are `None` where there is no authorization request (device flow, seeded sessions).
pub(crate) fn refresh_allowed(
    options: &IdpOptions,
    scope: &str,
    prompt_consent: Option<bool>,
    access_type_offline: Option<bool>,
) -> bool {
    let consent = !options.refresh_requires_offline_consent
        || (has_scope(scope, "offline_access") && prompt_consent.unwrap_or(true));
    // Google (R7): refresh tokens only for `access_type=offline`.
    let access_type =
        !options.quirks.refresh_needs_access_type || access_type_offline.unwrap_or(true);
    consent && access_type
}

/// The RFC 8707 `resource` of a token request, when the IdP reads it there; Entra's
/// quirk mode refuses it (R1).
fn token_resource(idp: &Inner, form: &Form) -> Result<Option<String>, Response> {
    let resource = field(form, "resource");
    if idp.options.quirks.rejects_resource && resource.is_some() {
        return Err(oauth_error(
            400,
            "invalid_request",
            "AADSTS9010010: The resource parameter provided in the request doesn't match with the requested scopes.",
        ));
    }
    Ok(resource
        .filter(|_| idp.options.quirks.audience == AudienceRule::Resource)
        .map(str::to_owned))
}

/// The scope actually granted: `offline_access` is dropped when no refresh token comes
/// with it (what strict providers report).
pub(crate) fn granted_scope(options: &IdpOptions, scope: &str, with_refresh: bool) -> String {
    if with_refresh || !options.refresh_requires_offline_consent {
        return scope.to_string();
    }
    scope
        .split_ascii_whitespace()
        .filter(|s| *s != "offline_access")
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new grant of `requested_scope` — narrowed as the options say when it comes without a
/// refresh token (`with_refresh` false) — and its first tokens: the grant's id and the
/// token response.
pub(crate) fn grant_and_issue(
    idp: &Inner,
    state: &mut State,
    requested_scope: &str,
    with_refresh: bool,
    resource: Option<String>,
    nonce: Option<String>,
) -> (u64, Value) {
    let scope = granted_scope(&idp.options, requested_scope, with_refresh);
    let grant = state.new_grant(scope.clone(), resource.clone(), nonce.clone());
    let action = if with_refresh {
        RefreshAction::New
    } else {
        RefreshAction::None
    };
    let body = issue(
        idp,
        state,
        grant,
        nonce.as_deref(),
        resource.as_deref(),
        &scope,
        action,
    );
    (grant, body)
}

/// Builds a token response for `grant`: a fresh access token (a JWT, or opaque in the
/// quirk modes that issue those), an ID token when `openid` is in scope, and the refresh
/// token per `refresh`. `audience` is what the request asked for under the quirk mode's
/// audience rule.
pub(crate) fn issue(
    idp: &Inner,
    state: &mut State,
    grant: u64,
    nonce: Option<&str>,
    audience: Option<&str>,
    scope: &str,
    refresh: RefreshAction,
) -> Value {
    let now = unix_now();
    let lifetime = state.access_token_lifetime.as_secs();
    let sub = state.subject.clone();
    let client_id = &idp.options.client_id;
    let quirks = &idp.options.quirks;
    let auth_time = state.grants.get(&grant).map_or(now, |g| g.auth_time);
    let issuer = idp.token_issuer();
    let mut access_claims = json!({
        "iss": issuer,
        "sub": sub,
        "exp": now + lifetime,
        "iat": now,
        "jti": random_token(12),
        "scope": scope,
        "client_id": client_id,
    });
    match (&quirks.audience, audience) {
        // Cognito (R15): `client_id`, no `aud`.
        (AudienceRule::ClientIdOnly, _) => {}
        (AudienceRule::Issuer, _) => access_claims["aud"] = json!(issuer),
        (AudienceRule::Client, _) | (_, None) => access_claims["aud"] = json!(client_id),
        // Auth0: the API and its own userinfo.
        (AudienceRule::AudienceParameter, Some(audience)) => {
            access_claims["aud"] = json!([audience, idp.url("/userinfo")]);
        }
        (_, Some(audience)) => access_claims["aud"] = json!(audience),
    }
    if let Some(tenant) = &quirks.tenant {
        access_claims["tid"] = json!(tenant);
    }
    // Auth0 without `audience`: an opaque token for `/userinfo` only (R15).
    let opaque = quirks.access_tokens == AccessTokens::Opaque
        || (quirks.audience == AudienceRule::AudienceParameter && audience.is_none());
    let access_token = if opaque {
        format!("opaque-{}", random_token(24))
    } else {
        idp.key.sign("at+jwt", &access_claims).unwrap_or_default()
    };
    state
        .records
        .issued_access_tokens
        .push(access_token.clone());
    state.access_tokens.insert(
        access_token.clone(),
        IssuedAccess {
            grant,
            expires_at: now + lifetime,
            active: true,
            claims: access_claims,
        },
    );
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": scope,
    });
    match quirks.expires_in {
        ExpiresIn::Number => body["expires_in"] = json!(lifetime),
        ExpiresIn::Text => body["expires_in"] = json!(lifetime.to_string()),
        ExpiresIn::Missing => {}
    }
    if has_scope(scope, "openid") {
        let id_issuer = if quirks.bare_issuer_in_id_token {
            issuer.trim_start_matches("https://").to_owned()
        } else {
            issuer
        };
        let mut id_claims = json!({
            "iss": id_issuer,
            "sub": sub,
            "aud": client_id,
            "exp": now + lifetime,
            "iat": now,
            "auth_time": auth_time,
        });
        // Dex's cross-client trust: issued to the gateway on the client's behalf.
        if let (true, Some(audience)) = (quirks.on_behalf(), audience) {
            id_claims["aud"] = json!(audience);
            id_claims["azp"] = json!(client_id);
        }
        if let Some(tenant) = &quirks.tenant {
            id_claims["tid"] = json!(tenant);
        }
        if let Some(nonce) = nonce {
            id_claims["nonce"] = json!(nonce);
        }
        let id_token = idp.key.sign("JWT", &id_claims).unwrap_or_default();
        state.records.issued_id_tokens.push(id_token.clone());
        body["id_token"] = json!(id_token);
    }
    let refresh_token = match refresh {
        RefreshAction::New => Some(state.new_refresh_token(grant)),
        RefreshAction::Echo(existing) => Some(existing),
        RefreshAction::Omit | RefreshAction::None => None,
    };
    if let Some(token) = refresh_token {
        body["refresh_token"] = json!(token);
    }
    body
}

/// RFC 7662: whether an access token is active, as a gateway that cannot read it (an
/// opaque token) asks; unknown, expired, invalidated and revoked tokens are inactive.
pub(crate) fn introspect(idp: &Inner, request: &Request) -> Response {
    if !request.method.eq_ignore_ascii_case("POST") {
        return oauth_error(
            405,
            "invalid_request",
            "the introspection endpoint takes POST",
        );
    }
    let Some(token) = request.form_param("token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let state = lock(&idp.state);
    let answer = match state.is_active(&token) {
        Some(access) => {
            let mut answer = access.claims.clone();
            answer["active"] = json!(true);
            answer
        }
        None => json!({"active": false}),
    };
    Response::json(200, &answer).with_header("cache-control", "no-store")
}

/// RFC 7009: revoking a refresh token revokes its grant; unknown tokens are fine (200).
pub(crate) fn revoke(idp: &Inner, request: &Request) -> Response {
    if !request.method.eq_ignore_ascii_case("POST") {
        return oauth_error(405, "invalid_request", "the revocation endpoint takes POST");
    }
    let form = request.form_pairs();
    if let Err(rejection) = check_client(idp, request, &form) {
        return rejection;
    }
    let Some(token) = field(&form, "token") else {
        return oauth_error(400, "invalid_request", "token is required");
    };
    let mut state = lock(&idp.state);
    state.records.revoked_tokens.push(token.to_string());
    if let Some(grant) = state.refresh_index.get(token).copied() {
        state.revoke_grant(grant);
    }
    Response::new(200)
}
