//! Gemini CLI's two variables in the user's shell (`setup --shell-env`): Gemini CLI reads
//! `~/.gemini/.env` only in folders it trusts, but takes `GEMINI_API_KEY` and
//! `GOOGLE_GEMINI_BASE_URL` from its environment everywhere, so a shell that sets them
//! makes the wiring work in folders the user declined to trust. llmauth never turns
//! folder trust off and never adds trusted folders.
//!
//! Which shells: each of bash, zsh and fish whose start-up file (fish: its configuration
//! directory) exists, and the login shell (`$SHELL`) even when its file does not exist
//! yet. What is written:
//!
//! * `$STATE/gemini-cli.env` (0600): the two `export` lines — the local key stays in a
//!   file only the user can read, however readable their `.bashrc` is;
//! * `~/.bashrc` and `${ZDOTDIR:-~}/.zshrc`: a marked block that sources that file;
//! * `~/.config/fish/conf.d/llmauth.fish` (0600, `$XDG_CONFIG_HOME` honoured): fish's
//!   own `set -gx` lines, a file of ours.
//!
//! Every one of them is in Gemini CLI's receipt, so teardown removes exactly what was
//! added. Once written, later setups keep them up to date (with a new port or key) until
//! teardown. Not on Windows, whose shells have no such start-up files.

use std::path::{Path, PathBuf};

use super::edit::Edit;
use super::helper::quote;
use super::plan::FileSpec;
use super::receipt::{Format, Receipt};
use super::tool::{Environment, Platform};

/// The shells `--shell-env` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shell {
    /// bash: `~/.bashrc` (interactive shells).
    Bash,
    /// zsh: `${ZDOTDIR:-~}/.zshrc`.
    Zsh,
    /// fish: `~/.config/fish/conf.d/llmauth.fish`.
    Fish,
}

/// The variables' file the bash and zsh blocks source, in the state directory.
pub const ENV_FILE_NAME: &str = "gemini-cli.env";

const WRITTEN_BY: &str =
    "# Written by `llmauth setup --shell-env` for Gemini CLI; removed by `llmauth teardown`.";

impl Shell {
    /// Every shell, in the order files are written.
    pub const ALL: [Self; 3] = [Self::Bash, Self::Zsh, Self::Fish];

    /// The shell's name (as `$SHELL` ends).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bash => "bash",
            Self::Zsh => "zsh",
            Self::Fish => "fish",
        }
    }

    /// The file setup writes to.
    pub fn startup_file(self, env: &Environment) -> PathBuf {
        match self {
            Self::Bash => env.home.join(".bashrc"),
            Self::Zsh => env.zdotdir.as_ref().unwrap_or(&env.home).join(".zshrc"),
            Self::Fish => fish_dir(env).join("conf.d").join("llmauth.fish"),
        }
    }

    /// What shows the shell is in use here (the runtime checks whether it exists): its
    /// start-up file, or fish's configuration directory.
    pub fn sign(self, env: &Environment) -> PathBuf {
        match self {
            Self::Bash | Self::Zsh => self.startup_file(env),
            Self::Fish => fish_dir(env),
        }
    }
}

/// fish's configuration directory: `$XDG_CONFIG_HOME/fish`, else `~/.config/fish` (on
/// macOS too).
fn fish_dir(env: &Environment) -> PathBuf {
    env.xdg_config_home
        .clone()
        .unwrap_or_else(|| env.home.join(".config"))
        .join("fish")
}

/// The shells to write to: those in use here (`in_use`: the runtime found their
/// [`Shell::sign`]) and the login shell. None on Windows.
pub fn targets(env: &Environment, in_use: &[Shell]) -> Vec<Shell> {
    if env.platform == Platform::Windows {
        return Vec::new();
    }
    let login = env
        .login_shell
        .as_deref()
        .and_then(|shell| Path::new(shell).file_name()?.to_str());
    Shell::ALL
        .into_iter()
        .filter(|shell| in_use.contains(shell) || login == Some(shell.name()))
        .collect()
}

/// Whether an earlier `--shell-env` left files in Gemini CLI's receipt (`prior`): then
/// this run keeps them up to date.
pub fn in_receipt(prior: Option<&Receipt>, env: &Environment, env_file: &Path) -> bool {
    let ours: Vec<String> = Shell::ALL
        .iter()
        .map(|shell| shell.startup_file(env))
        .chain([env_file.to_path_buf()])
        .map(|path| path.display().to_string())
        .collect();
    prior.is_some_and(|receipt| receipt.files.iter().any(|file| ours.contains(&file.path)))
}

/// The files for `shells`, giving Gemini CLI `key` and the proxy at `origin`;
/// `env_file` is the variables' file the bash and zsh blocks source.
pub fn files(
    shells: &[Shell],
    env: &Environment,
    env_file: &Path,
    key: &str,
    origin: &str,
) -> Vec<FileSpec> {
    let posix = |word: &str| quote(word, Platform::Linux);
    let sourcing: Vec<Shell> = shells
        .iter()
        .copied()
        .filter(|shell| *shell != Shell::Fish)
        .collect();
    let mut specs = Vec::new();
    if !sourcing.is_empty() {
        specs.push(FileSpec {
            path: env_file.to_path_buf(),
            format: Format::Whole,
            edits: vec![Edit::Whole {
                content: format!(
                    "{WRITTEN_BY}\nexport GEMINI_API_KEY={}\nexport GOOGLE_GEMINI_BASE_URL={}\n",
                    posix(key),
                    posix(origin)
                ),
            }],
            new_file_mode: 0o600,
            secret: true,
        });
    }
    let file = posix(&env_file.display().to_string());
    let block = format!(
        "# >>> llmauth: Gemini CLI's variables (added by `llmauth setup --shell-env`; `llmauth teardown` removes this block) >>>\nif [ -r {file} ]; then . {file}; fi\n# <<< llmauth <<<\n"
    );
    for shell in sourcing {
        specs.push(FileSpec {
            path: shell.startup_file(env),
            format: Format::Block,
            edits: vec![Edit::Block {
                content: block.clone(),
            }],
            new_file_mode: 0o644,
            secret: false,
        });
    }
    if shells.contains(&Shell::Fish) {
        specs.push(FileSpec {
            path: Shell::Fish.startup_file(env),
            format: Format::Whole,
            edits: vec![Edit::Whole {
                content: format!(
                    "{WRITTEN_BY}\nset -gx GEMINI_API_KEY {}\nset -gx GOOGLE_GEMINI_BASE_URL {}\n",
                    posix(key),
                    posix(origin)
                ),
            }],
            new_file_mode: 0o600,
            secret: true,
        });
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::setup::environment;

    #[test]
    fn the_shells_in_use_and_the_login_shell() {
        let mut env = environment(Platform::Linux);
        env.login_shell = Some("/usr/bin/zsh".into());
        assert_eq!(targets(&env, &[]), [Shell::Zsh]);
        assert_eq!(
            targets(&env, &[Shell::Fish, Shell::Bash]),
            [Shell::Bash, Shell::Zsh, Shell::Fish]
        );
        env.login_shell = None;
        assert!(targets(&env, &[]).is_empty());
        let windows = environment(Platform::Windows);
        assert!(targets(&windows, &Shell::ALL).is_empty());
    }

    #[test]
    fn where_each_shell_reads_its_start_up() {
        let mut env = environment(Platform::Linux);
        assert_eq!(Shell::Bash.startup_file(&env), PathBuf::from("/h/.bashrc"));
        assert_eq!(Shell::Zsh.startup_file(&env), PathBuf::from("/h/.zshrc"));
        assert_eq!(
            Shell::Fish.startup_file(&env),
            PathBuf::from("/h/.config/fish/conf.d/llmauth.fish")
        );
        assert_eq!(Shell::Fish.sign(&env), PathBuf::from("/h/.config/fish"));
        env.zdotdir = Some("/z".into());
        env.xdg_config_home = Some("/x".into());
        assert_eq!(Shell::Zsh.startup_file(&env), PathBuf::from("/z/.zshrc"));
        assert_eq!(
            Shell::Fish.startup_file(&env),
            PathBuf::from("/x/fish/conf.d/llmauth.fish")
        );
        let mac = environment(Platform::Mac);
        assert_eq!(
            Shell::Fish.startup_file(&mac),
            PathBuf::from("/h/.config/fish/conf.d/llmauth.fish"),
            "fish reads ~/.config on macOS too"
        );
    }

    #[test]
    fn the_key_stays_in_private_files() {
        let env = environment(Platform::Linux);
        let specs = files(
            &Shell::ALL,
            &env,
            Path::new("/s/gemini-cli.env"),
            "k3y",
            "http://localhost:14000",
        );
        let paths: Vec<String> = specs.iter().map(|s| s.path.display().to_string()).collect();
        assert_eq!(
            paths,
            [
                "/s/gemini-cli.env",
                "/h/.bashrc",
                "/h/.zshrc",
                "/h/.config/fish/conf.d/llmauth.fish"
            ]
        );
        for spec in &specs {
            let text = match &spec.edits[..] {
                [Edit::Whole { content } | Edit::Block { content }] => content,
                other => panic!("{other:?}"),
            };
            let holds_key = text.contains("k3y");
            assert_eq!(
                holds_key,
                spec.new_file_mode == 0o600,
                "{}",
                spec.path.display()
            );
        }
        let [Edit::Block { content }] = &specs[1].edits[..] else {
            panic!();
        };
        assert!(content.contains("if [ -r /s/gemini-cli.env ]; then . /s/gemini-cli.env; fi\n"));
        assert!(files(&[Shell::Fish], &env, Path::new("/s/e"), "k", "o").len() == 1);
    }
}
