//! `llmauth proxy` against the loopback test IdP and gateway: the real command line as a
//! child process (and, where a test needs a short login wait, the library in-process).
#![allow(clippy::unwrap_used)]

#[cfg(unix)]
#[path = "proxy/activation.rs"]
mod activation;
#[cfg(unix)]
#[path = "proxy/control.rs"]
mod control;
#[path = "proxy/e2e.rs"]
mod e2e;
#[path = "proxy/edges.rs"]
mod edges;
#[path = "proxy/forwarding.rs"]
mod forwarding;
#[path = "proxy/http.rs"]
mod http;
#[cfg(unix)]
#[path = "proxy/idle.rs"]
mod idle;
#[path = "proxy/rig.rs"]
mod rig;
#[path = "proxy/streaming.rs"]
mod streaming;
#[path = "proxy/tokens.rs"]
mod tokens;
