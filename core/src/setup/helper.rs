//! The commands tools run to get a token — `llmauth-token`, or `llmauth token` where the
//! lean binary is not installed — as a shell command line (Claude Code), as a program and
//! arguments (Codex), and as a small shim script (Claude Desktop).

use super::tool::Platform;

/// How to invoke this llmauth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Helper {
    /// The absolute path of the running llmauth binary.
    pub program: String,
    /// Whether `llmauth` found on PATH is this same binary, so the bare name works (and
    /// keeps working after an upgrade that moves the binary).
    pub on_path: bool,
    /// The config file to pass with `--config`, when it is not the default one (a tool
    /// runs the helper without our environment, so it would read the default).
    pub config: Option<String>,
    /// The absolute path of `llmauth-token` beside [`program`](Self::program), when it
    /// is installed there: tools run it instead of `llmauth token`, since it answers from
    /// the stored token without loading the rest of llmauth (and runs `llmauth token`
    /// itself for everything else).
    pub lean: Option<String>,
}

impl Helper {
    /// The program a tool runs for a token: `llmauth-token` when installed, else llmauth.
    pub fn token_program(&self) -> &str {
        self.lean.as_deref().unwrap_or(&self.program)
    }

    /// The arguments after [`token_program`](Self::token_program) for a token call:
    /// `token` for llmauth itself, `extra`, and `--config` when needed.
    pub fn token_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args = Vec::new();
        if self.lean.is_none() {
            args.push("token".to_owned());
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        if let Some(config) = &self.config {
            args.push("--config".to_owned());
            args.push(config.clone());
        }
        args
    }

    /// Whether a token call names the binary by its absolute path (always, except `llmauth
    /// token` when `llmauth` on PATH is this binary).
    pub fn names_a_path(&self) -> bool {
        self.lean.is_some() || !self.on_path
    }

    /// A command line for a tool that runs it through the shell (`/bin/sh`, `cmd.exe` on
    /// Windows): the quoted absolute path of `llmauth-token`; without it, `llmauth token`,
    /// or the quoted absolute path when `llmauth` on PATH is not this binary.
    pub fn shell_command(&self, platform: Platform) -> String {
        let program = if self.names_a_path() {
            quote(self.token_program(), platform)
        } else {
            "llmauth".to_owned()
        };
        command_line(program, &self.token_args(&[]), platform)
    }

    /// The credential-helper shim for Claude Desktop: runs the token program, letting it
    /// log in only when Claude Desktop says a person is waiting (`CLAUDE_HELPER_CONTEXT=
    /// interactive`); every other context (background refresh, scheduled task) must not
    /// prompt.
    pub fn shim(&self, platform: Platform) -> String {
        let line = |extra: &[&str]| {
            command_line(
                quote(self.token_program(), platform),
                &self.token_args(extra),
                platform,
            )
        };
        let interactive = line(&[]);
        let background = line(&["--non-interactive"]);
        match platform {
            Platform::Linux | Platform::Mac => {
                format!(
                    "#!/bin/sh\n# Written by `llmauth setup` for Claude Desktop; removed by `llmauth teardown`.\nif [ \"${{CLAUDE_HELPER_CONTEXT:-}}\" = interactive ]; then\n  exec {interactive}\nfi\nexec {background}\n"
                )
            }
            Platform::Windows => {
                format!(
                    "@echo off\r\nrem Written by `llmauth setup` for Claude Desktop; removed by `llmauth teardown`.\r\nif \"%CLAUDE_HELPER_CONTEXT%\"==\"interactive\" (\r\n  {interactive}\r\n) else (\r\n  {background}\r\n)\r\nexit /b %ERRORLEVEL%\r\n"
                )
            }
        }
    }
}

/// `program` (already quoted) followed by `args`, each quoted for the platform's shell.
fn command_line(program: String, args: &[String], platform: Platform) -> String {
    let mut line = program;
    for arg in args {
        line.push(' ');
        line.push_str(&quote(arg, platform));
    }
    line
}

/// Quotes one word for the platform's shell; words made only of safe characters are left
/// as they are, so the common case reads naturally.
pub fn quote(word: &str, platform: Platform) -> String {
    let safe = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || "_@%+=:,./-".contains(c)
                || (c == '\\' && platform == Platform::Windows)
        })
        && !(platform == Platform::Windows && word.contains('%'));
    if safe {
        return word.to_owned();
    }
    match platform {
        Platform::Linux | Platform::Mac => format!("'{}'", word.replace('\'', "'\\''")),
        // cmd.exe: double quotes protect spaces and & | < > ^; `"` cannot appear in
        // Windows paths.
        Platform::Windows => format!("\"{word}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(program: &str, on_path: bool, config: Option<&str>) -> Helper {
        Helper {
            program: program.into(),
            on_path,
            config: config.map(str::to_owned),
            lean: None,
        }
    }

    fn lean(program: &str, lean: &str, config: Option<&str>) -> Helper {
        Helper {
            lean: Some(lean.into()),
            ..helper(program, true, config)
        }
    }

    #[test]
    fn shell_commands() {
        assert_eq!(
            helper("/usr/bin/llmauth", true, None).shell_command(Platform::Linux),
            "llmauth token"
        );
        assert_eq!(
            helper("/opt/my tools/llmauth", false, Some("/c/it's.yaml"))
                .shell_command(Platform::Linux),
            "'/opt/my tools/llmauth' token --config '/c/it'\\''s.yaml'"
        );
        assert_eq!(
            helper("C:\\Program Files\\llmauth.exe", false, None).shell_command(Platform::Windows),
            "\"C:\\Program Files\\llmauth.exe\" token"
        );
    }

    #[test]
    fn the_lean_binary_is_named_by_its_path_without_token() {
        let wired = lean("/usr/bin/llmauth", "/usr/bin/llmauth-token", None);
        assert_eq!(
            wired.shell_command(Platform::Linux),
            "/usr/bin/llmauth-token"
        );
        assert_eq!(wired.token_program(), "/usr/bin/llmauth-token");
        assert!(wired.names_a_path());
        let with_config = lean("/o t/llmauth", "/o t/llmauth-token", Some("/c.yaml"));
        assert_eq!(
            with_config.shell_command(Platform::Linux),
            "'/o t/llmauth-token' --config /c.yaml"
        );
        assert_eq!(
            with_config.token_args(&["--non-interactive"]),
            ["--non-interactive", "--config", "/c.yaml"]
        );
        let shim = with_config.shim(Platform::Linux);
        assert!(
            shim.ends_with("exec '/o t/llmauth-token' --non-interactive --config /c.yaml\n"),
            "{shim}"
        );
    }

    #[test]
    fn token_args_carry_the_config() {
        assert_eq!(
            helper("/x", false, Some("/c.yaml")).token_args(&["--non-interactive"]),
            ["token", "--non-interactive", "--config", "/c.yaml"]
        );
    }

    #[test]
    fn shim_is_non_interactive_unless_asked() {
        let shim = helper("/opt/llm auth", false, None).shim(Platform::Mac);
        assert!(shim.starts_with("#!/bin/sh\n"));
        assert!(
            shim.contains("then\n  exec '/opt/llm auth' token\nfi\n"),
            "{shim}"
        );
        assert!(
            shim.ends_with("exec '/opt/llm auth' token --non-interactive\n"),
            "{shim}"
        );
        let cmd = helper("C:\\l.exe", false, None).shim(Platform::Windows);
        assert!(cmd.contains("C:\\l.exe token --non-interactive"), "{cmd}");
    }
}
