//! The workspace's one TLS crypto provider: ring (DEPENDENCIES.md — quicker to build and
//! start, and smaller, than aws-lc-rs; two providers linked together make rustls panic).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The provider rustls's crate features name — ring, the only one this workspace
/// enables — installed as the process default on first use.
///
/// Taken from the process default rather than ring's own `default_provider` constructor,
/// which rustls 0.23.48 deprecates (ring has no post-quantum key exchange there). Should
/// a second provider ever be linked in, the first TLS use panics, which every test that
/// speaks TLS would show at once.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::clone(rustls::ClientConfig::builder().crypto_provider())
}
