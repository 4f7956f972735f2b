//! `llmauth token`: a fresh token on stdout — the access token, or the ID token with
//! `token_kind: id` or `--kind id` — and nothing else, ever.

use std::io::Write;
use std::time::Duration;

use llmauth_core::config::Config;
use llmauth_core::flow::TokenGoal;
use llmauth_core::provider::TokenKind;
use llmauth_core::secret::{AccessToken, is_printable_token};
use llmauth_core::time::UnixTime;
use llmauth_core::token::jwt_expiry;

use crate::app::{App, interaction};
use crate::args::{TokenArgs, TokenFormat};
use crate::failure::{Exit, Failure};

/// Runs `token`. A failure of a call no one follows at a terminal (a tool's) is also
/// written to `$STATE/last-error/<session>.json`, because tools hide a helper's stderr.
pub(crate) fn run(app: &App, args: &TokenArgs) -> Result<(), Failure> {
    // CI and benchmarks: a token from the environment, used as is and never refreshed.
    if let Ok(token) = std::env::var("LLMAUTH_ACCESS_TOKEN") {
        let token = AccessToken::new(token);
        let expires_at = jwt_expiry(&token);
        return print(&token, expires_at, TokenKind::Access, args.format);
    }
    let interaction = interaction(args.non_interactive, args.skip_browser);
    // Without a configuration there is no session to record a failure for; `status`
    // reports the configuration problem itself.
    let config = app.config_for_token()?;
    let key = config.session_key();
    let goal = TokenGoal {
        min_valid: args.min_valid.unwrap_or(Duration::ZERO),
        force_refresh: args.force_refresh,
    };
    let budget = interaction.budget(args.timeout);
    let mut setup = app.flow_setup(&config, interaction);
    let kind = kind(args, &config);
    setup.settings.token_kind = kind;
    let credential = match app.drive(&setup, goal, budget) {
        Ok(credential) => credential,
        Err(failure) => {
            if !interaction.attended() {
                // Best effort: the failure itself is what matters.
                let _ = llmauth_blocking::last_error::record(
                    &app.paths,
                    &key,
                    app.now(),
                    i32::from(failure.exit.code()),
                    &failure.to_string(),
                );
            }
            return Err(failure);
        }
    };
    print(
        &credential.access_token,
        credential.expires_at,
        kind,
        args.format,
    )?;
    app.after_new_token(&key, &credential);
    Ok(())
}

/// The token kind this call hands out: `--kind`, else the configured one.
fn kind(args: &TokenArgs, config: &Config) -> TokenKind {
    args.kind
        .as_deref()
        .and_then(|kind| kind.parse().ok())
        .unwrap_or(config.provider.token_kind.value)
}

/// Prints the token (or its JSON line) on stdout after checking it is safe to print.
/// The JSON keeps the token under `access_token` (what tools read) and says which kind
/// it is.
pub(crate) fn print(
    token: &AccessToken,
    expires_at: Option<UnixTime>,
    kind: TokenKind,
    format: TokenFormat,
) -> Result<(), Failure> {
    if !is_printable_token(token.expose_secret()) {
        return Err(Failure::new(
            Exit::Unexpected,
            "the access token contains characters tools reject (it must be printable ASCII without spaces)",
            None,
        ));
    }
    let line = match format {
        TokenFormat::Raw => format!("{}\n", token.expose_secret()),
        TokenFormat::Json => {
            let json = serde_json::json!({
                "access_token": token.expose_secret(),
                "token_type": "Bearer",
                "expires_at": expires_at.map(UnixTime::to_rfc3339),
                "token_kind": kind.as_str(),
            });
            format!("{json}\n")
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| {
            Failure::new(
                Exit::Unexpected,
                format!("cannot write the token to stdout: {e}"),
                None,
            )
        })
}
