//! RFC 8628: `/device_authorization`, and `/device`, the page a person (or the scripted
//! browser) opens to approve a user code.

use std::time::Instant;

use serde_json::json;

use super::state::{DeviceAuth, DeviceStatus, random_token, random_user_code};
use super::{Inner, oauth_error};
use crate::http_server::{Request, Response, lock};

pub(crate) fn device_authorization(idp: &Inner, request: &Request) -> Response {
    if !request.method.eq_ignore_ascii_case("POST") {
        return oauth_error(405, "invalid_request", "the device endpoint takes POST");
    }
    match request.form_param("client_id") {
        Some(id) if id == idp.options.client_id => {}
        Some(_) | None => return oauth_error(401, "invalid_client", "unknown client"),
    }
    let scope = request
        .form_param("scope")
        .unwrap_or_else(|| "openid".to_string());
    let device_code = random_token(32);
    let user_code = random_user_code();
    let lifetime = idp.options.device_code_lifetime;
    let mut state = lock(&idp.state);
    state.devices.insert(
        device_code.clone(),
        DeviceAuth {
            user_code: user_code.clone(),
            scope,
            resource: idp
                .options
                .quirks
                .requested_audience(|name| request.form_param(name)),
            status: DeviceStatus::Pending,
            expires: Instant::now() + lifetime,
            last_poll: None,
        },
    );
    state.records.issued_user_codes.push(user_code.clone());
    drop(state);
    let complete = format!(
        "{}?{}",
        idp.url("/device"),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("user_code", &user_code)
            .finish()
    );
    let mut answer = json!({
        "device_code": device_code,
        "user_code": user_code,
        "expires_in": lifetime.as_secs(),
        "interval": idp.options.device_interval.as_secs(),
    });
    if idp.options.quirks.verification_url {
        // Google: `verification_url`, and no `_complete` form.
        answer["verification_url"] = json!(idp.url("/device"));
    } else {
        answer["verification_uri"] = json!(idp.url("/device"));
        answer["verification_uri_complete"] = json!(complete);
    }
    Response::json(200, &answer).with_header("cache-control", "no-store")
}

/// `GET|POST /device?user_code=…[&action=deny]`: approves (or denies) at once.
pub(crate) fn verification(idp: &Inner, request: &Request) -> Response {
    let value = |name: &str| {
        request
            .query_param(name)
            .or_else(|| request.form_param(name))
    };
    let Some(user_code) = value("user_code") else {
        return Response::html(400, "<p>missing user_code</p>");
    };
    let deny = value("action").as_deref() == Some("deny");
    let mut state = lock(&idp.state);
    let Some(device) = state.device_by_user_code(&user_code) else {
        return Response::html(400, "<p>unknown user code</p>");
    };
    if Instant::now() >= device.expires {
        return Response::html(400, "<p>this code has expired</p>");
    }
    if device.status != DeviceStatus::Pending {
        return Response::html(400, "<p>this code was already used</p>");
    }
    if deny {
        device.status = DeviceStatus::Denied;
        Response::html(200, "<h1>Device denied</h1>")
    } else {
        device.status = DeviceStatus::Approved;
        Response::html(
            200,
            "<h1>Device approved</h1><p>You can close this window.</p>",
        )
    }
}
