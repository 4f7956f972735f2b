//! Where llmauth's files live (SPEC §2 "Where files live"), and which file each store slot
//! and lock maps to.
//!
//! Resolving paths creates nothing: directories are made (0700) only when something is
//! written, so the read-only fast path never touches the file system beyond its reads.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use llmauth_core::store::{LockName, SessionKey, Slot};

/// The three roots every other path derives from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// `config.yaml`.
    pub config_file: PathBuf,
    /// Locks, discovery cache, file session store, login marker, sign-in cooldown,
    /// `backend`, `last-error/` (and, for other crates, receipts and `proxy.key`).
    pub state_dir: PathBuf,
    /// The keyring backend's access-token cache (the state dir where no per-login
    /// runtime directory exists).
    pub runtime_dir: PathBuf,
}

/// The environment gives no home directory to put files under.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot find the home directory ({0} is not set); set LLMAUTH_CONFIG and LLMAUTH_STATE_DIR"
)]
pub struct NoHomeDir(&'static str);

impl Paths {
    /// Paths given explicitly (tests, embedding).
    pub fn new(
        config_file: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        runtime_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            config_file: config_file.into(),
            state_dir: state_dir.into(),
            runtime_dir: runtime_dir.into(),
        }
    }

    /// The platform's locations, with the `LLMAUTH_CONFIG` and `LLMAUTH_STATE_DIR`
    /// overrides.
    ///
    /// # Errors
    /// [`NoHomeDir`] when a location depends on a home directory the environment does
    /// not name.
    pub fn from_env() -> Result<Self, NoHomeDir> {
        resolve(Os::current(), |name| std::env::var_os(name))
    }

    /// `$STATE/sessions/`.
    pub fn sessions_dir(&self) -> PathBuf {
        self.state_dir.join("sessions")
    }

    /// `$STATE/locks/`.
    pub fn locks_dir(&self) -> PathBuf {
        self.state_dir.join("locks")
    }

    /// `$STATE/discovery/`.
    pub fn discovery_dir(&self) -> PathBuf {
        self.state_dir.join("discovery")
    }

    /// The file behind a slot; `None` for the keychain item.
    pub fn slot_file(&self, slot: &Slot) -> Option<PathBuf> {
        match slot {
            Slot::SessionFile(key) => Some(self.sessions_dir().join(format!("{key}.json"))),
            Slot::AccessCache(key) => Some(self.runtime_dir.join(format!("{key}.at"))),
            Slot::Discovery(hash) => Some(self.discovery_dir().join(format!("{hash}.json"))),
            Slot::LoginMarker(key) => Some(self.locks_dir().join(format!("{key}.login"))),
            Slot::SignInCooldown(key) => Some(self.locks_dir().join(format!("{key}.cooldown"))),
            Slot::ClientSecretFile(key) => Some(
                self.state_dir
                    .join(format!("client-secret-{}", key.as_str())),
            ),
            Slot::Keychain(_) | Slot::ClientSecretKeychain(_) => None,
        }
    }

    /// The lock file of a flow lock: `$STATE/locks/<key>.lock`.
    pub fn lock_file(&self, name: &LockName) -> PathBuf {
        match name {
            LockName::Session(key) => self.named_lock_file(key.as_str()),
        }
    }

    /// `$STATE/locks/<name>.lock`, for the locks the CLI takes itself (`config`,
    /// `receipts`, `proxy-key`, `tool-<hash>`).
    pub fn named_lock_file(&self, name: &str) -> PathBuf {
        self.locks_dir().join(format!("{name}.lock"))
    }

    /// `$STATE/backend`: the backend `auto` settled on.
    pub fn backend_file(&self) -> PathBuf {
        self.state_dir.join("backend")
    }

    /// `$STATE/last-error/`: the last failure of each session's helper calls.
    pub fn last_error_dir(&self) -> PathBuf {
        self.state_dir.join("last-error")
    }

    /// `$STATE/last-error/<key>.json`: the last failure of a helper's `token` call for
    /// this session.
    pub fn last_error_file(&self, key: &SessionKey) -> PathBuf {
        self.last_error_dir().join(format!("{key}.json"))
    }

    /// `$STATE/proxy.key`.
    pub fn proxy_key_file(&self) -> PathBuf {
        self.state_dir.join("proxy.key")
    }

    /// Where an unreadable keychain item is saved before it is deleted:
    /// `$STATE/sessions/<key>.keychain.corrupt-<unix seconds>`.
    pub fn keychain_corrupt_file(&self, key: &SessionKey, unix_secs: u64) -> PathBuf {
        self.sessions_dir()
            .join(format!("{key}.keychain.corrupt-{unix_secs}"))
    }
}

/// What the lean token binary is called: the full binary's name with `-token` (`llmauth`
/// → `llmauth-token`, `llmauth.exe` → `llmauth-token.exe`).
const LEAN_SUFFIX: &str = "-token";

/// The lean token binary that belongs to the full binary at `full` (beside it, whether or
/// not it exists).
pub fn lean_binary_of(full: &Path) -> Option<PathBuf> {
    let stem = full.file_stem()?.to_str()?;
    Some(full.with_file_name(format!(
        "{stem}{LEAN_SUFFIX}{}",
        std::env::consts::EXE_SUFFIX
    )))
}

/// The full binary the lean token binary at `lean` hands calls to: beside it, its name
/// without `-token`.
pub fn full_binary_of(lean: &Path) -> Option<PathBuf> {
    let stem = lean.file_stem()?.to_str()?;
    let full = stem.strip_suffix(LEAN_SUFFIX).filter(|s| !s.is_empty())?;
    Some(lean.with_file_name(format!("{full}{}", std::env::consts::EXE_SUFFIX)))
}

/// The platform families with different conventions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Os {
    Linux,
    Mac,
    Windows,
}

impl Os {
    fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::Mac
        } else if cfg!(windows) {
            Self::Windows
        } else {
            Self::Linux
        }
    }
}

/// Resolves the paths for `os` from an environment lookup (a function so tests can feed
/// any environment without touching the process's).
pub(crate) fn resolve(os: Os, env: impl Fn(&str) -> Option<OsString>) -> Result<Paths, NoHomeDir> {
    // An empty variable counts as unset, as shells often export `VAR=`.
    let var = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    // The XDG Base Directory spec ignores relative values.
    let xdg = |name: &str| var(name).filter(|p| p.is_absolute());
    let home = || var("HOME").ok_or(NoHomeDir("HOME"));

    let config_override = var("LLMAUTH_CONFIG");
    let state_override = var("LLMAUTH_STATE_DIR");

    let (config_file, state_dir, runtime_dir) = match os {
        Os::Linux => {
            let config_file = match config_override {
                Some(path) => path,
                None => xdg("XDG_CONFIG_HOME")
                    .map_or_else(|| home().map(|h| h.join(".config")), Ok)?
                    .join("llmauth")
                    .join("config.yaml"),
            };
            let state_dir = match state_override {
                Some(path) => path,
                None => xdg("XDG_STATE_HOME")
                    .map_or_else(|| home().map(|h| h.join(".local").join("state")), Ok)?
                    .join("llmauth"),
            };
            let runtime_dir =
                xdg("XDG_RUNTIME_DIR").map_or_else(|| state_dir.clone(), |dir| dir.join("llmauth"));
            (config_file, state_dir, runtime_dir)
        }
        Os::Mac => {
            let app_support = || {
                home().map(|h| {
                    h.join("Library")
                        .join("Application Support")
                        .join("llmauth")
                })
            };
            let config_file = match config_override {
                Some(path) => path,
                None => app_support()?.join("config.yaml"),
            };
            let state_dir = match state_override {
                Some(path) => path,
                None => app_support()?.join("state"),
            };
            (config_file, state_dir.clone(), state_dir)
        }
        Os::Windows => {
            let config_file = match config_override {
                Some(path) => path,
                None => var("APPDATA")
                    .ok_or(NoHomeDir("APPDATA"))?
                    .join("llmauth")
                    .join("config.yaml"),
            };
            let state_dir = match state_override {
                Some(path) => path,
                None => var("LOCALAPPDATA")
                    .ok_or(NoHomeDir("LOCALAPPDATA"))?
                    .join("llmauth"),
            };
            (config_file, state_dir.clone(), state_dir)
        }
    };
    Ok(Paths {
        config_file,
        state_dir,
        runtime_dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn linux_defaults_follow_xdg_fallbacks() {
        let paths = resolve(Os::Linux, env_of(&[("HOME", "/home/u")])).unwrap();
        assert_eq!(
            paths.config_file,
            PathBuf::from("/home/u/.config/llmauth/config.yaml")
        );
        assert_eq!(
            paths.state_dir,
            PathBuf::from("/home/u/.local/state/llmauth")
        );
        // No XDG_RUNTIME_DIR: the access cache lives in the state dir.
        assert_eq!(paths.runtime_dir, paths.state_dir);
    }

    #[test]
    fn linux_xdg_variables_and_overrides() {
        let paths = resolve(
            Os::Linux,
            env_of(&[
                ("HOME", "/home/u"),
                ("XDG_CONFIG_HOME", "/cfg"),
                ("XDG_STATE_HOME", "/st"),
                ("XDG_RUNTIME_DIR", "/run/user/1000"),
            ]),
        )
        .unwrap();
        assert_eq!(paths.config_file, PathBuf::from("/cfg/llmauth/config.yaml"));
        assert_eq!(paths.state_dir, PathBuf::from("/st/llmauth"));
        assert_eq!(paths.runtime_dir, PathBuf::from("/run/user/1000/llmauth"));

        let paths = resolve(
            Os::Linux,
            env_of(&[
                ("XDG_STATE_HOME", "relative/ignored"),
                ("XDG_CONFIG_HOME", ""),
                ("LLMAUTH_CONFIG", "/x/c.yaml"),
                ("LLMAUTH_STATE_DIR", "/x/state"),
            ]),
        )
        .unwrap();
        assert_eq!(paths.config_file, PathBuf::from("/x/c.yaml"));
        assert_eq!(paths.state_dir, PathBuf::from("/x/state"));
        assert_eq!(paths.runtime_dir, PathBuf::from("/x/state"));
    }

    #[test]
    fn missing_home_is_an_error_only_when_needed() {
        assert_eq!(resolve(Os::Linux, env_of(&[])), Err(NoHomeDir("HOME")));
        assert!(
            resolve(
                Os::Linux,
                env_of(&[("LLMAUTH_CONFIG", "/c"), ("LLMAUTH_STATE_DIR", "/s")])
            )
            .is_ok()
        );
    }

    #[test]
    fn macos_and_windows_tables() {
        let mac = resolve(Os::Mac, env_of(&[("HOME", "/Users/u")])).unwrap();
        assert_eq!(
            mac.config_file,
            PathBuf::from("/Users/u/Library/Application Support/llmauth/config.yaml")
        );
        assert_eq!(
            mac.state_dir,
            PathBuf::from("/Users/u/Library/Application Support/llmauth/state")
        );
        assert_eq!(mac.runtime_dir, mac.state_dir);

        let win = resolve(
            Os::Windows,
            env_of(&[
                ("APPDATA", "/AppData/Roaming"),
                ("LOCALAPPDATA", "/AppData/Local"),
            ]),
        )
        .unwrap();
        assert_eq!(
            win.config_file,
            PathBuf::from("/AppData/Roaming/llmauth/config.yaml")
        );
        assert_eq!(win.state_dir, PathBuf::from("/AppData/Local/llmauth"));
        assert_eq!(win.runtime_dir, win.state_dir);
    }

    #[test]
    fn slot_and_lock_files() {
        let paths = Paths::new("/c.yaml", "/state", "/run/llmauth");
        let key = SessionKey::derive("https://gw", "https://idp", "cid", "");
        let k = key.as_str();
        assert_eq!(
            paths.slot_file(&Slot::SessionFile(key.clone())),
            Some(PathBuf::from(format!("/state/sessions/{k}.json")))
        );
        assert_eq!(
            paths.slot_file(&Slot::AccessCache(key.clone())),
            Some(PathBuf::from(format!("/run/llmauth/{k}.at")))
        );
        assert_eq!(
            paths.slot_file(&Slot::Discovery("abcd".into())),
            Some(PathBuf::from("/state/discovery/abcd.json"))
        );
        assert_eq!(
            paths.slot_file(&Slot::LoginMarker(key.clone())),
            Some(PathBuf::from(format!("/state/locks/{k}.login")))
        );
        assert_eq!(
            paths.slot_file(&Slot::SignInCooldown(key.clone())),
            Some(PathBuf::from(format!("/state/locks/{k}.cooldown")))
        );
        assert_eq!(paths.slot_file(&Slot::Keychain(key.clone())), None);
        assert_eq!(
            paths.lock_file(&LockName::Session(key.clone())),
            PathBuf::from(format!("/state/locks/{k}.lock"))
        );
        assert_eq!(
            paths.named_lock_file("config"),
            PathBuf::from("/state/locks/config.lock")
        );
        assert_eq!(paths.backend_file(), PathBuf::from("/state/backend"));
        assert_eq!(
            paths.last_error_file(&key),
            PathBuf::from(format!("/state/last-error/{k}.json"))
        );
        assert_eq!(
            paths.keychain_corrupt_file(&key, 17),
            PathBuf::from(format!("/state/sessions/{k}.keychain.corrupt-17"))
        );
    }

    #[test]
    fn the_lean_binary_is_named_after_the_full_one() {
        let exe = std::env::consts::EXE_SUFFIX;
        let full = Path::new("/opt/bin").join(format!("llmauth{exe}"));
        let lean = lean_binary_of(&full).unwrap();
        assert_eq!(
            lean,
            Path::new("/opt/bin").join(format!("llmauth-token{exe}"))
        );
        assert_eq!(full_binary_of(&lean), Some(full));
        let test_build = Path::new("/t").join(format!("llmauth-under-test-token{exe}"));
        assert_eq!(
            full_binary_of(&test_build),
            Some(Path::new("/t").join(format!("llmauth-under-test{exe}")))
        );
        assert_eq!(full_binary_of(Path::new("/t/other")), None);
        assert_eq!(full_binary_of(Path::new("/t/-token")), None);
    }
}
