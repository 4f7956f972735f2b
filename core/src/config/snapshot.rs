//! The configuration snapshot: what a `token` call needs from `config.yaml` to answer
//! from the stored token, kept beside the state so that the lean `llmauth-token` can
//! answer without parsing YAML.
//!
//! ```text
//!  full binary: config.yaml ──validate──▶ Config ──ConfigSnapshot::of(config, identity)──▶ render ──▶ file
//!  lean binary: stat config.yaml ──▶ identity ─┐
//!               read the snapshot ─────────────┴─▶ ConfigSnapshot::current ──▶ settings, or hand over
//! ```
//!
//! A snapshot is used only while the config file is the very file it was taken from:
//! same device, inode, size and modification time ([`FileIdentity`]). Any change —
//! `config set`, an editor, a file put in its place — makes it stale, and a stale,
//! missing or unreadable snapshot (or one written by another llmauth version) sends the
//! call to the full binary, which parses the config and writes a new one. Two in-place
//! writes of the same size within one tick of the file system's clock cannot be told
//! apart; llmauth itself always replaces the file, so only another program writing twice
//! within a few milliseconds could do that.

use core::str::FromStr as _;
use core::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::model::{Config, SecretsBackend};
use crate::provider::TokenKind;
use crate::store::SessionKey;
use crate::store::key::hex_prefix;

/// Changes whenever the snapshot's fields change meaning; a snapshot of another format is
/// stale.
const FORMAT: u32 = 1;

/// Which version of `config.yaml` a snapshot describes, as the file system tells it
/// without reading the file (Unix: `st_dev`, `st_ino`, `st_size`, `st_mtime`; elsewhere
/// the size and the modification time, with zeros for what the platform lacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    /// The device the file is on.
    pub device: u64,
    /// Its inode (a file put in its place has another one).
    pub inode: u64,
    /// Its length in bytes.
    pub size: u64,
    /// Its modification time, in nanoseconds since the Unix epoch.
    pub modified_ns: u64,
}

/// What a cached `token` call needs from the configuration, tied to the config file it
/// came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSnapshot {
    /// The config file as it was when the snapshot was taken.
    pub source: FileIdentity,
    /// `llm.secrets.backend`.
    pub secrets_backend: SecretsBackend,
    /// The session the configuration names.
    pub session_key: SessionKey,
    /// `llm.oidc.token_kind` (as the provider preset resolves it).
    pub token_kind: TokenKind,
    /// `llm.oidc.refresh_window`.
    pub refresh_window: Duration,
}

/// The file's content: plain values, with the version of llmauth that wrote it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    llmauth: String,
    config: FileIdentity,
    secrets_backend: String,
    session_key: String,
    token_kind: String,
    refresh_window_ms: u64,
}

impl ConfigSnapshot {
    /// The snapshot of `config`, parsed from the file `source` identifies.
    pub fn of(config: &Config, source: FileIdentity) -> Self {
        Self {
            source,
            secrets_backend: config.secrets_backend,
            session_key: config.session_key(),
            token_kind: config.provider.token_kind.value,
            refresh_window: config.refresh_window,
        }
    }

    /// The file's content.
    pub fn render(&self) -> String {
        let wire = Wire {
            format: FORMAT,
            llmauth: env!("CARGO_PKG_VERSION").to_owned(),
            config: self.source,
            secrets_backend: self.secrets_backend.as_str().to_owned(),
            session_key: self.session_key.as_str().to_owned(),
            token_kind: self.token_kind.as_str().to_owned(),
            refresh_window_ms: u64::try_from(self.refresh_window.as_millis()).unwrap_or(u64::MAX),
        };
        // A struct of strings and numbers always serialises.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The snapshot in `bytes`, when this llmauth wrote it and it describes the config
    /// file as it is now (`config`); otherwise `None`, and the caller hands the call to
    /// the full binary.
    pub fn current(bytes: &[u8], config: &FileIdentity) -> Option<Self> {
        let wire: Wire = serde_json::from_slice(bytes).ok()?;
        if wire.format != FORMAT || wire.llmauth != env!("CARGO_PKG_VERSION") {
            return None;
        }
        if wire.config != *config {
            return None;
        }
        Some(Self {
            source: wire.config,
            secrets_backend: SecretsBackend::from_str(&wire.secrets_backend).ok()?,
            session_key: SessionKey::from_hex(&wire.session_key)?,
            token_kind: TokenKind::from_str(&wire.token_kind).ok()?,
            refresh_window: Duration::from_millis(wire.refresh_window_ms),
        })
    }

    /// The token kind a call hands out: `--kind` when given, else the configured one.
    pub fn handed_out(&self, flag: Option<TokenKind>) -> TokenKind {
        flag.unwrap_or(self.token_kind)
    }

    /// Whether `bytes` already hold this snapshot (so the full binary need not write it
    /// again).
    pub fn is_in(&self, bytes: &[u8]) -> bool {
        Self::current(bytes, &self.source).as_ref() == Some(self)
    }

    /// The snapshot's file name for the config file at `config_path` (its path as given,
    /// in the platform's encoding): each config file has its own.
    pub fn file_name(config_path: &[u8]) -> String {
        let hex = hex_prefix(&Sha256::digest(config_path), 8);
        format!("config-{hex}.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigDocument;

    fn config(extra: &str) -> Config {
        let text = format!(
            "llm:\n  gateway_url: https://gw.example.com\n  oidc:\n    issuer: https://idp.example.com\n    client_id: c\n{extra}"
        );
        ConfigDocument::parse_bytes(text.as_bytes())
            .unwrap()
            .validate()
            .unwrap()
    }

    const FILE: FileIdentity = FileIdentity {
        device: 64769,
        inode: 1234,
        size: 321,
        modified_ns: 1_700_000_000_123_456_789,
    };

    #[test]
    fn round_trips_while_the_file_is_the_same() {
        let config =
            config("    token_kind: id\n    refresh_window: 2m\n  secrets:\n    backend: file\n");
        let snapshot = ConfigSnapshot::of(&config, FILE);
        assert_eq!(snapshot.token_kind, TokenKind::Id);
        assert_eq!(snapshot.refresh_window, Duration::from_secs(120));
        assert_eq!(snapshot.secrets_backend, SecretsBackend::File);
        assert_eq!(snapshot.session_key, config.session_key());
        let text = snapshot.render();
        assert_eq!(
            ConfigSnapshot::current(text.as_bytes(), &FILE),
            Some(snapshot.clone())
        );
        assert!(snapshot.is_in(text.as_bytes()));
    }

    #[test]
    fn any_change_to_the_file_makes_it_stale() {
        let text = ConfigSnapshot::of(&config(""), FILE).render();
        let changes = [
            FileIdentity { device: 1, ..FILE },
            FileIdentity {
                inode: 1235,
                ..FILE
            },
            FileIdentity { size: 322, ..FILE },
            FileIdentity {
                modified_ns: FILE.modified_ns + 1,
                ..FILE
            },
        ];
        for changed in changes {
            assert_eq!(
                ConfigSnapshot::current(text.as_bytes(), &changed),
                None,
                "{changed:?}"
            );
        }
    }

    #[test]
    fn another_version_or_garbage_is_stale() {
        let text = ConfigSnapshot::of(&config(""), FILE).render();
        let older = text.replace(env!("CARGO_PKG_VERSION"), "0.0.0-older");
        let other_format = text.replace("\"format\":1", "\"format\":2");
        let bad_key = text.replace("session_key\":\"", "session_key\":\"zz");
        let bad_kind = text.replace("\"access\"", "\"refresh\"");
        let extra = text.replace("{\"format\"", "{\"new\":1,\"format\"");
        for stale in [
            &older,
            &other_format,
            &bad_key,
            &bad_kind,
            &extra,
            "",
            "{",
            "null",
        ] {
            assert_eq!(
                ConfigSnapshot::current(stale.as_bytes(), &FILE),
                None,
                "{stale}"
            );
        }
        let snapshot = ConfigSnapshot::of(&config(""), FILE);
        assert!(!snapshot.is_in(older.as_bytes()));
    }

    #[test]
    fn each_config_path_has_its_own_file() {
        let a = ConfigSnapshot::file_name(b"/home/u/.config/llmauth/config.yaml");
        let b = ConfigSnapshot::file_name(b"/tmp/other.yaml");
        assert_ne!(a, b);
        assert!(
            a.starts_with("config-") && a.ends_with(".json") && a.len() == 28,
            "{a}"
        );
    }
}
