//! llmauth-core: every decision llmauth makes, with no I/O.
//!
//! # Scope
//! In: the token lifecycle (cache tiers, refresh margin, single flight, rotation safety,
//! failure classes), interactive login (authorization code + PKCE, device flow),
//! discovery, ID-token checks, OAuth error classification, the identity providers'
//! presets ([`provider`]), configuration, session records, the verdicts of `doctor`'s
//! checks and the wording of every notice. Out: sockets, files, the keychain, clocks,
//! randomness, threads and processes — the runtimes (`llmauth-blocking`,
//! `llmauth-async`) do those, and decide nothing.
//!
//! # Driving a flow
//! A [`flow::TokenFlow`] hands out one [`intent::Intent`] at a time and takes its result
//! back, stamped with the driver's clock, until it is done with what its [`flow::Goal`]
//! asked for (a credential, a sign-in, a logout report):
//!
//! ```text
//! loop {
//!     let input = match flow.poll_output() {
//!         Output::Perform { id, intent } => {
//!             let result = io.perform(intent);
//!             Input::Completed { id, now: io.now(), result }
//!         }
//!         Output::WaitUntil { deadline, .. } => {
//!             io.sleep_until(deadline);
//!             Input::Timeout { now: io.now() }
//!         }
//!         Output::Done(outcome) => return outcome,
//!     };
//!     flow.handle_input(input)?;
//! }
//! ```
//!
//! Rules: (1) at most one intent is outstanding, and a result with another id, of the
//! wrong kind, or after `Done` is a [`error::Misuse`] that leaves the state unchanged;
//! (2) `Done` is terminal and carries the goal's own outcome type; (3) deadlines are absolute [`time::UnixTime`]s and an early
//! wake-up is harmless; (4) the whole chain cache → lock → refresh → login is one flow,
//! so drivers contain no policy.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::wildcard_enum_match_arm))]
#![warn(missing_docs)]

pub mod broker;
pub mod callback;
pub mod config;
pub mod discovery;
pub mod doctor;
pub mod error;
pub mod flow;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod id_token;
pub mod intent;
pub mod net;
pub mod oauth;
pub mod pem;
pub mod pkce;
pub mod provider;
pub mod secret;
pub mod service;
pub mod setup;
pub mod store;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod text;
pub mod time;
pub mod token;
