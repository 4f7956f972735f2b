//! Helper TTLs that follow the token (SPEC §5): tools cache a printed token for the
//! interval setup wrote, clamp(lifetime / 3, 60 s, 300 s), so it must change when the
//! token's lifetime turns out different from what setup assumed — after a lazy setup
//! (which assumed 300 s) or when the IdP changes its lifetimes.
//!
//! Nothing here runs on the cached fast path: the runtime asks only after a refresh or a
//! sign-in produced a token. A tool is rewritten through setup's own transaction, with
//! the files rebuilt from its receipt (what setup wrote, the TTL changed) — so the
//! receipt follows and `status` sees no drift — and only while every file still holds
//! what setup wrote (a TTL someone set by hand stays theirs; `status` warns about it).

use core::time::Duration;

use super::edit::{self, Edit};
use super::plan::FileSpec;
use super::receipt::{FileReceipt, Format, Receipt};
use super::tool::Tool;
use super::wiring::{HelperTtl, document_text};

/// The rewrite of one tool's files for a new interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retune {
    /// The tool.
    pub tool: Tool,
    /// Its files as setup would write them now: what it wrote, with the new interval.
    pub specs: Vec<FileSpec>,
}

/// The interval `receipt` says setup wrote into its tool's files; `None` for a tool
/// without one (proxy mode) or a receipt that does not record it.
pub fn recorded_interval(receipt: &Receipt) -> Option<Duration> {
    let ttl = HelperTtl::of(Tool::parse(&receipt.tool)?)?;
    let key = ttl.path();
    receipt
        .files
        .iter()
        .filter(|file| file.format == ttl.format)
        .flat_map(|file| edit::replay(file.format, &file.entries).unwrap_or_default())
        .find_map(|edit| match edit {
            Edit::Set { key: at, value } if at == key => ttl.read(&value),
            Edit::Whole { content } => ttl.read(&edit::value_at(Format::Whole, &content, &key)?),
            Edit::Set { .. } | Edit::Append { .. } | Edit::Block { .. } => None,
        })
}

/// The interval the text of one of `tool`'s files holds now (`format` as its receipt
/// says), if it is the file with the setting.
pub fn interval_in(tool: Tool, format: Format, text: &str) -> Option<Duration> {
    let ttl = HelperTtl::of(tool)?;
    if format != ttl.format {
        return None;
    }
    ttl.read(&edit::value_at(format, text, &ttl.path())?)
}

/// What rewrites `receipt`'s tool for `interval`: `None` when the tool has no interval,
/// already has this one, or its receipt cannot be read back into edits.
pub fn plan(receipt: &Receipt, interval: Duration) -> Option<Retune> {
    let tool = Tool::parse(&receipt.tool)?;
    let ttl = HelperTtl::of(tool)?;
    if recorded_interval(receipt)? == interval {
        return None;
    }
    let specs = receipt
        .files
        .iter()
        .map(|file| respec(file, ttl, interval))
        .collect::<Option<Vec<_>>>()?;
    Some(Retune { tool, specs })
}

/// One file as setup would write it now: its recorded edits, the TTL set to `interval`.
fn respec(file: &FileReceipt, ttl: HelperTtl, interval: Duration) -> Option<FileSpec> {
    let key = ttl.path();
    let mut edits = edit::replay(file.format, &file.entries)?;
    if file.format == ttl.format {
        for edit in &mut edits {
            retune_edit(edit, ttl, &key, interval);
        }
    }
    Some(FileSpec {
        path: file.path.clone().into(),
        format: file.format,
        edits,
        // The file exists (a drifted or missing one is not rewritten); only a file that
        // vanished meanwhile could be created, and then as private as any of ours.
        new_file_mode: 0o600,
        // Only helper tools are retuned, and their files hold no local key.
        secret: false,
    })
}

/// Sets the TTL in `edit` when it holds it.
fn retune_edit(edit: &mut Edit, ttl: HelperTtl, key: &[String], interval: Duration) {
    match edit {
        Edit::Set { key: at, value } if at.as_slice() == key => *value = ttl.value(interval),
        Edit::Whole { content } => {
            if let Ok(mut document) = serde_json::from_str::<serde_json::Value>(content)
                && let Some(slot) = key
                    .iter()
                    .try_fold(&mut document, |value, name| value.get_mut(name))
            {
                *slot = ttl.value(interval);
                *content = document_text(&document);
            }
        }
        Edit::Set { .. } | Edit::Append { .. } | Edit::Block { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::setup::error::SetupError;
    use crate::setup::plan::{FileAction, teardown_file};
    use crate::setup::tool::Platform;
    use crate::setup::transaction::{Step, ToolSetup};
    use crate::setup::wiring::files;
    use crate::testing::setup::{environment, found, settings};

    const LAZY: Duration = Duration::from_secs(300);
    const FIVE_MINUTE_TOKEN: Duration = Duration::from_secs(100);

    /// Files by path, as a run leaves them.
    type Disk = BTreeMap<String, String>;

    /// Performs a transaction's planned steps on `disk`.
    fn perform(disk: &mut Disk, receipt: &mut Receipt, steps: Vec<Step>) {
        for step in steps {
            match step {
                Step::StoreReceipt(stored) => *receipt = stored,
                Step::Write { path, bytes, .. } => {
                    disk.insert(
                        path.display().to_string(),
                        String::from_utf8(bytes).unwrap(),
                    );
                }
                Step::Remove(path) => {
                    disk.remove(&path.display().to_string());
                }
                Step::RemoveEmptyDirs(_) | Step::SetMode { .. } | Step::Notify(_) => {}
            }
        }
    }

    /// A setup of `tool` with a 300 s interval (a lazy setup) over `disk`.
    fn lazy_setup(tool: Tool, disk: &mut Disk) -> Receipt {
        let mut s = settings();
        s.interval = LAZY;
        let specs = files(tool, &s, &environment(Platform::Linux)).unwrap();
        let mut setup = ToolSetup::begin(tool, &specs, None, &s.helper);
        let mut receipt = Receipt::new(tool);
        for spec in &specs {
            let path = spec.path.display().to_string();
            let current = disk.get(&path).cloned();
            let steps = setup
                .plan_file(spec, found(&path, current.as_deref()))
                .unwrap();
            perform(disk, &mut receipt, steps);
            setup.file_done();
        }
        receipt
    }

    /// Rewrites `receipt`'s tool for `interval` the way the runtime does.
    fn follow(
        disk: &mut Disk,
        receipt: &mut Receipt,
        interval: Duration,
    ) -> Result<(), SetupError> {
        let Some(retune) = plan(receipt, interval) else {
            return Ok(());
        };
        let mut setup = ToolSetup::resume(retune.tool, &retune.specs, receipt.clone());
        for spec in &retune.specs {
            let path = spec.path.display().to_string();
            let current = disk.get(&path).cloned();
            let steps = setup.plan_file(spec, found(&path, current.as_deref()))?;
            perform(disk, receipt, steps);
            setup.file_done();
        }
        Ok(())
    }

    #[test]
    fn each_helper_tool_follows_the_lifetime_and_nothing_else_changes() {
        let expected = [
            (
                Tool::ClaudeCode,
                "\"CLAUDE_CODE_API_KEY_HELPER_TTL_MS\": \"100000\"",
            ),
            (Tool::Codex, "refresh_interval_ms = 100000"),
            (
                Tool::ClaudeDesktop,
                "\"inferenceCredentialHelperTtlSec\": 100",
            ),
        ];
        for (tool, written) in expected {
            let mut disk = Disk::new();
            let mut receipt = lazy_setup(tool, &mut disk);
            assert_eq!(recorded_interval(&receipt), Some(LAZY), "{tool}");
            let lazy_disk = disk.clone();

            follow(&mut disk, &mut receipt, FIVE_MINUTE_TOKEN).unwrap();
            assert_eq!(
                recorded_interval(&receipt),
                Some(FIVE_MINUTE_TOKEN),
                "{tool}"
            );
            let changed: Vec<&String> = disk
                .iter()
                .filter(|(path, text)| lazy_disk.get(*path) != Some(*text))
                .map(|(path, _)| path)
                .collect();
            assert_eq!(changed.len(), 1, "{tool}: only the TTL's file: {changed:?}");
            assert!(disk[changed[0]].contains(written), "{}", disk[changed[0]]);
            for file in &receipt.files {
                let text = &disk[&file.path];
                assert_eq!(
                    crate::setup::drift::drift_file(file, Some(text)),
                    Ok(crate::setup::drift::Drift::None),
                    "{tool}: the receipt follows"
                );
                if let Some(found) = interval_in(tool, file.format, text) {
                    assert_eq!(found, FIVE_MINUTE_TOKEN);
                }
                // Teardown still gives back what was there before setup: nothing.
                let undone = teardown_file(file, Some(text)).unwrap();
                assert_eq!(undone.action, FileAction::Delete, "{tool}: {}", file.path);
            }
            // The same interval again: nothing to do.
            assert_eq!(plan(&receipt, FIVE_MINUTE_TOKEN), None);
        }
    }

    #[test]
    fn a_ttl_set_by_hand_is_left_alone() {
        let mut disk = Disk::new();
        let mut receipt = lazy_setup(Tool::ClaudeCode, &mut disk);
        let path = "/h/.claude/settings.json".to_owned();
        let edited = disk[&path].replace("\"300000\"", "\"600000\"");
        disk.insert(path.clone(), edited.clone());
        assert_eq!(
            follow(&mut disk, &mut receipt, FIVE_MINUTE_TOKEN),
            Err(SetupError::ChangedSinceSetup(path.clone().into()))
        );
        assert_eq!(disk[&path], edited);
        assert_eq!(recorded_interval(&receipt), Some(LAZY));
        assert_eq!(
            interval_in(Tool::ClaudeCode, Format::Json, &edited),
            Some(Duration::from_secs(600))
        );
    }

    #[test]
    fn proxy_tools_have_no_interval() {
        let mut disk = Disk::new();
        let receipt = lazy_setup(Tool::GeminiCli, &mut disk);
        assert_eq!(recorded_interval(&receipt), None);
        assert_eq!(plan(&receipt, FIVE_MINUTE_TOKEN), None);
    }
}
