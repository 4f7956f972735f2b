//! `llmauth setup` / `teardown` (SPEC §9): every decision, as pure functions and plans.
//!
//! * [`tool`]: the tools, their modes, where each keeps its files on each platform, when a
//!   tool counts as installed, and which tools a run wires.
//! * [`wiring`]: the files and keys each tool gets from this run's settings, and what
//!   those settings need found out.
//! * [`helper`]: `llmauth token` as a shell command line, an argument vector and a shim.
//! * [`edit`] and [`plan`]: a file as found ([`plan::FoundFile`]) + what setup wants in
//!   it ([`plan::FileSpec`]) → new text + receipt; receipt + current text → restored
//!   text + a report.
//! * [`transaction`]: a setup run as ordered [`transaction::Step`]s — receipt first, then
//!   the file; a failed tool rolled back; all or nothing, the config saved last.
//! * [`teardown`]: which tools teardown looks at, its steps per file, and its report.
//! * [`drift`]: whether the files still hold what setup wrote (`status`).
//! * [`receipt`]: the authoritative record of what setup did.
//! * [`retune`]: the helper TTL in tools' files following the token's lifetime.
//! * [`shell_env`]: Gemini CLI's variables in shell start-up files (`--shell-env`).
//! * [`prefix`]: the Anthropic path prefix, configured or probed.
//! * [`models`]: Claude Code's model tiers for gateways that front Amazon Bedrock.
//! * [`managed`]: administrators' managed profiles that win over what setup writes.
//! * [`skip_verify`]: what `tls.skip_verify` means for each tool.
//! * [`notices`]: the words of every line setup, teardown and status print.
//! * [`error`]: why they failed, and each failure's class.
//!
//! The runtime detects tools, reads and writes files, takes locks, stores receipts and
//! performs the steps in the order given; it decides nothing.

pub mod drift;
pub mod edit;
pub mod error;
pub mod helper;
pub mod managed;
pub mod models;
pub mod notices;
pub mod plan;
pub mod prefix;
pub mod receipt;
pub mod retune;
pub mod shell_env;
pub mod skip_verify;
pub mod teardown;
pub mod tool;
pub mod transaction;
pub mod wiring;
