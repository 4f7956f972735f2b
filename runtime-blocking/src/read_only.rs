//! The lean `llmauth-token`'s performer: it drives core's read-only token flow
//! ([`TokenFlow::read_only`]) from the configuration snapshot, reading files and nothing
//! else, and says whether the call was answered or must go to the full binary.
//!
//! ```text
//! stat config.yaml + read the snapshot ──stale/missing──▶ HandOver
//!        │ current
//!        ▼
//! backend (configured, or what `auto` recorded) ──not recorded yet──▶ HandOver
//!        ▼
//! read_only_step: Read ──▶ file ──▶ handle_input … Answer(token) | HandOver
//! ```
//!
//! No entropy, no trust roots, no keychain, no lock, no writes.

use llmauth_core::flow::{ReadOnlyStep, TokenFlow, TokenGoal};
use llmauth_core::intent::{Input, IntentResult};
use llmauth_core::provider::TokenKind;
use llmauth_core::store::BackendChoice;
use llmauth_core::token::Credential;

use crate::paths::Paths;
use crate::{backend, clock, file_store, snapshot};

/// How a read-only token call ended.
#[derive(Debug)]
pub enum Cached {
    /// The token to print, and which kind it is.
    Token(Credential, TokenKind),
    /// The full `llmauth token` must answer this call.
    HandOver,
}

/// Answers a `token` call for `goal` (and `--kind`, when given) from the stored token, or
/// says to hand it over.
pub fn cached_token(paths: &Paths, goal: TokenGoal, kind: Option<TokenKind>) -> Cached {
    let Some(snapshot) = snapshot::current(paths) else {
        return Cached::HandOver;
    };
    let BackendChoice::Use(backend) = backend::choice(paths, snapshot.secrets_backend.named())
    else {
        return Cached::HandOver;
    };
    let mut flow = TokenFlow::read_only(&snapshot, backend, goal, kind, clock::now());
    loop {
        match flow.read_only_step() {
            ReadOnlyStep::Read { id, slot } => {
                let result = IntentResult::Read(file_store::read_slot(paths, slot));
                let now = clock::now();
                if flow
                    .handle_input(Input::Completed { id, now, result })
                    .is_err()
                {
                    return Cached::HandOver;
                }
            }
            ReadOnlyStep::Answer(credential) => {
                return Cached::Token(credential, snapshot.handed_out(kind));
            }
            ReadOnlyStep::HandOver => return Cached::HandOver,
        }
    }
}
