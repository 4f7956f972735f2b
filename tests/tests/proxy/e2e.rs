//! The proxy against tokens from a real OpenID Provider (panva `oidc-provider`,
//! `tests/oidc-provider/`): the gateway verifies the provider's RS256 JWTs against its
//! JWKS. Needs `npm ci --prefix tests/oidc-provider`; without it the test fails with that
//! instruction (never a skip).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use llmauth_tests::ca::TestCa;
use llmauth_tests::gateway::{GatewayOptions, TestGateway};
use llmauth_tests::oidc_provider::{OidcProvider, OidcProviderOptions, TlsMaterial};
use llmauth_tests::sandbox::Sandbox;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::http::Req;
use super::rig::{BROWSER, LLMAUTH, RunningProxy};

/// A CA and a leaf for 127.0.0.1 as PEM: (CA certificate, leaf chain, leaf key).
fn provider_tls() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "llmauth e2e provider CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    (ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem())
}

#[test]
fn real_provider_tokens_are_injected_and_refreshed_after_a_401() {
    let (provider_ca, leaf, key) = provider_tls();
    let mut options = OidcProviderOptions::new(TlsMaterial::Pem { cert: leaf, key });
    options.access_token_ttl = Duration::from_secs(120);
    let provider = OidcProvider::start(options).unwrap_or_else(|e| panic!("oidc-provider: {e}"));
    let provider_roots = llmauth_tests::client::certs_from_pem(provider_ca.as_bytes());
    let text = llmauth_tests::client::agent_trusting(&provider_roots)
        .get(format!(
            "{}/.well-known/openid-configuration",
            provider.issuer()
        ))
        .call()
        .expect("discovery")
        .body_mut()
        .read_to_string()
        .expect("discovery body");
    let discovery: serde_json::Value = serde_json::from_str(&text).expect("discovery JSON");
    let gateway_ca = Arc::new(TestCa::new());
    let gateway = TestGateway::start(
        GatewayOptions {
            jwks_url: discovery["jwks_uri"].as_str().map(str::to_owned),
            jwks_extra_roots_pem: Some(provider_ca.clone()),
            expected_issuer: Some(provider.issuer().to_owned()),
            expected_audience: Some(provider.audience().to_owned()),
            ..GatewayOptions::default()
        },
        Arc::clone(&gateway_ca),
    );
    let mut sandbox = Sandbox::new(Path::new(LLMAUTH), Some(Path::new(BROWSER)));
    let ca_file = sandbox.root().join("cas.pem");
    std::fs::write(&ca_file, format!("{}{provider_ca}", gateway_ca.ca_pem())).unwrap();
    sandbox.set_env("LLMAUTH_TEST_CA", &ca_file);
    sandbox.configure(
        provider.issuer(),
        &gateway.url(),
        provider.client_id(),
        &ca_file,
        &[
            "--audience",
            provider.audience(),
            "--prompt",
            "consent",
            "--secrets-backend",
            "file",
        ],
    );
    let login = sandbox.run(&["login"]);
    assert_eq!(login.code, 0, "login: {}\n{}", login.stderr, provider.log());
    let key = sandbox.run(&["proxy", "key"]).stdout.trim().to_owned();
    let proxy = RunningProxy::start(sandbox.command(&["proxy", "start", "--port", "0"]));

    let message = br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let first = Req::post("/v1/messages", message)
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(first.status, 200, "{}", first.text());
    let seen = gateway.last_request().expect("seen");
    let claims = seen
        .claims
        .clone()
        .expect("the gateway verified the provider's JWT");
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], provider.audience());
    let first_token = seen.bearer_token().expect("bearer").to_owned();

    // The gateway rejects the token once: the proxy refreshes at the real provider
    // (rotating the refresh token) and retries.
    gateway.reject_next(1);
    let retried = Req::post("/v1/messages", message)
        .header("x-api-key", key)
        .send(proxy.port);
    assert_eq!(
        retried.status,
        200,
        "{}\n{}",
        retried.text(),
        proxy.stderr()
    );
    let seen = gateway.last_request().expect("seen");
    assert!(seen.claims.is_some());
    assert_ne!(
        seen.bearer_token(),
        Some(first_token.as_str()),
        "a new token"
    );
    assert!(!proxy.stderr().contains(&first_token));
}
