//! Shell start-up files (`~/.bashrc`, `~/.zshrc`): setup owns one marked block of lines,
//! appended at the end, and nothing else. The receipt holds the block as written (and
//! whether a newline had to be added before it), so teardown removes exactly those bytes
//! and gives back the file as it was.

use super::{Edit, Note, NoteKind, Reverted};
use crate::setup::edit::PatchError;
use crate::setup::receipt::{Entry, EntryKind};

/// The file gets `content` (a block of whole lines) at its end, or in place of the block
/// an earlier setup wrote.
pub(super) fn apply(
    text: &str,
    edits: &[Edit],
    prior: &[Entry],
) -> Result<(String, Vec<Entry>), PatchError> {
    let [Edit::Block { content }] = edits else {
        return Err(PatchError::WrongFormat);
    };
    let mut entries = prior.to_vec();
    // Gone or changed meanwhile, an earlier block is someone else's now: this run's is
    // added anew, and the old entry stays for teardown to report.
    let ours = entries.iter_mut().find(|e| e.kind == EntryKind::Block);
    if let Some(entry) = ours
        && let Some(at) = text.rfind(entry.written.as_str())
    {
        let end = at + entry.written.len();
        let out = format!(
            "{}{content}{}",
            text.get(..at).unwrap_or_default(),
            text.get(end..).unwrap_or_default()
        );
        content.clone_into(&mut entry.written);
        return Ok((out, entries));
    }
    // A file that already holds exactly this block is not ours to change.
    if text.contains(content.as_str()) {
        return Ok((text.to_owned(), entries));
    }
    let added_newline = !text.is_empty() && !text.ends_with('\n');
    let mut out = text.to_owned();
    if added_newline {
        out.push('\n');
    }
    out.push_str(content);
    entries.push(Entry {
        key: Vec::new(),
        kind: EntryKind::Block,
        previous: None,
        written: content.clone(),
        empty_interior: None,
        added_newline,
        after_comment: false,
    });
    Ok((out, entries))
}

fn changed() -> Note {
    Note {
        key: "(llmauth block)".to_owned(),
        kind: NoteKind::Changed,
    }
}

/// Removes the block where the file still holds it as written (with the newline setup
/// added before it, when it is still the file's end); a block someone changed stays.
pub(super) fn revert(text: &str, entries: &[Entry]) -> Reverted {
    let mut out = text.to_owned();
    let mut kept = Vec::new();
    let mut notes = Vec::new();
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Block) {
        let Some(at) = out.rfind(entry.written.as_str()) else {
            kept.push(entry.clone());
            notes.push(changed());
            continue;
        };
        let end = at + entry.written.len();
        let start = if entry.added_newline && end == out.len() && out[..at].ends_with('\n') {
            at - 1
        } else {
            at
        };
        out.replace_range(start..end, "");
    }
    Reverted {
        text: Some(out),
        kept,
        notes,
    }
}

/// Whether the file still holds the block as setup wrote it.
pub(super) fn drift(text: &str, entries: &[Entry]) -> Vec<Note> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::Block && !text.contains(e.written.as_str()))
        .map(|_| changed())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "# >>> ours >>>\n. '/s/env'\n# <<< ours <<<\n";

    fn block(content: &str) -> Vec<Edit> {
        vec![Edit::Block {
            content: content.to_owned(),
        }]
    }

    #[test]
    fn appended_and_removed_byte_for_byte() {
        for original in ["", "alias ll='ls -l'\n", "export A=1", "# crlf\r\n"] {
            let (text, entries) = apply(original, &block(BLOCK), &[]).unwrap();
            assert!(
                text.starts_with(original) && text.ends_with(BLOCK),
                "{text:?}"
            );
            assert!(drift(&text, &entries).is_empty());
            let reverted = revert(&text, &entries);
            assert_eq!(reverted.text.as_deref(), Some(original));
            assert!(reverted.kept.is_empty() && reverted.notes.is_empty());
        }
    }

    #[test]
    fn a_second_run_replaces_its_block_in_place() {
        let (text, entries) = apply("a\n", &block(BLOCK), &[]).unwrap();
        let later = format!("{text}b\n");
        let newer = BLOCK.replace("/s/env", "/t/env");
        let (again, entries) = apply(&later, &block(&newer), &entries).unwrap();
        assert_eq!(again, format!("a\n{newer}b\n"));
        assert_eq!(revert(&again, &entries).text.as_deref(), Some("a\nb\n"));
        // The same block again changes nothing.
        let (same, _) = apply(&again, &block(&newer), &entries).unwrap();
        assert_eq!(same, again);
    }

    #[test]
    fn a_block_someone_changed_stays_and_is_reported() {
        let (text, entries) = apply("a\n", &block(BLOCK), &[]).unwrap();
        let edited = text.replace("/s/env", "/mine");
        assert_eq!(drift(&edited, &entries).len(), 1);
        let reverted = revert(&edited, &entries);
        assert_eq!(reverted.text.as_deref(), Some(edited.as_str()));
        assert_eq!(reverted.kept.len(), 1);
    }
}
