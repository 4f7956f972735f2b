//! Whether llmauth may believe a file or directory of its state (SPEC §8): only what the
//! user owns and nobody else could have written — and, for secrets, nobody else can read.
//!
//! Another local user who can write `$STATE/discovery/` could otherwise plant a discovery
//! document whose token endpoint is theirs, and be sent the refresh token. The runtime
//! reports what `stat` says ([`PathFacts`]); [`judge`] decides and words the refusal,
//! naming the path and the command that fixes it. Nothing is repaired silently: a
//! directory someone else owns, or could write, may hold anything by now.

use core::fmt;

use super::slot::{StoreError, StoreErrorKind};

/// What the runtime found out about a path in llmauth's state, without judging it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathFacts {
    /// The owner's user id.
    pub owner: u32,
    /// This process's effective user id.
    pub user: u32,
    /// The permission bits (`0o7777`).
    pub mode: u32,
    /// What the path is.
    pub kind: PathKind,
}

/// What a path in llmauth's state is, which decides what others may do to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathKind {
    /// A directory: others may read it, but not write it.
    Directory,
    /// A file that is not secret (the discovery cache, the login marker, `backend`,
    /// `last-error.json`): others may read it, but not write it.
    File,
    /// A file holding secrets (a session record, the access-token cache, `proxy.key`, a
    /// receipt): others may neither read nor write it.
    Secret,
}

/// Accepts `facts` about `path`, or says why llmauth must not believe what is there and
/// how to fix it.
///
/// # Errors
/// A [`StoreError`] of kind [`StoreErrorKind::InsecurePermissions`] for a secret file,
/// and [`StoreErrorKind::UntrustedState`] for anything else, whose detail names the path,
/// what is wrong and the `chmod` or `chown` that fixes it.
pub fn judge(path: impl fmt::Display, facts: PathFacts) -> Result<(), StoreError> {
    let kind = match facts.kind {
        PathKind::Secret => StoreErrorKind::InsecurePermissions,
        PathKind::Directory | PathKind::File => StoreErrorKind::UntrustedState,
    };
    let refuse = |detail: String| Err(StoreError { kind, detail });
    let mode = facts.mode & 0o7777;
    if facts.owner != facts.user {
        let owner = facts.owner;
        return refuse(match facts.kind {
            PathKind::Directory => format!(
                "{path} belongs to another user (uid {owner}), so llmauth does not trust what is in it — \
if it should be yours: `sudo chown -R $(id -u) {path}`; otherwise remove it"
            ),
            PathKind::File | PathKind::Secret => format!(
                "{path} belongs to another user (uid {owner}), so llmauth does not believe it — remove it: `rm {path}`"
            ),
        });
    }
    match facts.kind {
        PathKind::Secret if mode & 0o077 != 0 => refuse(format!(
            "{path} can be read or written by other users (mode {mode:04o}) — if nobody else could have read it: \
`chmod 600 {path}`; otherwise remove it (`rm {path}`) and sign in again"
        )),
        PathKind::Directory if mode & 0o022 != 0 => refuse(format!(
            "{path} can be written by other users (mode {mode:04o}), so llmauth does not trust what is in it — \
`chmod go-w {path}`, then check what is in it"
        )),
        PathKind::File if mode & 0o022 != 0 => refuse(format!(
            "{path} can be written by other users (mode {mode:04o}), so llmauth does not believe it — \
remove it (`rm {path}`) or `chmod go-w {path}`"
        )),
        PathKind::Directory | PathKind::File | PathKind::Secret => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(owner: u32, mode: u32, kind: PathKind) -> PathFacts {
        PathFacts {
            owner,
            user: 1000,
            mode,
            kind,
        }
    }

    #[test]
    fn only_what_nobody_else_could_write_is_believed() {
        let accepted = [
            facts(1000, 0o700, PathKind::Directory),
            facts(1000, 0o755, PathKind::Directory),
            facts(1000, 0o644, PathKind::File),
            facts(1000, 0o600, PathKind::Secret),
            facts(1000, 0o400, PathKind::Secret),
        ];
        for f in accepted {
            assert_eq!(judge("/s", f), Ok(()), "{f:?}");
        }
        let refused = [
            (facts(1000, 0o775, PathKind::Directory), "`chmod go-w /s`"),
            (facts(1000, 0o1777, PathKind::Directory), "mode 1777"),
            (facts(1000, 0o666, PathKind::File), "`chmod go-w /s`"),
            (facts(1000, 0o640, PathKind::Secret), "`chmod 600 /s`"),
            (
                facts(1001, 0o700, PathKind::Directory),
                "`sudo chown -R $(id -u) /s`",
            ),
            (facts(0, 0o644, PathKind::File), "uid 0"),
            (facts(1001, 0o600, PathKind::Secret), "`rm /s`"),
        ];
        for (f, fix) in refused {
            let error = judge("/s", f).unwrap_err();
            assert!(error.detail.starts_with("/s "), "{error}");
            assert!(error.detail.contains(fix), "{f:?}: {error}");
            let kind = if f.kind == PathKind::Secret {
                StoreErrorKind::InsecurePermissions
            } else {
                StoreErrorKind::UntrustedState
            };
            assert_eq!(error.kind, kind, "{f:?}");
        }
    }
}
