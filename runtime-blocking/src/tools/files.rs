//! Reading and writing the tools' own files.
//!
//! * A symlinked settings file (dotfile managers) is followed: the link's target is
//!   edited and the link stays a link.
//! * Writes are atomic (temporary file + rename in the target's directory) and keep the
//!   file's permissions; new files get the mode the plan asks for (0600 when they hold the
//!   local key).
//! * A file without write permission for its owner is refused, not replaced: someone made
//!   it read-only on purpose (a managed or generated configuration).
//! * Every change to a tool file happens under `locks/tool-<hash>.lock`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::notices::tool_lock_name;
use llmauth_core::setup::plan::{Access, FoundFile};

use crate::file_store;
use crate::lock::with_lock;
use crate::paths::Paths;

/// How long setup waits for another process changing the same tool file.
const TOOL_LOCK_WAIT: Duration = Duration::from_secs(10);
/// Symlink chains longer than this are treated as a loop.
const MAX_LINKS: usize = 40;
/// Tool files larger than this are not configuration files.
const MAX_TOOL_FILE: u64 = 4 * 1024 * 1024;

/// Follows `path` through symlinks to the file they point at (which may not exist yet).
///
/// # Errors
/// The OS error of reading a link, or `InvalidInput` for a loop.
pub(crate) fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// Reads a tool file, following symlinks, with what setup needs to know to change it.
///
/// # Errors
/// [`SetupError::Unreadable`] with the OS error (a missing file is not an error), or for
/// a huge file.
pub(crate) fn read_tool_file(path: &Path) -> Result<FoundFile, SetupError> {
    let unreadable = |detail: String| SetupError::Unreadable {
        path: path.to_path_buf(),
        detail,
    };
    let target = resolve_link(path).map_err(|e| unreadable(e.to_string()))?;
    let (bytes, read_only) = match std::fs::metadata(&target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => (None, false),
        Err(e) => return Err(unreadable(e.to_string())),
        Ok(meta) if meta.len() > MAX_TOOL_FILE => {
            return Err(unreadable(format!(
                "{}: larger than {MAX_TOOL_FILE} bytes",
                target.display()
            )));
        }
        Ok(meta) => (
            Some(std::fs::read(&target).map_err(|e| unreadable(e.to_string()))?),
            meta.permissions().readonly(),
        ),
    };
    let access = std::fs::metadata(&target)
        .ok()
        .and_then(|meta| access(&meta));
    Ok(FoundFile {
        missing_dirs: missing_dirs(&target),
        path: target,
        bytes,
        read_only,
        access,
    })
}

/// The directories that would have to be created to hold `file`, outermost first.
fn missing_dirs(file: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = file
        .ancestors()
        .skip(1)
        .take_while(|dir| !dir.as_os_str().is_empty() && std::fs::symlink_metadata(dir).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// Writes `bytes` to `path` (already resolved through links) atomically, keeping an
/// existing file's permissions; a new file gets `new_mode`.
///
/// # Errors
/// [`SetupError::ReadOnly`] for a file its owner may not write, else
/// [`SetupError::Unwritable`].
pub(super) fn write_tool_file(path: &Path, bytes: &[u8], new_mode: u32) -> Result<(), SetupError> {
    let mode = match std::fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().readonly() {
                return Err(SetupError::ReadOnly(path.to_path_buf()));
            }
            permission_bits(&meta)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_mode,
        Err(e) => return Err(unwritable(path, &e)),
    };
    file_store::write_user_file(path, bytes, mode).map_err(|e| unwritable(path, &e))?;
    set_mode(path, mode).map_err(|e| unwritable(path, &e))
}

/// Deletes a tool file; a missing file is fine.
///
/// # Errors
/// [`SetupError::ReadOnly`] or [`SetupError::Unwritable`].
pub(super) fn remove_tool_file(path: &Path) -> Result<(), SetupError> {
    if std::fs::metadata(path).is_ok_and(|meta| meta.permissions().readonly()) {
        return Err(SetupError::ReadOnly(path.to_path_buf()));
    }
    file_store::delete(path).map_err(|e| unwritable(path, &e))
}

fn unwritable(path: &Path, error: &io::Error) -> SetupError {
    SetupError::Unwritable {
        path: path.to_path_buf(),
        detail: error.to_string(),
    }
}

/// Removes the directories setup created, innermost first, as long as they are empty.
pub(super) fn remove_empty_dirs(dirs: &[PathBuf]) {
    for dir in dirs.iter().rev() {
        // Fails (and is meant to) when the directory holds anything.
        let _ = std::fs::remove_dir(dir);
    }
}

/// Runs `f` holding `locks/tool-<hash>.lock` for the file at `path`.
///
/// # Errors
/// [`SetupError::LockBusy`] when another process kept the lock too long.
pub(crate) fn lock_tool_file<T>(
    paths: &Paths,
    path: &Path,
    f: impl FnOnce() -> T,
) -> Result<T, SetupError> {
    let name = tool_lock_name(&path.to_string_lossy());
    Ok(with_lock(&paths.named_lock_file(&name), TOOL_LOCK_WAIT, f)?)
}

/// Who may do what with a file, for core's decisions.
#[cfg(unix)]
fn access(meta: &std::fs::Metadata) -> Option<Access> {
    use std::os::unix::fs::MetadataExt as _;
    Some(Access {
        mode: permission_bits(meta),
        own: meta.uid() == rustix::process::geteuid().as_raw(),
    })
}

/// Windows keeps tool files in the user's profile, protected by its ACLs; setup does not
/// change ACLs.
#[cfg(not(unix))]
fn access(_meta: &std::fs::Metadata) -> Option<Access> {
    None
}

#[cfg(unix)]
fn permission_bits(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(_meta: &std::fs::Metadata) -> u32 {
    0o644
}

/// Sets `path`'s permission bits.
#[cfg(unix)]
pub(super) fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Windows has no permission bits; core plans no mode change there.
#[cfg(not(unix))]
pub(super) fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_and_stay_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles/settings.json");
        std::fs::create_dir_all(real.parent().unwrap()).unwrap();
        std::fs::write(&real, b"{}").unwrap();
        set_mode(&real, 0o640).unwrap();
        let link = dir.path().join("settings.json");
        std::os::unix::fs::symlink("dotfiles/settings.json", &link).unwrap();
        let file = read_tool_file(&link).unwrap();
        assert_eq!(file.path, real);
        assert!(!file.read_only && file.missing_dirs.is_empty());
        write_tool_file(&file.path, b"{\"a\": 1}", 0o600).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&link).unwrap(), b"{\"a\": 1}");
        assert_eq!(file_store::mode_of(&real).unwrap(), 0o640);
    }

    #[test]
    fn read_only_files_are_refused_and_new_files_get_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let ro = dir.path().join("ro.json");
        std::fs::write(&ro, b"{}").unwrap();
        set_mode(&ro, 0o444).unwrap();
        assert!(read_tool_file(&ro).unwrap().read_only);
        assert_eq!(
            write_tool_file(&ro, b"x", 0o600),
            Err(SetupError::ReadOnly(ro.clone()))
        );
        assert_eq!(std::fs::read(&ro).unwrap(), b"{}");
        let new = dir.path().join("a/b/.env");
        let missing = read_tool_file(&new).unwrap();
        assert_eq!(missing.bytes, None);
        assert_eq!(
            missing.missing_dirs,
            vec![dir.path().join("a"), dir.path().join("a/b")]
        );
        write_tool_file(&new, b"K=v\n", 0o600).unwrap();
        assert_eq!(file_store::mode_of(&new).unwrap(), 0o600);
        remove_tool_file(&new).unwrap();
        remove_empty_dirs(&[dir.path().join("a"), dir.path().join("a/b")]);
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn link_loops_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("a", &a).unwrap();
        assert!(read_tool_file(&a).is_err());
    }
}
