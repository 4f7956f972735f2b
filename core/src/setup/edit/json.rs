//! JSON with comments and trailing commas (JSONC), edited by splicing text.
//!
//! `jsonc-parser` parses the file and gives every node's byte range; the edits themselves
//! are text splices of our own, because the promise is stronger than "comments survive":
//! teardown must give back the *original bytes*. Each change is designed with an exact
//! inverse:
//!
//! * replacing a value swaps the value's text, and the receipt keeps the old text;
//! * inserting a key into an object that has keys adds `,<newline><indent>"key": value`
//!   right after the last key, and removing a key that has a previous sibling deletes
//!   exactly the text from the end of that sibling to the end of the key;
//! * inserting into an empty object records what was between its braces (whitespace,
//!   comments) so removing the key puts exactly that back.
//!
//! Everything outside the spliced ranges is never touched, so comments, key order,
//! indentation, trailing commas and CRLF line endings of the rest of the file stay as they
//! were. Lookups follow what the tools' own parsers do with duplicate keys: the last one
//! wins.

use jsonc_parser::ast::{Array, Object, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};
use serde_json::Value as Json;

use super::{Note, NoteKind, PatchError, Reverted};
use crate::setup::receipt::{Entry, EntryKind, display_key};

/// What the tools accept: JSON plus comments and trailing commas (VS Code's JSONC), and
/// nothing looser, so a file we accept is a file they accept.
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: true,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses `text`; `Ok(None)` when it holds no value at all (empty, blanks, comments).
fn parse(text: &str) -> Result<Option<Value<'_>>, PatchError> {
    let result = parse_to_ast(text, &CollectOptions::default(), &options()).map_err(|e| {
        PatchError::Parse {
            line: e.line_display(),
            column: e.column_display(),
            message: e.kind().to_string(),
        }
    })?;
    Ok(result.value)
}

/// The parsed root object, or why there is none.
fn root_object<'a>(value: Option<&'a Value<'a>>) -> Result<Option<&'a Object<'a>>, PatchError> {
    match value {
        None => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(_) => Err(PatchError::NotAnObject { key: String::new() }),
    }
}

/// The semantic value of a piece of JSON text (comments and formatting ignored).
pub(super) fn semantic(text: &str) -> Option<Json> {
    jsonc_parser::parse_to_serde_value::<Json>(text, &options()).ok()
}

/// Valid JSON for a value: on several lines, indented like its neighbours, when it is a
/// non-empty object in a multi-line file; on one line otherwise.
fn render(value: &Json, style: &Style, indent: &str) -> String {
    let newline = style.newline;
    match value {
        Json::Object(map) if !map.is_empty() => {
            let inner = format!("{indent}{}", style.unit);
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = Json::String(k.clone());
                    if style.single_line {
                        format!("{key}: {}", render(v, style, indent))
                    } else {
                        format!("{inner}{key}: {}", render(v, style, &inner))
                    }
                })
                .collect();
            if style.single_line {
                format!("{{{}}}", items.join(", "))
            } else {
                format!(
                    "{{{newline}{}{newline}{indent}}}",
                    items.join(&format!(",{newline}"))
                )
            }
        }
        Json::Array(items) if !items.is_empty() => {
            let parts: Vec<String> = items.iter().map(|v| render(v, style, indent)).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Null
        | Json::Bool(_)
        | Json::Number(_)
        | Json::String(_)
        | Json::Array(_)
        | Json::Object(_) => value.to_string(),
    }
}

/// Layout facts of the file: its newline and indentation unit, and whether it is all on
/// one line (then what we add stays on that line too).
struct Style {
    newline: &'static str,
    unit: String,
    single_line: bool,
}

impl Style {
    fn of(text: &str) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        // The smallest indentation of a line that starts with a key or a closing bracket.
        let unit = text
            .lines()
            .filter_map(|line| {
                let trimmed = line.trim_start_matches([' ', '\t']);
                let lead = line.get(..line.len() - trimmed.len())?;
                (!lead.is_empty() && trimmed.starts_with(['"', '}', ']'])).then_some(lead)
            })
            .min_by_key(|lead| lead.len())
            .map_or_else(|| "  ".to_owned(), str::to_owned);
        Self {
            newline,
            unit,
            single_line: !text.contains('\n'),
        }
    }
}

/// The whitespace at the start of the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let start = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line = text.get(start..).unwrap_or_default();
    let trimmed = line.trim_start_matches([' ', '\t']);
    line.get(..line.len() - trimmed.len()).unwrap_or_default()
}

/// Whether byte `at` is the first non-blank character of its line.
fn starts_line(text: &str, at: usize) -> bool {
    let before = text.get(..at).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    before
        .get(line_start..)
        .is_some_and(|s| s.chars().all(|c| c == ' ' || c == '\t'))
}

fn splice(text: &str, start: usize, end: usize, insert: &str) -> String {
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(text.get(..start).unwrap_or_default());
    out.push_str(insert);
    out.push_str(text.get(end..).unwrap_or_default());
    out
}

/// A bracketed container (object or array) and the ranges of its items.
struct Container {
    /// Byte range of the whole container, brackets included.
    start: usize,
    end: usize,
    /// Each item's range: a property from its name to the end of its value, or an element.
    items: Vec<(usize, usize)>,
}

impl Container {
    fn of_object(object: &Object<'_>) -> Self {
        Self {
            start: object.range.start,
            end: object.range.end,
            items: object
                .properties
                .iter()
                .map(|p| (p.range.start, p.range.end))
                .collect(),
        }
    }

    fn of_array(array: &Array<'_>) -> Self {
        Self {
            start: array.range.start,
            end: array.range.end,
            items: array
                .elements
                .iter()
                .map(|e| (e.range().start, e.range().end))
                .collect(),
        }
    }

    fn interior(&self) -> (usize, usize) {
        (self.start + 1, self.end.saturating_sub(1))
    }

    /// Inserts `item` (a `"key": value` or an element) as the last item.
    fn insert(&self, text: &str, style: &Style, item: &str) -> Inserted {
        let (open, close) = self.interior();
        if let Some(&(last_start, last_end)) = self.items.last() {
            let multiline = text.get(open..last_start).is_some_and(|t| t.contains('\n'));
            if !(multiline && starts_line(text, last_start)) {
                return Inserted {
                    text: splice(text, last_end, last_end, &format!(", {item}")),
                    empty_interior: None,
                    after_comment: false,
                };
            }
            let indent = line_indent(text, last_start);
            // `"a": 1 // about a` keeps its comment on its line: the comma goes after the
            // value, our key on a new line after the comment.
            if let Some(comment_end) = trailing_line_comment(text, last_end) {
                let mut out = String::with_capacity(text.len() + item.len() + 8);
                out.push_str(text.get(..last_end).unwrap_or_default());
                out.push(',');
                out.push_str(text.get(last_end..comment_end).unwrap_or_default());
                out.push_str(style.newline);
                out.push_str(indent);
                out.push_str(item);
                out.push_str(text.get(comment_end..).unwrap_or_default());
                return Inserted {
                    text: out,
                    empty_interior: None,
                    after_comment: true,
                };
            }
            let insert = format!(",{}{indent}{item}", style.newline);
            return Inserted {
                text: splice(text, last_end, last_end, &insert),
                empty_interior: None,
                after_comment: false,
            };
        }
        let interior = text.get(open..close).unwrap_or_default().to_owned();
        let outer = line_indent(text, self.start);
        let inner = format!("{outer}{}", style.unit);
        let new_interior = match interior.rfind('\n') {
            // Keep what is there (comments, blank lines) and add the item on its own line
            // after it.
            Some(last_newline) => {
                let (head, tail) = interior.split_at(last_newline + 1);
                format!("{head}{inner}{item}{}{tail}", style.newline)
            }
            None if style.single_line => {
                let blank = interior.trim().is_empty();
                if blank {
                    format!("{interior}{item}{interior}")
                } else {
                    format!("{interior} {item}")
                }
            }
            None => format!(
                "{}{inner}{item}{}{outer}{interior}",
                style.newline, style.newline
            ),
        };
        Inserted {
            text: splice(text, open, close, &new_interior),
            empty_interior: Some(interior),
            after_comment: false,
        }
    }

    /// Removes item `index`: the exact inverse of [`Container::insert`] when `entry`
    /// describes how it was inserted, a clean removal otherwise.
    fn remove(&self, text: &str, index: usize, entry: &Entry) -> String {
        let Some(&(start, end)) = self.items.get(index) else {
            return text.to_owned();
        };
        if let Some(&(_, previous_end)) = index.checked_sub(1).and_then(|i| self.items.get(i)) {
            if entry.after_comment
                && let Some(undone) = remove_after_comment(text, previous_end, start, end)
            {
                return undone;
            }
            return splice(text, previous_end, end, "");
        }
        if let Some(&(next_start, _)) = self.items.get(index + 1) {
            return splice(text, start, next_start, "");
        }
        let (open, close) = self.interior();
        splice(
            text,
            open,
            close,
            entry.empty_interior.as_deref().unwrap_or_default(),
        )
    }
}

/// What an insertion did.
struct Inserted {
    text: String,
    /// The interior of the container when it was empty.
    empty_interior: Option<String>,
    /// The item went after a line comment that follows the previous item.
    after_comment: bool,
}

/// Where a `// comment` that follows byte `at` on the same line ends (before the line
/// break), when nothing but blanks separates them.
fn trailing_line_comment(text: &str, at: usize) -> Option<usize> {
    let rest = text.get(at..)?;
    let line = rest.split('\n').next()?.trim_end_matches('\r');
    line.trim_start_matches([' ', '\t'])
        .starts_with("//")
        .then_some(at + line.len())
}

/// Undoes an insertion after a line comment: drops the comma added after the previous
/// item and the line added after the comment.
fn remove_after_comment(
    text: &str,
    previous_end: usize,
    start: usize,
    end: usize,
) -> Option<String> {
    if text.get(previous_end..=previous_end)? != "," {
        return None;
    }
    let comment_end = trailing_line_comment(text, previous_end + 1)?;
    let between = text.get(comment_end..start)?;
    if !between
        .trim_start_matches(['\r', '\n'])
        .chars()
        .all(|c| c == ' ' || c == '\t')
    {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..previous_end)?);
    out.push_str(text.get(previous_end + 1..comment_end)?);
    out.push_str(text.get(end..)?);
    Some(out)
}

/// Where a key path leads in the current text.
enum Lookup {
    /// The key exists: its container, its index there, and its value's range.
    Found {
        container: Container,
        index: usize,
        value: (usize, usize),
    },
    /// The key is absent; `depth` keys of the path exist, the last of them an object.
    Missing { container: Container, depth: usize },
    /// The value at `depth` keys down is not an object, so the path cannot continue.
    Blocked { depth: usize },
}

fn lookup(root: &Object<'_>, key: &[String]) -> Lookup {
    let mut object = root;
    for (depth, name) in key.iter().enumerate() {
        let found = object
            .properties
            .iter()
            .enumerate()
            .rev()
            .find(|(_, p)| p.name.as_str() == name.as_str());
        let Some((index, prop)) = found else {
            return Lookup::Missing {
                container: Container::of_object(object),
                depth,
            };
        };
        if depth + 1 == key.len() {
            let range = prop.value.range();
            return Lookup::Found {
                container: Container::of_object(object),
                index,
                value: (range.start, range.end),
            };
        }
        let Value::Object(inner) = &prop.value else {
            return Lookup::Blocked { depth: depth + 1 };
        };
        object = inner;
    }
    Lookup::Blocked { depth: 0 }
}

fn quoted(name: &str) -> String {
    Json::String(name.to_owned()).to_string()
}

/// Text of a value range.
fn slice(text: &str, (start, end): (usize, usize)) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// Sets `key` to `value`, creating missing parent objects; pushes or updates receipt
/// entries. `prior` is the entry for this key from an earlier setup, whose `previous` is
/// kept.
fn set(
    mut text: String,
    key: &[String],
    value: &Json,
    entries: &mut Vec<Entry>,
) -> Result<String, PatchError> {
    loop {
        let style = Style::of(&text);
        let parsed = parse(&text)?;
        let Some(root) = root_object(parsed.as_ref())? else {
            let created = create_root(&text, &style);
            entries.push(Entry {
                key: Vec::new(),
                kind: EntryKind::Root,
                previous: Some(text.clone()),
                written: created.clone(),
                empty_interior: None,
                added_newline: false,
                after_comment: false,
            });
            text = created;
            continue;
        };
        match lookup(root, key) {
            Lookup::Blocked { depth } => {
                return Err(PatchError::NotAnObject {
                    key: display_key(key.get(..depth).unwrap_or_default()),
                });
            }
            Lookup::Found {
                value: range,
                container,
                ..
            } => {
                let current = slice(&text, range);
                let indent = line_indent(&text, container.start).to_owned() + &style.unit;
                let rendered = render(value, &style, &indent);
                let existing = entries
                    .iter()
                    .rposition(|e| e.key == key && e.kind == EntryKind::Value);
                if semantic(current).as_ref() == Some(value) {
                    // Already what we want; record it only if an earlier setup wrote it.
                    if let Some(i) = existing
                        && let Some(entry) = entries.get_mut(i)
                    {
                        current.clone_into(&mut entry.written);
                    }
                    return Ok(text);
                }
                match existing.and_then(|i| entries.get_mut(i)) {
                    Some(entry) => entry.written.clone_from(&rendered),
                    None => entries.push(Entry {
                        key: key.to_vec(),
                        kind: EntryKind::Value,
                        previous: Some(current.to_owned()),
                        written: rendered.clone(),
                        empty_interior: None,
                        added_newline: false,
                        after_comment: false,
                    }),
                }
                return Ok(splice(&text, range.0, range.1, &rendered));
            }
            Lookup::Missing { container, depth } => {
                let leaf = depth + 1 == key.len();
                let name = key.get(depth).map(String::as_str).unwrap_or_default();
                let indent = line_indent(&text, container.start).to_owned() + &style.unit;
                let (kind, new_value) = if leaf {
                    (EntryKind::Value, value.clone())
                } else {
                    (EntryKind::Container, Json::Object(serde_json::Map::new()))
                };
                let rendered = render(&new_value, &style, &indent);
                let item = format!("{}: {rendered}", quoted(name));
                let inserted = container.insert(&text, &style, &item);
                let entry_key = key.get(..=depth).unwrap_or_default().to_vec();
                match entries
                    .iter()
                    .rposition(|e| e.key == entry_key && e.kind == kind)
                    .and_then(|i| entries.get_mut(i))
                {
                    // Re-inserted after the user removed it: the first `previous` stays.
                    Some(entry) => {
                        entry.written.clone_from(&rendered);
                        entry.empty_interior = inserted.empty_interior;
                        entry.after_comment = inserted.after_comment;
                    }
                    None => entries.push(Entry {
                        key: entry_key,
                        kind,
                        previous: None,
                        written: rendered,
                        empty_interior: inserted.empty_interior,
                        added_newline: false,
                        after_comment: inserted.after_comment,
                    }),
                }
                text = inserted.text;
                if leaf {
                    return Ok(text);
                }
            }
        }
    }
}

/// The text with a root object added: `{}` on its own line after whatever was there.
fn create_root(text: &str, style: &Style) -> String {
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(style.newline);
    }
    out.push_str("{}");
    out.push_str(style.newline);
    out
}

/// Appends `element` to the array at `key` unless an equal element is there.
fn append(
    mut text: String,
    key: &[String],
    element: &Json,
    entries: &mut Vec<Entry>,
) -> Result<String, PatchError> {
    let empty = Json::Array(Vec::new());
    let parsed = parse(&text)?;
    let missing = match root_object(parsed.as_ref())? {
        None => true,
        Some(root) => matches!(lookup(root, key), Lookup::Missing { .. }),
    };
    if missing {
        text = set(text, key, &empty, entries)?;
        // The array was created to hold the element: it goes again once empty, and its
        // growing is not drift.
        if let Some(entry) = entries
            .iter_mut()
            .rfind(|e| e.key == key && e.kind == EntryKind::Value && e.previous.is_none())
        {
            entry.kind = EntryKind::Container;
        }
    }
    let style = Style::of(&text);
    let parsed = parse(&text)?;
    let root =
        root_object(parsed.as_ref())?.ok_or(PatchError::NotAnObject { key: String::new() })?;
    let array = array_at(root, key)?;
    let rendered_existing = array.elements.iter().any(|e| {
        semantic(slice(&text, (e.range().start, e.range().end))).as_ref() == Some(element)
    });
    if rendered_existing {
        return Ok(text);
    }
    let container = Container::of_array(array);
    let indent = line_indent(&text, container.start).to_owned() + &style.unit;
    let rendered = render(element, &style, &indent);
    let inserted = container.insert(&text, &style, &rendered);
    entries.push(Entry {
        key: key.to_vec(),
        kind: EntryKind::Element,
        previous: None,
        written: rendered,
        empty_interior: inserted.empty_interior,
        added_newline: false,
        after_comment: inserted.after_comment,
    });
    Ok(inserted.text)
}

fn array_at<'a>(root: &'a Object<'a>, key: &[String]) -> Result<&'a Array<'a>, PatchError> {
    let mut object = root;
    for (depth, name) in key.iter().enumerate() {
        let prop = object
            .properties
            .iter()
            .rev()
            .find(|p| p.name.as_str() == name.as_str());
        let not_array = || PatchError::NotAnArray {
            key: display_key(key.get(..=depth).unwrap_or_default()),
        };
        let value = &prop.ok_or_else(not_array)?.value;
        if depth + 1 == key.len() {
            let Value::Array(array) = value else {
                return Err(not_array());
            };
            return Ok(array);
        }
        let Value::Object(inner) = value else {
            return Err(not_array());
        };
        object = inner;
    }
    Err(PatchError::NotAnArray {
        key: display_key(key),
    })
}

/// Applies `edits` in order; `prior` are the entries of an earlier setup of this file.
pub(super) fn apply(
    text: &str,
    edits: &[super::Edit],
    prior: &[Entry],
) -> Result<(String, Vec<Entry>), PatchError> {
    // Refuse a file that does not parse before changing anything.
    let parsed = parse(text)?;
    root_object(parsed.as_ref())?;
    let mut entries = prior.to_vec();
    let mut out = text.to_owned();
    for edit in edits {
        out = match edit {
            super::Edit::Set { key, value } => set(out, key, value, &mut entries)?,
            super::Edit::Append { key, element } => append(out, key, element, &mut entries)?,
            super::Edit::Whole { .. } => return Err(PatchError::WrongFormat),
        };
    }
    Ok((out, entries))
}

/// Undoes `entries` in reverse order where the file still holds what setup wrote.
pub(super) fn revert(text: &str, entries: &[Entry]) -> Result<Reverted, PatchError> {
    let mut out = text.to_owned();
    let mut kept = Vec::new();
    let mut notes = Vec::new();
    for entry in entries.iter().rev() {
        match undo(&out, entry)? {
            Undo::Done(new_text) => out = new_text,
            Undo::Keep(note) => {
                notes.extend(note);
                kept.push(entry.clone());
            }
            Undo::Drop(note) => notes.extend(note),
        }
    }
    kept.reverse();
    Ok(Reverted {
        text: Some(out),
        kept,
        notes,
    })
}

/// What became of one entry.
enum Undo {
    /// Reverted; the new text.
    Done(String),
    /// Left alone and kept in the receipt (the user changed it).
    Keep(Option<Note>),
    /// Nothing left to do; forget it.
    Drop(Option<Note>),
}

fn note(entry: &Entry, kind: NoteKind) -> Option<Note> {
    Some(Note {
        key: entry.display_key(),
        kind,
    })
}

fn undo(text: &str, entry: &Entry) -> Result<Undo, PatchError> {
    let parsed = parse(text)?;
    let root = root_object(parsed.as_ref());
    if entry.kind == EntryKind::Root {
        return Ok(if text == entry.written {
            Undo::Done(entry.previous.clone().unwrap_or_default())
        } else {
            // The root holds something of the user's now: it stays.
            Undo::Drop(None)
        });
    }
    let Ok(Some(root)) = root else {
        return Ok(match entry.previous {
            Some(_) => Undo::Keep(note(entry, NoteKind::Removed)),
            None => Undo::Drop(None),
        });
    };
    let written = semantic(&entry.written);
    if entry.kind == EntryKind::Element {
        let Ok(array) = array_at(root, &entry.key) else {
            return Ok(Undo::Drop(None));
        };
        let container = Container::of_array(array);
        let found = container
            .items
            .iter()
            .rposition(|&range| semantic(slice(text, range)) == written);
        return Ok(match found {
            Some(index) => Undo::Done(container.remove(text, index, entry)),
            None => Undo::Drop(note(entry, NoteKind::Removed)),
        });
    }
    match lookup(root, &entry.key) {
        Lookup::Missing { .. } | Lookup::Blocked { .. } => {
            Ok(match (entry.kind, &entry.previous) {
                (EntryKind::Value, Some(_)) => Undo::Keep(note(entry, NoteKind::Removed)),
                _ => Undo::Drop(None),
            })
        }
        Lookup::Found {
            container,
            index,
            value,
        } => {
            let current = semantic(slice(text, value));
            if current != written {
                return Ok(if entry.kind == EntryKind::Container {
                    // It holds the user's keys now: theirs to keep.
                    Undo::Drop(None)
                } else {
                    Undo::Keep(note(entry, NoteKind::Changed))
                });
            }
            if entry.kind == EntryKind::Container && has_comment(slice(text, value)) {
                return Ok(Undo::Drop(None));
            }
            Ok(Undo::Done(match &entry.previous {
                Some(previous) => splice(text, value.0, value.1, previous),
                None => container.remove(text, index, entry),
            }))
        }
    }
}

fn has_comment(text: &str) -> bool {
    text.contains("//") || text.contains("/*")
}

/// Keys whose current value is no longer what setup wrote.
pub(super) fn drift(text: &str, entries: &[Entry]) -> Result<Vec<Note>, PatchError> {
    let parsed = parse(text)?;
    let Some(root) = root_object(parsed.as_ref())? else {
        return Ok(entries
            .iter()
            .filter(|e| e.kind == EntryKind::Value)
            .filter_map(|e| note(e, NoteKind::Removed))
            .collect());
    };
    let mut notes = Vec::new();
    for entry in entries {
        let written = semantic(&entry.written);
        let problem = match entry.kind {
            EntryKind::Value => match lookup(root, &entry.key) {
                Lookup::Found { value, .. } if semantic(slice(text, value)) == written => None,
                Lookup::Found { .. } => Some(NoteKind::Changed),
                Lookup::Missing { .. } | Lookup::Blocked { .. } => Some(NoteKind::Removed),
            },
            EntryKind::Element => match array_at(root, &entry.key) {
                Ok(array)
                    if array.elements.iter().any(|e| {
                        semantic(slice(text, (e.range().start, e.range().end))) == written
                    }) =>
                {
                    None
                }
                _ => Some(NoteKind::Removed),
            },
            EntryKind::Container | EntryKind::Root | EntryKind::Whole => None,
        };
        notes.extend(problem.and_then(|kind| note(entry, kind)));
    }
    Ok(notes)
}

/// The value at `key`, when there is one.
pub(super) fn value_at(text: &str, key: &[String]) -> Option<Json> {
    let parsed = parse(text).ok()?;
    let root = root_object(parsed.as_ref()).ok()??;
    let Lookup::Found { value, .. } = lookup(root, key) else {
        return None;
    };
    semantic(slice(text, value))
}

/// The string value at `key`, when there is one.
#[cfg(test)]
pub(crate) fn string_at(text: &str, key: &[String]) -> Option<String> {
    value_at(text, key)?.as_str().map(str::to_owned)
}

/// The elements of the array at `key` (for finding our entry in `_meta.json`).
pub(crate) fn elements_at(text: &str, key: &[String]) -> Vec<Json> {
    let Ok(parsed) = parse(text) else {
        return Vec::new();
    };
    let Ok(Some(root)) = root_object(parsed.as_ref()) else {
        return Vec::new();
    };
    array_at(root, key).map_or_else(
        |_| Vec::new(),
        |array| {
            array
                .elements
                .iter()
                .filter_map(|e| semantic(slice(text, (e.range().start, e.range().end))))
                .collect()
        },
    )
}

/// Whether `text` parses (for error reports before anything is written).
pub(super) fn check(text: &str) -> Result<(), PatchError> {
    let parsed = parse(text)?;
    root_object(parsed.as_ref()).map(|_| ())
}

#[cfg(test)]
mod tests;
