//! A whole `config.yaml`: its text, and the `llm:` section read from it.
//!
//! Reading never loses what is outside `llm:`: rendering replaces only the lines of the
//! `llm:` block (or adds one), so other top-level keys keep their bytes, comments and
//! formatting.

use super::changes::ConfigChanges;
use super::error::{ConfigError, FieldError};
use super::layout;
use super::model::Config;
use super::raw::{ConfiguredTool, RawConfig};
use super::render::render_block;
use super::validate::{validate_full, validate_partial};
use super::wire;

/// The largest `config.yaml` read: a real one is a few hundred bytes, and a runaway file
/// must not be parsed whole, nor echoed into messages.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// A parsed `config.yaml`, ready to be validated, changed and rendered back.
///
/// An empty file, or one without `llm:`, is a valid document that is simply not configured
/// yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDocument {
    /// The text as read; everything outside the `llm:` block is written back from here.
    text: String,
    /// The `llm:` section as written (or as changed since).
    raw: RawConfig,
}

impl ConfigDocument {
    /// An empty, unconfigured document (no file yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the text of `config.yaml`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Parse`] with a 1-based line and column when the text is not YAML or a
    /// value under `llm:` has the wrong type; [`ConfigError::UnknownKey`] for a key under
    /// `llm:` that does not exist; [`ConfigError::UnsupportedVersion`] for a newer format.
    /// Field values are not checked here (see [`ConfigDocument::validate`]).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let parsed = wire::parse(text)?;
        Ok(Self {
            text: text.to_owned(),
            raw: parsed.raw,
        })
    }

    /// Parses the bytes of `config.yaml`, which must be UTF-8 (a leading byte-order mark is
    /// allowed).
    ///
    /// # Errors
    ///
    /// As [`ConfigDocument::parse`], plus [`ConfigError::Parse`] at the first byte that is
    /// not UTF-8, and [`ConfigError::TooLarge`] for more than [`MAX_CONFIG_BYTES`] (a
    /// runtime reads at most one byte more).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                limit: MAX_CONFIG_BYTES,
            });
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Self::parse(text),
            Err(error) => {
                let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let column = String::from_utf8_lossy(valid.get(line_start..).unwrap_or_default())
                    .chars()
                    .count()
                    + 1;
                Err(ConfigError::Parse {
                    line,
                    column,
                    message: "the file is not valid UTF-8".to_owned(),
                })
            }
        }
    }

    /// The `llm:` section as written.
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    /// The text this document was parsed from.
    pub fn source(&self) -> &str {
        &self.text
    }

    /// Whether the required trio (gateway URL, issuer, client id) is set.
    pub fn is_complete(&self) -> bool {
        self.raw.has_required()
    }

    /// Full validation: the configuration llmauth runs with.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unconfigured`] when required fields are missing and everything set is
    /// valid; otherwise [`ConfigError::Invalid`] listing every broken field (and the missing
    /// ones).
    pub fn validate(&self) -> Result<Config, ConfigError> {
        validate_full(&self.raw, Vec::new())
    }

    /// [`ConfigDocument::validate`], also reporting problems the caller found itself, such
    /// as a `tls.ca_file` that cannot be read (see [`super::check_ca_pem`]), in the same
    /// list.
    ///
    /// # Errors
    ///
    /// As [`ConfigDocument::validate`]; any `extra` error makes it fail.
    pub fn validate_with(&self, extra: Vec<FieldError>) -> Result<Config, ConfigError> {
        validate_full(&self.raw, extra)
    }

    /// Partial validation (SPEC §2): while the required trio is incomplete only the fields
    /// that are set are checked; once it is complete this is full validation.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] listing every broken field.
    pub fn check(&self) -> Result<(), ConfigError> {
        validate_partial(&self.raw, Vec::new())
    }

    /// Applies `llmauth config set`: changes only the given fields, then validates (partial
    /// or full, see [`ConfigDocument::check`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming every broken field; the document is then unchanged,
    /// so nothing different can be rendered.
    pub fn apply(&mut self, changes: &ConfigChanges) -> Result<(), ConfigError> {
        self.apply_with(changes, Vec::new())
    }

    /// [`ConfigDocument::apply`], also reporting problems the caller found itself (such as
    /// an unreadable `--ca-file`) in the same list; any of them leaves the document
    /// unchanged.
    ///
    /// # Errors
    ///
    /// As [`ConfigDocument::apply`].
    pub fn apply_with(
        &mut self,
        changes: &ConfigChanges,
        extra: Vec<FieldError>,
    ) -> Result<(), ConfigError> {
        let mut candidate = self.raw.clone();
        changes.apply_to(&mut candidate);
        validate_partial(&candidate, extra)?;
        self.raw = candidate;
        Ok(())
    }

    /// Replaces `llm.configured_tools` (written by setup).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when an entry has an empty field or the rest of the
    /// configuration is invalid; the document is then unchanged.
    pub fn set_configured_tools(&mut self, tools: Vec<ConfiguredTool>) -> Result<(), ConfigError> {
        let mut candidate = self.raw.clone();
        candidate.configured_tools = Some(tools);
        validate_partial(&candidate, Vec::new())?;
        self.raw = candidate;
        Ok(())
    }

    /// The new text of `config.yaml`: the original text with only the `llm:` block replaced
    /// (or appended), always with `version: 1`.
    ///
    /// The result is parsed again before it is returned, so a file that would not read back
    /// with the same values is never produced.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Unrenderable`] when the block cannot be replaced in place (for example
    /// the top level is a flow mapping) or the result would not read back the same.
    pub fn render(&self) -> Result<String, ConfigError> {
        let unrenderable = |reason: String| ConfigError::Unrenderable { reason };
        let layout = layout::locate(&self.text).map_err(unrenderable)?;
        let block = render_block(&self.raw, layout.indent, layout.newline);
        let (Some(before), Some(after)) = (
            self.text.get(..layout.range.start),
            self.text.get(layout.range.end..),
        ) else {
            return Err(unrenderable(
                "the llm: block could not be located".to_owned(),
            ));
        };
        let mut out = String::with_capacity(before.len() + block.len() + after.len() + 2);
        out.push_str(before);
        if layout.newline_before {
            out.push_str(layout.newline);
        }
        out.push_str(&block);
        out.push_str(after);

        let reread = Self::parse(&out).map_err(|error| {
            unrenderable(format!("the updated file would not read back ({error})"))
        })?;
        let mut expected = self.raw.clone();
        expected.version = Some(super::CURRENT_VERSION);
        if reread.raw != expected {
            return Err(unrenderable(
                "the updated file would not read back the same values (is an anchor defined \
                 under llm: used elsewhere?)"
                    .to_owned(),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
