//! `llmauth setup` / `teardown` (SPEC §9): every decision, as pure functions.
//!
//! * [`edit`]: old file text + wanted changes → new text + receipt entries; receipt
//!   entries + current text → restored text + a report. JSON with comments, TOML, `.env`
//!   and files we own whole.
//! * [`receipt`]: the authoritative record of what setup did.
//!
//! The runtime detects tools, reads and writes files, takes locks and stores receipts; it
//! decides nothing.

pub mod edit;
pub mod receipt;
