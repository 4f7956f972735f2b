//! Files that hold records: read, atomic replace, delete, and move aside (SPEC §4, §8).
//!
//! A record is never overwritten by a partial write: new content goes to a temporary
//! file in the same directory (created exclusively, owner-only), is flushed to disk, and
//! only then renamed over the old file; a crash at any point leaves either the old or the
//! new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use llmauth_core::secret::SecretBytes;
use llmauth_core::store::{PathFacts, PathKind, Slot, StoreError, StoreErrorKind, judge};

use crate::paths::Paths;

/// Owner-only permissions for every file llmauth writes.
pub const PRIVATE_FILE: u32 = 0o600;
/// Owner-only permissions for every directory llmauth creates.
pub const PRIVATE_DIR: u32 = 0o700;
/// Largest file read back; records are a few kilobytes, a discovery document at most
/// 1 MiB.
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// Reads a whole file of llmauth's state; a missing file is `Ok(None)`.
///
/// Nothing is believed that another user could have written (SPEC §8): the file and
/// its directory must be the user's and not writable by others, and with `secret` set
/// (session records, the access-token cache, `proxy.key`, receipts) the file must not be
/// readable by others either — its content may have been exposed. Nothing is created on
/// this path.
///
/// # Errors
/// `InsecurePermissions` or `UntrustedState` naming the path and the fix, or `Io` with
/// the path and the OS error.
pub fn read(path: &Path, secret: bool) -> Result<Option<SecretBytes>, StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, &e)),
    };
    let kind = if secret {
        PathKind::Secret
    } else {
        PathKind::File
    };
    // The directory first: when others can write it, that is what needs fixing.
    if let Some(dir) = parent(path) {
        let meta = fs::metadata(dir).map_err(|e| io_error(dir, &e))?;
        trust(dir, &meta, PathKind::Directory)?;
    }
    let meta = file.metadata().map_err(|e| io_error(path, &e))?;
    trust(path, &meta, kind)?;
    // Sized from `stat`: one read takes it all (a growing buffer costs a read per
    // doubling), the next sees the end.
    let expected = usize::try_from(meta.len().min(MAX_FILE)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    (&mut file)
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, &e))?;
    let bytes = SecretBytes::new(bytes);
    if bytes.len() as u64 > MAX_FILE {
        return Err(StoreError {
            kind: StoreErrorKind::Io,
            detail: format!("{}: larger than {MAX_FILE} bytes", path.display()),
        });
    }
    Ok(Some(bytes))
}

/// Reads the file behind `slot` under `paths`, as [`Intent::Read`] does for every slot but
/// the keychain's.
///
/// [`Intent::Read`]: llmauth_core::intent::Intent::Read
///
/// # Errors
/// As [`read`]; `Io` for the keychain slot, which has no file.
pub fn read_slot(paths: &Paths, slot: &Slot) -> Result<Option<SecretBytes>, StoreError> {
    let path = paths.slot_file(slot).ok_or_else(|| StoreError {
        kind: StoreErrorKind::Io,
        detail: format!("no file for {slot:?}"),
    })?;
    read(&path, slot.holds_secrets())
}

/// Replaces `path` with `bytes` atomically, creating missing parent directories (0700).
///
/// `mode` is the new file's Unix permission bits (ignored elsewhere); use
/// [`PRIVATE_FILE`] for anything that may hold a secret.
///
/// # Errors
/// The OS error of the step that failed; the old file is then untouched and no temporary
/// file is left behind.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    stage(path, bytes, mode)?.commit()
}

/// [`write_atomic`], returning what `stat` says about the file written — taken from the
/// file itself before the rename, which keeps it, so a file put in its place afterwards
/// is not mistaken for it.
///
/// # Errors
/// As [`write_atomic`].
pub fn write_atomic_stat(path: &Path, bytes: &[u8], mode: u32) -> io::Result<fs::Metadata> {
    let staged = stage(path, bytes, mode)?;
    let metadata = staged.metadata.clone();
    staged.commit()?;
    Ok(metadata)
}

/// Deletes `path`; a missing file is fine.
///
/// # Errors
/// Any other OS error.
pub fn delete(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        Ok(()) | Err(_) => Ok(()),
    }
}

/// Renames an unreadable file to `<name>.corrupt-<unix seconds>` (0600) so a new login
/// does not destroy it. Returns where it went, or `None` when there was no file.
///
/// # Errors
/// The OS error of the rename.
pub fn move_aside(path: &Path, unix_secs: u64) -> io::Result<Option<PathBuf>> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    let target = free_name(&with_suffix(path, &format!(".corrupt-{unix_secs}")));
    fs::rename(path, &target)?;
    set_mode(&target, PRIVATE_FILE)?;
    Ok(Some(target))
}

/// Creates a new file that must not exist yet (`O_EXCL`), owner-only, in a private
/// directory (see [`private_dir`]); used for copies of corrupt keychain items and for
/// files whose first writer wins (`proxy.key`).
///
/// # Errors
/// `AlreadyExists` when the file exists, a refused directory, or the OS error.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    if let Some(dir) = parent(path) {
        private_dir(dir)?;
    }
    let mut file = create_exclusive(path, mode)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if written.is_err() {
        drop(file);
        let _ = fs::remove_file(path);
    }
    written
}

/// Makes sure llmauth may keep files in `dir`: an existing directory must be the
/// user's and not writable by others (it is never repaired: the error says how); a
/// missing one is created, with its missing ancestors, owner-only (0700).
///
/// # Errors
/// A refused directory (an [`io::Error`] wrapping the [`StoreError`] that names the
/// fix; [`io_error`] unwraps it), or the OS error.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    match fs::metadata(dir) {
        Ok(meta) => trust(dir, &meta, PathKind::Directory).map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_dirs(dir),
        Err(e) => Err(e),
    }
}

/// Creates `dir` and its missing ancestors owner-only (0700), leaving existing ones as
/// they are: for directories that are the user's business, such as a tool's own
/// configuration directory.
///
/// # Errors
/// The OS error.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(PRIVATE_DIR);
    }
    builder.create(dir)
}

/// Maps an OS error on `path` into core's store error (or gives back the refusal a
/// [`private_dir`] error carries).
pub(crate) fn io_error(path: &Path, error: &io::Error) -> StoreError {
    if let Some(refused) = error.get_ref().and_then(|e| e.downcast_ref::<StoreError>()) {
        return refused.clone();
    }
    StoreError {
        kind: StoreErrorKind::Io,
        detail: format!("{}: {error}", path.display()),
    }
}

/// A temporary file holding the new content, not yet renamed into place. Dropping it
/// without [`commit`](Staged::commit) removes it and leaves the target untouched.
pub(crate) struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
    /// The temporary file's `stat`, once written and flushed.
    metadata: fs::Metadata,
}

/// Writes `bytes` to a fresh temporary file beside `path`, in a private directory (see
/// [`private_dir`]), and flushes it to disk.
pub(crate) fn stage(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Staged> {
    private_dir(parent(path).unwrap_or(Path::new(".")))?;
    stage_in(path, bytes, mode)
}

/// Replaces a file of the user's (a tool's settings) atomically, as [`write_atomic`]
/// does, but in a directory that is the user's business: missing directories are
/// created (0700), existing ones are taken as they are.
///
/// # Errors
/// The OS error of the step that failed; the old file is then untouched.
pub fn write_user_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    create_dirs(parent(path).unwrap_or(Path::new(".")))?;
    stage_in(path, bytes, mode)?.commit()
}

/// [`stage`] in a directory that exists.
fn stage_in(path: &Path, bytes: &[u8], mode: u32) -> io::Result<Staged> {
    let (tmp, mut file) = create_temp_beside(path, mode)?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| file.metadata());
    match written {
        Ok(metadata) => Ok(Staged {
            tmp,
            target: path.to_path_buf(),
            committed: false,
            metadata,
        }),
        Err(error) => {
            drop(file);
            let _ = fs::remove_file(&tmp);
            Err(error)
        }
    }
}

impl Staged {
    /// Renames the temporary file over the target, then flushes the directory so the
    /// rename itself survives a crash.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.tmp, &self.target)?;
        self.committed = true;
        sync_parent(&self.target)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Distinguishes temporary files of concurrent writers within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn create_temp_beside(path: &Path, mode: u32) -> io::Result<(PathBuf, File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_file_name(format!(".{name}.tmp-{pid}-{n}"));
        match create_exclusive(&tmp, mode) {
            Ok(file) => return Ok((tmp, file)),
            // Left over by a crashed process with a recycled pid: pick another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < u64::MAX => {}
            Err(e) => return Err(e),
        }
    }
}

fn create_exclusive(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `candidate`, or `candidate-1`, `-2`, … when it exists (two corrupt copies within
/// one second must not overwrite each other).
fn free_name(candidate: &Path) -> PathBuf {
    if fs::symlink_metadata(candidate).is_err() {
        return candidate.to_path_buf();
    }
    let mut n = 1u32;
    loop {
        let next = with_suffix(candidate, &format!("-{n}"));
        if fs::symlink_metadata(&next).is_err() || n == u32::MAX {
            return next;
        }
        n += 1;
    }
}

/// The directory `path` is in, if it names one.
fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|dir| !dir.as_os_str().is_empty())
}

/// Whether llmauth may believe `path`, as core judges what `stat` says.
#[cfg(unix)]
fn trust(path: &Path, meta: &fs::Metadata, kind: PathKind) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt as _;
    // llmauth never changes its user: asked once per process.
    static USER: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let facts = PathFacts {
        owner: meta.uid(),
        user: *USER.get_or_init(|| rustix::process::geteuid().as_raw()),
        mode: meta.mode(),
        kind,
    };
    // The path is formatted only into a refusal's message.
    judge(path.display(), facts)
}

/// Windows protects files through the profile directory's ACLs; nothing to check here.
#[cfg(not(unix))]
fn trust(_path: &Path, _meta: &fs::Metadata, _kind: PathKind) -> Result<(), StoreError> {
    Ok(())
}

/// The Unix permission bits of a file (for tests and diagnostics).
#[cfg(unix)]
pub fn mode_of(path: &Path) -> io::Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(fs::metadata(path)?.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_that_never_reaches_the_rename_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        write_atomic(&path, b"old", PRIVATE_FILE).unwrap();

        // The process "dies" after writing and flushing the temporary file, before the
        // rename: nothing runs the cleanup, as after a crash.
        let staged = stage(&path, b"new-but-never-committed", PRIVATE_FILE).unwrap();
        std::mem::forget(staged);
        assert_eq!(read(&path, true).unwrap().unwrap().expose_secret(), b"old");
        // The stray temporary file is hidden and never mistaken for the record.
        let names = entries(dir.path());
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(
            names.iter().any(|n| n.starts_with(".s.json.tmp-")),
            "{names:?}"
        );

        // A staged write that is abandoned (an error before the rename) cleans up.
        let staged = stage(&path, b"abandoned", PRIVATE_FILE).unwrap();
        drop(staged);
        assert_eq!(entries(dir.path()).len(), 2);
        assert_eq!(read(&path, true).unwrap().unwrap().expose_secret(), b"old");

        // The next complete write replaces the content.
        write_atomic(&path, b"newer", PRIVATE_FILE).unwrap();
        assert_eq!(
            read(&path, true).unwrap().unwrap().expose_secret(),
            b"newer"
        );
    }

    #[test]
    fn a_failed_rename_leaves_the_target_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty directory cannot be replaced by a file: the rename step fails.
        let target = dir.path().join("busy");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"keep").unwrap();
        let err = write_atomic(&target, b"new", PRIVATE_FILE).unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert_eq!(fs::read(target.join("inside")).unwrap(), b"keep");
        assert_eq!(entries(dir.path()), vec!["busy".to_owned()]);
    }
}
