//! `llmauth status`: configuration, session and the last helper failure — never secrets.

use std::io::Write;
use std::time::Duration;

use llmauth_core::broker::health::Answer;
use llmauth_core::config::{Config, ConfigDocument, check_ca_pem};
use llmauth_core::error::FlowError;
use llmauth_core::flow::{Interaction, SessionStatus};
use llmauth_core::setup::drift::{Drift, ToolDrift};
use llmauth_core::setup::managed;
use llmauth_core::setup::notices;
use llmauth_core::setup::tool::Tool;
use llmauth_core::store::Backend;
use llmauth_core::text::{excerpt, printable};
use llmauth_core::time::UnixTime;
use serde_json::{Value, json};

use llmauth_core::provider::{self, Preset, TokenKind};

use crate::app::App;
use crate::args::{Format, FormatArgs};
use crate::client_secret;
use crate::failure::{Exit, Failure};

/// How long `status` waits for the proxy's health answer.
const PROXY_PROBE: Duration = Duration::from_millis(500);

/// Runs `status`. Exit 0 when a valid access token or a refresh token exists, 3 when
/// there is no usable session, 2 on config errors, 4 when the keychain cannot be read.
/// The session's state is the report: an exit code other than 0 comes without an
/// `error:` line, except for a config that cannot be read at all.
pub(crate) fn run(app: &App, args: &FormatArgs) -> Result<(), Failure> {
    let document = app.read_config()?;
    let config = document
        .validate()
        .map_err(|e| Failure::config(app.config_path(), &e))?;
    let mut warnings = warnings(&config);
    warnings.extend(provider_warnings(app, &config));
    let setup = app.flow_setup(&config, Interaction::NONE);
    let backend = setup.backend;
    let (session, unreadable) = match setup.session_status() {
        Ok(session) => (session, None),
        Err(error) => (SessionStatus::default(), Some(FlowError::Store(error))),
    };
    // Shown only while nothing has succeeded since (the next refresh or sign-in deletes
    // it; a token issued elsewhere since makes it old news too).
    let last_error = llmauth_blocking::last_error::read(&app.paths, &config.session_key())
        .ok()
        .flatten()
        .filter(|failure| session.failure_is_current(failure.at()));
    let tools = llmauth_blocking::tools::drift::inspect(&app.paths);
    warnings.extend(managed_warnings(&tools));
    if let Some(until) = session.sign_in_cooldown {
        warnings.push(format!(
            "a sign-in in the browser was not completed: tools will not open the browser again before {} — run `llmauth login`",
            until.to_rfc3339()
        ));
    }
    if let Some(margin) = session.refresh_margin(config.refresh_window) {
        warnings.extend(
            tools
                .iter()
                .filter_map(|tool| notices::stale_ttl(tool, margin)),
        );
    }
    let notes: Vec<String> = tools
        .iter()
        .any(|tool| tool.tool == Tool::GeminiCli.name())
        .then(|| format!("gemini-cli: {}", notices::GEMINI_FOLDER_TRUST))
        .into_iter()
        .collect();
    let proxy = ProxyState::probe(config.proxy_port);
    let report = Report {
        app,
        config: &config,
        document: &document,
        backend,
        session: &session,
        unreadable: unreadable.as_ref(),
        warnings,
        notes,
        tools: &tools,
        proxy: &proxy,
        now: app.now(),
    };
    let text = match args.format {
        Format::Text => report.text(last_error.as_ref()),
        Format::Json => format!("{}\n", report.json(last_error.as_ref())),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    match unreadable {
        Some(error) => Err(Failure::reported(error.class().into())),
        None if session.is_usable() => Ok(()),
        None => Err(Failure::reported(Exit::AuthRequired)),
    }
}

/// Problems worth a line that do not stop anything.
fn warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(ca_file) = &config.ca_file {
        let problem = match std::fs::read(ca_file) {
            Ok(bytes) => check_ca_pem(&bytes).err(),
            Err(error) => Some(error.to_string()),
        };
        if let Some(problem) = problem {
            warnings.push(format!("tls.ca_file {ca_file}: {problem}"));
        }
    }
    if std::env::var_os("ANTHROPIC_API_KEY").is_some() {
        warnings.push(
            "ANTHROPIC_API_KEY is set in this environment: Claude Code uses it instead of llmauth's apiKeyHelper".to_owned(),
        );
    }
    warnings
}

/// What the provider needs that the configuration lacks: the client secret a preset
/// expects, or one marked stored but not found; a v1 Entra issuer; a setting chosen
/// against what the preset knows of its provider.
fn provider_warnings(app: &App, config: &Config) -> Vec<String> {
    let provider = &config.provider;
    let mut warnings = Vec::new();
    if let Some(fix) = provider::v1_issuer_fix(&config.issuer, provider.preset == Preset::Entra) {
        warnings.push(fix);
    }
    warnings.extend(
        provider
            .concerns(&config.issuer, &config.audience, &config.client_id)
            .into_iter()
            .map(|concern| format!("{} — {}", concern.problem, concern.fix)),
    );
    let store = "`llmauth config set --client-secret-stdin < secret.txt`";
    match (config.client_secret, provider.client_secret_expected) {
        (true, _) => match client_secret::is_stored(app, config) {
            Ok(true) => {}
            Ok(false) => warnings.push(format!(
                "llm.oidc.client_secret says stored, but none is stored for this issuer and client id: {store}"
            )),
            Err(error) => warnings.push(format!("the client secret could not be read: {error}")),
        },
        (false, true) => warnings.push(format!(
            "the {} preset needs the client secret: {store}",
            provider.preset
        )),
        (false, false) => {}
    }
    warnings
}

/// The managed profiles that override configured tools' files (macOS).
fn managed_warnings(tools: &[ToolDrift]) -> Vec<String> {
    let Some(env) = llmauth_blocking::tools::environment() else {
        return Vec::new();
    };
    let configured: Vec<Tool> = tools.iter().filter_map(|t| Tool::parse(&t.tool)).collect();
    llmauth_blocking::tools::managed::profiles(&env, &configured)
        .iter()
        .map(managed::warning)
        .collect()
}

struct Report<'a> {
    app: &'a App,
    config: &'a Config,
    document: &'a ConfigDocument,
    backend: Backend,
    session: &'a SessionStatus,
    /// Why the session could not be read (the keychain, a refused file); the session
    /// shows as unknown then.
    unreadable: Option<&'a FlowError>,
    warnings: Vec<String>,
    /// Plain facts worth knowing about configured tools (not problems).
    notes: Vec<String>,
    tools: &'a [ToolDrift],
    proxy: &'a ProxyState,
    now: UnixTime,
}

/// Whether an llmauth proxy answers on the configured port (its health endpoint, which
/// never shows a token).
enum ProxyState {
    Running {
        port: u16,
        token_expires_at: Option<String>,
    },
    NotRunning {
        port: u16,
    },
    Other {
        port: u16,
        what: String,
    },
}

impl ProxyState {
    fn probe(port: u16) -> Self {
        match llmauth_blocking::local_http::probe_proxy(port, PROXY_PROBE) {
            Answer::Nothing => Self::NotRunning { port },
            Answer::Proxy(health) => Self::Running {
                port,
                token_expires_at: health.token_expires_at,
            },
            Answer::Other(what) => Self::Other { port, what },
        }
    }

    fn line(&self) -> String {
        match self {
            Self::Running {
                port,
                token_expires_at: Some(at),
            } => format!(
                "running on http://localhost:{port} (its token is valid until {})",
                excerpt(at, 40)
            ),
            Self::Running {
                port,
                token_expires_at: None,
            } => {
                format!("running on http://localhost:{port} (no token yet)")
            }
            Self::NotRunning { port } => {
                format!("not running (proxy-mode tools need `llmauth proxy start`; port {port})")
            }
            Self::Other { port, what } => format!("port {port} is taken by {what}"),
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Running {
                port,
                token_expires_at,
            } => {
                json!({"running": true, "port": port, "token_expires_at": token_expires_at})
            }
            Self::NotRunning { port } => json!({"running": false, "port": port}),
            Self::Other { port, what } => json!({"running": false, "port": port, "other": what}),
        }
    }
}

impl Report<'_> {
    fn session_line(&self) -> String {
        let s = self.session;
        if let Some(error) = self.unreadable {
            let hint = error.hint().map(|h| format!(" — {h}")).unwrap_or_default();
            return format!("unknown ({error}){hint}");
        }
        if let Some(reason) = &s.corrupt {
            return format!("unreadable ({reason})");
        }
        match (&s.sub, s.refresh_token, s.access_valid) {
            (Some(sub), true, _) => format!("signed in as {sub}"),
            (None, true, _) => "signed in".to_owned(),
            (_, false, true) => {
                "access token only (no refresh token: sign in again when it expires)".to_owned()
            }
            (_, false, false) => "not signed in".to_owned(),
        }
    }

    fn access_line(&self) -> String {
        if self.unreadable.is_some() {
            return "unknown".to_owned();
        }
        match self.session.access_expires_at {
            None => "none cached".to_owned(),
            Some(None) if self.session.access_valid => "cached (expiry unknown)".to_owned(),
            Some(Some(at)) if self.session.access_valid => {
                format!(
                    "valid until {} (in {}s)",
                    at.to_rfc3339(),
                    at.since(self.now).as_secs()
                )
            }
            Some(_) => "expired (the next `llmauth token` refreshes it)".to_owned(),
        }
    }

    fn text(&self, last_error: Option<&llmauth_blocking::last_error::LastError>) -> String {
        let mut out = String::new();
        // Values quote state (receipts, the last failure, the stored user): printable only.
        let mut line = |label: &str, value: &str| {
            out.push_str(&format!("{label:<14} {}\n", printable(value)));
        };
        line("config:", &self.app.config_path().display().to_string());
        for row in self.document.show_text().lines() {
            out.push_str(&format!("  {row}\n"));
        }
        let mut line = |label: &str, value: &str| {
            out.push_str(&format!("{label:<14} {}\n", printable(value)));
        };
        line("provider:", &self.config.provider.summary());
        line("secrets:", &self.backend_line());
        line("session:", &self.session_line());
        let handed_out = match self.config.provider.token_kind.value {
            TokenKind::Access => "access token:",
            TokenKind::Id => "id token:",
        };
        line(handed_out, &self.access_line());
        let refresh = match (self.session.refresh_token, self.session.maybe_spent) {
            _ if self.unreadable.is_some() => "unknown",
            (false, _) => "none",
            (true, false) => "present",
            (true, true) => {
                "present (the answer to its last refresh was lost; the next refresh may end the session)"
            }
        };
        line("refresh token:", refresh);
        match last_error {
            Some(e) => line(
                "last failure:",
                &format!("{} (exit {}) {}", e.time, e.exit_code, e.message),
            ),
            None => line("last failure:", "none recorded"),
        }
        line("proxy:", &self.proxy.line());
        if self.tools.is_empty() {
            line("tools:", "none (run `llmauth setup`)");
        }
        for (i, tool) in self.tools.iter().enumerate() {
            line(
                if i == 0 { "tools:" } else { "" },
                &notices::tool_state(tool),
            );
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        for warning in self.all_warnings() {
            out.push_str(&format!("warning: {}\n", printable(&warning)));
        }
        out
    }

    /// The configuration's warnings, then the tools'.
    fn all_warnings(&self) -> Vec<String> {
        let tools = self.tools.iter().flat_map(notices::drift_warnings);
        self.warnings.iter().cloned().chain(tools).collect()
    }

    fn backend_line(&self) -> String {
        match self.backend {
            Backend::Keyring => format!(
                "keyring (refresh token in the OS keychain; access token cached in {})",
                self.app.paths.runtime_dir.display()
            ),
            Backend::File => format!("file ({})", self.app.paths.sessions_dir().display()),
        }
    }

    fn json(&self, last_error: Option<&llmauth_blocking::last_error::LastError>) -> Value {
        let s = self.session;
        json!({
            "config_file": self.app.config_path().display().to_string(),
            "config": self.document.show_json(),
            "provider": self.config.provider.to_json(),
            "secrets_backend": self.backend.name(),
            "session": {
                "refresh_token": s.refresh_token,
                "maybe_spent": s.maybe_spent,
                "sub": s.sub,
                "access_token_cached": s.access_expires_at.is_some(),
                "access_token_valid": s.access_valid,
                "access_token_expires_at": s.access_expires_at.flatten().map(UnixTime::to_rfc3339),
                "corrupt": s.corrupt,
                "unreadable": self.unreadable.map(ToString::to_string),
            },
            "last_error": last_error.map(|e| json!({"time": e.time, "exit_code": e.exit_code, "message": e.message})),
            "tools": self.tools.iter().map(tool_json).collect::<Vec<_>>(),
            "proxy": self.proxy.json(),
            "sign_in_cooldown_until": s.sign_in_cooldown.map(UnixTime::to_rfc3339),
            "notes": self.notes,
            "warnings": self.all_warnings(),
        })
    }
}

/// A configured tool in the JSON form.
fn tool_json(tool: &ToolDrift) -> Value {
    let files: Vec<Value> = tool
        .files
        .iter()
        .map(|file| {
            let (status, keys) = match &file.drift {
                Ok(Drift::None) => ("unchanged", Vec::new()),
                Ok(Drift::Missing) => ("missing", Vec::new()),
                Ok(Drift::Keys(notes)) => (
                    "changed",
                    notes
                        .iter()
                        .map(|n| json!({"key": n.key, "change": n.kind.describe()}))
                        .collect(),
                ),
                Err(_) => ("unreadable", Vec::new()),
            };
            json!({"path": file.path, "status": status, "changed_keys": keys})
        })
        .collect();
    json!({
        "tool": tool.tool,
        "mode": tool.mode,
        "files": files,
        "stale_helper": tool.stale_helper,
    })
}
