//! `llmauth config set|show|reset`.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use llmauth_core::config::{
    ConfigChanges, ConfigDocument, ConfigError, FieldError, SecretsBackend, check_ca_pem, field,
};

use crate::app::App;
use crate::args::{BackendArg, ConfigCommand, Format, SetArgs};
use crate::failure::{Exit, Failure};

/// How long a config write waits for another writer.
const CONFIG_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Runs a `config` subcommand.
pub(crate) fn run(app: &App, command: &ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Set(args) => set(app, args),
        ConfigCommand::Show(args) => show(app, args.format),
        ConfigCommand::Reset { yes } => reset(app, *yes),
    }
}

/// The changes `args` ask for.
pub(crate) fn changes(args: &SetArgs) -> ConfigChanges {
    ConfigChanges {
        gateway_url: args.gateway_url.clone(),
        issuer: args.issuer.clone(),
        client_id: args.client_id.clone(),
        audience: args.audience.clone(),
        scopes: args.scopes.clone(),
        prompt: args.prompt.clone(),
        auth_params: args.auth_params.clone(),
        proxy_port: args.proxy_port.map(i64::from),
        callback_port: args.callback_port.map(i64::from),
        ca_file: args.ca_file.clone(),
        secrets_backend: args.secrets_backend.map(|b| match b {
            BackendArg::Auto => SecretsBackend::Auto,
            BackendArg::Keyring => SecretsBackend::Keyring,
            BackendArg::File => SecretsBackend::File,
        }),
        tls_skip_verify: args.tls_skip_verify,
        anthropic_path_prefix: args.anthropic_path_prefix.clone(),
        ..ConfigChanges::default()
    }
}

/// Applies `changes` to the config file under `locks/config.lock`; nothing is written
/// when any field is invalid.
pub(crate) fn apply(app: &App, changes: &ConfigChanges) -> Result<ConfigDocument, Failure> {
    update(app, changes, |_| Ok(()))
}

/// [`apply`], with a further change to the document (setup's `configured_tools`) made in
/// the same locked write.
pub(crate) fn update(
    app: &App,
    changes: &ConfigChanges,
    also: impl FnOnce(&mut ConfigDocument) -> Result<(), ConfigError>,
) -> Result<ConfigDocument, Failure> {
    let lock = app.paths.named_lock_file("config");
    let outcome = llmauth_blocking::with_lock(
        &lock,
        CONFIG_LOCK_WAIT,
        || -> Result<ConfigDocument, Failure> {
            let mut document = app.read_config()?;
            let extra = ca_problems(changes, &document);
            document
                .apply_with(changes, extra)
                .map_err(|e| Failure::config(app.config_path(), &e))?;
            also(&mut document).map_err(|e| Failure::config(app.config_path(), &e))?;
            let text = document
                .render()
                .map_err(|e| Failure::config(app.config_path(), &e))?;
            llmauth_blocking::write_atomic(app.config_path(), text.as_bytes(), 0o600).map_err(
                |e| {
                    Failure::new(
                        Exit::Usage,
                        format!("cannot write {}: {e}", app.config_path().display()),
                        None,
                    )
                },
            )?;
            Ok(document)
        },
    );
    outcome.map_err(|e| Failure::new(Exit::LockTimeout, e.to_string(), None))?
}

/// Problems with the CA file `changes` (or else `document`) names, for validation.
pub(crate) fn ca_problems(changes: &ConfigChanges, document: &ConfigDocument) -> Vec<FieldError> {
    changes
        .ca_file
        .clone()
        .or_else(|| document.raw().tls.ca_file.clone())
        .filter(|p| !p.is_empty())
        .and_then(|path| ca_problem(&path))
        .into_iter()
        .collect()
}

/// A `FieldError` for a CA file that cannot be used.
fn ca_problem(path: &str) -> Option<FieldError> {
    let problem = match std::fs::read(path) {
        Ok(bytes) => check_ca_pem(&bytes).err()?,
        Err(error) => format!("cannot read {path}: {error}"),
    };
    Some(FieldError::new(field::TLS_CA_FILE, problem))
}

fn set(app: &App, args: &SetArgs) -> Result<(), Failure> {
    let changes = changes(args);
    if changes.is_empty() {
        return Err(Failure::new(
            Exit::Usage,
            "nothing to change",
            Some("see `llmauth config set --help`".to_owned()),
        ));
    }
    let document = apply(app, &changes)?;
    eprintln!("Saved {}.", app.config_path().display());
    let missing = document.raw().missing_required();
    if !missing.is_empty() {
        eprintln!("Still needed before signing in: {}.", missing.join(", "));
    }
    if args.tls_skip_verify == Some(true) {
        eprintln!(
            "warning: TLS verification of the gateway is off; use this only for local development"
        );
    }
    Ok(())
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
    let tools = super::teardown::configured(app);
    if !path.exists() && tools.is_empty() {
        eprintln!("Nothing to reset: {} does not exist.", path.display());
        return Ok(());
    }
    if !yes {
        let mut what = String::new();
        for (tool, files) in &tools {
            what.push_str(&format!("  revert {tool}: {}\n", files.join(", ")));
        }
        if path.exists() {
            what.push_str(&format!(
                "  remove {} and the stored session\n",
                path.display()
            ));
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
    // Tools first: a tool file pointing at a helper whose config is gone would break.
    if !tools.is_empty() {
        let report = super::teardown::revert_tools(app, None)?;
        report.print();
        if let Some(first) = report.failures.into_iter().next() {
            return Err(Failure::new(
                first.exit,
                format!(
                    "{} — the configuration was kept, because the tools not reverted still use it",
                    first.message
                ),
                first.hint,
            ));
        }
    }
    if !path.exists() {
        return Ok(());
    }
    // The session next: a config without a session is harmless, the reverse strands it.
    if let Ok(config) = app.config() {
        app.logout(&config, false)?;
    }
    std::fs::remove_file(path).map_err(|e| {
        Failure::new(
            Exit::Usage,
            format!("cannot remove {}: {e}", path.display()),
            None,
        )
    })?;
    eprintln!("Removed {} and the stored session.", path.display());
    Ok(())
}
