//! `llmauth config set|show|reset`.

use std::io::{BufRead, IsTerminal, Write};

use llmauth_blocking::tools;
use llmauth_core::setup::error::SetupError;

use llmauth_core::config::ConfigDocument;
use llmauth_core::provider::{self, Preset};

use crate::app::App;
use crate::args::{ConfigCommand, ConfigSetArgs, Format};
use crate::failure::{Exit, Failure};
use crate::service;
use crate::{client_secret, config_file};

/// Runs a `config` subcommand.
pub(crate) fn run(app: &App, command: &ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Set(args) => set(app, args),
        ConfigCommand::Show(args) => show(app, args.format),
        ConfigCommand::Reset { yes } => reset(app, *yes),
    }
}

fn set(app: &App, args: &ConfigSetArgs) -> Result<(), Failure> {
    let mut changes = config_file::changes(&args.settings);
    let secret = args
        .client_secret_stdin
        .then(client_secret::read_line)
        .transpose()?;
    let new_secret = secret.filter(|secret| !secret.expose_secret().is_empty());
    if args.client_secret_stdin {
        changes.client_secret_stored = Some(new_secret.is_some());
    }
    if changes.is_empty() {
        return Err(Failure::new(
            Exit::Usage,
            "nothing to change",
            Some("see `llmauth config set --help`".to_owned()),
        ));
    }
    let before = app.read_config().ok();
    // The secret is stored before the file says so; removed after it no longer does.
    let document = config_file::update(app, &changes, |document| match &new_secret {
        Some(secret) => client_secret::store(app, document, secret),
        None => Ok(()),
    })?;
    if args.client_secret_stdin && new_secret.is_none() {
        client_secret::remove(app, &document)?;
    }
    eprintln!("Saved {}.", app.config_path().display());
    match &new_secret {
        Some(_) => eprintln!("The client secret is stored (never in config.yaml)."),
        None if args.client_secret_stdin => eprintln!("The client secret is removed."),
        None => {}
    }
    for warning in warnings(&document, before.as_ref(), new_secret.is_some()) {
        eprintln!("warning: {warning}");
    }
    let missing = document.raw().missing_required();
    if !missing.is_empty() {
        eprintln!("Still needed before signing in: {}.", missing.join(", "));
    } else if let Ok(config) = document.validate() {
        let provider = &config.provider;
        eprintln!(
            "Provider preset: {} ({}); register the redirect URI {}.",
            provider.preset,
            provider.reason,
            provider.redirect()
        );
    }
    if args.settings.require_local_key == Some(false) {
        eprintln!(
            "warning: the proxy will accept requests without the local key: any program on this machine can use it with your identity"
        );
    }
    if args.settings.tls_skip_verify == Some(true) {
        eprintln!(
            "warning: TLS verification of the gateway is off; use this only for local development"
        );
    }
    Ok(())
}

/// What the saved configuration still lacks or gets wrong, for the provider it names.
fn warnings(
    document: &ConfigDocument,
    before: Option<&ConfigDocument>,
    secret_given: bool,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let Ok(config) = document.validate() else {
        return warnings;
    };
    let provider = &config.provider;
    if let Some(fix) = provider::v1_issuer_fix(&config.issuer, provider.preset == Preset::Entra) {
        warnings.push(fix);
    }
    if provider.client_secret_expected && !config.client_secret {
        warnings.push(format!(
            "the {} preset needs the client secret: `llmauth config set --client-secret-stdin < secret.txt`",
            provider.preset
        ));
    }
    // A secret belongs to one issuer and client id.
    let moved = before.is_some_and(|before| {
        let (old, new) = (&before.raw().oidc, &document.raw().oidc);
        old.issuer != new.issuer || old.client_id != new.client_id
    });
    if config.client_secret && moved && !secret_given {
        warnings.push(
            "the stored client secret belongs to the previous issuer or client id: store this client's with `llmauth config set --client-secret-stdin`"
                .to_owned(),
        );
    }
    warnings
}

fn show(app: &App, format: Format) -> Result<(), Failure> {
    let document = app.read_config()?;
    let text = match format {
        Format::Text => format!(
            "{}: {}\n{}",
            "config",
            app.config_path().display(),
            document.show_text()
        ),
        Format::Json => format!("{}\n", document.show_json()),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

fn reset(app: &App, yes: bool) -> Result<(), Failure> {
    let path = app.config_path();
    let pending = tools::teardown::pending(&app.paths);
    let service = llmauth_blocking::service::installed(&app.paths)
        .ok()
        .flatten();
    if !path.exists() && pending.is_empty() && service.is_none() {
        eprintln!("Nothing to reset: {} does not exist.", path.display());
        return Ok(());
    }
    if !yes {
        let mut what = String::new();
        for (tool, files) in &pending {
            what.push_str(&format!("  revert {tool}: {}\n", files.join(", ")));
        }
        if let Some(service) = &service {
            let files: Vec<&str> = service.files.iter().map(|f| f.path.as_str()).collect();
            what.push_str(&format!(
                "  remove the proxy service: {}\n",
                files.join(", ")
            ));
        }
        if path.exists() {
            what.push_str(&format!("  remove {}{REMOVED_TOO}\n", path.display()));
        }
        if !std::io::stdin().is_terminal() {
            eprint!("config reset would:\n{what}");
            return Err(Failure::new(
                Exit::Usage,
                "refusing to reset without confirmation",
                Some("run `llmauth config reset --yes`".to_owned()),
            ));
        }
        eprint!("This will:\n{what}Continue? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("Nothing changed.");
            return Ok(());
        }
    }
    // The service runs `llmauth proxy start` with this config: it goes with it (first, as
    // setup installed it last).
    service::before_teardown(app, None);
    // Tools next: a tool file pointing at a helper whose config is gone would break.
    if !pending.is_empty() {
        let indexed = config_file::indexed_tools(app);
        let mut report = tools::teardown::revert(&app.paths, None, &indexed)?;
        report
            .notes
            .extend(config_file::forget_tools(app, &report.cleared));
        let _ = std::io::stdout().lock().write_all(report.text().as_bytes());
        for note in &report.notes {
            eprintln!("{note}");
        }
        if let Some(first) = report.failures.into_iter().next() {
            return Err(SetupError::ToolsKept(Box::new(first)).into());
        }
    }
    if !path.exists() {
        return Ok(());
    }
    // The session next: a config without a session is harmless, the reverse strands it.
    if let Ok(config) = app.config() {
        app.logout(&config, false)?;
        if config.client_secret {
            client_secret::remove(app, &app.read_config()?)?;
        }
    }
    config_file::remove(app)?;
    // What belongs to this install: a new one starts with a new local key and no failure
    // of the old one.
    let state = [
        llmauth_blocking::proxy_key::delete(&app.paths),
        llmauth_blocking::last_error::clear_all(&app.paths),
    ];
    if let Some(Err(error)) = state.into_iter().find(Result::is_err) {
        eprintln!("warning: {error}");
    }
    eprintln!("Removed {}{REMOVED_TOO}.", path.display());
    Ok(())
}

/// What `config reset` removes besides the config file.
const REMOVED_TOO: &str =
    ", the stored session, the proxy's local key and the last recorded failure";
