//! Pure file edits: old text + wanted changes → new text + receipt entries, and receipt
//! entries + current text → restored text + a report. One module per file format.

mod block;
mod dotenv;
pub(crate) mod json;
mod toml;
mod whole;

use serde_json::Value as Json;

use super::receipt::{Entry, EntryKind, Format};

/// One change setup wants in a file.
#[derive(Clone, PartialEq, Eq)]
pub enum Edit {
    /// Set the key at this path (nested keys; for `.env` the variable name) to a value.
    Set {
        /// The key path.
        key: Vec<String>,
        /// The value (strings, integers, booleans, arrays of strings).
        value: Json,
    },
    /// Append an element to the array at this path unless an equal one is there.
    Append {
        /// The array's key path.
        key: Vec<String>,
        /// The element.
        element: Json,
    },
    /// The whole file is ours and holds exactly this.
    Whole {
        /// The content.
        content: String,
    },
    /// A block of whole lines at the end of the file is ours and holds exactly this
    /// (shell start-up files).
    Block {
        /// The lines, each ending in a newline.
        content: String,
    },
}

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values may be the local key: only keys are shown.
        match self {
            Self::Set { key, .. } => write!(f, "Set({})", super::receipt::display_key(key)),
            Self::Append { key, .. } => {
                write!(f, "Append({})", super::receipt::display_key(key))
            }
            Self::Whole { .. } => f.write_str("Whole"),
            Self::Block { .. } => f.write_str("Block"),
        }
    }
}

/// Something teardown or status has to tell the user about one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The key, as people read it (`env.ANTHROPIC_BASE_URL`).
    pub key: String,
    /// What happened to it.
    pub kind: NoteKind,
}

/// What happened to a key after setup wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteKind {
    /// It holds a different value now.
    Changed,
    /// It is gone.
    Removed,
}

impl NoteKind {
    /// Words for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Changed => "changed since setup",
            Self::Removed => "removed since setup",
        }
    }
}

/// Why a file could not be edited. The caller adds the file's path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// The text does not parse.
    #[error("line {line}, column {column}: {message}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The file is not UTF-8.
    #[error("line {line}: the file is not valid UTF-8")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
    },
    /// A value on the way to our key is not an object or table.
    #[error(
        "{} is not an object, so llmauth cannot add its keys there",
        describe(key)
    )]
    NotAnObject {
        /// Dotted key (empty for the top level).
        key: String,
    },
    /// A value that must be an array is something else.
    #[error("{} is not an array", describe(key))]
    NotAnArray {
        /// Dotted key.
        key: String,
    },
    /// Our key's place holds a table or array of tables, which setup does not replace.
    #[error("`{key}` holds a table; llmauth does not replace it")]
    Occupied {
        /// Dotted key.
        key: String,
    },
    /// The TOML editor would move lines of the file, not only add ours: it regroups the
    /// dotted keys of one table written apart (`a.b = 1`, other keys, `a.c = 2`), so
    /// teardown could not give the file back byte for byte.
    #[error(
        "setup would move lines of this file from line {line} on: the dotted keys of one table \
         (such as `a.b = 1` and `a.c = 2`) are written apart, and the TOML editor puts them \
         together; put those lines next to each other (or under a `[table]` header)"
    )]
    WouldReorder {
        /// 1-based line of the first line that would change.
        line: usize,
    },
    /// An edit that this format cannot do (a bug in the tool table).
    #[error("internal error: this edit does not apply to this file format")]
    WrongFormat,
}

fn describe(key: &str) -> String {
    if key.is_empty() {
        "the top level of the file".to_owned()
    } else {
        format!("`{key}`")
    }
}

/// What teardown does to one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reverted {
    /// The new content; `None` when the file should not exist (a whole file we created).
    pub text: Option<String>,
    /// Entries left in place because the user changed them; they stay in the receipt.
    pub kept: Vec<Entry>,
    /// What to tell the user.
    pub notes: Vec<Note>,
}

const BOM: &str = "\u{feff}";

/// Splits off a UTF-8 byte-order mark, so editors see clean text and it is put back.
fn strip_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => ("", text),
    }
}

/// Decodes file bytes as UTF-8.
///
/// # Errors
/// [`PatchError::NotUtf8`] naming the line of the first invalid byte.
pub fn decode(bytes: &[u8]) -> Result<&str, PatchError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        PatchError::NotUtf8 {
            line: valid.iter().filter(|b| **b == b'\n').count() + 1,
        }
    })
}

/// Applies `edits` to `current` (`None`: the file does not exist). `prior` are the entries
/// of an earlier setup of this file, whose first `previous` values are kept.
///
/// # Errors
/// A [`PatchError`] when the file does not parse or our keys cannot be placed; nothing is
/// to be written then.
pub fn apply(
    format: Format,
    current: Option<&str>,
    edits: &[Edit],
    prior: &[Entry],
) -> Result<(String, Vec<Entry>), PatchError> {
    let (bom, text) = strip_bom(current.unwrap_or_default());
    let (out, entries) = match format {
        Format::Json => json::apply(text, edits, prior)?,
        Format::Toml => toml::apply(text, edits, prior)?,
        Format::Dotenv => dotenv::apply(text, edits, prior)?,
        Format::Whole => whole::apply(current, edits, prior)?,
        Format::Block => block::apply(text, edits, prior)?,
    };
    Ok((format!("{bom}{out}"), entries))
}

/// Whether `entry`, from an earlier setup, is a change `edits` still make: a key they set,
/// a container holding such a key, an element they append, the root or whole file. One
/// that is not (a key written only while a setting was on) is undone by the next setup.
pub(crate) fn wanted(entry: &Entry, edits: &[Edit]) -> bool {
    edits.iter().any(|edit| match (entry.kind, edit) {
        (EntryKind::Value, Edit::Set { key, .. }) => *key == entry.key,
        (EntryKind::Container, Edit::Set { key, .. } | Edit::Append { key, .. }) => {
            key.starts_with(&entry.key)
        }
        (EntryKind::Element, Edit::Append { key, element }) => {
            *key == entry.key && json::semantic(&entry.written).as_ref() == Some(element)
        }
        (EntryKind::Root, Edit::Set { .. } | Edit::Append { .. })
        | (EntryKind::Whole, Edit::Whole { .. })
        | (EntryKind::Block, Edit::Block { .. }) => true,
        (
            EntryKind::Value
            | EntryKind::Element
            | EntryKind::Root
            | EntryKind::Whole
            | EntryKind::Block,
            Edit::Set { .. } | Edit::Append { .. } | Edit::Whole { .. } | Edit::Block { .. },
        )
        | (EntryKind::Container, Edit::Whole { .. } | Edit::Block { .. }) => false,
    })
}

/// Undoes `entries` where `current` still holds what setup wrote.
///
/// # Errors
/// A [`PatchError`] when the file no longer parses; nothing is to be written then.
pub fn revert(format: Format, current: &str, entries: &[Entry]) -> Result<Reverted, PatchError> {
    let (bom, text) = strip_bom(current);
    let mut reverted = match format {
        Format::Json => json::revert(text, entries)?,
        Format::Toml => toml::revert(text, entries)?,
        Format::Dotenv => dotenv::revert(text, entries),
        Format::Whole => return Ok(whole::revert(current, entries)),
        Format::Block => block::revert(text, entries),
    };
    reverted.text = reverted.text.map(|t| format!("{bom}{t}"));
    Ok(reverted)
}

/// Keys whose value is no longer what setup wrote (`status`).
///
/// # Errors
/// A [`PatchError`] when the file no longer parses.
pub fn drift(format: Format, current: &str, entries: &[Entry]) -> Result<Vec<Note>, PatchError> {
    let (_, text) = strip_bom(current);
    match format {
        Format::Json => json::drift(text, entries),
        Format::Toml => toml::drift(text, entries),
        Format::Dotenv => Ok(dotenv::drift(text, entries)),
        Format::Whole => Ok(whole::drift(current, entries)),
        Format::Block => Ok(block::drift(text, entries)),
    }
}

/// What a value or element entry says setup wrote, as JSON; `None` for other kinds, or
/// text that no longer reads back.
fn meaning(format: Format, entry: &Entry) -> Option<Json> {
    match format {
        Format::Json => json::semantic(&entry.written),
        Format::Toml => toml::written_meaning(entry),
        Format::Dotenv => dotenv::value_of(&entry.written).map(Json::String),
        Format::Whole | Format::Block => None,
    }
}

/// The edits that write again what `entries` record: a later setup of the same file with
/// the same settings. Containers and the root come with the keys below them. `None` when
/// an entry cannot be read back.
pub(crate) fn replay(format: Format, entries: &[Entry]) -> Option<Vec<Edit>> {
    entries
        .iter()
        .filter_map(|entry| {
            let key = entry.key.clone();
            match entry.kind {
                EntryKind::Value => {
                    Some(meaning(format, entry).map(|value| Edit::Set { key, value }))
                }
                EntryKind::Element => Some(
                    json::semantic(&entry.written).map(|element| Edit::Append { key, element }),
                ),
                EntryKind::Whole => Some(Some(Edit::Whole {
                    content: entry.written.clone(),
                })),
                EntryKind::Block => Some(Some(Edit::Block {
                    content: entry.written.clone(),
                })),
                EntryKind::Container | EntryKind::Root => None,
            }
        })
        .collect()
}

/// The value at `key` in `text`: a key of a JSON or TOML file, a variable of a `.env`
/// file, a top-level key of a whole file holding a JSON document (Claude Desktop's).
pub(crate) fn value_at(format: Format, text: &str, key: &[String]) -> Option<Json> {
    let (_, text) = strip_bom(text);
    match format {
        Format::Json => json::value_at(text, key),
        Format::Toml => toml::value_at(text, key),
        Format::Dotenv => match key {
            [name] => dotenv::variable(text, name).map(Json::String),
            _ => None,
        },
        Format::Block => None,
        Format::Whole => {
            let document: Json = serde_json::from_str(text).ok()?;
            key.iter()
                .try_fold(&document, |value, name| value.get(name))
                .cloned()
        }
    }
}

/// Checks that `current` parses in `format`.
///
/// # Errors
/// As [`apply`].
pub fn check(format: Format, current: &str) -> Result<(), PatchError> {
    let (_, text) = strip_bom(current);
    match format {
        Format::Json => json::check(text),
        Format::Toml => toml::check(text),
        Format::Dotenv | Format::Whole | Format::Block => Ok(()),
    }
}
