//! A throwaway certificate authority for the loopback test servers.
//!
//! Every test server speaks HTTPS, because `llmauth` refuses plain-http gateways and the
//! real clients (ureq, hyper) must exercise their real TLS paths. The CA is generated per
//! process (nothing on disk unless asked), and its leaf certificate covers every loopback
//! name a client may use: `localhost`, `127.0.0.1` and `::1`.
//!
//! Both rustls configs are built with the ring provider passed explicitly, so they work
//! whether or not some other code installed a process-default provider.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names the leaf certificate is valid for.
const LEAF_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A CA certificate plus one leaf certificate (and key) for the loopback names.
pub struct TestCa {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    leaf_der: CertificateDer<'static>,
    leaf_key_pkcs8: Vec<u8>,
    leaf_pem: String,
    leaf_key_pem: String,
}

impl std::fmt::Debug for TestCa {
    /// Prints no key material: the leaf key is a secret even in tests.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// Generates a fresh CA and leaf; panics only if key generation itself fails.
    pub fn new() -> TestCa {
        match TestCa::try_new() {
            Ok(ca) => ca,
            Err(e) => panic!("test CA generation failed: {e}"),
        }
    }

    /// Generates a fresh CA and leaf.
    pub fn try_new() -> Result<TestCa, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "llmauth test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut leaf_params =
            CertificateParams::new(LEAF_NAMES.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.use_authority_key_identifier_extension = true;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf_params.signed_by(&leaf_key, &issuer)?;

        Ok(TestCa {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            leaf_der: leaf_cert.der().clone(),
            leaf_key_pkcs8: leaf_key.serialize_der(),
            leaf_pem: leaf_cert.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
        })
    }

    /// The CA certificate, PEM encoded (what `tls.ca_file` / `SSL_CERT_FILE` would hold).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA certificate, DER encoded.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The leaf certificate chain (leaf, then CA), PEM encoded: for servers that are not
    /// built on rustls, such as the Node `oidc-provider`, which read PEM files.
    pub fn leaf_chain_pem(&self) -> String {
        let separator = if self.leaf_pem.ends_with('\n') {
            ""
        } else {
            "\n"
        };
        format!("{}{separator}{}", self.leaf_pem, self.ca_pem)
    }

    /// The leaf's private key, PKCS#8 PEM (a test key, but still a key: never logged).
    pub fn leaf_key_pem(&self) -> &str {
        &self.leaf_key_pem
    }

    /// Writes the CA PEM to `dir/test-ca.pem` and returns that path.
    pub fn write_ca_pem(&self, dir: &Path) -> io::Result<PathBuf> {
        let path = dir.join("test-ca.pem");
        std::fs::write(&path, self.ca_pem.as_bytes())?;
        Ok(path)
    }

    /// A TLS server config presenting the leaf certificate, HTTP/1.1 only.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_pkcs8.clone()));
        let chain = vec![self.leaf_der.clone(), self.ca_der.clone()];
        let provider = llmauth_blocking::tls::provider();
        let built = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())
            .and_then(|b| {
                b.with_no_client_auth()
                    .with_single_cert(chain, key)
                    .map_err(|e| e.to_string())
            });
        match built {
            Ok(mut config) => {
                // Clients that offer h2 (hyper via tokio-rustls) must fall back to HTTP/1.1.
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Arc::new(config)
            }
            Err(e) => panic!("test TLS server config rejected: {e}"),
        }
    }

    /// A TLS client config trusting only this CA.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        if let Err(e) = roots.add(self.ca_der.clone()) {
            panic!("test CA certificate rejected by rustls: {e}");
        }
        let provider = llmauth_blocking::tls::provider();
        match ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
            Ok(b) => Arc::new(b.with_root_certificates(roots).with_no_client_auth()),
            Err(e) => panic!("test TLS client config rejected: {e}"),
        }
    }

    /// A ureq agent for the tests' own requests: trusts only this CA, never follows
    /// redirects, never turns a status into an error, ignores proxy environment variables.
    pub fn agent(&self) -> ureq::Agent {
        crate::client::agent_trusting(std::slice::from_ref(&self.ca_der))
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
    }
}
