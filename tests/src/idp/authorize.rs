//! `/authorize` (and `/login`, the interactive variant's form target).
//!
//! Errors about the client or the redirect URI are shown as a page (never redirected:
//! RFC 6749 §4.1.2.1); every other error goes back to the redirect URI.

use std::time::Instant;

use url::form_urlencoded;

use super::Inner;
use super::options::AuthorizeMode;
use super::state::{AuthCode, Interaction, has_scope, random_token};
use crate::http_server::{Request, Response, lock};

/// The name of the cookie the interactive login sets and its form submission must carry.
const INTERACTION_COOKIE: &str = "test_idp_interaction";

/// The authorization parameters: the query for GET, the form for POST.
pub(crate) fn params(request: &Request) -> Vec<(String, String)> {
    if request.method.eq_ignore_ascii_case("POST") {
        request.form_pairs()
    } else {
        request.query_pairs()
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) fn authorize(idp: &Inner, request: &Request) -> Response {
    let params = params(request);
    if let Err(page) = validate(idp, &params) {
        return page;
    }
    if !idp.options.interactive_login {
        return approve(idp, &params);
    }
    let id = random_token(16);
    let cookie = random_token(16);
    lock(&idp.state).interactions.insert(
        id.clone(),
        Interaction {
            params,
            cookie: cookie.clone(),
        },
    );
    // A path-absolute action, so the browser has to resolve it against the page URL.
    let action = format!("{}/login", idp.options.issuer_path);
    let page = format!(
        "<!doctype html><html><head><title>Sign in</title></head><body>\
         <h1>Sign in to the test IdP</h1>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"interaction\" value=\"{id}\">\
         <input type=\"text\" name=\"login\" value=\"test-user\">\
         <button type=\"submit\" name=\"submit\" value=\"approve\">Sign in</button>\
         </form></body></html>"
    );
    Response::html(200, &page).with_header(
        "set-cookie",
        &format!("{INTERACTION_COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax"),
    )
}

/// The login form's submission: checks the interaction and its cookie, then approves.
pub(crate) fn login(idp: &Inner, request: &Request) -> Response {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Response::html(405, "<p>login needs POST</p>");
    }
    let Some(id) = request.form_param("interaction") else {
        return Response::html(400, "<p>missing interaction</p>");
    };
    let Some(interaction) = lock(&idp.state).interactions.remove(&id) else {
        return Response::html(400, "<p>unknown or finished interaction</p>");
    };
    let sent_cookie = request
        .header_values("cookie")
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == INTERACTION_COOKIE)
        .map(|(_, value)| value.to_string());
    if sent_cookie.as_deref() != Some(interaction.cookie.as_str()) {
        return Response::html(400, "<p>interaction cookie missing or wrong</p>");
    }
    approve(idp, &interaction.params)
}

/// Checks the request; `Err` is the page or redirect to answer instead.
fn validate(idp: &Inner, params: &[(String, String)]) -> Result<(), Response> {
    if param(params, "client_id") != Some(idp.options.client_id.as_str()) {
        return Err(Response::html(400, "<p>unknown client_id</p>"));
    }
    let redirect_uri = param(params, "redirect_uri").unwrap_or_default();
    if !idp.options.redirect_uris.allows(redirect_uri) {
        return Err(Response::html(400, "<p>redirect_uri not allowed</p>"));
    }
    let state = param(params, "state");
    let fail = |error: &str, description: &str| {
        Err(redirect(
            redirect_uri,
            &[("error", error), ("error_description", description)],
            state,
            idp.options
                .include_iss_in_authorization_response
                .then_some(idp.issuer.as_str()),
        ))
    };
    if param(params, "response_type") != Some("code") {
        return fail("unsupported_response_type", "only response_type=code");
    }
    if state.is_none_or(str::is_empty) {
        return fail("invalid_request", "state is required");
    }
    if param(params, "nonce").is_none_or(str::is_empty) {
        return fail("invalid_request", "nonce is required");
    }
    let challenge = param(params, "code_challenge").unwrap_or_default();
    if challenge.len() != 43 {
        return fail(
            "invalid_request",
            "code_challenge (S256, 43 chars) is required",
        );
    }
    if param(params, "code_challenge_method") != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    let scope = param(params, "scope").unwrap_or_default();
    if !scope.split_ascii_whitespace().any(|s| s == "openid") {
        return fail("invalid_scope", "scope must include openid");
    }
    let quirks = &idp.options.quirks;
    if let Some((error, description)) = quirks.rejects_offline_access
        && has_scope(scope, "offline_access")
    {
        return fail(error, description);
    }
    if quirks.rejects_resource && param(params, "resource").is_some() {
        return fail(
            "invalid_request",
            "AADSTS901002: The 'resource' request parameter isn't supported.",
        );
    }
    Ok(())
}

/// The user said yes (or no, per the authorize mode): redirect back with a code.
fn approve(idp: &Inner, params: &[(String, String)]) -> Response {
    let redirect_uri = param(params, "redirect_uri").unwrap_or_default();
    let state = param(params, "state").unwrap_or_default();
    let include_iss = idp.options.include_iss_in_authorization_response;
    let mut guard = lock(&idp.state);
    let mode = guard.authorize_mode;
    let iss = match mode {
        AuthorizeMode::WrongIss => Some("https://mix-up.invalid"),
        AuthorizeMode::Approve | AuthorizeMode::Deny | AuthorizeMode::WrongState => {
            include_iss.then_some(idp.issuer.as_str())
        }
    };
    if mode == AuthorizeMode::Deny {
        drop(guard);
        return redirect(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user declined"),
            ],
            Some(state),
            iss,
        );
    }
    let code = random_token(32);
    guard.codes.insert(
        code.clone(),
        AuthCode {
            redirect_uri: redirect_uri.to_string(),
            code_challenge: param(params, "code_challenge")
                .unwrap_or_default()
                .to_string(),
            nonce: param(params, "nonce").map(str::to_string),
            scope: param(params, "scope").unwrap_or_default().to_string(),
            resource: idp
                .options
                .quirks
                .requested_audience(|name| param(params, name).map(str::to_owned)),
            prompt_consent: param(params, "prompt")
                .is_some_and(|p| p.split_ascii_whitespace().any(|v| v == "consent")),
            access_type_offline: param(params, "access_type") == Some("offline"),
            issued: Instant::now(),
            redeemed_grant: None,
        },
    );
    drop(guard);
    let returned_state = if mode == AuthorizeMode::WrongState {
        format!("{state}-forged")
    } else {
        state.to_string()
    };
    redirect(
        redirect_uri,
        &[("code", code.as_str())],
        Some(&returned_state),
        iss,
    )
}

fn redirect(
    redirect_uri: &str,
    fields: &[(&str, &str)],
    state: Option<&str>,
    iss: Option<&str>,
) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        query.append_pair(name, value);
    }
    if let Some(state) = state {
        query.append_pair("state", state);
    }
    if let Some(iss) = iss {
        query.append_pair("iss", iss);
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    Response::redirect(&format!("{redirect_uri}{separator}{}", query.finish()))
}
