//! The client secret of `config set --client-secret-stdin`: read from one line of standard
//! input, stored like the refresh token (the keychain with the keyring backend, else a
//! 0600 file in the state directory), never written to `config.yaml`, never printed.

use std::io::{BufRead, IsTerminal};

use llmauth_blocking::{BlockingIo, IoOptions};
use llmauth_core::config::{Config, ConfigDocument, SecretsBackend};
use llmauth_core::secret::{ClientSecret, SecretBytes};
use llmauth_core::store::{ClientKey, Slot, StoreError};

use crate::app::App;
use crate::failure::{Exit, Failure};

/// Reads the secret from one line of standard input; an empty line means "remove it".
pub(crate) fn read_line() -> Result<ClientSecret, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!(
            "Paste the client secret and press Enter (it is shown as you type; `--client-secret-stdin < file` keeps it off the screen):"
        );
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).map_err(|e| {
        Failure::new(
            Exit::Usage,
            format!("cannot read the client secret from standard input: {e}"),
            None,
        )
    })?;
    // Trimmed in place, so no copy of the secret is left behind unwiped.
    let start = line.len() - line.trim_start().len();
    line.drain(..start);
    let end = line.trim_end().len();
    line.truncate(end);
    Ok(ClientSecret::new(line))
}

/// Where the secret of the client `document` configures is stored.
fn slot(app: &App, document: &ConfigDocument) -> Result<Slot, Failure> {
    let oidc = &document.raw().oidc;
    let (Some(issuer), Some(client_id)) = (&oidc.issuer, &oidc.client_id) else {
        return Err(Failure::new(
            Exit::Usage,
            "a client secret belongs to an issuer and a client id, and one of them is not set",
            Some(
                "give --issuer and --client-id with --client-secret-stdin (or set them first)"
                    .to_owned(),
            ),
        ));
    };
    let backend = document
        .raw()
        .secrets
        .backend
        .as_deref()
        .and_then(|name| name.parse::<SecretsBackend>().ok())
        .unwrap_or_default();
    let key = ClientKey::derive(issuer, client_id);
    Ok(app.backend_of(backend).client_secret_slot(&key))
}

fn io(app: &App) -> BlockingIo {
    BlockingIo::new(app.paths.clone(), IoOptions::default())
}

fn store_failure(error: &StoreError) -> Failure {
    Failure::new(
        Exit::Transient,
        format!("the client secret could not be stored: {error}"),
        Some("check the keychain (or `--secrets-backend file`) and the state directory".to_owned()),
    )
}

/// Stores `secret` for the client `document` configures.
pub(crate) fn store(
    app: &App,
    document: &ConfigDocument,
    secret: &ClientSecret,
) -> Result<(), Failure> {
    let slot = slot(app, document)?;
    let bytes = SecretBytes::new(secret.expose_secret().as_bytes().to_vec());
    io(app)
        .write(&slot, &bytes)
        .map_err(|error| store_failure(&error))
}

/// Removes the secret of the client `document` configures (absent is fine).
pub(crate) fn remove(app: &App, document: &ConfigDocument) -> Result<(), Failure> {
    let slot = slot(app, document)?;
    io(app).delete(&slot).map_err(|error| store_failure(&error))
}

/// Whether a secret is stored for `config`'s issuer and client (for `status`).
pub(crate) fn is_stored(app: &App, config: &Config) -> Result<bool, StoreError> {
    let key = ClientKey::derive(&config.issuer, &config.client_id);
    let slot = app.backend(config).client_secret_slot(&key);
    Ok(io(app).read(&slot)?.is_some_and(|bytes| !bytes.is_empty()))
}
