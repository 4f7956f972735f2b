//! The login goal: a new interactive sign-in whatever is stored, under the lock, after
//! re-reading the session (a corrupt one is moved aside, and new records get a higher
//! generation than anything stored).

use super::authorize::{self, SignInStep, Verified};
use super::lock::{self, LockStep};
use super::metadata::{self, Found, MetadataStep};
use super::persist::{self, PersistStep};
use super::session::{self, SessionRead, SessionStep};
use super::shell::{Progress, Shell, Then};
use super::{LoginGoal, SignedIn, sealed};
use crate::error::{FlowError, Internal};
use crate::intent::IntentResult;
use crate::secret::Entropy;
use crate::time::UnixTime;

/// What a login flow's intent continues with.
pub struct LoginStep(Step);

/// The steps of a login flow: its own, and those of the phases it uses.
enum Step {
    Lock(LockStep),
    Session(SessionStep<()>),
    Metadata(MetadataStep<()>),
    SignIn(SignInStep),
    Persist(PersistStep<SignedIn>),
}

/// What a login flow keeps throughout.
pub struct LoginState {
    goal: LoginGoal,
    entropy: Option<Entropy>,
}

steps_from!(LoginStep {
    LockStep => Lock,
    SessionStep<()> => Session,
    MetadataStep<()> => Metadata,
    SignInStep => SignIn,
    PersistStep<SignedIn> => Persist,
});

impl sealed::Machine<SignedIn> for LoginGoal {
    type Step = LoginStep;
    type State = LoginState;

    fn start(
        self,
        shell: &mut Shell<LoginStep>,
        entropy: Entropy,
        now: UnixTime,
    ) -> (LoginState, Progress<SignedIn>) {
        lock::start(shell, now);
        let state = LoginState {
            goal: self,
            entropy: Some(entropy),
        };
        (state, Ok(None))
    }

    fn on_result(
        state: &mut LoginState,
        shell: &mut Shell<LoginStep>,
        LoginStep(step): LoginStep,
        now: UnixTime,
        result: IntentResult,
    ) -> Progress<SignedIn> {
        match step {
            Step::Lock(step) => {
                if lock::on_result(shell, step, now, result)?.is_some() {
                    session::start(shell, ());
                }
                Ok(None)
            }
            Step::Session(step) => match session::on_result(shell, step, result)? {
                None => Ok(None),
                Some(SessionRead::AccessCache(())) => {
                    session::read_refresh_slot(shell, ());
                    Ok(None)
                }
                Some(SessionRead::Complete(()) | SessionRead::MovedAside) => {
                    metadata::ensure(shell, ()).then(|found| sign_in(state, shell, now, found))
                }
            },
            Step::Metadata(step) => metadata::on_result(shell, step, now, result)
                .then(|found| sign_in(state, shell, now, found)),
            Step::SignIn(step) => authorize::on_result(shell, step, now, result)
                .then(|verified| persist(shell, verified)),
            Step::Persist(step) => persist::on_written(shell, step, result),
        }
    }

    fn on_wake(
        _state: &mut LoginState,
        shell: &mut Shell<LoginStep>,
        LoginStep(step): LoginStep,
        now: UnixTime,
    ) -> Progress<SignedIn> {
        let Step::SignIn(step) = step else {
            return Err(Internal::UnexpectedWakeUp.into());
        };
        authorize::on_wake(shell, step, now).then(|verified| persist(shell, verified))
    }
}

/// With the provider's metadata, starts the sign-in.
fn sign_in(
    state: &mut LoginState,
    shell: &mut Shell<LoginStep>,
    now: UnixTime,
    (_, found): Found<()>,
) -> Progress<SignedIn> {
    found.map_err(FlowError::from)?;
    let Some(entropy) = state.entropy.take() else {
        return Err(Internal::LoginStartedTwice.into());
    };
    authorize::start(shell, now, entropy, state.goal.device)
        .then(|verified| persist(shell, verified))
}

/// Stores the new session, then reports the sign-in.
fn persist(shell: &mut Shell<LoginStep>, verified: Verified) -> Progress<SignedIn> {
    persist::write(shell, verified.records, true, verified.signed_in)
}
