//! The command line (SPEC §2), parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use llmauth_core::config::parse_duration;
use llmauth_core::doctor::DEFAULT_PROBE_PATH;
use llmauth_core::provider::{AudienceVia, CallbackHost, OfflineVia, Preset, TokenKind};
use llmauth_core::setup::tool::Tool;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  unexpected failure (a bug or an unclassified error)
  2  usage or configuration error
  3  authentication required (no usable session and no interactive login allowed, or the IdP ended the session)
  4  the IdP, the network or the keychain failed transiently: retrying later may work
  5  another llmauth process held the session lock too long";

/// Connects AI coding tools to LLM gateways behind an OpenID Connect identity provider.
#[derive(Debug, Parser)]
#[command(name = "llmauth", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Options of every command.
    #[command(flatten)]
    pub globals: Globals,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Globals {
    /// Config file (default: the platform config dir, e.g. ~/.config/llmauth/config.yaml).
    #[arg(long, global = true, env = "LLMAUTH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Trace every step on stderr (also LLMAUTH_LOG=debug); never prints secrets.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `llmauth token …` alone: tools run it every few minutes, so it is parsed without
/// building the whole command tree (a third of the command's instructions otherwise).
/// Anything it does not accept — `--help`, a typo — goes to the full parser, which
/// answers exactly as for any other command.
#[derive(Debug, Parser)]
#[command(
    name = "llmauth token",
    no_binary_name = true,
    disable_help_flag = true,
    disable_version_flag = true
)]
pub struct TokenOnly {
    /// Options of every command.
    #[command(flatten)]
    pub globals: Globals,

    /// The token command's own options.
    #[command(flatten)]
    pub args: TokenArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show or change the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Sign in interactively and store the session.
    Login(LoginArgs),
    /// Print a fresh access token on stdout (for apiKeyHelper, auth.command, credential helpers).
    Token(TokenArgs),
    /// Delete the stored session (and revoke it at the IdP with --revoke).
    Logout(LogoutArgs),
    /// Show the configuration, the session, configured tools and the last helper failure
    /// (never secrets).
    Status(FormatArgs),
    /// Wire every detected AI tool (or one, with --client) to the gateway, logging in first.
    ///
    /// Config flags given here apply to this run and are saved only after the login and
    /// every change succeeded. Each changed file gets a receipt; `llmauth teardown` uses it
    /// to put back exactly what was there.
    Setup(Box<SetupArgs>),
    /// Undo what setup did to one tool, or to all of them.
    Teardown(TeardownArgs),
    /// Check everything between a tool and the gateway, one line per check with the fix.
    ///
    /// The configuration and provider preset, the IdP's discovery document, this
    /// machine's clock against the IdP's, TLS trust, the keychain, the session, the
    /// access token's claims, the gateway (an authenticated GET), each configured tool's
    /// helper run the way the tool runs it, and the proxy. Unlike `status`, doctor uses
    /// the network (each step briefly) and may refresh the access token; it never signs
    /// in. Exits with the code of the worst failure (warnings do not count).
    Doctor(DoctorArgs),
    /// The localhost proxy for tools that take only an API key and a base URL.
    #[command(subcommand)]
    Proxy(ProxyCommand),
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `llmauth proxy …`.
#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Run the proxy in the foreground (stops on Ctrl+C / SIGTERM, letting streams finish).
    Start(ProxyStartArgs),
    /// Print the local key proxy-mode tools must send as their API key.
    Key,
    /// Run the proxy as a per-user service: a systemd user unit (socket-activated), a
    /// launchd agent, or a Windows logon task.
    ///
    /// Where no service manager runs for the user (containers, some SSH hosts), the files
    /// are written and one line says how to start them.
    Install,
    /// Stop the service and remove exactly what `proxy install` wrote.
    Uninstall,
    /// Whether a proxy answers on the configured port: its pid, uptime, token expiry,
    /// requests served and last upstream error. Exit 0 when one answers, 4 when none does.
    Status(FormatArgs),
    /// Stop the running proxy, whether a service or a terminal started it (gracefully, as
    /// on SIGTERM).
    Stop,
}

/// `llmauth proxy start`.
#[derive(Debug, Args)]
pub struct ProxyStartArgs {
    /// Listen on this port instead of `proxy.listen_port` (default 14000).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Print the sign-in URL instead of opening a browser, if a login is needed.
    #[arg(long)]
    pub skip_browser: bool,
    /// Skip (or, with =false, keep) TLS verification of the gateway for this run only,
    /// whatever tls.skip_verify says; never the IdP.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_skip_verify: Option<bool>,
    /// The service manager that runs this proxy (written into the service's definition by
    /// `proxy install`).
    #[arg(long, value_name = "MANAGER", hide = true, value_parser = ["systemd", "launchd", "task-scheduler"])]
    pub managed_by: Option<String>,
}

/// `llmauth config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Change settings; only the given flags change.
    Set(Box<ConfigSetArgs>),
    /// Print the configuration.
    Show(FormatArgs),
    /// Revert the configured tools, then remove the configuration, the stored session,
    /// the proxy's local key and the last recorded failure.
    Reset {
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// `llmauth config set`: the settings, and the client secret (which only `config set`
/// stores).
#[derive(Debug, Args, Default)]
pub struct ConfigSetArgs {
    /// The settings.
    #[command(flatten)]
    pub settings: SetArgs,
    /// Read the OAuth client secret (Google's desktop clients need one) from one line of
    /// standard input and store it like the refresh token — in the OS keychain, or a 0600
    /// file in the state directory — never in config.yaml. An empty line removes it.
    #[arg(long)]
    pub client_secret_stdin: bool,
}

/// The settings `config set` and `setup` can change.
#[derive(Debug, Args, Default)]
pub struct SetArgs {
    /// The LLM gateway's base URL (https).
    #[arg(long, value_name = "URL")]
    pub gateway_url: Option<String>,
    /// The OpenID Provider's issuer URL, exactly as it appears in its discovery document.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// The public OAuth client id registered for llmauth.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The gateway's audience, requested as --audience-via says ("" to unset).
    #[arg(long, value_name = "A")]
    pub audience: Option<String>,
    /// The identity provider's preset; `auto` (the default) picks it from the issuer ("" to
    /// go back to auto).
    #[arg(long, value_name = "NAME", value_parser = spellings(&provider_names()))]
    pub provider: Option<String>,
    /// How the audience is requested: resource (RFC 8707), audience (Auth0), aud
    /// (PingFederate), scope (Entra, ZITADEL, Dex) or none ("" for the preset's).
    #[arg(long, value_name = "METHOD", value_parser = spellings(&names(AudienceVia::ALL, AudienceVia::as_str)))]
    pub audience_via: Option<String>,
    /// How a refresh token is asked for: scope (offline_access), access_type (Google) or
    /// none ("" for the preset's).
    #[arg(long, value_name = "METHOD", value_parser = spellings(&names(OfflineVia::ALL, OfflineVia::as_str)))]
    pub offline_via: Option<String>,
    /// The whole loopback redirect URI, exactly as registered at the IdP
    /// (http://127.0.0.1:<port>/<path> or http://localhost:<port>/<path>; "" to unset).
    #[arg(long, value_name = "URL")]
    pub redirect_url: Option<String>,
    /// The host of the redirect URI: 127.0.0.1 or localhost ("" for the preset's).
    #[arg(long, value_name = "HOST", value_parser = spellings(&names(CallbackHost::ALL, CallbackHost::as_str)))]
    pub callback_host: Option<String>,
    /// Re-send the requested scope on every refresh (Keycloak 26.7 needs it).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub resend_scope: Option<bool>,
    /// Which token `llmauth token` and the proxy hand out: access or id ("" for the
    /// preset's).
    #[arg(long, value_name = "KIND", value_parser = spellings(&names(TokenKind::ALL, TokenKind::as_str)))]
    pub token_kind: Option<String>,
    /// Entra ID `common`/`organizations` only: the tenant ids (GUIDs) whose accounts may
    /// sign in, comma-separated; any other tenant's sign-in is refused ("" for any tenant).
    #[arg(long, value_name = "GUID,GUID", value_delimiter = ',')]
    pub tenants: Option<Vec<String>>,
    /// Scopes to request, comma-separated (openid and offline_access are always added).
    #[arg(long, value_name = "S,S", value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// The `prompt` parameter ("consent" for IdPs that follow OIDC Core §11 strictly; "" for none).
    #[arg(long, value_name = "P")]
    pub prompt: Option<String>,
    /// An extra authorization parameter (repeatable; an empty value removes it).
    #[arg(long = "auth-param", value_name = "K=V", value_parser = parse_key_value)]
    pub auth_params: Vec<(String, String)>,
    /// Refresh the access token when this little validity is left (at most half its
    /// lifetime), e.g. 10m ("" for the default, 10m).
    #[arg(long, value_name = "DURATION")]
    pub refresh_window: Option<String>,
    /// The localhost proxy's port.
    #[arg(long, value_name = "N")]
    pub proxy_port: Option<u16>,
    /// Whether the proxy answers only requests carrying the local key (the default);
    /// =false lets any program on this machine use it with your identity.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub require_local_key: Option<bool>,
    /// The port of the sign-in redirect listener; it must match a redirect URI registered
    /// at the IdP (http://<callback host>:<port>/callback). 0 = any free port, for IdPs
    /// that allow any loopback port (RFC 8252 §7.3); the default is the preset's.
    #[arg(long, value_name = "N")]
    pub callback_port: Option<u16>,
    /// Extra trust roots (PEM) for the IdP and the gateway ("" to unset).
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<String>,
    /// Where the session is stored.
    #[arg(long, value_name = "BACKEND")]
    pub secrets_backend: Option<BackendArg>,
    /// Skip TLS verification for the gateway only (never the IdP); for local development.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_skip_verify: Option<bool>,
    /// Path prefix for Anthropic-style tools (e.g. /anthropic); "auto" probes the gateway,
    /// "" removes it.
    #[arg(long, value_name = "PREFIX")]
    pub anthropic_path_prefix: Option<String>,
    /// Model ids, comma-separated: Claude Desktop's model list, and Claude Code's
    /// haiku/sonnet/opus models with --bedrock-compat ("" removes them).
    #[arg(long, value_name = "ID,ID", value_delimiter = ',')]
    pub models: Option<Vec<String>>,
    /// The gateway fronts Amazon Bedrock: Claude Code gets Bedrock model ids for its tiers
    /// and sends no experimental beta headers.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub bedrock_compat: Option<bool>,
    /// With --bedrock-compat: the 1M-token context variants ([1m]) of the opus and sonnet models.
    #[arg(long = "enable-1m", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub enable_1m: Option<bool>,
}

/// The values a setting accepts, plus `""` (back to the default).
fn spellings(values: &[&'static str]) -> clap::builder::PossibleValuesParser {
    let mut all = values.to_vec();
    all.push("");
    clap::builder::PossibleValuesParser::new(all)
}

fn names<T: Copy>(all: &'static [T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|value| name(*value)).collect()
}

/// `auto` and the presets.
fn provider_names() -> Vec<&'static str> {
    let mut all = vec!["auto"];
    all.extend(names(Preset::ALL, Preset::as_str));
    all
}

/// The tools `setup --client` and `teardown` accept.
fn tool_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(Tool::ALL.map(Tool::name))
}

/// `llmauth setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Configure only this tool.
    #[arg(long, value_name = "NAME", value_parser = tool_names())]
    pub client: Option<String>,
    /// Do not log in now; the first token a tool asks for starts the sign-in.
    #[arg(long)]
    pub lazy: bool,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub skip_browser: bool,
    /// Do not install the proxy as a service for proxy-mode tools (run `llmauth proxy
    /// start` yourself).
    #[arg(long)]
    pub no_service: bool,
    /// Gemini CLI: also set its two variables in your shell's start-up file (bash, zsh,
    /// fish), so it works in folders you did not trust; kept by later setups, removed by
    /// teardown.
    #[arg(long)]
    pub shell_env: bool,
    /// Settings for this run, saved when setup succeeds (as with `config set`).
    #[command(flatten)]
    pub config: SetArgs,
}

/// `llmauth teardown`.
#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// The tool to revert (default: every configured tool).
    #[arg(value_name = "NAME", value_parser = tool_names())]
    pub name: Option<String>,
    /// The tool to revert (the same as NAME, as `setup --client` names it).
    #[arg(long, value_name = "NAME", value_parser = tool_names(), conflicts_with = "name")]
    pub client: Option<String>,
    /// Also delete the stored session (sign out).
    #[arg(long)]
    pub purge_tokens: bool,
}

impl TeardownArgs {
    /// The tool named, positionally or with `--client`.
    pub fn tool(&self) -> Option<&str> {
        self.name.as_deref().or(self.client.as_deref())
    }
}

/// `--secrets-backend`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    /// The OS keychain when it answers, else a file.
    Auto,
    /// The OS keychain.
    Keyring,
    /// A 0600 file in the state directory.
    File,
}

/// `llmauth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub skip_browser: bool,
    /// Use the device flow (sign in on another device with a code).
    #[arg(long)]
    pub device: bool,
}

/// `llmauth token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Print the sign-in URL instead of opening a browser, if a login is needed.
    #[arg(long)]
    pub skip_browser: bool,
    /// Never start a login: exit 3 instead (also LLMAUTH_NON_INTERACTIVE=1).
    #[arg(long)]
    pub non_interactive: bool,
    /// Refresh unless the token stays valid at least this long (e.g. 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub min_valid: Option<std::time::Duration>,
    /// Refresh even if the cached token is fresh.
    #[arg(long)]
    pub force_refresh: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TokenFormat::Raw)]
    pub format: TokenFormat,
    /// Print this token instead of the configured kind (llm.oidc.token_kind): the access
    /// token, or the ID token.
    #[arg(long, value_name = "KIND", value_parser = spellings(&names(TokenKind::ALL, TokenKind::as_str)))]
    pub kind: Option<String>,
    /// Give up after this long when no one is at the terminal (default 8s; 2m when a
    /// sign-in through the browser may happen).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
}

/// `--format` of `token`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TokenFormat {
    /// The token and a newline.
    Raw,
    /// One JSON line with access_token, token_type and expires_at.
    Json,
}

/// `llmauth doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format: one aligned line per check, or a JSON array of
    /// {check, status, message, fix}.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    // A flag, not a `config.yaml` key: the probe is a diagnostic choice made at the moment,
    // and the config refuses unknown keys, so a new key would make the file unreadable
    // for every older llmauth a user still has installed.
    /// The gateway path to GET with the token, joined onto the gateway URL as the proxy
    /// joins paths (https://gw/v1 + /v1/models → https://gw/v1/models).
    #[arg(long, value_name = "PATH", default_value = DEFAULT_PROBE_PATH)]
    pub probe_path: String,
}

/// `llmauth logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Also revoke the refresh token at the IdP (RFC 7009).
    #[arg(long)]
    pub revoke: bool,
}

/// `--format text|json`.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Text or JSON output.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For scripts.
    Json,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err("the key is empty".to_owned());
    }
    Ok((key.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_alone_takes_the_token_options_and_nothing_else() {
        let parsed = TokenOnly::try_parse_from([
            "--non-interactive",
            "--format",
            "json",
            "--config",
            "/c.yaml",
            "-v",
        ])
        .unwrap();
        assert!(parsed.args.non_interactive);
        assert_eq!(parsed.args.format, TokenFormat::Json);
        assert_eq!(
            parsed.globals.config.as_deref(),
            Some(std::path::Path::new("/c.yaml"))
        );
        assert_eq!(parsed.globals.verbose, 1);
        assert_eq!(parsed.args.timeout, None);
        // Help, version and typos are left to the full parser.
        for args in [&["--help"][..], &["--version"], &["--bogus"], &["extra"]] {
            assert!(TokenOnly::try_parse_from(args).is_err(), "{args:?}");
        }
        // The full parser accepts the same token options.
        let full =
            Cli::try_parse_from(["llmauth", "token", "--non-interactive", "--format", "json"])
                .unwrap();
        assert!(matches!(
            full.command,
            Command::Token(TokenArgs {
                non_interactive: true,
                format: TokenFormat::Json,
                ..
            })
        ));
    }

    #[test]
    fn teardown_takes_the_tool_either_way_but_not_both() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["llmauth", "teardown"], args].concat());
        for args in [&["xcode"][..], &["--client", "xcode"]] {
            let Command::Teardown(teardown) = parse(args).unwrap().command else {
                panic!("{args:?}");
            };
            assert_eq!(teardown.tool(), Some("xcode"));
        }
        let both = parse(&["codex", "--client", "codex"]).unwrap_err();
        assert_eq!(both.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(both.use_stderr());
        assert!(parse(&["--client", "emacs"]).is_err());
    }

    #[test]
    fn model_and_bedrock_flags() {
        let cli = Cli::try_parse_from([
            "llmauth",
            "config",
            "set",
            "--models",
            "a-opus,b-sonnet",
            "--bedrock-compat",
            "--enable-1m=false",
        ])
        .unwrap();
        let Command::Config(ConfigCommand::Set(set)) = cli.command else {
            panic!();
        };
        let set = &set.settings;
        assert_eq!(
            set.models,
            Some(vec!["a-opus".to_owned(), "b-sonnet".to_owned()])
        );
        assert_eq!(set.bedrock_compat, Some(true));
        assert_eq!(set.enable_1m, Some(false));
    }

    #[test]
    fn provider_flags_take_their_spellings_or_nothing() {
        let cli = Cli::try_parse_from([
            "llmauth",
            "config",
            "set",
            "--provider",
            "google",
            "--audience-via",
            "none",
            "--callback-host",
            "127.0.0.1",
            "--resend-scope",
            "--token-kind",
            "",
            "--client-secret-stdin",
        ])
        .unwrap();
        let Command::Config(ConfigCommand::Set(set)) = cli.command else {
            panic!();
        };
        assert!(set.client_secret_stdin);
        assert_eq!(set.settings.provider.as_deref(), Some("google"));
        assert_eq!(set.settings.callback_host.as_deref(), Some("127.0.0.1"));
        assert_eq!(set.settings.resend_scope, Some(true));
        assert_eq!(set.settings.token_kind.as_deref(), Some(""));
        for bad in [
            &["--provider", "Entra"][..],
            &["--audience-via", "header"],
            &["--offline-via", "prompt"],
        ] {
            let args = [&["llmauth", "config", "set"][..], bad].concat();
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
        // The secret is only for `config set`.
        assert!(Cli::try_parse_from(["llmauth", "setup", "--client-secret-stdin"]).is_err());
        let token = TokenOnly::try_parse_from(["--kind", "id"]).unwrap();
        assert_eq!(token.args.kind.as_deref(), Some("id"));
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
