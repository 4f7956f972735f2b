//! `config.yaml`: parsing, validation, incremental changes and rendering (SPEC §3).
//!
//! Everything of llmauth's lives under the top-level key `llm:`. The flow is:
//!
//! ```text
//!  text ──ConfigDocument::parse──▶ ConfigDocument ──validate──▶ Config ──session_key──▶ SessionKey
//!                                   │   ▲
//!                       apply(ConfigChanges) / set_configured_tools
//!                                   │
//!                                   └──render──▶ text (only the llm: block replaced)
//! ```
//!
//! * Unknown keys under `llm:` are errors naming the dotted key and its line; other top-level
//!   keys are never interpreted and are written back byte for byte.
//! * Strings are kept exactly as written (no URL normalisation), because the session key and
//!   the issuer check compare them byte for byte.
//! * Validation reports every broken field. While the required trio (gateway URL, issuer,
//!   client id) is incomplete only the fields that are set are checked, so `config set` can
//!   be run one flag at a time.
//! * Core reads no files: the runtime reads `config.yaml` and `tls.ca_file` and passes their
//!   contents in ([`ConfigDocument::parse_bytes`], [`check_ca_pem`]).

mod changes;
pub mod defaults;
mod document;
mod duration;
mod error;
pub mod field;
mod layout;
mod model;
mod raw;
mod render;
mod show;
pub mod snapshot;
mod validate;
mod wire;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
#[cfg(any(test, feature = "test-support"))]
pub mod strategies;

pub use changes::ConfigChanges;
pub use document::{ConfigDocument, MAX_CONFIG_BYTES};
pub use duration::{format_duration, parse_duration};
pub use error::{ConfigError, FieldError};
pub use model::{Config, SecretsBackend};
pub use raw::{
    ConfiguredTool, RawBedrock, RawConfig, RawOidc, RawProxy, RawSecrets, RawSetup, RawTls,
};
pub use validate::{RESERVED_AUTH_PARAMS, check_proxy_start_port};

/// The `llm.version` this llmauth writes and understands; a file with a greater version was
/// written by a newer llmauth and is refused.
pub const CURRENT_VERSION: i64 = 1;

/// Checks the contents of `tls.ca_file` with the one PEM reader ([`crate::pem`]) and
/// counts its certificates. The runtime reads the file and reports a failure as
/// `FieldError::new(field::TLS_CA_FILE, problem)`, merged with the other field errors.
///
/// # Errors
///
/// What is wrong with the contents, lowercase, without trailing period.
pub fn check_ca_pem(contents: &[u8]) -> Result<usize, String> {
    crate::pem::certificates(contents)
        .map(|certificates| certificates.len())
        .map_err(|error| error.to_string())
}
