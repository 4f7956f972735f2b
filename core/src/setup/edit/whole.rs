//! Files llmauth owns as a whole: the Claude Desktop helper shim and config document.

use super::{Edit, Note, NoteKind, PatchError, Reverted};
use crate::setup::receipt::{Entry, EntryKind};

/// The file becomes `content`; the receipt remembers what was there before (if anything).
pub(super) fn apply(
    current: Option<&str>,
    edits: &[Edit],
    prior: &[Entry],
) -> Result<(String, Vec<Entry>), PatchError> {
    let [Edit::Whole { content }] = edits else {
        return Err(PatchError::WrongFormat);
    };
    let mut entries = prior.to_vec();
    match entries.iter_mut().find(|e| e.kind == EntryKind::Whole) {
        Some(entry) => content.clone_into(&mut entry.written),
        // A file that already holds exactly this is not ours to delete later.
        None if current == Some(content.as_str()) => {}
        None => entries.push(Entry {
            key: Vec::new(),
            kind: EntryKind::Whole,
            previous: current.map(str::to_owned),
            written: content.clone(),
            empty_interior: None,
            added_newline: false,
            after_comment: false,
        }),
    }
    Ok((content.clone(), entries))
}

fn changed() -> Note {
    Note {
        key: "(whole file)".to_owned(),
        kind: NoteKind::Changed,
    }
}

/// Restores what was there (or removes the file) if it still holds what setup wrote.
pub(super) fn revert(current: &str, entries: &[Entry]) -> Reverted {
    let Some(entry) = entries.iter().find(|e| e.kind == EntryKind::Whole) else {
        return Reverted {
            text: Some(current.to_owned()),
            kept: Vec::new(),
            notes: Vec::new(),
        };
    };
    if current == entry.written {
        Reverted {
            text: entry.previous.clone(),
            kept: Vec::new(),
            notes: Vec::new(),
        }
    } else {
        Reverted {
            text: Some(current.to_owned()),
            kept: vec![entry.clone()],
            notes: vec![changed()],
        }
    }
}

/// Whether the file still holds what setup wrote.
pub(super) fn drift(current: &str, entries: &[Entry]) -> Vec<Note> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Whole && e.written != current)
        .map(|_| changed())
        .collect()
}
