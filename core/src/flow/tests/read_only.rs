//! The read-only flow (the lean `llmauth-token`) answers exactly when the full token flow
//! answers from the store without the lock, with the same token, and hands over
//! everywhere else.

use core::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::config::SecretsBackend;
use crate::config::snapshot::{ConfigSnapshot, FileIdentity};
use crate::provider::TokenKind;
use crate::secret::{AccessToken, IdToken, SecretBytes};
use crate::store::{AccessRecord, IdTokenRecord, StoreError, StoreErrorKind};
use crate::testing::{T0, context, settings};

fn snapshot(token_kind: TokenKind, refresh_window: Duration) -> ConfigSnapshot {
    ConfigSnapshot {
        source: FileIdentity {
            device: 1,
            inode: 2,
            size: 3,
            modified_ns: 4,
        },
        secrets_backend: SecretsBackend::File,
        session_key: settings().session_key,
        token_kind,
        refresh_window,
    }
}

/// What the store holds for the first read.
#[derive(Clone, Debug)]
enum Stored {
    Nothing,
    Garbage,
    Unreadable,
    Record {
        expires_in: i64,
        lifetime: u64,
        id_expires_in: Option<i64>,
    },
}

impl Stored {
    fn result(&self, now: UnixTime) -> IntentResult {
        let at = |offset: i64| {
            if offset >= 0 {
                now.saturating_add(Duration::from_secs(offset.unsigned_abs()))
            } else {
                now.saturating_sub(Duration::from_secs(offset.unsigned_abs()))
            }
        };
        IntentResult::Read(match self {
            Self::Nothing => Ok(None),
            Self::Garbage => Ok(Some(SecretBytes::new(b"{not json".to_vec()))),
            Self::Unreadable => Err(StoreError {
                kind: StoreErrorKind::InsecurePermissions,
                detail: "mode 644".to_owned(),
            }),
            Self::Record {
                expires_in,
                lifetime,
                id_expires_in,
            } => {
                let lifetime = Duration::from_secs(*lifetime);
                let expires_at = at(*expires_in);
                let access = AccessRecord {
                    access_token: AccessToken::new("at-CANARY"),
                    expires_at: Some(expires_at),
                    issued_at: expires_at.saturating_sub(lifetime),
                    lifetime: Some(lifetime),
                    generation: 3,
                    id_token: id_expires_in.map(|offset| IdTokenRecord {
                        token: IdToken::new("id-CANARY"),
                        expires_at: at(offset),
                        lifetime,
                    }),
                };
                Ok(Some(
                    SessionRecords {
                        refresh: None,
                        access: Some(access),
                    }
                    .encode(),
                ))
            }
        })
    }
}

fn stored() -> impl Strategy<Value = Stored> {
    prop_oneof![
        Just(Stored::Nothing),
        Just(Stored::Garbage),
        Just(Stored::Unreadable),
        (
            -100i64..4000,
            60u64..4000,
            proptest::option::of(-100i64..4000)
        )
            .prop_map(|(expires_in, lifetime, id_expires_in)| Stored::Record {
                expires_in,
                lifetime,
                id_expires_in,
            }),
    ]
}

fn token_kind() -> impl Strategy<Value = TokenKind> {
    prop_oneof![Just(TokenKind::Access), Just(TokenKind::Id)]
}

/// The full flow's answer after its first read: `Some(token)` when it answers from the
/// store, `None` when it goes on to the lock.
fn full_answer(
    backend: Backend,
    kind: TokenKind,
    window: Duration,
    goal: TokenGoal,
    stored: &Stored,
) -> Option<Credential> {
    let settings = FlowSettings {
        token_kind: kind,
        refresh_window: window,
        ..settings()
    };
    let ctx = context(backend, Interaction::NONE, T0);
    let mut flow = TokenFlow::new(settings, ctx, goal, Entropy::new([9; 64]), T0);
    let Output::Perform { id, intent } = flow.poll_output() else {
        panic!("the full flow reads first");
    };
    assert_eq!(
        *intent,
        Intent::Read(backend.access_slot(&super::settings().session_key))
    );
    let result = stored.result(T0);
    flow.handle_input(Input::Completed {
        id,
        now: T0,
        result,
    })
    .unwrap();
    match flow.poll_output() {
        Output::Done(Ok(credential)) => Some(credential),
        Output::Perform {
            intent: Intent::Lock { .. },
            ..
        } => None,
        other => panic!("after the read: {other:?}"),
    }
}

proptest! {
    #[test]
    fn answers_exactly_where_the_full_flow_answers_without_the_lock(
        keyring in any::<bool>(),
        configured in token_kind(),
        flag in proptest::option::of(token_kind()),
        window in 0u64..1200,
        min_valid in prop_oneof![Just(0u64), 0u64..3000],
        force_refresh in any::<bool>(),
        stored in stored(),
    ) {
        let backend = if keyring { Backend::Keyring } else { Backend::File };
        let window = Duration::from_secs(window);
        let goal = TokenGoal { min_valid: Duration::from_secs(min_valid), force_refresh };
        let expected = full_answer(backend, flag.unwrap_or(configured), window, goal, &stored);

        let mut flow = TokenFlow::read_only(&snapshot(configured, window), backend, goal, flag, T0);
        let ReadOnlyStep::Read { id, slot } = flow.read_only_step() else {
            panic!("the read-only flow reads first");
        };
        prop_assert_eq!(slot, &backend.access_slot(&settings().session_key));
        let result = stored.result(T0);
        flow.handle_input(Input::Completed { id, now: T0, result }).unwrap();
        match (flow.read_only_step(), expected) {
            (ReadOnlyStep::Answer(got), Some(want)) => {
                prop_assert!(!got.newly_issued);
                prop_assert_eq!(got, want);
            }
            (ReadOnlyStep::HandOver, None) => {}
            (got, want) => prop_assert!(false, "read-only {got:?}, full {want:?}"),
        }
    }
}

#[test]
fn a_keychain_read_is_handed_over() {
    // The keyring backend's refresh record lives in the keychain: the read-only flow
    // reads only the runtime-dir cache, and a miss takes the lock (hand over) before
    // the keychain is ever named.
    let mut flow = TokenFlow::read_only(
        &snapshot(TokenKind::Access, Duration::from_secs(600)),
        Backend::Keyring,
        TokenGoal::default(),
        None,
        T0,
    );
    let ReadOnlyStep::Read { id, slot } = flow.read_only_step() else {
        panic!("reads first");
    };
    assert!(matches!(slot, Slot::AccessCache(_)));
    flow.handle_input(Input::Completed {
        id,
        now: T0,
        result: IntentResult::Read(Ok(None)),
    })
    .unwrap();
    assert!(matches!(flow.read_only_step(), ReadOnlyStep::HandOver));
}
