//! `llmauth proxy status` and `llmauth proxy stop`: the proxy that answers on the
//! configured port, whoever started it.

use std::io::Write as _;
use std::time::{Duration, Instant};

use llmauth_blocking::service;
use llmauth_core::broker::health::Answer;
use llmauth_core::service::control::{StopPlan, is_our_proxy, stop_plan};
use llmauth_core::service::{Manager, SOCKET_UNIT};
use serde_json::{Value, json};

use crate::app::App;
use crate::args::Format;
use crate::failure::{Exit, Failure};
use crate::output::print_line;

/// How long a probe waits for the health answer.
const PROBE_WAIT: Duration = Duration::from_millis(500);
/// How long `stop` waits for the port to fall silent (the proxy drains for up to 5 s).
const STOP_WAIT: Duration = Duration::from_secs(15);

/// What answers on `port` (the health endpoint, asked for at most [`PROBE_WAIT`]).
fn probe(port: u16) -> Answer {
    llmauth_blocking::local_http::probe_proxy(port, PROBE_WAIT)
}

/// `proxy status`: exit 0 when a proxy answers, 4 when none does.
pub(crate) fn status(app: &App, format: Format) -> Result<(), Failure> {
    let port = app.config()?.proxy_port;
    let answer = probe(port);
    let installed = service::installed(&app.paths).ok().flatten();
    let service_files: Option<Vec<String>> =
        installed.map(|r| r.files.into_iter().map(|f| f.path).collect());
    let text = match format {
        Format::Text => text(&answer, port, service_files.as_deref()),
        Format::Json => format!("{}\n", json_of(&answer, port, service_files.as_deref())),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    match answer {
        Answer::Proxy(_) => Ok(()),
        Answer::Other(what) => Err(Failure::new(
            Exit::Transient,
            format!("no llmauth proxy answers on port {port}: it is taken by {what}"),
            Some("stop that program, or choose another port (`llmauth config set --proxy-port N`)".to_owned()),
        )),
        Answer::Nothing => Err(Failure::new(
            Exit::Transient,
            format!("no llmauth proxy answers on port {port}"),
            Some("start it with `llmauth proxy start`, or run it as a service with `llmauth proxy install`".to_owned()),
        )),
    }
}

fn text(answer: &Answer, port: u16, service_files: Option<&[String]>) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &str| out.push_str(&format!("{label:<21} {value}\n"));
    match answer {
        Answer::Proxy(health) => {
            line("proxy:", &format!("running on http://localhost:{port}"));
            if let Some(pid) = health.pid {
                let by = health
                    .managed_by
                    .as_deref()
                    .map_or_else(|| "started by hand".to_owned(), |m| format!("run by {m}"));
                line("pid:", &format!("{pid} ({by})"));
            }
            if let Some(uptime) = health.uptime_secs {
                line("uptime:", &duration(uptime));
            }
            let token = health
                .token_expires_at
                .as_deref()
                .map_or_else(|| "none yet".to_owned(), |at| format!("valid until {at}"));
            line("token:", &token);
            if let Some(served) = health.requests_served {
                line("requests served:", &served.to_string());
            }
            let last = health
                .last_upstream_error
                .as_ref()
                .map_or_else(|| "none".to_owned(), |e| format!("{} {}", e.at, e.message));
            line("last upstream error:", &last);
        }
        Answer::Other(what) => line("proxy:", &format!("port {port} is taken by {what}")),
        Answer::Nothing => line("proxy:", &format!("not running (port {port})")),
    }
    let service = match service_files {
        Some(files) => format!("installed ({})", files.join(", ")),
        None => "not installed (`llmauth proxy install` runs it at login)".to_owned(),
    };
    line("service:", &service);
    out
}

fn json_of(answer: &Answer, port: u16, service_files: Option<&[String]>) -> Value {
    let service =
        json!({"installed": service_files.is_some(), "files": service_files.unwrap_or_default()});
    match answer {
        Answer::Proxy(health) => json!({
            "running": true,
            "port": port,
            "pid": health.pid,
            "started_at": health.started_at,
            "uptime_secs": health.uptime_secs,
            "token_expires_at": health.token_expires_at,
            "requests_served": health.requests_served,
            "last_upstream_error": health.last_upstream_error.as_ref().map(|e| json!({"at": e.at, "message": e.message})),
            "managed_by": health.managed_by,
            "service": service,
        }),
        Answer::Other(what) => {
            json!({"running": false, "port": port, "other": what, "service": service})
        }
        Answer::Nothing => json!({"running": false, "port": port, "service": service}),
    }
}

/// `1h 2m 3s`.
fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// `proxy stop`: through the manager that runs it, or SIGTERM to its pid once that pid
/// proved to be this user's llmauth proxy; then waits until the port is silent.
pub(crate) fn stop(app: &App) -> Result<(), Failure> {
    let port = app.config()?.proxy_port;
    let health = match probe(port) {
        Answer::Proxy(health) => health,
        Answer::Other(what) => {
            return print_line(&format!(
                "No llmauth proxy is running on port {port} (it is taken by {what}); nothing to stop."
            ));
        }
        Answer::Nothing => {
            return print_line(&format!(
                "No llmauth proxy is running on port {port}; nothing to stop."
            ));
        }
    };
    let stopped = match stop_plan(health.manager(), health.pid) {
        StopPlan::Manager(commands) => {
            let results = service::run_all(&commands);
            if let Some((command, Err(error))) = results.into_iter().find(|(_, r)| r.is_err()) {
                return Err(Failure::new(
                    Exit::Unexpected,
                    format!("`{command}` failed: {error}"),
                    None,
                ));
            }
            match health.manager() {
                Some(Manager::Systemd) => format!(
                    "Stopped the llmauth proxy and its socket; `systemctl --user start {SOCKET_UNIT}` (or the next login) starts it again."
                ),
                _ => "Stopped the llmauth proxy; the next logon starts it again.".to_owned(),
            }
        }
        StopPlan::Signal(pid) => {
            is_our_proxy(pid, &service::process(pid)).map_err(|reason| {
                Failure::new(
                    Exit::Unexpected,
                    format!("the proxy on port {port} says it is process {pid}, but {reason}; nothing was stopped"),
                    Some("stop it where it runs".to_owned()),
                )
            })?;
            service::terminate(pid).map_err(|e| {
                Failure::new(
                    Exit::Unexpected,
                    format!("cannot stop process {pid}: {e}"),
                    None,
                )
            })?;
            match health.manager() {
                Some(Manager::Launchd) => format!(
                    "Stopped the llmauth proxy (pid {pid}); launchd starts it again at the next login."
                ),
                _ => format!("Stopped the llmauth proxy (pid {pid})."),
            }
        }
        StopPlan::NoPid => {
            return Err(Failure::new(
                Exit::Unexpected,
                format!(
                    "the proxy on port {port} is an older llmauth that does not say its process id"
                ),
                Some("stop it where it runs (Ctrl+C, or its service manager)".to_owned()),
            ));
        }
    };
    let start = Instant::now();
    while !matches!(probe(port), Answer::Nothing) {
        if start.elapsed() > STOP_WAIT {
            return Err(Failure::new(
                Exit::Unexpected,
                format!(
                    "the proxy on port {port} still answers {} s after it was asked to stop",
                    STOP_WAIT.as_secs()
                ),
                None,
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    print_line(&stopped)
}
