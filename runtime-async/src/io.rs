//! [`AsyncIo`]: performs a flow's intents for the async runtime by handing them to the
//! blocking performer on tokio's blocking thread pool.
//!
//! Every intent of a token flow is short file, keychain, lock or IdP work, or a wait for
//! the sign-in redirect; none is on the proxy's request path. The blocking performer is
//! moved to the pool thread and back for each intent, so the locks it holds and the
//! callback listener it opened persist across the flow's intents, exactly as in
//! `llmauth token`.

use llmauth_blocking::BlockingIo;
use llmauth_core::intent::{Intent, IntentResult};
use llmauth_core::time::UnixTime;

use crate::clock;

/// Performs intents; decides nothing.
pub struct AsyncIo {
    /// `None` only while an intent runs on the pool (or after a cancelled one).
    blocking: Option<BlockingIo>,
}

impl AsyncIo {
    /// Wraps a blocking performer (its notice sink decides where notices go).
    pub fn new(blocking: BlockingIo) -> Self {
        Self {
            blocking: Some(blocking),
        }
    }

    /// Performs `intent` on the blocking pool and returns its result.
    pub async fn perform(&mut self, intent: Intent) -> IntentResult {
        let Some(mut blocking) = self.blocking.take() else {
            // A previous perform was cancelled mid-way and took the performer with it;
            // answering `Done` makes core report a misuse instead of hanging.
            return IntentResult::Done;
        };
        let performed = tokio::task::spawn_blocking(move || {
            let result = blocking.perform(&intent);
            (blocking, result)
        })
        .await;
        // A performer that panicked is gone with its locks; `Done` makes core report a
        // misuse, as after a cancelled perform.
        let Ok((blocking, result)) = performed else {
            return IntentResult::Done;
        };
        self.blocking = Some(blocking);
        result
    }

    /// The wall clock.
    pub fn now(&self) -> UnixTime {
        clock::now()
    }

    /// Sleeps until `deadline` without blocking a thread.
    pub async fn sleep_until(&mut self, deadline: UnixTime) {
        clock::sleep_until(deadline).await;
    }
}
