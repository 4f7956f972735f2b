//! The HTTP client the test support code itself uses (JWKS fetches, the scripted browser,
//! and the self-tests): ureq with explicit trust roots and no hidden behaviour.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A ureq agent that trusts exactly `roots`, returns every status as a normal response,
/// follows no redirects, ignores `HTTPS_PROXY` and friends (test servers are loopback
/// only), and gives up after 30 s so a stuck test server cannot hang a test forever.
///
/// With no roots it falls back to the platform verifier.
pub fn agent_trusting(roots: &[CertificateDer<'static>]) -> ureq::Agent {
    let root_certs = if roots.is_empty() {
        RootCerts::PlatformVerifier
    } else {
        let certs: Vec<Certificate<'static>> = roots
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        RootCerts::Specific(Arc::new(certs))
    };
    let tls = TlsConfig::builder()
        .root_certs(root_certs)
        .unversioned_rustls_crypto_provider(llmauth_blocking::tls::provider())
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent()
}

/// Parses every certificate in a PEM bundle; non-certificate items are skipped.
pub fn certs_from_pem(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| {
            if let Ok(ureq::tls::PemItem::Certificate(cert)) = item {
                Some(CertificateDer::from(cert.der().to_vec()))
            } else {
                None
            }
        })
        .collect()
}
