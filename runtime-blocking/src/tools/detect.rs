//! Facts about this machine: the environment tools read their paths from, commands on
//! PATH, and which llmauth is running.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use llmauth_core::setup::tool::{Environment, Platform, Tool, detected, location};

use crate::paths::{Os, resolve};

/// The environment variables that place the tools' files.
pub fn environment() -> Option<Environment> {
    environment_from(current_platform(), |name| std::env::var_os(name))
}

fn current_platform() -> Platform {
    if cfg!(target_os = "macos") {
        Platform::Mac
    } else if cfg!(windows) {
        Platform::Windows
    } else {
        Platform::Linux
    }
}

fn environment_from(
    platform: Platform,
    var: impl Fn(&str) -> Option<OsString>,
) -> Option<Environment> {
    let path = |name: &str| {
        var(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let home = match platform {
        Platform::Windows => path("USERPROFILE").or_else(|| path("HOME")),
        Platform::Linux | Platform::Mac => path("HOME"),
    }?;
    Some(Environment {
        platform,
        home,
        xdg_config_home: path("XDG_CONFIG_HOME"),
        appdata: path("APPDATA"),
        local_appdata: path("LOCALAPPDATA"),
        claude_config_dir: path("CLAUDE_CONFIG_DIR"),
        codex_home: path("CODEX_HOME"),
        user: var(match platform {
            Platform::Windows => "USERNAME",
            Platform::Linux | Platform::Mac => "USER",
        })
        .and_then(|v| v.into_string().ok())
        .filter(|v| !v.is_empty()),
        login_shell: var("SHELL")
            .and_then(|v| v.into_string().ok())
            .filter(|v| !v.is_empty()),
        zdotdir: path("ZDOTDIR"),
    })
}

/// The first executable file named `name` on PATH (with `PATHEXT` on Windows).
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let extensions: Vec<String> = if cfg!(windows) {
        std::env::var("PATHEXT")
            .unwrap_or_else(|_| ".EXE;.CMD;.BAT;.COM".to_owned())
            .split(';')
            .map(str::to_owned)
            .chain([String::new()])
            .collect()
    } else {
        vec![String::new()]
    };
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .flat_map(|dir| {
            extensions
                .iter()
                .map(move |ext| dir.join(format!("{name}{ext}")))
        })
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Whether `tool` is installed: its configuration directory exists or one of its commands
/// is on PATH.
pub(super) fn installed(tool: Tool, env: &Environment) -> bool {
    let place = location(tool, env);
    let on_path = place.binaries.iter().any(|b| find_on_path(b).is_some());
    detected(place.config_dir.is_dir(), on_path)
}

/// The absolute path of the running llmauth, and whether `llmauth` on PATH is this same
/// file (so tools can run it by name).
///
/// # Errors
/// The OS error when the running binary cannot be located.
pub(super) fn running_binary() -> std::io::Result<(PathBuf, bool)> {
    let exe = std::env::current_exe()?;
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    let on_path = find_on_path("llmauth")
        .and_then(|p| std::fs::canonicalize(p).ok())
        .is_some_and(|p| p == exe);
    Ok((exe, on_path))
}

/// The lean `llmauth-token` installed beside the llmauth at `program`, if it is there.
pub(super) fn lean_binary(program: &Path) -> Option<PathBuf> {
    crate::paths::lean_binary_of(program).filter(|lean| is_executable(lean))
}

/// Where the config file is when neither `--config` nor `LLMAUTH_CONFIG` says otherwise.
pub(super) fn default_config_file() -> Option<PathBuf> {
    let os = match current_platform() {
        Platform::Linux => Os::Linux,
        Platform::Mac => Os::Mac,
        Platform::Windows => Os::Windows,
    };
    resolve(os, |name| {
        (name != "LLMAUTH_CONFIG")
            .then(|| std::env::var_os(name))
            .flatten()
    })
    .ok()
    .map(|paths| paths.config_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_needs_an_absolute_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        assert_eq!(environment_from(Platform::Linux, env(&[])), None);
        assert_eq!(
            environment_from(Platform::Linux, env(&[("HOME", "relative")])),
            None
        );
        let e = environment_from(
            Platform::Linux,
            env(&[
                ("HOME", "/h"),
                ("CLAUDE_CONFIG_DIR", "/c"),
                ("XDG_CONFIG_HOME", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(e.claude_config_dir, Some(PathBuf::from("/c")));
        assert_eq!(e.xdg_config_home, None);
        let w = environment_from(Platform::Windows, env(&[("USERPROFILE", "/u")])).unwrap();
        assert_eq!(w.home, PathBuf::from("/u"));
    }
}
