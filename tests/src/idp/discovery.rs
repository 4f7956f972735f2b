//! The discovery document (OpenID Connect Discovery 1.0 and RFC 8414 share it).

use serde_json::{Value, json};

use super::Inner;
use super::options::DEVICE_CODE_GRANT;

pub(crate) fn document(idp: &Inner) -> Value {
    let options = &idp.options;
    let issuer = options
        .discovery_issuer_override
        .clone()
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
    if options.advertise_revocation_endpoint {
        doc["revocation_endpoint"] = json!(idp.url("/revoke"));
        doc["revocation_endpoint_auth_methods_supported"] = json!(["none"]);
    }
    doc
}
