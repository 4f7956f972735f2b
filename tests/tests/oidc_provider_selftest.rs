//! Self-test of the `oidc-provider` launcher: it starts the real provider on loopback
//! HTTPS with a certificate from a throw-away CA, and the provider advertises what
//! llmauth's end-to-end tests rely on. Needs `npm ci --prefix tests/oidc-provider`; without
//! it these tests fail with that instruction.

use std::net::TcpStream;
use std::time::Duration;

use llmauth_tests::ca::TestCa;
use llmauth_tests::oidc_provider::{OidcProvider, OidcProviderOptions, TlsMaterial};
use serde_json::Value;
use ureq::Agent;

/// The provider's certificate and key from the shared test CA, as PEM text.
fn pem_material(ca: &TestCa) -> TlsMaterial {
    TlsMaterial::Pem {
        cert: ca.leaf_chain_pem(),
        key: ca.leaf_key_pem().to_owned(),
    }
}

fn start(options: OidcProviderOptions) -> OidcProvider {
    OidcProvider::start(options).unwrap_or_else(|e| panic!("oidc-provider did not start: {e}"))
}

fn get_json(agent: &Agent, url: &str) -> Value {
    let mut response = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(response.status(), 200, "GET {url}");
    let body = response.body_mut().read_to_string().expect("body");
    serde_json::from_str(&body).expect("JSON body")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn discovery_advertises_what_the_e2e_tests_need() {
    let ca = TestCa::new();
    let provider = start(OidcProviderOptions::new(pem_material(&ca)));

    let issuer = provider.issuer().to_owned();
    assert_eq!(issuer, format!("https://127.0.0.1:{}", provider.port()));
    assert_eq!(provider.client_id(), "llmauth-e2e");
    assert_eq!(provider.audience(), "https://gateway.llmauth.test");

    let doc = get_json(
        &ca.agent(),
        &format!("{issuer}/.well-known/openid-configuration"),
    );
    assert_eq!(doc["issuer"], Value::from(issuer.clone()));
    assert_eq!(
        doc["device_authorization_endpoint"],
        Value::from(format!("{issuer}/device/auth"))
    );
    assert_eq!(
        doc["revocation_endpoint"],
        Value::from(format!("{issuer}/token/revocation"))
    );
    assert_eq!(strings(&doc["code_challenge_methods_supported"]), ["S256"]);
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(strings(&doc["response_types_supported"]), ["code"]);
    let grants = strings(&doc["grant_types_supported"]);
    for grant in [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        assert!(grants.contains(&grant), "{grant} missing from {grants:?}");
    }
    assert!(strings(&doc["scopes_supported"]).contains(&"offline_access"));

    let log = provider.log();
    assert!(
        log.contains("GET /.well-known/openid-configuration"),
        "request not logged:\n{log}"
    );
}

#[test]
fn options_reach_the_provider_and_files_work_too() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("leaf.pem");
    let key = dir.path().join("leaf.key");
    std::fs::write(&cert, ca.leaf_chain_pem()).expect("write cert");
    std::fs::write(&key, ca.leaf_key_pem()).expect("write key");

    let mut options = OidcProviderOptions::new(TlsMaterial::Files { cert, key });
    options.client_id = "selftest-client".to_owned();
    options.audience = "https://gateway.selftest.example".to_owned();
    options.device_interval = Some(Duration::from_secs(1));
    let provider = start(options);
    assert_eq!(provider.client_id(), "selftest-client");

    // The device-authorization endpoint knows the client, accepts the audience as a
    // resource, and announces the interval we asked for.
    let mut response = ca
        .agent()
        .post(format!("{}/device/auth", provider.issuer()))
        .send_form([
            ("client_id", "selftest-client"),
            ("scope", "openid offline_access"),
            ("resource", "https://gateway.selftest.example"),
        ])
        .expect("device authorization");
    assert_eq!(response.status(), 200);
    let body: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(body["interval"], 1);
    let complete = body["verification_uri_complete"]
        .as_str()
        .expect("complete URI");
    assert!(
        complete.starts_with(&format!("{}/device?user_code=", provider.issuer())),
        "{complete}"
    );

    // Another resource is not the gateway: invalid_target.
    let mut response = ca
        .agent()
        .post(format!("{}/device/auth", provider.issuer()))
        .send_form([
            ("client_id", "selftest-client"),
            ("scope", "openid"),
            ("resource", "https://gateway.llmauth.test"),
        ])
        .expect("device authorization");
    assert_eq!(response.status(), 400);
    let body: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(body["error"], "invalid_target");
}

#[test]
fn dropping_the_launcher_stops_the_provider() {
    let ca = TestCa::new();
    let provider = start(OidcProviderOptions::new(pem_material(&ca)));
    let port = provider.port();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(provider);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections after drop"
    );
}

#[test]
fn fractional_ttl_is_refused_before_node_starts() {
    let ca = TestCa::new();
    let mut options = OidcProviderOptions::new(pem_material(&ca));
    options.access_token_ttl = Duration::from_millis(1500);
    let err = OidcProvider::start(options).expect_err("1.5 s is not a whole number of seconds");
    assert!(err.contains("access_token_ttl"), "{err}");
}

#[test]
fn a_bad_certificate_is_a_start_error_with_the_log() {
    let mut options = OidcProviderOptions::new(TlsMaterial::Pem {
        cert: "not a certificate".to_owned(),
        key: "not a key".to_owned(),
    });
    options.port = 0;
    let err = OidcProvider::start(options).expect_err("garbage PEM must not start");
    assert!(err.contains("exited before it was ready"), "{err}");
    assert!(err.contains("oidc-provider.log"), "log tail missing: {err}");
}

#[test]
fn token_requests_are_counted_by_grant_type_with_their_outcome() {
    let ca = TestCa::new();
    let provider = start(OidcProviderOptions::new(pem_material(&ca)));
    assert!(provider.token_requests("refresh_token").is_empty());

    let mut response = ca
        .agent()
        .post(provider.token_endpoint())
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", "not-a-refresh-token"),
            ("client_id", provider.client_id()),
        ])
        .expect("token request");
    assert_eq!(response.status(), 400);
    let body: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("JSON");
    assert_eq!(body["error"], "invalid_grant");

    assert_eq!(
        provider.token_requests("refresh_token"),
        [(400, Some("invalid_grant".to_owned()))]
    );
    assert!(provider.token_requests("authorization_code").is_empty());
    let log = provider.log();
    assert!(
        !log.contains("not-a-refresh-token"),
        "the log holds a token:\n{log}"
    );
}

#[test]
fn jwks_uri_serves_the_rs256_signing_key() {
    let ca = TestCa::new();
    let provider = start(OidcProviderOptions::new(pem_material(&ca)));
    let jwks = get_json(&ca.agent(), &provider.jwks_uri());
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["kty"], "RSA");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0].get("d").is_none(), "the JWKS leaks the private key");
}
