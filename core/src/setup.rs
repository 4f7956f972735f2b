//! `llmauth setup` / `teardown` (SPEC §9): every decision, as pure functions.
//!
//! * [`tool`]: the tools, their modes, where each keeps its files on each platform, and
//!   when a tool counts as installed.
//! * [`wiring`]: the files and keys each tool gets from this run's settings.
//! * [`helper`]: `llmauth token` as a shell command line, an argument vector and a shim.
//! * [`edit`] and [`plan`]: old file text + wanted changes → new text + receipt;
//!   receipt + current text → restored text + a report; drift for `status`.
//! * [`receipt`]: the authoritative record of what setup did.
//! * [`prefix`]: the Anthropic path prefix, configured or probed.
//! * [`notices`]: the words of every line setup, teardown and status print.
//!
//! The runtime detects tools, reads and writes files, takes locks and stores receipts; it
//! decides nothing.

pub mod edit;
pub mod helper;
pub mod notices;
pub mod plan;
pub mod prefix;
pub mod receipt;
pub mod tool;
pub mod wiring;
