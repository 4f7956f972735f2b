//! llmauth-async: the localhost proxy (SPEC §7), on tokio and hyper 1: a single-threaded
//! runtime per worker thread, one worker per core.
//!
//! Every decision is core's: which requests are admitted, where they go and when they
//! are sent again (`llmauth_core::broker::admission`), which headers go
//! (`llmauth_core::broker::rules`), which HTTP proxy the gateway is reached through
//! (`llmauth_core::net`), when a token is served, refreshed, checked
//! against the store or force-refreshed (`llmauth_core::broker::TokenBroker`), and the
//! whole token lifecycle inside each flow (`llmauth_core::flow::TokenFlow`, driven by
//! [`drive`], the async copy of the drive loop). This crate performs:
//!
//! ```text
//! let proxy = Proxy::bind(ProxyOptions { gateway_url, port, local_key, flow, .. })?;
//! println!("llmauth proxy listening on http://127.0.0.1:{}", proxy.port());
//! let stop = signals::first_signal(&proxy)?;
//! proxy.run_until(stop)?;                          // graceful stop, ≤ 5 s drain
//! ```
//!
//! Bodies are streamed both ways frame by frame and never collected, except request
//! bodies of at most 1 MiB, which are kept so a request can be retried once after a
//! gateway 401.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::wildcard_enum_match_arm))]
#![warn(missing_docs)]

pub mod activation;
pub mod clock;
mod driver;
mod io;
mod limits;
pub mod proxy;
pub mod signals;
mod token_supply;

pub use driver::drive;
pub use io::AsyncIo;
pub use llmauth_blocking::FlowSetup;
pub use proxy::{Proxy, ProxyError, ProxyOptions};
pub use token_supply::TokenSupply;
