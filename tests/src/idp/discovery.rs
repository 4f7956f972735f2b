//! The discovery document (OpenID Connect Discovery 1.0 and RFC 8414 share it).

use serde_json::{Value, json};

use super::Inner;
use super::options::DEVICE_CODE_GRANT;

/// The OpenID configuration, or (`oauth_metadata`) the RFC 8414 document.
pub(crate) fn document(idp: &Inner, oauth_metadata: bool) -> Value {
    let options = &idp.options;
    let quirks = &options.quirks;
    // Entra's multi-tenant endpoints name a template (R4).
    let template = quirks
        .tenant
        .as_ref()
        .map(|_| format!("{}/{{tenantid}}/v2.0", idp.origin));
    let issuer = options
        .discovery_issuer_override
        .clone()
        .or(template)
        .unwrap_or_else(|| idp.issuer.clone());
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": idp.url("/authorize"),
        "token_endpoint": idp.url("/token"),
        "jwks_uri": idp.url("/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_CODE_GRANT],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "offline_access", "profile", "email"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [idp.key.alg().name()],
        "token_endpoint_auth_methods_supported": ["none"],
        "authorization_response_iss_parameter_supported": options.advertise_iss_parameter_supported,
    });
    if options.advertise_device_endpoint {
        doc["device_authorization_endpoint"] = json!(idp.url("/device_authorization"));
    }
    // Django OAuth Toolkit lists revocation only in the RFC 8414 document.
    let revocation = options.advertise_revocation_endpoint
        && (oauth_metadata || !quirks.revocation_only_in_oauth_metadata);
    if revocation {
        doc["revocation_endpoint"] = json!(idp.url("/revoke"));
        doc["revocation_endpoint_auth_methods_supported"] = json!(["none"]);
    }
    if quirks.client_secret.is_some() {
        doc["token_endpoint_auth_methods_supported"] = json!(["client_secret_post"]);
    }
    doc["introspection_endpoint"] = json!(idp.url("/introspect"));
    doc
}
