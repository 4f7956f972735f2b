//! The drive loop: hand each intent to [`BlockingIo`], feed the result back, until the
//! flow is done (the loop of SPEC §1; the async runtime has the same one with `.await`).

use llmauth_core::error::{FlowError, Internal};
use llmauth_core::flow::{Outcome, TokenFlow};
use llmauth_core::intent::{Input, Output};

use crate::io::BlockingIo;

/// Runs `flow` to completion, performing its intents with `io`.
///
/// # Errors
/// The flow's own [`FlowError`]; a driver bug (a [`Misuse`]) surfaces as
/// [`FlowError::Internal`].
pub fn drive(mut flow: TokenFlow, io: &mut BlockingIo) -> Result<Outcome, FlowError> {
    loop {
        match flow.poll_output() {
            Output::Perform { id, intent } => {
                let result = io.perform(intent);
                flow.handle_input(Input::Completed {
                    id,
                    now: io.now(),
                    result,
                })?;
            }
            Output::WaitUntil { deadline, .. } => {
                io.sleep_until(deadline);
                flow.handle_input(Input::Timeout { now: io.now() })?;
            }
            Output::Done => {
                return flow
                    .take_outcome()
                    .unwrap_or_else(|| Err(FlowError::Internal(Internal::Stalled)));
            }
        }
    }
}
