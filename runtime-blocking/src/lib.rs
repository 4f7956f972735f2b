//! llmauth-blocking: drives `llmauth-core` flows with std, ureq and the OS keychain.
//!
//! Used by `llmauth token`, `login`, `logout`, `status`, `setup` and `doctor`. Every
//! decision is core's; this crate performs intents and reports results:
//!
//! ```text
//! let paths = Paths::from_env()?;
//! let (backend, notice) = resolve_backend(&paths, configured);
//! let setup = FlowSetup { settings, backend, interaction, paths, io_options };
//! let (flow, mut io) = setup.start(TokenGoal::default(), true, budget)?;
//! let credential = drive(flow, &mut io)?;          // typed by the goal
//! ```
//!
//! Nothing costly happens before an intent needs it: the HTTP agent and its trust roots
//! are built on the first `Http` intent, the keychain is connected on the first intent
//! naming a keychain slot, directories are created only when something is written. The
//! cached-token fast path therefore reads one file and prints.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::wildcard_enum_match_arm))]
#![warn(missing_docs)]

mod backend;
mod browser;
pub mod ca_file;
mod callback_listener;
pub mod clock;
pub mod doctor;
mod driver;
pub mod file_store;
mod flow_setup;
mod http_client;
mod io;
mod keychain;
pub mod last_error;
pub mod local_http;
pub mod lock;
pub mod paths;
pub mod proxy_key;
pub mod read_only;
pub mod service;
pub mod snapshot;
pub mod tls;
pub mod tools;

pub use backend::resolve_backend;
pub use clock::{entropy, now};
pub use driver::drive;
pub use file_store::{write_atomic, write_atomic_stat};
pub use flow_setup::FlowSetup;
pub use io::{BlockingIo, IoOptions};
pub use keychain::probe as probe_keychain;
pub use lock::with_lock;
pub use paths::Paths;
