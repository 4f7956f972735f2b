//! `llmauth logout [--revoke]`.

use llmauth_core::flow::LoggedOut;

use crate::app::App;
use crate::args::LogoutArgs;
use crate::failure::Failure;

/// Runs `logout`.
pub(crate) fn run(app: &App, args: &LogoutArgs) -> Result<(), Failure> {
    let config = app.config()?;
    let LoggedOut {
        had_session,
        revoked,
    } = app.logout(&config, args.revoke)?;
    match (had_session, revoked) {
        (false, _) => eprintln!("No session was stored for this gateway."),
        (true, Some(Ok(()))) => {
            eprintln!("Signed out; the refresh token was revoked at the IdP.")
        }
        (true, _) => eprintln!("Signed out."),
    }
    Ok(())
}
