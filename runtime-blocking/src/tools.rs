//! The I/O of `llmauth setup` / `teardown` / `status`: reading the environment, finding
//! tools, reading and writing their files, locks, receipts and the gateway probe. Every
//! decision is in `llmauth_core::setup`.

mod detect;
mod files;
mod probe;
pub mod receipts;

pub use detect::{default_config_file, environment, find_on_path, installed, running_binary};
pub use files::{
    ToolFile, WriteError, check_writable, lock_tool_file, missing_dirs, read_tool_file,
    remove_empty_dirs, remove_tool_file, resolve_link, write_tool_file,
};
pub use probe::probe_status;

/// 16 random bytes for a new document id.
///
/// # Errors
/// The OS random source failed.
pub fn random_id_bytes() -> std::io::Result<[u8; 16]> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes)
}
