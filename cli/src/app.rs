//! What every command needs: where files are, the configuration, the session backend,
//! and a flow wired to the blocking runtime.

use std::fs::Metadata;
use std::io::{ErrorKind, IsTerminal, Read as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use llmauth_blocking::{FlowSetup, IoOptions, Paths, drive, now, resolve_backend};
use llmauth_core::config::{Config, ConfigDocument, MAX_CONFIG_BYTES, SecretsBackend};
use llmauth_core::flow::{
    DesktopFacts, FlowSettings, Goal, Interaction, LoggedOut, LogoutGoal, TerminalFacts,
};
use llmauth_core::setup::tool::Platform;
use llmauth_core::store::{Backend, SessionKey};
use llmauth_core::time::UnixTime;
use llmauth_core::token::Credential;

use crate::failure::{Exit, Failure};

/// How long a logout waits for another process's refresh or login to finish.
const LOGOUT_BUDGET: Duration = Duration::from_secs(30);

/// Resolved locations for this invocation.
pub(crate) struct App {
    /// Config, state and runtime directories.
    pub(crate) paths: Paths,
    /// `-v` count (or `LLMAUTH_LOG=debug`): trace every intent and result on stderr.
    pub(crate) verbose: u8,
}

/// Whether `LLMAUTH_LOG` asks for the `-v` trace (`debug` or `trace`; other levels are
/// what the default output already says).
pub(crate) fn log_requested() -> bool {
    std::env::var("LLMAUTH_LOG").is_ok_and(|level| matches!(level.as_str(), "debug" | "trace"))
}

impl App {
    /// Resolves the platform paths, with `--config` taking precedence.
    pub(crate) fn new(config: Option<PathBuf>, verbose: u8) -> Result<Self, Failure> {
        let mut paths =
            Paths::from_env().map_err(|e| Failure::new(Exit::Usage, e.to_string(), None))?;
        if let Some(config) = config {
            paths.config_file = config;
        }
        let verbose = verbose.max(u8::from(log_requested()));
        if verbose > 0 {
            eprintln!(
                "debug: config {}, state {}, runtime {}",
                paths.config_file.display(),
                paths.state_dir.display(),
                paths.runtime_dir.display()
            );
        }
        Ok(Self { paths, verbose })
    }

    /// The config file's path.
    pub(crate) fn config_path(&self) -> &Path {
        &self.paths.config_file
    }

    /// Reads and parses the config file; a missing file is an empty configuration. At
    /// most one byte more than core accepts is read.
    pub(crate) fn read_config(&self) -> Result<ConfigDocument, Failure> {
        self.read_config_file().map(|(document, _)| document)
    }

    /// [`read_config`](Self::read_config), with what `stat` said about the file read
    /// (`None` when there is none).
    fn read_config_file(&self) -> Result<(ConfigDocument, Option<Metadata>), Failure> {
        let path = self.config_path();
        let limit = u64::try_from(MAX_CONFIG_BYTES)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let mut bytes = Vec::new();
        let read = std::fs::File::open(path).and_then(|file| {
            let metadata = file.metadata()?;
            file.take(limit).read_to_end(&mut bytes)?;
            Ok(metadata)
        });
        let metadata = match read {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Ok((ConfigDocument::new(), None));
            }
            Err(error) => {
                return Err(Failure::new(
                    Exit::Usage,
                    format!("cannot read {}: {error}", path.display()),
                    None,
                ));
            }
        };
        let document =
            ConfigDocument::parse_bytes(&bytes).map_err(|e| Failure::config(path, &e))?;
        Ok((document, Some(metadata)))
    }

    /// The validated configuration.
    ///
    /// The CA file is checked by `config set` and `status`, not here: the cached-token
    /// fast path needs no trust roots, and the HTTP client reports a CA file that went
    /// missing when it is actually needed.
    pub(crate) fn config(&self) -> Result<Config, Failure> {
        self.read_config()?
            .validate()
            .map_err(|e| Failure::config(self.config_path(), &e))
    }

    /// [`config`](Self::config), keeping the configuration snapshot `llmauth-token`
    /// answers from in step with the file just read (best effort: without it, every call
    /// comes here).
    pub(crate) fn config_for_token(&self) -> Result<Config, Failure> {
        let (document, metadata) = self.read_config_file()?;
        let config = document
            .validate()
            .map_err(|e| Failure::config(self.config_path(), &e))?;
        if let Some(metadata) = metadata {
            self.keep_snapshot(&config, &metadata);
        }
        Ok(config)
    }

    /// Writes the snapshot `llmauth-token` answers from for `config`, read from the file
    /// `metadata` describes. Best effort: without it `llmauth-token` hands every call
    /// here, which `-v` says.
    pub(crate) fn keep_snapshot(&self, config: &Config, metadata: &Metadata) {
        if let Err(e) = llmauth_blocking::snapshot::keep(&self.paths, config, metadata)
            && self.verbose > 0
        {
            eprintln!("debug: configuration snapshot not kept: {e}");
        }
    }

    /// The session backend, printing the one-time notice when `auto` falls back to a file.
    pub(crate) fn backend(&self, config: &Config) -> Backend {
        self.backend_of(config.secrets_backend)
    }

    /// The backend for `llm.secrets.backend`, printing the one-time notice when `auto`
    /// falls back to a file.
    pub(crate) fn backend_of(&self, secrets_backend: SecretsBackend) -> Backend {
        let (backend, notice) = resolve_backend(&self.paths, secrets_backend.named());
        if let Some(notice) = notice {
            eprintln!("{notice}");
        }
        backend
    }

    /// What flows for this configuration need, signing in as `interaction` allows.
    pub(crate) fn flow_setup(&self, config: &Config, interaction: Interaction) -> FlowSetup {
        FlowSetup {
            settings: FlowSettings::from(config),
            backend: self.backend(config),
            interaction,
            paths: self.paths.clone(),
            io_options: IoOptions {
                ca_file: config.ca_file.as_ref().map(PathBuf::from),
            },
        }
    }

    /// Runs a flow for `goal` to its outcome.
    pub(crate) fn run_flow<G: Goal>(
        &self,
        config: &Config,
        goal: G,
        interaction: Interaction,
        budget: Option<Duration>,
    ) -> Result<G::Outcome, Failure> {
        self.drive(&self.flow_setup(config, interaction), goal, budget)
    }

    /// Runs a flow for `goal`, assembled from `setup`, to its outcome.
    pub(crate) fn drive<G: Goal>(
        &self,
        setup: &FlowSetup,
        goal: G,
        budget: Option<Duration>,
    ) -> Result<G::Outcome, Failure> {
        let (flow, mut io) = setup.start(goal, true, budget)?;
        if self.verbose > 0 {
            eprintln!(
                "debug: session {} in the {} backend",
                flow.session_key(),
                setup.backend.name()
            );
            io = io.with_trace(|event| eprintln!("debug: {event:?}"));
        }
        Ok(drive(flow, &mut io)?)
    }

    /// Deletes the stored session under the session lock, revoking the refresh token at
    /// the IdP first when asked.
    pub(crate) fn logout(&self, config: &Config, revoke: bool) -> Result<LoggedOut, Failure> {
        self.run_flow(
            config,
            LogoutGoal { revoke },
            Interaction::NONE,
            Some(LOGOUT_BUDGET),
        )
    }

    /// The current time.
    pub(crate) fn now(&self) -> UnixTime {
        now()
    }

    /// After a call got `credential` for `key`'s session: when it came from the IdP (a
    /// refresh or a sign-in, never the cached fast path), the session's last failure is
    /// no longer news, and the tools' helper TTLs follow the token's lifetime. Both are
    /// best effort: the token was obtained either way.
    pub(crate) fn after_new_token(&self, key: &SessionKey, credential: &Credential) {
        if !credential.newly_issued {
            return;
        }
        let _ = llmauth_blocking::last_error::clear(&self.paths, key);
        let retuned =
            llmauth_blocking::tools::retune::follow_lifetime(&self.paths, credential.lifetime);
        if self.verbose > 0 {
            for tool in retuned {
                match tool.outcome {
                    Ok(interval) => eprintln!(
                        "debug: {}: helper TTL now {}s, to fit the token's lifetime",
                        tool.tool,
                        interval.as_secs()
                    ),
                    Err(error) => {
                        eprintln!("debug: {}: helper TTL not updated: {error}", tool.tool)
                    }
                }
            }
        }
    }
}

/// What this process's terminal and desktop allow, for a command that may log in (the
/// facts only: core decides).
pub(crate) fn interaction(non_interactive_flag: bool, skip_browser: bool) -> Interaction {
    let env = |name: &str| std::env::var(name).ok();
    let non_interactive_env = env("LLMAUTH_NON_INTERACTIVE");
    let claude_helper_context = env("CLAUDE_HELPER_CONTEXT");
    let display = env("DISPLAY");
    let wayland_display = env("WAYLAND_DISPLAY");
    let windows_session = env("SESSIONNAME");
    let platform = if cfg!(target_os = "macos") {
        Platform::Mac
    } else if cfg!(windows) {
        Platform::Windows
    } else {
        Platform::Linux
    };
    Interaction::decide(&TerminalFacts {
        non_interactive_flag,
        non_interactive_env: non_interactive_env.as_deref(),
        claude_helper_context: claude_helper_context.as_deref(),
        stdin_terminal: std::io::stdin().is_terminal(),
        stderr_terminal: std::io::stderr().is_terminal(),
        skip_browser,
        desktop: DesktopFacts {
            platform: Some(platform),
            display: display.as_deref(),
            wayland_display: wayland_display.as_deref(),
            ssh: ["SSH_CONNECTION", "SSH_TTY"]
                .iter()
                .any(|name| std::env::var_os(name).is_some()),
            windows_session: windows_session.as_deref(),
        },
    })
}

/// For `login`: always interactive, whatever the terminals say (the URL is printed when
/// no browser opens).
pub(crate) fn login_interaction(skip_browser: bool) -> Interaction {
    Interaction {
        login: true,
        open_browser: !skip_browser,
        paste_back: std::io::stdin().is_terminal(),
        show_device_code: std::io::stderr().is_terminal(),
        browser_only: false,
    }
}
