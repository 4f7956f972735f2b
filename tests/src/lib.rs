//! Test support for llmauth: a loopback OpenID Provider, a gateway stand-in, a scripted
//! browser, and launchers for the real `oidc-provider`.
pub mod oidc_provider;
