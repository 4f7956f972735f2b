//! `llmauth setup` / `teardown`: per-tool fixtures, properties of the editors, the real
//! CLI in a private home, and real clients (Claude Code, Codex, Gemini CLI) against the
//! test IdP and gateway.
//!
//! One test binary with modules, to keep link times down.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod setup {
    #[cfg(unix)]
    mod cli;
    mod golden;
    mod properties;
    #[cfg(unix)]
    mod real_clients;
}
