//! The drive loop: hand each intent to [`BlockingIo`], feed the result back, until the
//! flow is done (the loop of SPEC §1; the async runtime has the same one with `.await`).

use llmauth_core::flow::{FlowResult, Goal, TokenFlow};
use llmauth_core::intent::{Input, Output};

use crate::io::BlockingIo;

/// Runs `flow` to its outcome, performing its intents with `io`.
///
/// # Errors
/// The flow's own error; a driver bug (a `Misuse`) surfaces as `FlowError::Internal`.
pub fn drive<G: Goal>(mut flow: TokenFlow<G>, io: &mut BlockingIo) -> FlowResult<G> {
    loop {
        let input = match flow.poll_output() {
            Output::Perform { id, intent } => {
                let result = io.perform(intent);
                let now = io.now();
                Input::Completed { id, now, result }
            }
            Output::WaitUntil { deadline, .. } => {
                io.sleep_until(deadline);
                Input::Timeout { now: io.now() }
            }
            Output::Done(outcome) => return outcome,
        };
        flow.handle_input(input)?;
    }
}
