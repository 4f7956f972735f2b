//! TOML (Codex's `config.toml`), edited with `toml_edit` so comments, order and formatting
//! of everything we do not own survive.
//!
//! A replaced value keeps the whitespace and trailing comment around it (its "decor"), and
//! the receipt keeps the old value's text, so teardown puts back the same bytes. Tables
//! created to hold our keys are implicit (no empty `[model_providers]` header) and are
//! removed again only while they are empty.

use serde_json::Value as Json;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, TableLike, Value};

use super::{Edit, Note, NoteKind, PatchError, Reverted};
use crate::setup::receipt::{Entry, EntryKind, display_key};

/// What a created table is recorded as.
const CONTAINER: &str = "{}";
/// The `previous` of a table that was implicit (only a prefix of a deeper `[a.b.c]`
/// header) until our keys gave it a header of its own.
const IMPLICIT: &str = "implicit";

fn parse(text: &str) -> Result<DocumentMut, PatchError> {
    text.parse::<DocumentMut>().map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        let before = text.get(..at).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        PatchError::Parse {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).map_or(0, |l| l.chars().count()) + 1,
            message: e.message().trim().to_owned(),
        }
    })
}

/// A TOML value for one of ours (strings, integers, booleans, arrays of those).
fn to_toml(value: &Json) -> Option<Value> {
    Some(match value {
        Json::String(s) => Value::from(s.as_str()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => Value::from(n.as_i64()?),
        Json::Array(items) => {
            let mut array = Array::new();
            for item in items {
                array.push(to_toml(item)?);
            }
            Value::Array(array)
        }
        Json::Null | Json::Object(_) => return None,
    })
}

/// A TOML value's meaning, for comparing what is there with what we wrote.
fn semantic(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::from(s.value().as_str()),
        Value::Integer(i) => Json::from(*i.value()),
        Value::Float(f) => Json::from(*f.value()),
        Value::Boolean(b) => Json::from(*b.value()),
        Value::Datetime(d) => Json::from(d.value().to_string()),
        Value::Array(a) => Json::Array(a.iter().map(semantic).collect()),
        Value::InlineTable(t) => {
            Json::Object(t.iter().map(|(k, v)| (k.to_owned(), semantic(v))).collect())
        }
    }
}

/// The value's own text, without the whitespace and comments around it.
fn raw(value: &Value) -> String {
    let mut bare = value.clone();
    bare.decor_mut().clear();
    bare.to_string()
}

fn from_raw(text: &str) -> Option<Value> {
    text.parse::<Value>().ok()
}

pub(super) fn written_meaning(entry: &Entry) -> Option<Json> {
    from_raw(&entry.written).map(|v| semantic(&v))
}

/// A new, empty table to hold keys: inline inside an inline table, else an implicit
/// `[a.b]` table (no header until it has keys).
fn container(inline: bool) -> Item {
    if inline {
        Item::Value(Value::InlineTable(InlineTable::new()))
    } else {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    }
}

fn set(
    doc: &mut DocumentMut,
    key: &[String],
    value: &Json,
    entries: &mut Vec<Entry>,
) -> Result<(), PatchError> {
    let new = to_toml(value).ok_or(PatchError::WrongFormat)?;
    let Some((leaf, parents)) = key.split_last() else {
        return Err(PatchError::WrongFormat);
    };
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    let mut inline = false;
    let mut parent_implicit = false;
    for (depth, name) in parents.iter().enumerate() {
        if !table.contains_key(name) {
            table.insert(name, container(inline));
            let container_key = key.get(..=depth).unwrap_or_default().to_vec();
            if !entries
                .iter()
                .any(|e| e.key == container_key && e.kind == EntryKind::Container)
            {
                entries.push(Entry {
                    key: container_key,
                    kind: EntryKind::Container,
                    previous: None,
                    written: CONTAINER.to_owned(),
                    empty_interior: None,
                    added_newline: false,
                    after_comment: false,
                });
            }
        }
        let not_table = || PatchError::NotAnObject {
            key: display_key(key.get(..=depth).unwrap_or_default()),
        };
        let item = table.get_mut(name).ok_or_else(not_table)?;
        inline = inline || item.is_inline_table();
        parent_implicit = item.as_table().is_some_and(Table::is_implicit);
        table = item.as_table_like_mut().ok_or_else(not_table)?;
    }
    let parent_key = parents.to_vec();
    let recorded = |entries: &Vec<Entry>| {
        entries
            .iter()
            .any(|e| e.key == parent_key && e.kind == EntryKind::Container)
    };
    if parent_implicit && !table.contains_key(leaf) && !recorded(entries) {
        // Our key gives the table a `[a.b]` header; teardown makes it implicit again.
        entries.push(Entry {
            key: parent_key.clone(),
            kind: EntryKind::Container,
            previous: Some(IMPLICIT.to_owned()),
            written: CONTAINER.to_owned(),
            empty_interior: None,
            added_newline: false,
            after_comment: false,
        });
    }
    let existing = entries
        .iter()
        .rposition(|e| e.key == key && e.kind == EntryKind::Value);
    match table.get_mut(leaf) {
        Some(Item::Value(current)) => {
            if semantic(current) == *value {
                if let Some(entry) = existing.and_then(|i| entries.get_mut(i)) {
                    entry.written = raw(current);
                }
                return Ok(());
            }
            let mut replacement = new;
            *replacement.decor_mut() = current.decor().clone();
            match existing.and_then(|i| entries.get_mut(i)) {
                Some(entry) => entry.written = raw(&replacement),
                None => entries.push(Entry {
                    key: key.to_vec(),
                    kind: EntryKind::Value,
                    previous: Some(raw(current)),
                    written: raw(&replacement),
                    empty_interior: None,
                    added_newline: false,
                    after_comment: false,
                }),
            }
            *current = replacement;
        }
        Some(Item::None) | None => {
            match existing.and_then(|i| entries.get_mut(i)) {
                Some(entry) => entry.written = raw(&new),
                None => entries.push(Entry {
                    key: key.to_vec(),
                    kind: EntryKind::Value,
                    previous: None,
                    written: raw(&new),
                    empty_interior: None,
                    added_newline: false,
                    after_comment: false,
                }),
            }
            table.insert(leaf, Item::Value(new));
        }
        Some(_) => {
            return Err(PatchError::Occupied {
                key: display_key(key),
            });
        }
    }
    Ok(())
}

/// `toml_edit` writes `\n` line endings; a CRLF file is edited as LF and given its CRLF
/// back, so its untouched lines keep their bytes.
fn crlf(text: &str) -> bool {
    text.contains("\r\n")
}

fn to_lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

fn restore_endings(text: String, crlf: bool) -> String {
    if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    }
}

pub(super) fn apply(
    text: &str,
    edits: &[Edit],
    prior: &[Entry],
) -> Result<(String, Vec<Entry>), PatchError> {
    let windows = crlf(text);
    let text = &to_lf(text);
    let mut doc = parse(text)?;
    unmoved(text, &doc)?;
    let mut entries = prior.to_vec();
    for edit in edits {
        let Edit::Set { key, value } = edit else {
            return Err(PatchError::WrongFormat);
        };
        set(&mut doc, key, value, &mut entries)?;
    }
    let out = doc.to_string();
    // toml_edit ends the file's last line before our keys; remember it so teardown takes
    // the line break back with them.
    if !text.is_empty()
        && !text.ends_with('\n')
        && out.len() > text.len()
        && let Some(first_new) = entries.get_mut(prior.len())
    {
        first_new.added_newline = true;
    }
    Ok((restore_endings(out, windows), entries))
}

/// Refuses a file the editor would not give back as it is even before our keys go in:
/// `toml_edit` prints the dotted keys of one table together, wherever they were written.
fn unmoved(text: &str, doc: &DocumentMut) -> Result<(), PatchError> {
    let printed = doc.to_string();
    if printed == text {
        return Ok(());
    }
    let differs = text
        .bytes()
        .zip(printed.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| text.len().min(printed.len()));
    Err(PatchError::WouldReorder {
        line: text.as_bytes()[..differs]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1,
    })
}

/// The table holding `key`'s last segment, if the path leads to one.
fn parent_of<'d>(doc: &'d mut DocumentMut, key: &[String]) -> Option<&'d mut dyn TableLike> {
    let (_, parents) = key.split_last()?;
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for name in parents {
        table = table.get_mut(name)?.as_table_like_mut()?;
    }
    Some(table)
}

fn note(entry: &Entry, kind: NoteKind) -> Note {
    Note {
        key: entry.display_key(),
        kind,
    }
}

pub(super) fn revert(text: &str, entries: &[Entry]) -> Result<Reverted, PatchError> {
    let windows = crlf(text);
    let mut doc = parse(&to_lf(text))?;
    let mut kept = Vec::new();
    let mut notes = Vec::new();
    for entry in entries.iter().rev() {
        let leaf = entry.key.last().map(String::as_str).unwrap_or_default();
        let Some(table) = parent_of(&mut doc, &entry.key) else {
            if entry.kind == EntryKind::Value && entry.previous.is_some() {
                notes.push(note(entry, NoteKind::Removed));
                kept.push(entry.clone());
            }
            continue;
        };
        match entry.kind {
            EntryKind::Container if entry.previous.as_deref() == Some(IMPLICIT) => {
                if let Some(inner) = table.get_mut(leaf).and_then(Item::as_table_mut)
                    && inner.get_values().is_empty()
                {
                    inner.set_implicit(true);
                }
            }
            EntryKind::Container => {
                let empty = table
                    .get(leaf)
                    .and_then(Item::as_table_like)
                    .is_some_and(TableLike::is_empty);
                if empty {
                    table.remove(leaf);
                }
            }
            EntryKind::Value
            | EntryKind::Element
            | EntryKind::Root
            | EntryKind::Whole
            | EntryKind::Block => {
                let current = match table.get_mut(leaf) {
                    Some(Item::Value(current)) => current,
                    _ => {
                        if entry.previous.is_some() {
                            notes.push(note(entry, NoteKind::Removed));
                            kept.push(entry.clone());
                        }
                        continue;
                    }
                };
                if Some(semantic(current)) != written_meaning(entry) {
                    notes.push(note(entry, NoteKind::Changed));
                    kept.push(entry.clone());
                    continue;
                }
                match entry.previous.as_deref().map(from_raw) {
                    Some(Some(mut previous)) => {
                        *previous.decor_mut() = current.decor().clone();
                        *current = previous;
                    }
                    Some(None) => {
                        // A previous value that no longer parses cannot be put back.
                        notes.push(note(entry, NoteKind::Changed));
                        kept.push(entry.clone());
                    }
                    None => {
                        table.remove(leaf);
                    }
                }
            }
        }
    }
    kept.reverse();
    let mut out = doc.to_string();
    let added_newline_reverted = entries.iter().any(|e| e.added_newline && !kept.contains(e));
    if added_newline_reverted && let Some(trimmed) = out.strip_suffix('\n') {
        out.truncate(trimmed.len());
    }
    Ok(Reverted {
        text: Some(restore_endings(out, windows)),
        kept,
        notes,
    })
}

pub(super) fn drift(text: &str, entries: &[Entry]) -> Result<Vec<Note>, PatchError> {
    let mut doc = parse(&to_lf(text))?;
    let mut notes = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Value) {
        let leaf = entry.key.last().map(String::as_str).unwrap_or_default();
        let current = parent_of(&mut doc, &entry.key).and_then(|t| match t.get(leaf) {
            Some(Item::Value(v)) => Some(semantic(v)),
            _ => None,
        });
        match current {
            None => notes.push(note(entry, NoteKind::Removed)),
            Some(v) if Some(&v) != written_meaning(entry).as_ref() => {
                notes.push(note(entry, NoteKind::Changed));
            }
            Some(_) => {}
        }
    }
    Ok(notes)
}

/// The value at `key`, when there is one (a table is not a value).
pub(super) fn value_at(text: &str, key: &[String]) -> Option<Json> {
    let doc = parse(&to_lf(text)).ok()?;
    let mut item = doc.as_item();
    for name in key {
        item = item.get(name.as_str())?;
    }
    item.as_value().map(semantic)
}

pub(super) fn check(text: &str) -> Result<(), PatchError> {
    parse(&to_lf(text)).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::edits::codex_edits;

    #[test]
    fn comments_and_order_survive_and_teardown_restores_bytes() {
        let original = "# Codex settings\nmodel = \"o3\"   # my favourite\nmodel_provider = 'openai' # was this\n\n[profiles.work]\nmodel = \"gpt-5\"\n\n# trailing comment\n";
        let (patched, entries) = apply(original, &codex_edits(), &[]).unwrap();
        assert!(patched.starts_with("# Codex settings\nmodel = \"o3\"   # my favourite\nmodel_provider = \"llmauth\" # was this\n"), "{patched}");
        assert!(patched.contains("[model_providers.llmauth]\nname = \"llmauth gateway\"\nbase_url = \"https://gw.example.com/v1\"\nwire_api = \"responses\"\n"), "{patched}");
        assert!(patched.contains("[model_providers.llmauth.auth]\ncommand = \"/usr/bin/llmauth\"\nargs = [\"token\", \"--non-interactive\"]\nrefresh_interval_ms = 300000\n"), "{patched}");
        assert!(!patched.contains("[model_providers]\n"), "{patched}");
        let reverted = revert(&patched, &entries).unwrap();
        assert_eq!(reverted.text.as_deref(), Some(original));
        assert!(reverted.kept.is_empty() && reverted.notes.is_empty());
    }

    #[test]
    fn a_non_table_on_the_path_is_refused() {
        let err = apply("model_providers = 3\n", &codex_edits(), &[]).unwrap_err();
        assert_eq!(
            err,
            PatchError::NotAnObject {
                key: "model_providers".into()
            }
        );
        let parse = apply("a = \n", &codex_edits(), &[]).unwrap_err();
        assert!(
            matches!(parse, PatchError::Parse { line: 1, .. }),
            "{parse:?}"
        );
    }

    #[test]
    fn inline_tables_get_inline_children() {
        let original = "model_providers = { other = { name = \"x\" } }\n";
        let (patched, entries) = apply(original, &codex_edits(), &[]).unwrap();
        let reparsed: DocumentMut = patched.parse().unwrap();
        assert_eq!(
            reparsed["model_providers"]["llmauth"]["auth"]["refresh_interval_ms"].as_integer(),
            Some(300_000)
        );
        let reverted = revert(&patched, &entries).unwrap();
        assert_eq!(reverted.text.as_deref(), Some(original));
    }

    #[test]
    fn user_changes_are_kept_and_reported() {
        let (patched, entries) = apply("", &codex_edits(), &[]).unwrap();
        let edited = patched.replace(
            "model_provider = \"llmauth\"",
            "model_provider = \"openai\"",
        );
        let reverted = revert(&edited, &entries).unwrap();
        assert_eq!(reverted.kept.len(), 1);
        assert_eq!(
            reverted.notes,
            vec![note(&reverted.kept[0], NoteKind::Changed)]
        );
        assert_eq!(
            reverted.text.as_deref(),
            Some("model_provider = \"openai\"\n")
        );
        assert_eq!(drift(&edited, &entries).unwrap().len(), 1);
        assert!(drift(&patched, &entries).unwrap().is_empty());
    }

    /// Found by the `tool_config_patch` fuzzer: `toml_edit` prints the dotted keys of one
    /// table together, so a file that writes them apart would come back reordered.
    #[test]
    fn a_file_the_editor_would_reorder_is_left_untouched() {
        let apart = "a.b.c = 1\n# é\na.x = 2\na.b.d = 3\n";
        assert_eq!(
            apply(apart, &codex_edits(), &[]).unwrap_err(),
            PatchError::WouldReorder { line: 2 }
        );
        let together = "a.b.c = 1\na.b.d = 3\na.x = 2\n";
        let (patched, entries) = apply(together, &codex_edits(), &[]).unwrap();
        let reverted = revert(&patched, &entries).unwrap();
        assert_eq!(reverted.text.as_deref(), Some(together));
    }
}
