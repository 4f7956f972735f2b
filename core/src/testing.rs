//! Test support shared by unit tests, property tests, the fuzz harnesses and the tests
//! crate: fixtures and [`World`], an in-memory simulation of everything a flow talks to
//! (secret store, locks, IdP, browser, listener), steered by a script of bytes; for
//! setup, the edits it makes and their round trip ([`edits`]) and a typical run's
//! settings ([`setup`]).
//!
//! Every secret the simulated IdP issues contains [`CANARY`], so a test can assert that
//! no secret ever reaches a `Debug`, an error message or a notice.

pub mod edits;
pub mod service;
pub mod setup;
mod world;

pub use world::{Finished, InitialSession, Kind, RefreshEvent, Run, Task, World, WorldSetup};

use core::time::Duration;

use crate::flow::{FlowContext, FlowSettings, Interaction};
use crate::provider::{AudienceVia, CallbackHost, IssuerMatch, Redirect, TokenKind};
use crate::store::{Backend, SessionKey};
use crate::time::UnixTime;

/// Marker contained in every simulated secret.
pub const CANARY: &str = "CANARY";

/// Issuer of the simulated IdP.
pub const ISSUER: &str = "https://idp.test/realms/r";

/// A start time for tests (2026-11-28).
pub const T0: UnixTime = UnixTime::from_secs(1_795_873_800);

/// Settings of a typical configuration.
pub fn settings() -> FlowSettings {
    FlowSettings {
        session_key: SessionKey::derive(
            "https://gateway.test",
            ISSUER,
            "llmauth-test",
            "https://gateway.test",
        ),
        issuer: ISSUER.to_owned(),
        issuer_match: IssuerMatch::Exact,
        client_id: "llmauth-test".to_owned(),
        client_secret: false,
        audience: "https://gateway.test".to_owned(),
        audience_via: AudienceVia::Resource,
        scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
        authorization_params: Vec::new(),
        redirect: Redirect::Loopback {
            host: CallbackHost::Localhost,
            port: 8666,
        },
        resend_scope: false,
        token_kind: TokenKind::Access,
        refresh_window: Duration::from_secs(600),
        session_end_cause: None,
        tenants: Default::default(),
    }
}

/// A context for `backend` with the given interaction and its default budget from `now`
/// (none for a person at a terminal).
pub fn context(backend: Backend, interaction: Interaction, now: UnixTime) -> FlowContext {
    let deadline = interaction
        .budget(None)
        .map(|budget| now.saturating_add(budget));
    FlowContext {
        backend,
        interaction,
        deadline,
        pid: 4242,
    }
}

/// A person at a terminal with a browser.
pub const INTERACTIVE: Interaction = Interaction {
    login: true,
    open_browser: true,
    paste_back: true,
    show_device_code: true,
    browser_only: false,
};
