//! `llmauth login`: an interactive sign-in that stores the session.

use llmauth_core::flow::{LoginGoal, SignedIn};
use llmauth_core::text::printable;

use crate::app::{App, login_interaction};
use crate::args::LoginArgs;
use crate::failure::Failure;

/// Runs `login`; reports to stderr (nothing for scripts to read).
pub(crate) fn run(app: &App, args: &LoginArgs) -> Result<(), Failure> {
    let config = app.config()?;
    let goal = LoginGoal {
        device: args.device,
    };
    let SignedIn {
        credential,
        sub,
        refresh_token,
    } = app.run_flow(&config, goal, login_interaction(args.skip_browser), None)?;
    app.after_new_token(&config.session_key(), &credential);
    let who = if sub.is_empty() {
        String::new()
    } else {
        format!(" as {}", printable(&sub))
    };
    let until = credential
        .expires_at
        .map(|t| format!("; the access token is valid until {}", t.to_rfc3339()));
    eprintln!("Signed in{who}{}.", until.unwrap_or_default());
    if refresh_token {
        eprintln!(
            "The session renews itself; `llmauth token` prints a fresh token whenever a tool asks."
        );
    }
    Ok(())
}
