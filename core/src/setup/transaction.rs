//! Setup's transaction (SPEC §9): every decision of a run, performed by the runtime.
//!
//! ```text
//! select          the tools asked for and installed
//! per tool        ToolSetup::begin(tool, files, prior receipt, helper)
//!   per file      lock it, read it (FoundFile)
//!                 ToolSetup::plan_file → steps, performed in order:
//!                   StoreReceipt first (a receipt never lacks a change that happened),
//!                   then Write
//!                 ToolSetup::file_done
//!   on failure    ToolSetup::rollback → Rollback, performed at once
//! SetupRun        every tool wired: save the config (`configured_tools` ← recorded);
//!                 a tool failed, or saving failed: every Rollback, newest tool first
//! ```
//!
//! So a run is all or nothing: what it leaves behind is either every tool wired and the
//! config saved, or the files, receipts and config as they were.

use std::fmt;
use std::path::{Path, PathBuf};

use super::drift::{Drift, drift_file};
use super::error::SetupError;
use super::helper::Helper;
use super::plan::{FileSpec, FoundFile};
use super::receipt::{Format, RECEIPT_VERSION, Receipt};
use super::tool::{Environment, Tool, location};
use super::wiring::helper_program;
use crate::config::ConfiguredTool;

/// The tools to configure: the one `--client` names, which must be installed, or every
/// installed one (`installed`, as the runtime detected them with
/// [`super::tool::detected`]).
///
/// # Errors
/// [`SetupError::UnknownTool`] or [`SetupError::NotInstalled`] for `--client`.
pub fn select(
    client: Option<&str>,
    installed: &[Tool],
    env: &Environment,
) -> Result<Vec<Tool>, SetupError> {
    let Some(name) = client else {
        return Ok(Tool::ALL
            .into_iter()
            .filter(|t| installed.contains(t))
            .collect());
    };
    let tool = Tool::parse(name).ok_or_else(|| SetupError::UnknownTool(name.to_owned()))?;
    if !installed.contains(&tool) {
        let place = location(tool, env);
        return Err(SetupError::NotInstalled {
            tool,
            config_dir: place.config_dir,
            binaries: place.binaries,
        });
    }
    Ok(vec![tool])
}

/// Owner-only: what a file holding the local key is made.
const PRIVATE: u32 = 0o600;

/// One I/O action of setup, teardown or a rollback, for the runtime to perform.
#[derive(Clone, PartialEq, Eq)]
pub enum Step {
    /// Store a tool's receipt (under the receipts lock); one with no files is deleted.
    StoreReceipt(Receipt),
    /// Write a tool file atomically, keeping an existing file's permissions.
    Write {
        /// The file (already resolved through links).
        path: PathBuf,
        /// The new content.
        bytes: Vec<u8>,
        /// The permissions of a file that does not exist yet.
        new_mode: u32,
    },
    /// Set a tool file's permission bits. Best effort: when the OS refuses, the runtime
    /// says so and goes on (the file may be on a file system without modes).
    SetMode {
        /// The file (already resolved through links).
        path: PathBuf,
        /// The bits.
        mode: u32,
    },
    /// Tell the person running setup (a warning line on stderr).
    Notify(String),
    /// Delete a tool file.
    Remove(PathBuf),
    /// Remove these directories, innermost first, where they are empty.
    RemoveEmptyDirs(Vec<PathBuf>),
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Content may be the local key or a user's own key: only where it goes is shown.
        match self {
            Self::StoreReceipt(receipt) => f.debug_tuple("StoreReceipt").field(receipt).finish(),
            Self::Write { path, new_mode, .. } => f
                .debug_struct("Write")
                .field("path", path)
                .field("new_mode", &format_args!("{new_mode:o}"))
                .finish_non_exhaustive(),
            Self::SetMode { path, mode } => f
                .debug_struct("SetMode")
                .field("path", path)
                .field("mode", &format_args!("{mode:o}"))
                .finish(),
            Self::Notify(text) => f.debug_tuple("Notify").field(text).finish(),
            Self::Remove(path) => f.debug_tuple("Remove").field(path).finish(),
            Self::RemoveEmptyDirs(dirs) => f.debug_tuple("RemoveEmptyDirs").field(dirs).finish(),
        }
    }
}

/// One tool's setup in progress: its receipt as it grows, and what a rollback restores.
#[derive(Debug)]
pub struct ToolSetup {
    tool: Tool,
    /// The receipt before this run, which a rollback stores again.
    prior: Option<Receipt>,
    receipt: Receipt,
    shown: Vec<String>,
    main_file: String,
    /// The file of the steps being performed, until [`Self::file_done`].
    pending: Option<Restore>,
    /// The files written, oldest first.
    written: Vec<Restore>,
    /// Refuse a file that no longer holds what setup wrote, instead of writing over it
    /// (a rewrite nobody asked for, [`Self::resume`]).
    keep_changed_files: bool,
}

impl ToolSetup {
    /// Starts wiring `tool` with `files` (from [`super::wiring::files`]), given the receipt
    /// an earlier setup left (its first `previous` values are kept) and how tools run
    /// llmauth.
    pub fn begin(tool: Tool, files: &[FileSpec], prior: Option<Receipt>, helper: &Helper) -> Self {
        let mut receipt = prior.clone().unwrap_or_else(|| Receipt::new(tool));
        receipt.version = RECEIPT_VERSION;
        tool.mode().as_str().clone_into(&mut receipt.mode);
        receipt.helper_program = helper_program(tool, helper);
        Self {
            tool,
            prior,
            receipt,
            shown: files.iter().map(|f| f.path.display().to_string()).collect(),
            main_file: main_file(files),
            pending: None,
            written: Vec::new(),
            keep_changed_files: false,
        }
    }

    /// Rewrites a configured tool's files with `files` (from
    /// [`super::retune::plan`]), starting from its `receipt`: like a setup run, except
    /// that a file that no longer holds what setup wrote is refused with
    /// [`SetupError::ChangedSinceSetup`] — a change nobody asked for never overwrites
    /// someone's edit.
    pub fn resume(tool: Tool, files: &[FileSpec], receipt: Receipt) -> Self {
        Self {
            tool,
            prior: Some(receipt.clone()),
            receipt,
            shown: files.iter().map(|f| f.path.display().to_string()).collect(),
            main_file: main_file(files),
            pending: None,
            written: Vec::new(),
            keep_changed_files: true,
        }
    }

    /// Plans one file from what the runtime found: the steps to perform, in order (none
    /// when the file already holds what setup wants and the receipt knows it).
    ///
    /// # Errors
    /// [`SetupError::Unparsable`] or [`SetupError::ReadOnly`] (and, resuming,
    /// [`SetupError::ChangedSinceSetup`]); nothing is to be written then.
    pub fn plan_file(
        &mut self,
        spec: &FileSpec,
        found: FoundFile,
    ) -> Result<Vec<Step>, SetupError> {
        if self.keep_changed_files {
            let text = found.writable_text()?;
            let recorded = self.receipt.file(&found.path.to_string_lossy());
            let drift = recorded.map(|file| drift_file(file, text));
            if !matches!(drift, Some(Ok(Drift::None))) {
                return Err(SetupError::ChangedSinceSetup(found.path));
            }
        }
        let mut plan = found.plan(spec, &self.receipt, &[])?;
        let privacy = privacy(spec, &found);
        let tightened = match privacy {
            Privacy::Tighten(mode) => Some(mode),
            Privacy::Fine | Privacy::NotOurs => None,
        };
        // The first mode recorded stays, as the first previous value of a key does.
        plan.receipt.previous_mode = plan.receipt.previous_mode.or(tightened);
        let mut steps = Vec::new();
        if self.receipt.upsert(plan.receipt) {
            steps.push(Step::StoreReceipt(self.receipt.clone()));
        }
        // Private before the key is written into it.
        match privacy {
            Privacy::Tighten(_) => steps.push(Step::SetMode {
                path: found.path.clone(),
                mode: PRIVATE,
            }),
            Privacy::NotOurs => steps.push(Step::Notify(format!(
                "{} holds the proxy's local key, but it belongs to another user, so setup leaves \
its permissions as they are: whoever may read it can use the proxy as you",
                found.path.display()
            ))),
            Privacy::Fine => {}
        }
        self.pending = (plan.new_text.is_some() || tightened.is_some()).then(|| Restore {
            written: plan.new_text.map_or_else(
                || found.bytes.clone().unwrap_or_default(),
                String::into_bytes,
            ),
            path: found.path,
            previous: found.bytes,
            previous_mode: tightened,
            created_dirs: found.missing_dirs,
        });
        if let Some(write) = self
            .pending
            .as_ref()
            .filter(|w| w.previous.as_ref() != Some(&w.written))
        {
            steps.push(Step::Write {
                path: write.path.clone(),
                bytes: write.written.clone(),
                new_mode: spec.new_file_mode,
            });
        }
        Ok(steps)
    }

    /// Every step of the last planned file was performed.
    pub fn file_done(&mut self) {
        self.written.extend(self.pending.take());
    }

    /// What undoes this run's changes to the tool. A file whose steps failed needs
    /// nothing: writes are atomic, and the receipt goes back to what it was.
    pub fn rollback(&self) -> Rollback {
        Rollback {
            files: self.written.iter().rev().cloned().collect(),
            receipt: Step::StoreReceipt(
                self.prior
                    .clone()
                    .unwrap_or_else(|| Receipt::new(self.tool)),
            ),
        }
    }

    /// The tool as wired, for the report and the config's index.
    pub fn configured(&self) -> Configured {
        Configured {
            tool: self.tool,
            shown: self.shown.clone(),
            main_file: self.main_file.clone(),
        }
    }
}

/// What setup does about who may read a file it writes.
enum Privacy {
    /// Nothing to do: it holds no secret, is new (created owner-only), or is private.
    Fine,
    /// Others may read or write the local key in it: make it owner-only, remembering
    /// these bits.
    Tighten(u32),
    /// Others may read it, and it is another user's: left as it is, and said.
    NotOurs,
}

fn privacy(spec: &FileSpec, found: &FoundFile) -> Privacy {
    match found.access {
        Some(access) if spec.secret && access.mode & 0o077 != 0 => {
            if access.own {
                Privacy::Tighten(access.mode)
            } else {
                Privacy::NotOurs
            }
        }
        Some(_) | None => Privacy::Fine,
    }
}

/// A file this run wrote (or made owner-only), and what it was before.
#[derive(Clone, PartialEq, Eq)]
pub struct Restore {
    path: PathBuf,
    written: Vec<u8>,
    previous: Option<Vec<u8>>,
    /// The permission bits before this run made the file owner-only.
    previous_mode: Option<u32>,
    created_dirs: Vec<PathBuf>,
}

impl Restore {
    /// The file (where its content really is), to lock and read before [`Self::steps`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What puts the file back, given its content now; `None` when it no longer holds what
    /// setup wrote: someone changed it while setup ran, and it is left as it is.
    pub fn steps(&self, current: Option<&[u8]>) -> Option<Vec<Step>> {
        if current != Some(self.written.as_slice()) {
            return None;
        }
        let restore = match &self.previous {
            Some(previous) => Step::Write {
                path: self.path.clone(),
                bytes: previous.clone(),
                new_mode: 0o600,
            },
            None => Step::Remove(self.path.clone()),
        };
        let mode = self.previous_mode.map(|mode| Step::SetMode {
            path: self.path.clone(),
            mode,
        });
        let mut steps = vec![restore];
        steps.extend(mode);
        steps.push(Step::RemoveEmptyDirs(self.created_dirs.clone()));
        Some(steps)
    }
}

impl fmt::Debug for Restore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restore")
            .field("path", &self.path)
            .field("existed", &self.previous.is_some())
            .field("created_dirs", &self.created_dirs)
            .finish_non_exhaustive()
    }
}

/// What undoes one tool's part of a run: each file (newest first) under its lock, then the
/// receipt. Best effort: every step is tried even when one fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollback {
    /// The files, newest first.
    pub files: Vec<Restore>,
    /// The receipt as it was before the run.
    pub receipt: Step,
}

/// A tool as setup left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Configured {
    /// The tool.
    pub tool: Tool,
    /// Its files, as the user knows them.
    pub shown: Vec<String>,
    /// The file the config's index names.
    pub main_file: String,
}

/// A whole run: tools are wired one after the other; the config is saved only when every
/// one of them was.
#[derive(Debug, Default)]
pub struct SetupRun {
    wired: Vec<ToolSetup>,
    first_failure: Option<SetupError>,
}

impl SetupRun {
    /// `tool` was wired.
    pub fn wired(&mut self, tool: ToolSetup) {
        self.wired.push(tool);
    }

    /// A tool could not be wired (and was rolled back).
    pub fn failed(&mut self, error: SetupError) {
        self.first_failure.get_or_insert(error);
    }

    /// The tools to save in the config, when every tool was wired.
    ///
    /// # Errors
    /// [`SetupError::ChangedNothing`] about the first failure: perform
    /// [`Self::rollbacks`] and save nothing.
    pub fn verdict(&self) -> Result<Vec<Configured>, SetupError> {
        match &self.first_failure {
            None => Ok(self.wired.iter().map(ToolSetup::configured).collect()),
            Some(first) => Err(SetupError::ChangedNothing(Box::new(first.clone()))),
        }
    }

    /// What undoes the whole run (after a failure, or when saving the config failed),
    /// newest tool first.
    pub fn rollbacks(&self) -> Vec<Rollback> {
        self.wired.iter().rev().map(ToolSetup::rollback).collect()
    }
}

/// What a run reports as it goes (a line on stderr each).
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// A tool could not be wired; its changes were undone.
    ToolFailed(Tool, &'a SetupError),
    /// A rollback left this file: it changed while setup ran.
    ChangedMeanwhile(&'a Path),
    /// A rollback step failed.
    RollbackFailed(&'a SetupError),
    /// Something the person should know ([`Step::Notify`], a refused [`Step::SetMode`]).
    Warning(&'a str),
}

impl fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ToolFailed(tool, error) => write!(f, "error: cannot configure {tool}: {error}"),
            Self::ChangedMeanwhile(path) => write!(
                f,
                "warning: {} changed while setup ran; not rolled back",
                path.display()
            ),
            Self::RollbackFailed(error) => write!(f, "warning: rollback: {error}"),
            Self::Warning(text) => write!(f, "warning: {text}"),
        }
    }
}

/// `configured_tools` once `configured` are wired: each tool listed once, with this run's
/// mode and file.
pub fn recorded(mut index: Vec<ConfiguredTool>, configured: &[Configured]) -> Vec<ConfiguredTool> {
    for done in configured {
        index.retain(|t| t.tool != done.tool.name());
        index.push(ConfiguredTool {
            tool: done.tool.name().to_owned(),
            mode: done.tool.mode().as_str().to_owned(),
            file: done.main_file.clone(),
        });
    }
    index
}

/// The file `configured_tools` names for a tool: its last edited file (Claude Desktop's
/// `_meta.json`, Gemini CLI's `.env`), or its only one.
fn main_file(files: &[FileSpec]) -> String {
    files
        .iter()
        .rfind(|f| f.format != Format::Whole)
        .or(files.first())
        .map(|f| f.path.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::edit;
    use crate::setup::plan::Access;
    use crate::setup::tool::Platform;
    use crate::setup::wiring::files;
    use crate::testing::setup::{environment, found, settings};

    fn codex() -> (Vec<FileSpec>, ToolSetup) {
        let settings = settings();
        let specs = files(Tool::Codex, &settings, &environment(Platform::Linux)).unwrap();
        let setup = ToolSetup::begin(Tool::Codex, &specs, None, &settings.helper);
        (specs, setup)
    }

    #[test]
    fn the_tool_asked_for_must_be_installed() {
        let linux = environment(Platform::Linux);
        let installed = [Tool::GeminiCli, Tool::ClaudeCode];
        assert_eq!(
            select(None, &installed, &linux),
            Ok(vec![Tool::ClaudeCode, Tool::GeminiCli])
        );
        assert_eq!(
            select(Some("gemini-cli"), &installed, &linux),
            Ok(vec![Tool::GeminiCli])
        );
        assert_eq!(
            select(Some("emacs"), &installed, &linux),
            Err(SetupError::UnknownTool("emacs".into()))
        );
        assert_eq!(
            select(Some("codex"), &installed, &linux)
                .unwrap_err()
                .to_string(),
            "codex does not seem to be installed (no /h/.codex and no codex on PATH)"
        );
    }

    /// Gemini CLI's `.env` (it holds the local key) as found with `access`.
    fn gemini_env(access: Access) -> (FileSpec, ToolSetup, FoundFile) {
        let settings = settings();
        let specs = files(Tool::GeminiCli, &settings, &environment(Platform::Linux)).unwrap();
        let setup = ToolSetup::begin(Tool::GeminiCli, &specs, None, &settings.helper);
        let found = FoundFile {
            access: Some(access),
            ..found("/h/.gemini/.env", Some("OTHER=1\n"))
        };
        (specs[1].clone(), setup, found)
    }

    #[test]
    fn a_file_for_the_local_key_is_made_private_first_and_given_back_its_mode() {
        let (spec, mut setup, before) = gemini_env(Access {
            mode: 0o644,
            own: true,
        });
        let steps = setup.plan_file(&spec, before).unwrap();
        let [
            Step::StoreReceipt(receipt),
            Step::SetMode { mode: 0o600, .. },
            Step::Write { bytes, .. },
        ] = steps.as_slice()
        else {
            panic!("{steps:?}");
        };
        assert_eq!(receipt.files[0].previous_mode, Some(0o644));
        setup.file_done();
        // A rollback puts the bytes and the mode back.
        let restore = &setup.rollback().files[0];
        let undo = restore.steps(Some(bytes)).unwrap();
        assert!(
            matches!(
                undo[..],
                [Step::Write { .. }, Step::SetMode { mode: 0o644, .. }, _]
            ),
            "{undo:?}"
        );
        // Teardown too, once the file is as setup left it.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let left = FoundFile {
            access: Some(Access {
                mode: 0o600,
                own: true,
            }),
            ..found("/h/.gemini/.env", Some(&text))
        };
        let revert = super::super::teardown::revert_file(&receipt.files[0], &left).unwrap();
        assert!(
            matches!(
                revert.steps[..],
                [Step::Write { .. }, Step::SetMode { mode: 0o644, .. }]
            ),
            "{:?}",
            revert.steps
        );
    }

    #[test]
    fn another_users_file_keeps_its_mode_and_setup_says_so() {
        let (spec, mut setup, found) = gemini_env(Access {
            mode: 0o666,
            own: false,
        });
        let steps = setup.plan_file(&spec, found).unwrap();
        assert!(
            matches!(
                steps[..],
                [Step::StoreReceipt(_), Step::Notify(_), Step::Write { .. }]
            ),
            "{steps:?}"
        );
        let (spec, mut setup, found) = gemini_env(Access {
            mode: 0o600,
            own: true,
        });
        let steps = setup.plan_file(&spec, found).unwrap();
        assert!(
            matches!(steps[..], [Step::StoreReceipt(_), Step::Write { .. }]),
            "{steps:?}"
        );
    }

    #[test]
    fn the_receipt_is_stored_before_the_file_is_written() {
        let (specs, mut setup) = codex();
        let steps = setup
            .plan_file(
                &specs[0],
                found("/h/.codex/config.toml", Some("model = \"o3\"\n")),
            )
            .unwrap();
        let [Step::StoreReceipt(receipt), Step::Write { path, .. }] = steps.as_slice() else {
            panic!("{steps:?}");
        };
        assert_eq!(path, Path::new("/h/.codex/config.toml"));
        assert_eq!(receipt.files.len(), 1);
        // Codex names llmauth by its absolute path: status watches it.
        assert_eq!(
            receipt.helper_program.as_deref(),
            Some(settings().helper.program.as_str())
        );
        setup.file_done();
        assert_eq!(setup.configured().main_file, "/h/.codex/config.toml");
    }

    #[test]
    fn a_second_run_over_its_own_file_needs_no_step() {
        let (specs, mut first) = codex();
        let steps = first
            .plan_file(&specs[0], found("/h/.codex/config.toml", None))
            .unwrap();
        let Step::Write { bytes, .. } = &steps[1] else {
            panic!("{steps:?}");
        };
        first.file_done();
        let mut again = ToolSetup::begin(
            Tool::Codex,
            &specs,
            Some(first.receipt.clone()),
            &settings().helper,
        );
        let text = String::from_utf8(bytes.clone()).unwrap();
        let steps = again
            .plan_file(&specs[0], found("/h/.codex/config.toml", Some(&text)))
            .unwrap();
        assert!(steps.is_empty(), "{steps:?}");
        // The first run's rollback deletes the file it created, and its receipt.
        let rollback = first.rollback();
        assert_eq!(
            rollback.files[0].steps(Some(bytes)).unwrap()[0],
            Step::Remove(PathBuf::from("/h/.codex/config.toml"))
        );
        assert_eq!(
            rollback.receipt,
            Step::StoreReceipt(Receipt::new(Tool::Codex))
        );
    }

    #[test]
    fn read_only_and_broken_files_are_refused() {
        let (specs, mut setup) = codex();
        let mut read_only = found("/c.toml", Some(""));
        read_only.read_only = true;
        assert_eq!(
            setup.plan_file(&specs[0], read_only),
            Err(SetupError::ReadOnly(PathBuf::from("/c.toml")))
        );
        let broken = setup.plan_file(&specs[0], found("/c.toml", Some("[x")));
        assert!(
            matches!(broken, Err(SetupError::Unparsable { ref path, .. }) if path == Path::new("/c.toml")),
            "{broken:?}"
        );
        let mut not_utf8 = found("/c.toml", None);
        not_utf8.bytes = Some(vec![b'a', b'\n', 0xff]);
        assert!(matches!(
            setup.plan_file(&specs[0], not_utf8),
            Err(SetupError::Unparsable {
                error: edit::PatchError::NotUtf8 { line: 2 },
                ..
            })
        ));
        assert!(setup.rollback().files.is_empty());
    }

    #[test]
    fn a_rollback_leaves_a_file_changed_meanwhile_and_restores_the_rest() {
        let (specs, mut setup) = codex();
        let original = "model = \"o3\"\n";
        let mut file = found("/h/.codex/config.toml", Some(original));
        file.missing_dirs = vec![PathBuf::from("/h/.codex")];
        let steps = setup.plan_file(&specs[0], file).unwrap();
        setup.file_done();
        let Step::Write { bytes, .. } = &steps[1] else {
            panic!("{steps:?}");
        };
        let rollback = setup.rollback();
        let restore = &rollback.files[0];
        assert_eq!(restore.steps(Some(b"changed by someone")), None);
        assert_eq!(
            restore.steps(Some(bytes)).unwrap(),
            vec![
                Step::Write {
                    path: PathBuf::from("/h/.codex/config.toml"),
                    bytes: original.as_bytes().to_vec(),
                    new_mode: 0o600,
                },
                Step::RemoveEmptyDirs(vec![PathBuf::from("/h/.codex")]),
            ]
        );
    }

    #[test]
    fn a_run_is_saved_only_when_every_tool_was_wired() {
        let (_, first) = codex();
        let mut run = SetupRun::default();
        run.wired(first);
        let configured = run.verdict().unwrap();
        let index = recorded(
            vec![ConfiguredTool {
                tool: "codex".into(),
                mode: "old".into(),
                file: "/old".into(),
            }],
            &configured,
        );
        assert_eq!(index.len(), 1);
        assert_eq!(index[0].mode, "token-helper");
        run.failed(SetupError::ReadOnly(PathBuf::from("/a")));
        run.failed(SetupError::ReadOnly(PathBuf::from("/b")));
        assert_eq!(
            run.verdict(),
            Err(SetupError::ChangedNothing(Box::new(SetupError::ReadOnly(
                PathBuf::from("/a")
            ))))
        );
        assert_eq!(run.rollbacks().len(), 1);
    }

    #[test]
    fn debug_shows_no_content() {
        let (specs, mut setup) = codex();
        let secret = "model = \"secret-key\"\n";
        let steps = setup
            .plan_file(&specs[0], found("/c.toml", Some(secret)))
            .unwrap();
        setup.file_done();
        let debug = format!("{steps:?} {setup:?} {:?}", setup.rollback());
        assert!(!debug.contains("secret-key"), "{debug}");
    }
}
