//! The drive loop: the async copy of the ten-line loop of SPEC §1. It hands each intent to
//! [`AsyncIo`] and feeds the result back until the flow is done, and decides nothing.

use llmauth_core::error::{FlowError, Misuse};
use llmauth_core::flow::{Outcome, TokenFlow};
use llmauth_core::intent::{Input, Output};

use crate::io::AsyncIo;

/// Runs `flow` to completion, performing its intents with `io`.
///
/// # Errors
/// The flow's own [`FlowError`]; a driver bug (a [`Misuse`]) surfaces as
/// [`FlowError::Protocol`] starting with "internal error".
pub async fn drive(mut flow: TokenFlow, io: &mut AsyncIo) -> Result<Outcome, FlowError> {
    loop {
        match flow.poll_output() {
            Output::Perform { id, intent } => {
                let result = io.perform(intent.clone()).await;
                flow.handle_input(Input::Completed {
                    id,
                    now: io.now(),
                    result,
                })
                .map_err(internal)?;
            }
            Output::WaitUntil { deadline, .. } => {
                io.sleep_until(deadline).await;
                flow.handle_input(Input::Timeout { now: io.now() })
                    .map_err(internal)?;
            }
            Output::Done => {
                return flow.take_outcome().unwrap_or_else(|| {
                    Err(FlowError::Protocol(
                        "internal error: the flow finished without an outcome".to_owned(),
                    ))
                });
            }
        }
    }
}

fn internal(misuse: Misuse) -> FlowError {
    FlowError::Protocol(format!("internal error: {misuse}"))
}
