//! The drive loop: the async copy of the ten-line loop of SPEC §1. It hands each intent to
//! [`AsyncIo`] and feeds the result back until the flow is done, and decides nothing.

use llmauth_core::error::{FlowError, Internal};
use llmauth_core::flow::{Outcome, TokenFlow};
use llmauth_core::intent::{Input, Output};

use crate::io::AsyncIo;

/// Runs `flow` to completion, performing its intents with `io`.
///
/// # Errors
/// The flow's own [`FlowError`]; a driver bug (a [`Misuse`]) surfaces as
/// [`FlowError::Internal`].
pub async fn drive(mut flow: TokenFlow, io: &mut AsyncIo) -> Result<Outcome, FlowError> {
    loop {
        match flow.poll_output() {
            Output::Perform { id, intent } => {
                let result = io.perform(intent.clone()).await;
                flow.handle_input(Input::Completed {
                    id,
                    now: io.now(),
                    result,
                })?;
            }
            Output::WaitUntil { deadline, .. } => {
                io.sleep_until(deadline).await;
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
