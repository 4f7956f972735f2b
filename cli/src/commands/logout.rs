//! `llmauth logout [--revoke]`.

use std::time::Duration;

use llmauth_core::flow::{Goal, Interaction, Outcome};

use crate::app::App;
use crate::args::LogoutArgs;
use crate::failure::{Exit, Failure};

/// How long logout waits for another process's refresh or login.
const LOGOUT_BUDGET: Duration = Duration::from_secs(30);

/// Runs `logout`.
pub(crate) fn run(app: &App, args: &LogoutArgs) -> Result<(), Failure> {
    let config = app.config()?;
    let goal = Goal::Logout {
        revoke: args.revoke,
    };
    match app.run_flow(&config, goal, Interaction::NONE, Some(LOGOUT_BUDGET))? {
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
