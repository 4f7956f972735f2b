//! [`Shell`]: what every flow has whatever its goal — the intent queue and its ids, the
//! one wait, the resources to release at the end (lock, login marker, listener), and what
//! the flow has learned (provider metadata, the session's records).
//!
//! Phases queue intents together with the step that handles their result (`S`, the goal's
//! step type, built from each phase's own step type); their per-phase data lives in those
//! steps and is dropped when the phase ends.

use core::time::Duration;
use std::collections::VecDeque;

use super::{FlowContext, FlowSettings};
use crate::discovery::ProviderMetadata;
use crate::error::{FlowError, Misuse};
use crate::http::{HttpRequest, Limits, SentSecrets};
use crate::intent::{Intent, IntentId, IntentResult, Notice, Output};
use crate::secret::{ClientSecret, SecretBytes};
use crate::store::{AccessRecord, LockName, LoginMarker, SessionKey, SessionRecords, Slot};
use crate::time::{UnixTime, WaitReason};

/// Per-request limits for IdP calls (SPEC §8).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const INTERACTIVE_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const INTERACTIVE_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What a phase reports after an input: `Ok(None)` when it issued its next intent (or
/// wait), `Ok(Some(value))` when it ended with `value`, `Err` when the flow ends with
/// this error.
pub(super) type Progress<T> = Result<Option<T>, FlowError>;

/// Chains phases: `next` continues only once the phase before has ended.
pub(super) trait Then<T> {
    fn then<U>(self, next: impl FnOnce(T) -> Progress<U>) -> Progress<U>;
}

impl<T> Then<T> for Progress<T> {
    fn then<U>(self, next: impl FnOnce(T) -> Progress<U>) -> Progress<U> {
        match self? {
            None => Ok(None),
            Some(ended) => next(ended),
        }
    }
}

/// The part of a flow every goal shares. See the module docs.
pub struct Shell<S> {
    pub(super) settings: FlowSettings,
    pub(super) ctx: FlowContext,
    /// The time of the latest input.
    pub(super) now: UnixTime,
    next_id: u64,
    current: Option<Current<S>>,
    queue: VecDeque<Queued<S>>,
    wait: Option<Wait<S>>,
    // Resources released when the flow ends.
    holding_lock: bool,
    marker_written: bool,
    listener_open: bool,
    // What the flow has learned.
    pub(super) metadata: Option<ProviderMetadata>,
    /// The client secret, read with the metadata when one is configured.
    pub(super) client_secret: Option<ClientSecret>,
    /// The records read under the lock, or written since.
    pub(super) session: SessionRecords,
    /// The access-token record read on the fast path, before the lock.
    pub(super) cached: Option<AccessRecord>,
    /// The credentials of the last request answered, for taking them out of its answer.
    pub(super) sent: SentSecrets,
}

struct Current<S> {
    id: IntentId,
    intent: Intent,
    then: Option<S>,
}

struct Queued<S> {
    intent: Intent,
    then: Option<S>,
}

struct Wait<S> {
    deadline: UnixTime,
    reason: WaitReason,
    then: S,
}

impl<S> Shell<S> {
    pub(super) fn new(settings: FlowSettings, ctx: FlowContext, now: UnixTime) -> Self {
        Self {
            settings,
            ctx,
            now,
            next_id: 0,
            current: None,
            queue: VecDeque::new(),
            wait: None,
            holding_lock: false,
            marker_written: false,
            listener_open: false,
            metadata: None,
            client_secret: None,
            session: SessionRecords::default(),
            cached: None,
            sent: SentSecrets::default(),
        }
    }

    /// The outstanding intent or wait; `None` once the flow has nothing left to do.
    pub(super) fn poll<O>(&self) -> Option<Output<'_, O>> {
        if let Some(current) = &self.current {
            return Some(Output::Perform {
                id: current.id,
                intent: &current.intent,
            });
        }
        self.wait.as_ref().map(|wait| Output::WaitUntil {
            deadline: wait.deadline,
            reason: wait.reason,
        })
    }

    /// Takes the outstanding intent answered by `result`: the step that handles it, or
    /// `None` for an intent whose result does not matter.
    ///
    /// # Errors
    /// [`Misuse`] when `id` or the kind of `result` does not fit; nothing changes.
    pub(super) fn complete(
        &mut self,
        id: IntentId,
        now: UnixTime,
        result: &IntentResult,
    ) -> Result<Option<S>, Misuse> {
        let Some(current) = &self.current else {
            return Err(if self.wait.is_none() {
                Misuse::AfterDone
            } else {
                Misuse::WrongId {
                    expected: None,
                    got: id,
                }
            });
        };
        if current.id != id {
            return Err(Misuse::WrongId {
                expected: Some(current.id),
                got: id,
            });
        }
        if !result.answers(&current.intent) {
            return Err(Misuse::WrongResultKind);
        }
        if let Intent::Http(request) = &current.intent {
            self.sent = request.sent_secrets();
        }
        self.now = self.now.max(now);
        Ok(self.current.take().and_then(|current| current.then))
    }

    /// Takes the wait when its deadline has passed; `None` for an early wake-up, which
    /// changes nothing.
    ///
    /// # Errors
    /// [`Misuse`] when an intent is outstanding or nothing waits.
    pub(super) fn wake(&mut self, now: UnixTime) -> Result<Option<S>, Misuse> {
        if self.current.is_some() {
            return Err(Misuse::UnexpectedTimeout);
        }
        let Some(wait) = self.wait.take_if(|wait| now >= wait.deadline) else {
            return match self.wait {
                Some(_) => Ok(None),
                None => Err(Misuse::AfterDone),
            };
        };
        self.now = self.now.max(now);
        Ok(Some(wait.then))
    }

    /// Issues an intent whose result `then` handles.
    pub(super) fn perform(&mut self, intent: Intent, then: impl Into<S>) {
        self.queue.push_back(Queued {
            intent,
            then: Some(then.into()),
        });
    }

    /// Issues an intent whose result does not matter (notices, cleanup, answer pages).
    pub(super) fn fire(&mut self, intent: Intent) {
        self.queue.push_back(Queued { intent, then: None });
    }

    pub(super) fn notify(&mut self, notice: Notice) {
        self.fire(Intent::Notify(notice));
    }

    /// Asks to be woken at `deadline`; `then` continues.
    pub(super) fn wait_until(
        &mut self,
        deadline: UnixTime,
        reason: WaitReason,
        then: impl Into<S>,
    ) {
        self.wait = Some(Wait {
            deadline,
            reason,
            then: then.into(),
        });
    }

    /// Moves the next queued intent into place.
    pub(super) fn advance(&mut self) {
        if self.current.is_some() {
            return;
        }
        if let Some(next) = self.queue.pop_front() {
            self.next_id += 1;
            self.current = Some(Current {
                id: IntentId(self.next_id),
                intent: next.intent,
                then: next.then,
            });
        }
    }

    /// Releases what the flow holds — the login marker it wrote, the listener it opened,
    /// the lock it took, in that order — and drops any wait.
    pub(super) fn release(&mut self) {
        if self.marker_written {
            self.marker_written = false;
            self.fire(Intent::Delete(Slot::LoginMarker(self.key().clone())));
        }
        if self.listener_open {
            self.close_listener();
        }
        if self.holding_lock {
            self.holding_lock = false;
            self.fire(Intent::Unlock(self.lock_name()));
        }
        self.wait = None;
    }

    pub(super) fn lock_acquired(&mut self) {
        self.holding_lock = true;
    }

    pub(super) fn listener_opened(&mut self) {
        self.listener_open = true;
    }

    pub(super) fn close_listener(&mut self) {
        self.listener_open = false;
        self.fire(Intent::CloseCallback);
    }

    /// Announces a login to other processes waiting for the lock (SPEC §5).
    pub(super) fn write_marker(&mut self, url: &str, user_code: Option<String>) {
        let marker = LoginMarker {
            pid: self.ctx.pid,
            url: url.to_owned(),
            user_code,
        };
        let bytes = SecretBytes::new(serde_json::to_vec(&marker).unwrap_or_default());
        self.marker_written = true;
        self.fire(Intent::Write {
            slot: Slot::LoginMarker(self.key().clone()),
            bytes,
        });
    }

    /// The session this flow works on.
    pub(super) fn key(&self) -> &SessionKey {
        &self.settings.session_key
    }

    pub(super) fn lock_name(&self) -> LockName {
        LockName::Session(self.key().clone())
    }

    pub(super) fn interactive(&self) -> bool {
        self.ctx.interaction.login
    }

    /// Limits for the next IdP request, or `None` when the time budget is spent.
    pub(super) fn limits(&self, now: UnixTime) -> Option<Limits> {
        let (connect, total) = if self.interactive() {
            (INTERACTIVE_CONNECT_TIMEOUT, INTERACTIVE_REQUEST_TIMEOUT)
        } else {
            (CONNECT_TIMEOUT, REQUEST_TIMEOUT)
        };
        let mut deadline = now.saturating_add(total);
        if let Some(budget) = self.ctx.deadline {
            if budget <= now {
                return None;
            }
            deadline = deadline.min(budget);
        }
        Some(Limits {
            connect_timeout: connect.min(deadline.since(now)),
            deadline,
        })
    }

    /// A form POST to the token endpoint: [`Shell::client_form`], naming the gateway as
    /// the RFC 8707 `resource` when the audience is requested that way — some IdPs issue
    /// the gateway's JWT only when every token request names it (§2.2).
    pub(super) fn idp_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        limits: Limits,
    ) -> HttpRequest {
        let mut all = fields.to_vec();
        all.extend(self.settings.token_audience());
        self.client_form(url, &all, limits)
    }

    /// A form POST authenticated as this client (RFC 6749 §2.3.1): `client_id` always,
    /// `client_secret` only when one is configured (`client_secret_post`).
    pub(super) fn client_form(
        &self,
        url: &str,
        fields: &[(&str, &str)],
        limits: Limits,
    ) -> HttpRequest {
        let mut all = fields.to_vec();
        all.push(("client_id", &self.settings.client_id));
        if let Some(secret) = &self.client_secret {
            all.push(("client_secret", secret.expose_secret()));
        }
        HttpRequest::post_form(url, &all, limits)
    }

    /// The generation for the next write: above anything seen.
    pub(super) fn next_generation(&self) -> u64 {
        let cached = self.cached.as_ref().map_or(0, |c| c.generation);
        self.session.generation().max(cached) + 1
    }
}
