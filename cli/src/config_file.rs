//! Changes to `config.yaml` shared by `config set`, `setup`, `teardown` and `config reset`:
//! the flags of `config set`, read-modify-write under `locks/config.lock` (including the
//! `configured_tools` index setup and teardown keep), and removal.

use std::time::Duration;

use llmauth_core::config::{
    ConfigChanges, ConfigDocument, FieldError, SecretsBackend, check_ca_pem, field,
};
use llmauth_core::setup::teardown::forgotten;
use llmauth_core::setup::transaction::{Configured, recorded};

use llmauth_blocking::lock::LockError;

use crate::app::App;
use crate::args::{BackendArg, SetArgs};
use crate::failure::{Exit, Failure};

/// How long a config write waits for another writer.
const CONFIG_LOCK_WAIT: Duration = Duration::from_secs(10);

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
        refresh_window: args.refresh_window.clone(),
        proxy_port: args.proxy_port.map(i64::from),
        require_local_key: args.require_local_key,
        callback_port: args.callback_port.map(i64::from),
        ca_file: args.ca_file.as_deref().map(absolute),
        secrets_backend: args.secrets_backend.map(|b| match b {
            BackendArg::Auto => SecretsBackend::Auto,
            BackendArg::Keyring => SecretsBackend::Keyring,
            BackendArg::File => SecretsBackend::File,
        }),
        tls_skip_verify: args.tls_skip_verify,
        anthropic_path_prefix: args.anthropic_path_prefix.clone(),
        models: list(args.models.as_ref()),
        bedrock_compat: args.bedrock_compat,
        bedrock_enable_1m: args.enable_1m,
        provider: args.provider.clone(),
        audience_via: args.audience_via.clone(),
        offline_via: args.offline_via.clone(),
        redirect_url: args.redirect_url.clone(),
        callback_host: args.callback_host.clone(),
        resend_scope: args.resend_scope,
        token_kind: args.token_kind.clone(),
        tenants: list(args.tenants.as_ref()),
        // Set by `config set --client-secret-stdin` once the secret itself is stored.
        client_secret_stored: None,
    }
}

/// A comma-separated list flag; `""` clears the list (`--models ""`, `--tenants ""`).
fn list(items: Option<&Vec<String>>) -> Option<Vec<String>> {
    items.map(|items| {
        if items == &[""] {
            Vec::new()
        } else {
            items.clone()
        }
    })
}

/// A path as the user meant it: relative to the directory they ran the command in (the
/// config must not depend on where a tool later runs the helper). An empty path (which
/// unsets the setting) stays empty.
fn absolute(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    std::path::absolute(path).map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}

/// Saves `changes` with the tools setup just `configured` in `configured_tools`, in one
/// locked write.
pub(crate) fn record_tools(
    app: &App,
    changes: &ConfigChanges,
    configured: &[Configured],
) -> Result<(), Failure> {
    update(app, changes, |document| {
        let index = document.raw().configured_tools.clone().unwrap_or_default();
        document
            .set_configured_tools(recorded(index, configured))
            .map_err(|e| Failure::config(app.config_path(), &e))
    })
    .map(|_| ())
}

/// The tools the `configured_tools` index lists (none when the config cannot be read:
/// the receipts are authoritative).
pub(crate) fn indexed_tools(app: &App) -> Vec<String> {
    app.read_config()
        .ok()
        .and_then(|d| d.raw().configured_tools.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.tool)
        .collect()
}

/// Drops the tools teardown `cleared` from `configured_tools`. The index is for display
/// only, so a config that cannot be read or written is a warning (returned), not a failure.
pub(crate) fn forget_tools(app: &App, cleared: &[String]) -> Option<String> {
    if cleared.is_empty() || !app.config_path().exists() {
        return None;
    }
    let Ok(document) = app.read_config() else {
        return Some(format!(
            "warning: {} could not be read; its configured_tools list was not updated",
            app.config_path().display()
        ));
    };
    let listed = document.raw().configured_tools.clone().unwrap_or_default();
    // None of them listed: nothing to write.
    forgotten(&listed, cleared)?;
    let result = update(app, &ConfigChanges::default(), |document| {
        let index = document.raw().configured_tools.clone().unwrap_or_default();
        document
            .set_configured_tools(forgotten(&index, cleared).unwrap_or(index))
            .map_err(|e| Failure::config(app.config_path(), &e))
    });
    result.err().map(|failure| {
        format!(
            "warning: configured_tools was not updated: {}",
            failure.message
        )
    })
}

/// Deletes the config file (`config reset`), and its snapshot.
pub(crate) fn remove(app: &App) -> Result<(), Failure> {
    let path = app.config_path();
    // A snapshot left behind would never match another config file; removed all the same.
    let _ = llmauth_blocking::snapshot::remove(&app.paths);
    std::fs::remove_file(path).map_err(|e| {
        Failure::new(
            Exit::Usage,
            format!("cannot remove {}: {e}", path.display()),
            None,
        )
    })
}

/// Applies `changes` to the config file under `locks/config.lock`, with a further step on
/// the validated document before it is written in the same locked write; nothing is
/// written when a field is invalid or the step fails.
pub(crate) fn update(
    app: &App,
    changes: &ConfigChanges,
    also: impl FnOnce(&mut ConfigDocument) -> Result<(), Failure>,
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
            also(&mut document)?;
            let text = document
                .render()
                .map_err(|e| Failure::config(app.config_path(), &e))?;
            let written =
                llmauth_blocking::write_atomic_stat(app.config_path(), text.as_bytes(), 0o600)
                    .map_err(|e| {
                        Failure::new(
                            Exit::Usage,
                            format!("cannot write {}: {e}", app.config_path().display()),
                            None,
                        )
                    })?;
            // `llmauth-token` answers from this snapshot (best effort: a configuration
            // still incomplete has none, and without one `llmauth token` answers).
            if let Ok(config) = document.validate() {
                app.keep_snapshot(&config, &written);
            }
            Ok(document)
        },
    );
    outcome.map_err(|e| {
        let exit = if matches!(e, LockError::Busy(_)) {
            Exit::LockTimeout
        } else {
            // The lock file cannot be used: its directory was refused, or is unwritable.
            Exit::Usage
        };
        Failure::new(exit, e.to_string(), None)
    })?
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
