//! `llmauth proxy install|uninstall`, and the same for setup (a proxy-mode tool installs
//! the service unless `--no-service`), teardown (the last proxy-mode tool gone removes
//! it) and `config reset` (removes it).

use std::io::Write as _;

use llmauth_blocking::service::{self, Installed, Uninstalled};
use llmauth_blocking::tools;
use llmauth_core::config::Config;
use llmauth_core::service::install::manual_start;
use llmauth_core::setup::error::SetupError;
use llmauth_core::setup::tool::{Environment, Mode};
use llmauth_core::setup::transaction::Configured;

use crate::app::App;
use crate::failure::{Exit, Failure};
use crate::output::print_line;

/// `proxy install`.
pub(crate) fn install(app: &App) -> Result<(), Failure> {
    let config = app.config()?;
    let env = tools::environment().ok_or(SetupError::NoHome)?;
    let installed = install_for(app, &config, &env)?;
    let report = describe_install(&installed, config.proxy_port);
    let _ = std::io::stdout().lock().write_all(report.text.as_bytes());
    match report.failure {
        Some(failure) => Err(Failure::new(
            Exit::Unexpected,
            failure,
            Some(
                "see the output above; `llmauth proxy uninstall` removes what was written"
                    .to_owned(),
            ),
        )),
        None => Ok(()),
    }
}

/// `proxy uninstall`.
pub(crate) fn uninstall(app: &App) -> Result<(), Failure> {
    let env = tools::environment().ok_or(SetupError::NoHome)?;
    match service::uninstall(&app.paths, &env)? {
        None => print_line("The llmauth proxy service is not installed; nothing to remove."),
        Some(done) => finish_uninstall(&done),
    }
}

/// After setup wired `configured`: installs the service when one of them goes through the
/// proxy (unless `--no-service`). Setup has succeeded either way, so a service that
/// cannot be installed is a line saying how to run the proxy, not an error.
pub(crate) fn after_setup(app: &App, config: &Config, configured: &[Configured], no_service: bool) {
    if !configured.iter().any(|c| c.tool.mode() == Mode::Proxy) {
        return;
    }
    if no_service {
        let _ = print_line(
            "Proxy-mode tools need the proxy: run `llmauth proxy start` (or `llmauth proxy install` to run it as a service).",
        );
        return;
    }
    let installed = tools::environment()
        .ok_or(SetupError::NoHome)
        .and_then(|env| install_for(app, config, &env));
    match installed {
        Ok(installed) => {
            let report = describe_install(&installed, config.proxy_port);
            let _ = std::io::stdout().lock().write_all(report.text.as_bytes());
            if let Some(failure) = report.failure {
                eprintln!(
                    "warning: {failure}; run `llmauth proxy start` to use proxy-mode tools meanwhile"
                );
            }
        }
        Err(error) => eprintln!(
            "warning: the proxy could not be installed as a service ({error}); run `llmauth proxy start` to use proxy-mode tools"
        ),
    }
}

/// Before teardown of `only` (`None`: every tool, as for `config reset`): removes the
/// service when no proxy-mode tool will be left. It goes first because setup installed it
/// last: undone in reverse, the directories each created are empty again when their turn
/// comes. Problems are warnings: the tools are reverted either way.
pub(crate) fn before_teardown(app: &App, only: Option<&str>) {
    if service::proxy_tools_left(&app.paths, only) {
        return;
    }
    if !matches!(service::installed(&app.paths), Ok(Some(_))) {
        return;
    }
    let Some(env) = tools::environment() else {
        return;
    };
    match service::uninstall(&app.paths, &env) {
        Ok(Some(done)) => {
            if let Err(failure) = finish_uninstall(&done) {
                eprintln!("warning: {}", failure.message);
            }
        }
        Ok(None) => {}
        Err(error) => eprintln!("warning: the proxy service was not removed: {error}"),
    }
}

fn install_for(app: &App, config: &Config, env: &Environment) -> Result<Installed, SetupError> {
    let spec = service::spec(&app.paths, config.proxy_port)?;
    service::install(&app.paths, &spec, env)
}

/// Lines for stdout, and the first command that failed.
struct Report {
    text: String,
    failure: Option<String>,
}

fn describe_install(installed: &Installed, port: u16) -> Report {
    let files: Vec<String> = installed
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    let mut text = format!(
        "Installed the llmauth proxy as a {} service: {}\n",
        installed.manager.name(),
        files.join(", ")
    );
    for warning in &installed.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(line) = &installed.not_carried {
        text.push_str(&format!("note: {line}\n"));
    }
    if !installed.manager_answered {
        text.push_str(&manual_start(
            installed.manager,
            &installed.files,
            service::uid(),
        ));
        text.push('\n');
        return Report {
            text,
            failure: None,
        };
    }
    let failure = first_failure(&installed.commands);
    if failure.is_none() {
        text.push_str(&format!(
            "It runs now and at every login; tools reach it at http://localhost:{port}.\n"
        ));
    }
    Report { text, failure }
}

fn finish_uninstall(done: &Uninstalled) -> Result<(), Failure> {
    // Files changed since install, left in place; then the one line for the rest.
    let mut out: String = done.report.kept.iter().map(|l| format!("{l}\n")).collect();
    if done.report.failures.is_empty() && done.report.kept.is_empty() {
        out.push_str("Removed the llmauth proxy service.\n");
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    for note in &done.report.notes {
        eprintln!("{note}");
    }
    if let Some(failure) = first_failure(&done.commands) {
        eprintln!("warning: {failure}");
    }
    match done.report.failures.first() {
        Some(error) => Err(error.clone().into()),
        None => Ok(()),
    }
}

fn first_failure(commands: &[(String, Result<(), String>)]) -> Option<String> {
    commands.iter().find_map(|(command, result)| {
        result
            .as_ref()
            .err()
            .map(|error| format!("`{command}` failed: {error}"))
    })
}
