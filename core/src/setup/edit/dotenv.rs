//! `.env` files: `KEY=value` lines, edited one line at a time.
//!
//! Comments, blank lines, lines we do not understand and `export KEY=value` forms are kept
//! as they are; a variable we own is changed in place on the line that defines it (the last
//! one, as dotenv readers let later lines win), keeping its `export` prefix and
//! indentation, or appended on a new line. Each receipt entry holds the whole line before
//! and after, so teardown puts back exactly what was there.

use super::{Edit, Note, NoteKind, PatchError, Reverted};
use crate::setup::receipt::{Entry, EntryKind};

/// One line: its content and its ending (`\n`, `\r\n`, or nothing on the last line).
struct Line<'a> {
    content: &'a str,
    ending: &'a str,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|piece| {
            let content = piece
                .strip_suffix("\r\n")
                .or_else(|| piece.strip_suffix('\n'))
                .unwrap_or(piece);
            Line {
                content,
                ending: piece.get(content.len()..).unwrap_or_default(),
            }
        })
        .collect()
}

fn join(lines: &[Line<'_>]) -> String {
    lines.iter().flat_map(|l| [l.content, l.ending]).collect()
}

/// A parsed assignment line.
struct Assignment<'a> {
    /// Leading blanks plus `export ` when present.
    prefix: &'a str,
    name: &'a str,
    value: String,
}

fn parse_line(content: &str) -> Option<Assignment<'_>> {
    let trimmed = content.trim_start_matches([' ', '\t']);
    let mut prefix_len = content.len() - trimmed.len();
    let mut rest = trimmed;
    if let Some(after) = rest.strip_prefix("export") {
        let spaced = after.trim_start_matches([' ', '\t']);
        if spaced.len() < after.len() {
            prefix_len = content.len() - spaced.len();
            rest = spaced;
        }
    }
    let (name, raw) = rest.split_once('=')?;
    let name = name.trim_end_matches([' ', '\t']);
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return None;
    }
    Some(Assignment {
        prefix: content.get(..prefix_len).unwrap_or_default(),
        name,
        value: unquote(raw.trim_start_matches([' ', '\t'])),
    })
}

/// The value as dotenv readers see it: quotes removed, or an unquoted value up to an
/// inline ` #` comment, trimmed.
fn unquote(raw: &str) -> String {
    for quote in ['"', '\'', '`'] {
        if let Some(inner) = raw.strip_prefix(quote)
            && let Some(end) = inner.find(quote)
        {
            let value = inner.get(..end).unwrap_or_default();
            return if quote == '"' {
                value.replace("\\n", "\n")
            } else {
                value.to_owned()
            };
        }
    }
    let value = raw.find(" #").map_or(raw, |i| raw.get(..i).unwrap_or(raw));
    value.trim().to_owned()
}

/// `NAME=value`, quoting the value when it holds anything but plain characters.
fn render(prefix: &str, name: &str, value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.:/@+=,~%".contains(c));
    if plain {
        format!("{prefix}{name}={value}")
    } else {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        format!("{prefix}{name}=\"{escaped}\"")
    }
}

/// The file's line-break style, decided by its first line break so that lines setup adds
/// (which may turn a trailing lone `\r` into a CRLF) never change the answer.
fn newline_of(text: &str) -> &'static str {
    let crlf = match text.find('\n') {
        Some(at) => text[..at].ends_with('\r'),
        None => text.ends_with('\r'),
    };
    if crlf { "\r\n" } else { "\n" }
}

/// The index of the line that defines `name` (the last one).
fn find(lines: &[Line<'_>], name: &str) -> Option<usize> {
    lines
        .iter()
        .rposition(|l| parse_line(l.content).is_some_and(|a| a.name == name))
}

pub(super) fn value_of(line: &str) -> Option<String> {
    parse_line(line).map(|a| a.value)
}

/// The value of `name` as dotenv readers see it (its last definition).
pub(super) fn variable(text: &str, name: &str) -> Option<String> {
    let all = lines(text);
    all.get(find(&all, name)?)
        .and_then(|line| value_of(line.content))
}

pub(super) fn apply(
    text: &str,
    edits: &[Edit],
    prior: &[Entry],
) -> Result<(String, Vec<Entry>), PatchError> {
    let mut entries = prior.to_vec();
    let mut out = text.to_owned();
    for edit in edits {
        let Edit::Set { key, value } = edit else {
            return Err(PatchError::WrongFormat);
        };
        let [name] = key.as_slice() else {
            return Err(PatchError::WrongFormat);
        };
        let value = value.as_str().ok_or(PatchError::WrongFormat)?;
        out = set(&out, name, value, &mut entries);
    }
    Ok((out, entries))
}

fn set(text: &str, name: &str, value: &str, entries: &mut Vec<Entry>) -> String {
    let mut all = lines(text);
    let existing = entries
        .iter()
        .rposition(|e| e.key.first().map(String::as_str) == Some(name));
    if let Some(index) = find(&all, name) {
        let Some(line) = all.get(index) else {
            return text.to_owned();
        };
        let Some(assignment) = parse_line(line.content) else {
            return text.to_owned();
        };
        if assignment.value == value {
            if let Some(entry) = existing.and_then(|i| entries.get_mut(i)) {
                line.content.clone_into(&mut entry.written);
            }
            return text.to_owned();
        }
        let written = render(assignment.prefix, name, value);
        match existing.and_then(|i| entries.get_mut(i)) {
            Some(entry) => entry.written.clone_from(&written),
            None => entries.push(Entry {
                key: vec![name.to_owned()],
                kind: EntryKind::Value,
                previous: Some(line.content.to_owned()),
                written: written.clone(),
                empty_interior: None,
                added_newline: false,
                after_comment: false,
            }),
        }
        if let Some(line) = all.get_mut(index) {
            line.content = &written;
            return join(&all);
        }
        return text.to_owned();
    }
    let newline = newline_of(text);
    let written = render("", name, value);
    let added_newline = !text.is_empty() && !text.ends_with('\n');
    match existing.and_then(|i| entries.get_mut(i)) {
        Some(entry) => {
            entry.written.clone_from(&written);
            entry.added_newline = added_newline;
        }
        None => entries.push(Entry {
            key: vec![name.to_owned()],
            kind: EntryKind::Value,
            previous: None,
            written: written.clone(),
            empty_interior: None,
            added_newline,
            after_comment: false,
        }),
    }
    let mut out = text.to_owned();
    if added_newline {
        out.push_str(newline);
    }
    out.push_str(&written);
    out.push_str(newline);
    out
}

pub(super) fn revert(text: &str, entries: &[Entry]) -> Reverted {
    let mut out = text.to_owned();
    let mut kept = Vec::new();
    let mut notes = Vec::new();
    for entry in entries.iter().rev() {
        let name = entry.key.first().map(String::as_str).unwrap_or_default();
        let note = |kind| Note {
            key: name.to_owned(),
            kind,
        };
        let all = lines(&out);
        let Some(index) = find(&all, name) else {
            if entry.previous.is_some() {
                notes.push(note(NoteKind::Removed));
                kept.push(entry.clone());
            }
            continue;
        };
        let current = all.get(index).map(|l| l.content).unwrap_or_default();
        if value_of(current) != value_of(&entry.written) {
            notes.push(note(NoteKind::Changed));
            kept.push(entry.clone());
            continue;
        }
        let last = index + 1 == all.len();
        // Setup ended our line and the one before it with the same line break.
        let added_break = all
            .get(index)
            .map(|l| l.ending)
            .unwrap_or_default()
            .to_owned();
        let mut rebuilt = String::with_capacity(out.len());
        for (i, line) in all.iter().enumerate() {
            if i != index {
                rebuilt.push_str(line.content);
                rebuilt.push_str(line.ending);
            } else if let Some(previous) = &entry.previous {
                rebuilt.push_str(previous);
                rebuilt.push_str(line.ending);
            }
        }
        if entry.previous.is_none()
            && entry.added_newline
            && last
            && !added_break.is_empty()
            && let Some(trimmed) = rebuilt.strip_suffix(added_break.as_str())
        {
            rebuilt = trimmed.to_owned();
        }
        out = rebuilt;
    }
    kept.reverse();
    Reverted {
        text: Some(out),
        kept,
        notes,
    }
}

pub(super) fn drift(text: &str, entries: &[Entry]) -> Vec<Note> {
    let all = lines(text);
    entries
        .iter()
        .filter_map(|entry| {
            let name = entry.key.first().map(String::as_str).unwrap_or_default();
            let kind = match find(&all, name) {
                None => NoteKind::Removed,
                Some(i) => {
                    let current = all.get(i).map(|l| l.content).unwrap_or_default();
                    if value_of(current) == value_of(&entry.written) {
                        return None;
                    }
                    NoteKind::Changed
                }
            };
            Some(Note {
                key: name.to_owned(),
                kind,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::edits::set;
    use serde_json::json;

    fn set_all(text: &str, pairs: &[(&str, &str)]) -> (String, Vec<Entry>) {
        let edits: Vec<Edit> = pairs.iter().map(|(k, v)| set(&[k], json!(v))).collect();
        apply(text, &edits, &[]).unwrap()
    }

    #[test]
    fn keeps_comments_unknown_lines_and_export_forms() {
        let original =
            "# my env\r\nexport GEMINI_API_KEY=\"mine\" \r\nnot a variable\r\nOTHER=1\r\n";
        let (patched, entries) = set_all(
            original,
            &[
                ("GEMINI_API_KEY", "k"),
                ("GOOGLE_GEMINI_BASE_URL", "http://localhost:14000"),
            ],
        );
        assert_eq!(
            patched,
            "# my env\r\nexport GEMINI_API_KEY=k\r\nnot a variable\r\nOTHER=1\r\nGOOGLE_GEMINI_BASE_URL=http://localhost:14000\r\n"
        );
        let reverted = revert(&patched, &entries);
        assert_eq!(reverted.text.as_deref(), Some(original));
        assert!(reverted.kept.is_empty());
    }

    #[test]
    fn appends_after_a_missing_final_newline_and_takes_it_back() {
        let original = "A=1";
        let (patched, entries) = set_all(original, &[("B", "two words")]);
        assert_eq!(patched, "A=1\nB=\"two words\"\n");
        assert_eq!(revert(&patched, &entries).text.as_deref(), Some(original));
    }

    #[test]
    fn a_value_changed_by_the_user_is_kept_and_reported() {
        let (patched, entries) = set_all("", &[("GEMINI_API_KEY", "k")]);
        let edited = patched.replace("=k", "=users-own");
        let reverted = revert(&edited, &entries);
        assert_eq!(reverted.text.as_deref(), Some(edited.as_str()));
        assert_eq!(reverted.kept.len(), 1);
        assert_eq!(reverted.notes[0].kind, NoteKind::Changed);
        assert_eq!(drift(&edited, &entries).len(), 1);
        assert!(drift(&patched, &entries).is_empty());
    }

    #[test]
    fn the_last_definition_wins_and_inline_comments_are_not_values() {
        let original = "K=first\nK=second # note\n";
        let (patched, entries) = set_all(original, &[("K", "second")]);
        assert_eq!(patched, original);
        assert!(entries.is_empty());
        let (patched, entries) = set_all(original, &[("K", "third")]);
        assert_eq!(patched, "K=first\nK=third\n");
        assert_eq!(revert(&patched, &entries).text.as_deref(), Some(original));
    }
}
