//! The command line (SPEC §2), parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Config file (default: the platform config dir, e.g. ~/.config/llmauth/config.yaml).
    #[arg(long, global = true, env = "LLMAUTH_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
    /// Show the configuration, the session and the last helper failure (never secrets).
    Status(FormatArgs),
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
}

/// `llmauth config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Change settings; only the given flags change.
    Set(Box<SetArgs>),
    /// Print the configuration.
    Show(FormatArgs),
    /// Remove the configuration and the stored session.
    Reset {
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// The settings `config set` (and later `setup`) can change.
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
    /// The gateway's audience, sent as the RFC 8707 `resource` ("" to unset).
    #[arg(long, value_name = "A")]
    pub audience: Option<String>,
    /// Scopes to request, comma-separated (openid and offline_access are always added).
    #[arg(long, value_name = "S,S", value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// The `prompt` parameter ("consent" for IdPs that follow OIDC Core §11 strictly; "" for none).
    #[arg(long, value_name = "P")]
    pub prompt: Option<String>,
    /// An extra authorization parameter (repeatable; an empty value removes it).
    #[arg(long = "auth-param", value_name = "K=V", value_parser = parse_key_value)]
    pub auth_params: Vec<(String, String)>,
    /// The localhost proxy's port.
    #[arg(long, value_name = "N")]
    pub proxy_port: Option<u16>,
    /// The port of the sign-in redirect listener; it must match a redirect URI registered
    /// at the IdP (http://localhost:<port>/callback). 0 = any free port, for IdPs that
    /// allow any loopback port (RFC 8252 §7.3).
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
    /// Give up after this long when non-interactive.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "8s")]
    pub timeout: std::time::Duration,
}

/// `--format` of `token`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TokenFormat {
    /// The token and a newline.
    Raw,
    /// One JSON line with access_token, token_type and expires_at.
    Json,
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

/// Durations like `90s`, `5m`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let mut total = std::time::Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".to_owned());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("invalid duration {text:?} (examples: 90s, 5m, 1h30m)"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => std::time::Duration::from_millis(number),
            "s" => std::time::Duration::from_secs(number),
            "m" => std::time::Duration::from_secs(number.saturating_mul(60)),
            "h" => std::time::Duration::from_secs(number.saturating_mul(3600)),
            _ => {
                return Err(format!(
                    "invalid duration {text:?} (examples: 90s, 5m, 1h30m)"
                ));
            }
        };
        total += part;
        rest = next;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("90s"),
            Ok(std::time::Duration::from_secs(90))
        );
        assert_eq!(
            parse_duration("1h30m"),
            Ok(std::time::Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
