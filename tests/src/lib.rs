//! Test support for llmauth: a loopback OpenID Provider, a gateway stand-in, a scripted
//! browser, and launchers for the real `oidc-provider`.

pub mod browser;
pub mod ca;
pub mod client;
pub mod faults;
pub mod gateway;
pub mod http_server;
pub mod idp;
pub mod jwt;
pub mod keyring_session;
pub mod oidc_provider;
mod random;
pub mod sandbox;
