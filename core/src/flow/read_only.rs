//! The token flow for a performer that can only read files: the lean `llmauth-token`
//! binary, which answers a tool's call from the stored token and hands everything else to
//! the full `llmauth token`.
//!
//! ```text
//!  ConfigSnapshot ──TokenFlow::read_only──▶ flow ──read_only_step──▶ Read(file slot) ──▶ feed back
//!                                                                  ├▶ Answer(token from the store)
//!                                                                  └▶ HandOver (the lock, the keychain,
//!                                                                       the network, any failure)
//! ```
//!
//! It is the same [`TokenFlow`] the full binary drives, so the answer it gives is the one
//! `llmauth token` would give: a fresh stored token, judged with the same refresh margin,
//! `--min-valid`, `--force-refresh` and token kind. What this performer cannot do — take
//! the session lock, reach the keychain or the IdP, sign in, report a failure — is where
//! [`TokenFlow::read_only_step`] says to hand over, and the full binary starts the call
//! again from the beginning.

use super::token;
use super::{FlowContext, FlowSettings, Interaction, TokenFlow, TokenGoal};
use crate::config::snapshot::ConfigSnapshot;
use crate::intent::{Intent, IntentId, Output};
use crate::provider::{AudienceVia, CallbackHost, IssuerMatch, Redirect, Tenants, TokenKind};
use crate::store::{Backend, Slot};
use crate::time::UnixTime;
use crate::token::Credential;

/// What a read-only performer does next.
#[derive(Debug)]
pub enum ReadOnlyStep<'a> {
    /// Read this file and feed the result back with this id.
    Read {
        /// The id to answer with.
        id: IntentId,
        /// The file's slot (never the keychain).
        slot: &'a Slot,
    },
    /// The token to print: it came from the store and is fresh enough.
    Answer(Credential),
    /// Anything else: run the full `llmauth token` with the same arguments instead.
    HandOver,
}

impl TokenFlow<TokenGoal> {
    /// A token flow from a configuration snapshot, for a performer that can only read
    /// files. `kind` is `--kind` when given (else the configured kind applies).
    ///
    /// It holds no entropy and may never sign in; only the settings the stored-token path
    /// reads come from the snapshot (the rest are never reached before a hand-over).
    pub fn read_only(
        snapshot: &ConfigSnapshot,
        backend: Backend,
        goal: TokenGoal,
        kind: Option<TokenKind>,
        now: UnixTime,
    ) -> Self {
        let settings = FlowSettings {
            session_key: snapshot.session_key.clone(),
            token_kind: snapshot.handed_out(kind),
            refresh_window: snapshot.refresh_window,
            // Read only after the session lock, which this performer never takes.
            issuer: String::new(),
            issuer_match: IssuerMatch::Exact,
            client_id: String::new(),
            client_secret: false,
            audience: String::new(),
            audience_via: AudienceVia::None,
            scopes: Vec::new(),
            authorization_params: Vec::new(),
            redirect: Redirect::Loopback {
                host: CallbackHost::Localhost,
                port: 0,
            },
            resend_scope: false,
            session_end_cause: None,
            tenants: Tenants::default(),
        };
        let ctx = FlowContext {
            backend,
            interaction: Interaction::NONE,
            deadline: None,
            pid: 0,
        };
        Self::start(settings, ctx, |shell| token::start(goal, shell, None), now)
    }

    /// What a performer that can only read files does next: read a file, print the
    /// answer, or hand over.
    pub fn read_only_step(&self) -> ReadOnlyStep<'_> {
        match self.poll_output() {
            Output::Perform {
                id,
                intent: Intent::Read(slot),
            } if !matches!(slot, Slot::Keychain(_)) => ReadOnlyStep::Read { id, slot },
            Output::Done(Ok(credential)) if !credential.newly_issued => {
                ReadOnlyStep::Answer(credential)
            }
            Output::Perform { .. } | Output::WaitUntil { .. } | Output::Done(_) => {
                ReadOnlyStep::HandOver
            }
        }
    }
}
