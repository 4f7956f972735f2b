//! Receipts: the authoritative record of what setup changed (SPEC §9).
//!
//! One receipt per tool (`$STATE/receipts/<tool>.json`, 0600), one [`FileReceipt`] per file
//! it touched, one [`Entry`] per key: what was there before (or that nothing was) and what
//! setup wrote. Entries are kept in the order the changes were made; teardown undoes them
//! in reverse, which is what lets it restore the original bytes exactly.
//!
//! Entries hold raw text as it appeared in the file (a JSON value, a TOML value, a whole
//! `.env` line, a whole file). That text may be a user's own API key or our local key, so
//! receipts are never printed and their `Debug` shows only keys.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tool::Tool;

/// The receipt format this llmauth writes and reads.
pub const RECEIPT_VERSION: u32 = 1;

/// Everything setup did to one tool.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// [`RECEIPT_VERSION`].
    pub version: u32,
    /// The tool's name (`claude-code`, …).
    pub tool: String,
    /// How it was wired (`token-helper`, `credential-helper`, `proxy`).
    pub mode: String,
    /// The absolute path of the llmauth binary the tool's helper command names, when it
    /// names one: `status` reports it when that file is gone (an upgrade moved it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_program: Option<String>,
    /// The files, in the order they were changed.
    pub files: Vec<FileReceipt>,
}

/// What setup did to one file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReceipt {
    /// The file (the symlink's target when the configured path is a link).
    pub path: String,
    /// How the file is edited.
    pub format: Format,
    /// The file did not exist before setup: teardown deletes it once nothing of anyone
    /// else's is left in it.
    pub created: bool,
    /// Directories setup created for this file, outermost first; teardown removes the
    /// ones that are empty again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<String>,
    /// The permission bits the file had before setup made it owner-only (it holds the
    /// local key); teardown gives them back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_mode: Option<u32>,
    /// One entry per change, in the order made.
    pub entries: Vec<Entry>,
}

/// How a file is read and edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON with comments and trailing commas (settings.json of most tools).
    Json,
    /// TOML (Codex's config.toml).
    Toml,
    /// `KEY=value` lines (`.env`).
    Dotenv,
    /// A file llmauth owns as a whole (a shim, Claude Desktop's config document).
    Whole,
    /// A file where llmauth owns one marked block of lines (a shell start-up file).
    Block,
}

/// One change to one key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The key's path: nested object keys for JSON and TOML (a flat key containing dots
    /// is one element), the variable name for `.env`, empty for a whole file.
    pub key: Vec<String>,
    /// What kind of change it was.
    pub kind: EntryKind,
    /// The raw text that was there before; `None` when the key (or file) was absent.
    pub previous: Option<String>,
    /// The raw text setup wrote (updated when a later setup writes a new value; the
    /// first `previous` is kept).
    pub written: String,
    /// For the first key inserted into an empty JSON object or array: the text that was
    /// between its brackets, so removing the key restores it byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_interior: Option<String>,
    /// For a `.env` line appended to a file that did not end with a newline: the newline
    /// setup added before it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub added_newline: bool,
    /// For a JSON key inserted after the previous key's same-line `// comment`: the comma
    /// setup added after that key, so removing ours puts the comment back where it was.
    #[serde(default, skip_serializing_if = "is_false")]
    pub after_comment: bool,
}

/// The kinds of change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A key's value was set (replaced, or inserted when absent).
    Value,
    /// An empty object or table was created to hold keys below it; removed again only
    /// while it is empty.
    Container,
    /// An element was appended to an array (Claude Desktop's `entries`).
    Element,
    /// The document root (`{}`) was created in an empty or missing JSON file.
    Root,
    /// The whole file's content.
    Whole,
    /// A marked block of lines appended to the file.
    Block,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Entry {
    /// The key as people read it: `env.ANTHROPIC_BASE_URL`, `model_providers.llmauth.auth`.
    pub fn display_key(&self) -> String {
        display_key(&self.key)
    }
}

/// Joins a key path with dots, quoting segments that contain a dot.
pub fn display_key(key: &[String]) -> String {
    if key.is_empty() {
        return "(whole file)".to_owned();
    }
    key.iter()
        .map(|k| {
            if k.contains('.') {
                format!("\"{k}\"")
            } else {
                k.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Previous and written values may be API keys: never shown.
        f.debug_struct("Entry")
            .field("key", &self.display_key())
            .field("kind", &self.kind)
            .field("previous", &self.previous.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for FileReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileReceipt")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("created", &self.created)
            .field("created_dirs", &self.created_dirs)
            .field(
                "previous_mode",
                &self.previous_mode.map(|m| format!("{m:o}")),
            )
            .field("entries", &self.entries)
            .finish()
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receipt")
            .field("tool", &self.tool)
            .field("mode", &self.mode)
            .field("helper_program", &self.helper_program)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Receipt {
    /// The receipt of a tool setup has not changed yet (stored, it deletes the file).
    pub fn new(tool: Tool) -> Self {
        Self {
            version: RECEIPT_VERSION,
            tool: tool.name().to_owned(),
            mode: tool.mode().as_str().to_owned(),
            helper_program: None,
            files: Vec::new(),
        }
    }

    /// Parses a receipt file.
    ///
    /// # Errors
    /// A message (without the content) when the text is not a receipt or is from a newer
    /// llmauth.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let receipt: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a receipt (line {}, column {})", e.line(), e.column()))?;
        if receipt.version > RECEIPT_VERSION {
            return Err(format!(
                "written by a newer llmauth (receipt version {}) — upgrade llmauth",
                receipt.version
            ));
        }
        Ok(receipt)
    }

    /// The receipt file's text.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The receipt for `path`, if this tool changed it.
    pub fn file(&self, path: &str) -> Option<&FileReceipt> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Puts this run's record of a file in (dropping it when nothing of ours is in the
    /// file); true when that changed the receipt.
    pub fn upsert(&mut self, file: FileReceipt) -> bool {
        let position = self.files.iter().position(|f| f.path == file.path);
        match (position, file.entries.is_empty()) {
            (Some(i), true) => {
                self.files.remove(i);
                true
            }
            (Some(i), false) => match self.files.get_mut(i) {
                Some(slot) if *slot != file => {
                    *slot = file;
                    true
                }
                Some(_) | None => false,
            },
            (None, true) => false,
            (None, false) => {
                self.files.push(file);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let entry = Entry {
            key: vec!["GEMINI_API_KEY".into()],
            kind: EntryKind::Value,
            previous: Some("GEMINI_API_KEY=users-own-secret".into()),
            written: "GEMINI_API_KEY=local-key-secret".into(),
            empty_interior: None,
            added_newline: false,
            after_comment: false,
        };
        let receipt = Receipt {
            version: RECEIPT_VERSION,
            tool: "gemini-cli".into(),
            mode: "proxy".into(),
            helper_program: None,
            files: vec![FileReceipt {
                path: "/h/.gemini/.env".into(),
                format: Format::Dotenv,
                created: false,
                created_dirs: Vec::new(),
                previous_mode: Some(0o644),
                entries: vec![entry],
            }],
        };
        let debug = format!("{receipt:?}");
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("GEMINI_API_KEY"), "{debug}");
        let reread = Receipt::parse(receipt.render().as_bytes()).unwrap();
        assert_eq!(reread, receipt);
    }

    #[test]
    fn newer_or_broken_receipts_are_refused_without_echoing_content() {
        let newer = r#"{"version": 99, "tool": "x", "mode": "y", "files": []}"#;
        assert!(
            Receipt::parse(newer.as_bytes())
                .unwrap_err()
                .contains("newer")
        );
        let broken = Receipt::parse(b"{\"secret-ish\": ").unwrap_err();
        assert!(!broken.contains("secret"), "{broken}");
    }

    #[test]
    fn keys_display_with_dots_quoted() {
        assert_eq!(
            display_key(&["env".into(), "ANTHROPIC_BASE_URL".into()]),
            "env.ANTHROPIC_BASE_URL"
        );
        assert_eq!(
            display_key(&["cursor.general.openAIBaseURL".into()]),
            "\"cursor.general.openAIBaseURL\""
        );
    }
}
