//! `llmauth logout [--revoke]`.

use llmauth_core::flow::Outcome;

use crate::app::App;
use crate::args::LogoutArgs;
use crate::failure::{Exit, Failure};

/// Runs `logout`.
pub(crate) fn run(app: &App, args: &LogoutArgs) -> Result<(), Failure> {
    let config = app.config()?;
    match app.logout(&config, args.revoke)? {
        Outcome::LoggedOut {
            had_session,
            revoked,
        } => {
            match (had_session, revoked) {
                (false, _) => eprintln!("No session was stored for this gateway."),
                (true, Some(Ok(()))) => {
                    eprintln!("Signed out; the refresh token was revoked at the IdP.")
                }
                (true, _) => eprintln!("Signed out."),
            }
            Ok(())
        }
        other => Err(Failure::new(
            Exit::Unexpected,
            format!("internal error: unexpected outcome {other:?}"),
            None,
        )),
    }
}
