//! Where a connection goes: whether a host is this machine's loopback, and which HTTP
//! proxy from the environment a request uses (SPEC §3).
//!
//! Config validation (an issuer may be plain http only on loopback), discovery, the
//! proxy's Origin check and both runtimes' proxy selection all ask here, on the address
//! as the URL parser normalised it, so the IdP, the gateway and `config set` never
//! disagree about the same host.

mod loopback;
mod proxy_env;

pub use loopback::{is_loopback, is_loopback_url};
pub use proxy_env::{InvalidProxy, ProxyEnv, ProxyServer, Route};
