//! The drive loop: the async copy of the loop of SPEC §1. It hands each intent to
//! [`AsyncIo`] and feeds the result back until the flow is done, and decides nothing.

use llmauth_core::flow::{FlowResult, Goal, TokenFlow};
use llmauth_core::intent::{Input, Output};

use crate::io::AsyncIo;

/// Runs `flow` to its outcome, performing its intents with `io`.
///
/// # Errors
/// The flow's own error; a driver bug (a `Misuse`) surfaces as `FlowError::Internal`.
pub async fn drive<G: Goal>(mut flow: TokenFlow<G>, io: &mut AsyncIo) -> FlowResult<G> {
    loop {
        let input = match flow.poll_output() {
            Output::Perform { id, intent } => {
                let result = io.perform(intent.clone()).await;
                let now = io.now();
                Input::Completed { id, now, result }
            }
            Output::WaitUntil { deadline, .. } => {
                io.sleep_until(deadline).await;
                Input::Timeout { now: io.now() }
            }
            Output::Done(outcome) => return outcome,
        };
        flow.handle_input(input)?;
    }
}
