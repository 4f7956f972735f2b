//! The logout goal: under the lock, revoke (RFC 7009) when asked and possible, then
//! delete the session, access-token cache first so no process can hand out the old token.

use super::lock::{self, LockStep};
use super::metadata::{self, Found, MetadataStep};
use super::persist::{self, DeleteStep};
use super::shell::{Progress, Shell, Then};
use super::{LoggedOut, LogoutGoal, sealed};
use crate::error::{FlowError, IdpUnavailable, Internal};
use crate::intent::{Intent, IntentResult, Notice};
use crate::oauth::parse_error;
use crate::secret::Entropy;
use crate::store::SessionRecords;
use crate::time::UnixTime;

/// What a logout flow's intent continues with.
pub struct LogoutStep(Step);

/// The steps of a logout flow: its own, and those of the phases it uses.
enum Step {
    Lock(LockStep),
    SessionRead,
    Metadata(MetadataStep<LoggingOut>),
    Revoked(LoggingOut),
    Delete(DeleteStep<LoggedOut>),
}

/// What a logout flow keeps throughout.
pub struct LogoutState {
    goal: LogoutGoal,
}

/// A logout past reading the session.
pub(super) struct LoggingOut {
    had_session: bool,
}

steps_from!(LogoutStep {
    LockStep => Lock,
    MetadataStep<LoggingOut> => Metadata,
    DeleteStep<LoggedOut> => Delete,
});

impl sealed::Machine<LoggedOut> for LogoutGoal {
    type Step = LogoutStep;
    type State = LogoutState;

    fn start(
        self,
        shell: &mut Shell<LogoutStep>,
        _entropy: Entropy,
        now: UnixTime,
    ) -> (LogoutState, Progress<LoggedOut>) {
        lock::start(shell, now);
        (LogoutState { goal: self }, Ok(None))
    }

    fn on_result(
        state: &mut LogoutState,
        shell: &mut Shell<LogoutStep>,
        LogoutStep(step): LogoutStep,
        now: UnixTime,
        result: IntentResult,
    ) -> Progress<LoggedOut> {
        match step {
            Step::Lock(step) => {
                if lock::on_result(shell, step, now, result)?.is_some() {
                    let slot = shell.ctx.backend.refresh_slot(shell.key());
                    shell.perform(Intent::Read(slot), LogoutStep(Step::SessionRead));
                }
                Ok(None)
            }
            Step::SessionRead => on_session_read(state, shell, now, result),
            Step::Metadata(step) => metadata::on_result(shell, step, now, result)
                .then(|found| with_metadata(shell, now, found)),
            Step::Revoked(logging_out) => {
                let revoked = match result.into_http()? {
                    // RFC 7009 §2.2: 200 whether or not the token was still valid.
                    Ok(response) if response.status == 200 => Ok(()),
                    Ok(response) => Err(parse_error(&response, &shell.sent).to_string()),
                    Err(error) => Err(error.to_string()),
                };
                delete(shell, logging_out, Some(revoked))
            }
            Step::Delete(step) => persist::on_deleted(shell, step, result),
        }
    }

    fn on_wake(
        _state: &mut LogoutState,
        _shell: &mut Shell<LogoutStep>,
        _step: LogoutStep,
        _now: UnixTime,
    ) -> Progress<LoggedOut> {
        Err(Internal::UnexpectedWakeUp.into())
    }
}

fn on_session_read(
    state: &LogoutState,
    shell: &mut Shell<LogoutStep>,
    now: UnixTime,
    result: IntentResult,
) -> Progress<LoggedOut> {
    let mut logging_out = LoggingOut { had_session: false };
    match result.into_read()? {
        Err(error) => return Err(FlowError::Store(error)),
        Ok(None) => {}
        Ok(Some(bytes)) => {
            logging_out.had_session = true;
            // A corrupt record is deleted all the same: logging out means wiping.
            shell.session = SessionRecords::decode(bytes.expose_secret()).unwrap_or_default();
        }
    }
    if !(state.goal.revoke && shell.session.refresh.is_some()) {
        return delete(shell, logging_out, None);
    }
    metadata::ensure(shell, logging_out).then(|found| with_metadata(shell, now, found))
}

fn with_metadata(
    shell: &mut Shell<LogoutStep>,
    now: UnixTime,
    (logging_out, found): Found<LoggingOut>,
) -> Progress<LoggedOut> {
    if let Err(failure) = found {
        return delete(shell, logging_out, Some(Err(failure.to_string())));
    }
    let endpoint = shell
        .metadata
        .as_ref()
        .and_then(|m| m.revocation_endpoint.clone());
    // Requirement 17: Entra ID and Dex have no revocation endpoint; that is a note, not
    // a failure.
    let Some(endpoint) = endpoint else {
        shell.notify(Notice::RevocationNotAdvertised);
        return delete(shell, logging_out, None);
    };
    let (Some(record), Some(limits)) = (&shell.session.refresh, shell.limits(now)) else {
        let reason = IdpUnavailable::BudgetSpent.to_string();
        return delete(shell, logging_out, Some(Err(reason)));
    };
    let fields = [
        ("token", record.refresh_token.expose_secret()),
        ("token_type_hint", "refresh_token"),
    ];
    // RFC 7009 §2.1: the client authenticates as at the token endpoint.
    let request = shell.client_form(&endpoint, &fields, limits);
    shell.perform(
        Intent::Http(request),
        LogoutStep(Step::Revoked(logging_out)),
    );
    Ok(None)
}

/// Deletes the session after the revocation (if any), warning when it failed.
fn delete(
    shell: &mut Shell<LogoutStep>,
    logging_out: LoggingOut,
    revoked: Option<Result<(), String>>,
) -> Progress<LoggedOut> {
    if let Some(Err(reason)) = &revoked {
        shell.notify(Notice::RevocationFailed {
            reason: reason.clone(),
        });
    }
    let logged_out = LoggedOut {
        had_session: logging_out.had_session,
        revoked,
    };
    persist::delete(shell, logged_out, true);
    Ok(None)
}
