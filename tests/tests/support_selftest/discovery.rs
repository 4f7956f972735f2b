//! Discovery documents, issuer paths and the advertised capabilities.

use llmauth_tests::idp::{IdpEndpoint, IdpOptions, TestIdp};
use serde_json::Value;

use super::common::{get, idp, str_field};

#[test]
fn discovery_document_lists_every_endpoint() {
    let idp = idp();
    let agent = idp.ca().agent();
    let doc = get(&agent, &idp.discovery_url());
    assert_eq!(doc.status, 200);
    assert!(doc.content_type.starts_with("application/json"));
    let doc = doc.json;
    assert!(idp.issuer().starts_with("https://127.0.0.1:"));
    assert_eq!(str_field(&doc, "issuer"), idp.issuer());
    assert_eq!(
        str_field(&doc, "authorization_endpoint"),
        idp.authorization_endpoint()
    );
    assert_eq!(str_field(&doc, "token_endpoint"), idp.token_endpoint());
    assert_eq!(
        str_field(&doc, "device_authorization_endpoint"),
        idp.device_authorization_endpoint()
    );
    assert_eq!(
        str_field(&doc, "revocation_endpoint"),
        idp.revocation_endpoint()
    );
    assert_eq!(str_field(&doc, "jwks_uri"), idp.jwks_uri());
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        Value::Bool(true)
    );
    let grants = doc["grant_types_supported"].as_array().unwrap();
    for grant in [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        assert!(grants.iter().any(|g| g == grant), "{grant} missing");
    }
    assert_eq!(idp.discovery_requests(), 1);

    let jwks = get(&agent, &idp.jwks_uri());
    assert_eq!(jwks.status, 200);
    assert_eq!(jwks.json, idp.jwks());
    assert_eq!(jwks.json["keys"][0]["alg"], "ES256");
    assert_eq!(idp.requests(IdpEndpoint::Jwks), 1);
}

#[test]
fn options_remove_advertised_capabilities() {
    let idp = TestIdp::start(IdpOptions {
        advertise_device_endpoint: false,
        advertise_revocation_endpoint: false,
        advertise_iss_parameter_supported: false,
        discovery_issuer_override: Some("https://someone-else.example".into()),
        ..IdpOptions::default()
    });
    let doc = get(&idp.ca().agent(), &idp.discovery_url()).json;
    assert!(doc.get("device_authorization_endpoint").is_none());
    assert!(doc.get("revocation_endpoint").is_none());
    assert_eq!(
        doc["authorization_response_iss_parameter_supported"],
        Value::Bool(false)
    );
    assert_eq!(str_field(&doc, "issuer"), "https://someone-else.example");
}

#[test]
fn path_issuers_serve_both_discovery_locations() {
    let idp = TestIdp::start(IdpOptions {
        issuer_path: "realms/test/".into(),
        ..IdpOptions::default()
    });
    let agent = idp.ca().agent();
    assert!(idp.issuer().ends_with("/realms/test"), "{}", idp.issuer());
    assert!(idp.token_endpoint().ends_with("/realms/test/token"));
    let oidc = get(&agent, &idp.discovery_url());
    assert_eq!(oidc.status, 200);
    assert_eq!(str_field(&oidc.json, "issuer"), idp.issuer());
    // RFC 8414 §3: the well-known segment goes between host and path.
    let origin = idp.issuer().trim_end_matches("/realms/test");
    let rfc8414 = get(
        &agent,
        &format!("{origin}/.well-known/oauth-authorization-server/realms/test"),
    );
    assert_eq!(rfc8414.status, 200);
    assert_eq!(str_field(&rfc8414.json, "issuer"), idp.issuer());
    assert_eq!(
        get(
            &agent,
            &format!("{origin}/.well-known/openid-configuration")
        )
        .status,
        404
    );
    assert_eq!(idp.discovery_requests(), 2);

    let only_rfc8414 = TestIdp::start(IdpOptions {
        serve_openid_configuration: false,
        ..IdpOptions::default()
    });
    let agent = only_rfc8414.ca().agent();
    assert_eq!(get(&agent, &only_rfc8414.discovery_url()).status, 404);
    let fallback = get(
        &agent,
        &only_rfc8414.url("/.well-known/oauth-authorization-server"),
    );
    assert_eq!(fallback.status, 200);
}

#[test]
fn rs256_idp_publishes_an_rsa_key() {
    let idp = TestIdp::start(IdpOptions {
        signing_alg: llmauth_tests::jwt::SigningAlg::Rs256,
        ..IdpOptions::default()
    });
    let agent = idp.ca().agent();
    let doc = get(&agent, &idp.discovery_url()).json;
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    let jwks = get(&agent, &idp.jwks_uri()).json;
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
}
