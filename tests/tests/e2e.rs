//! End-to-end tests: the real `llmauth` binary against a real, widely used OpenID
//! Provider (panva `oidc-provider`, `tests/oidc-provider/`) and a gateway that verifies
//! the provider's RS256 JWTs against its JWKS. Each test starts its own provider, gateway
//! and sandbox.
//!
//! Needs `npm ci --prefix tests/oidc-provider`; without it every test fails with that
//! instruction (never a skip).
//!
//! One test binary with modules, to keep link times down.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod e2e {
    mod code_flow;
    mod concurrency;
    mod device_flow;
    pub(crate) mod harness;
    mod logout;
    mod refresh;
}
