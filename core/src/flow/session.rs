//! The session side of a flow: the fast path, the lock and the login marker, reading the
//! session under the lock, deciding what the goal needs, and persisting.

use core::time::Duration;

use super::{AfterPersist, Goal, Outcome, Purpose, ReadPurpose, SessionStatus, State, TokenFlow};
use super::{INTERACTIVE_LOCK_WAIT, LOCK_SLICE};
use crate::error::{FlowError, Internal, NeedsLogin};
use crate::intent::{Intent, LockOutcome, Notice};
use crate::secret::SecretBytes;
use crate::store::{
    AccessRecord, Backend, CorruptRecord, LoginMarker, SessionRecords, Slot, StoreError,
};
use crate::time::UnixTime;
use crate::token::{self, Credential};

impl TokenFlow {
    /// The fast path: a fresh cached token is returned with no lock and no network.
    pub(super) fn on_cache_read(
        &mut self,
        now: UnixTime,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        // An unreadable cache is only a miss: the session is re-read and judged under the lock.
        self.cached = access_record(read);
        if let (
            Some(cached),
            Goal::Token {
                min_valid,
                force_refresh: false,
            },
        ) = (&self.cached, &self.goal)
            && token::is_fresh(cached, now, self.settings.refresh_window, *min_valid)
        {
            let credential = Credential::from(cached);
            self.finish(Ok(Outcome::Token(credential)));
            return;
        }
        self.try_lock(now);
    }

    pub(super) fn try_lock(&mut self, now: UnixTime) {
        self.lock_deadline = match self.ctx.deadline {
            Some(deadline) if !self.interactive() => deadline,
            _ => now.saturating_add(INTERACTIVE_LOCK_WAIT),
        };
        self.perform(
            Intent::Lock {
                name: self.lock_name(),
                until: None,
            },
            State::LockTried,
        );
    }

    pub(super) fn on_lock(&mut self, now: UnixTime, outcome: LockOutcome) {
        match outcome {
            LockOutcome::Acquired => {
                self.holding_lock = true;
                self.after_lock();
            }
            LockOutcome::Busy if now >= self.lock_deadline => {
                self.finish(Err(FlowError::LockTimeout))
            }
            // Someone else holds the lock: a login in progress is announced by its marker.
            LockOutcome::Busy => self.perform(
                Intent::Read(Slot::LoginMarker(self.key.clone())),
                State::MarkerRead,
            ),
        }
    }

    pub(super) fn on_marker_read(
        &mut self,
        now: UnixTime,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        let marker = match read {
            Ok(Some(bytes)) => serde_json::from_slice::<LoginMarker>(bytes.expose_secret()).ok(),
            Ok(None) | Err(_) => None,
        };
        if let Some(marker) = marker {
            if !self.interactive() {
                let url = marker.url;
                self.finish(Err(FlowError::NeedsLogin(NeedsLogin::LoginInProgress {
                    url,
                })));
                return;
            }
            if !self.told_login_elsewhere {
                self.told_login_elsewhere = true;
                self.notify(Notice::LoginInProgressElsewhere {
                    url: marker.url,
                    user_code: marker.user_code,
                });
            }
        }
        let until = now.saturating_add(LOCK_SLICE).min(self.lock_deadline);
        self.perform(
            Intent::Lock {
                name: self.lock_name(),
                until: Some(until),
            },
            State::LockWaited,
        );
    }

    fn after_lock(&mut self) {
        match self.goal {
            Goal::Logout { .. } => {
                let slot = self.ctx.backend.refresh_slot(&self.key);
                self.perform(Intent::Read(slot), State::LogoutRead);
            }
            Goal::Token { .. } | Goal::Login { .. } => self.read_session(ReadPurpose::Decide),
            Goal::Inspect => self.finish(Err(FlowError::Internal(Internal::UnexpectedResult))),
        }
    }

    /// Re-reads the session under the lock: another process may have refreshed it.
    ///
    /// With the keyring backend the access-token cache is read first: when another process
    /// has just refreshed, its token is served without a keychain round trip, which keeps
    /// fifty waiters queued on the lock quick.
    pub(super) fn read_session(&mut self, purpose: ReadPurpose) {
        let (slot, state) = match self.ctx.backend {
            Backend::File => (
                Slot::SessionFile(self.key.clone()),
                State::RefreshSlotRead(purpose),
            ),
            Backend::Keyring => (
                Slot::AccessCache(self.key.clone()),
                State::AccessSlotRead(purpose),
            ),
        };
        self.perform(Intent::Read(slot), state);
    }

    pub(super) fn on_refresh_slot_read(
        &mut self,
        now: UnixTime,
        purpose: ReadPurpose,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        let records = match read {
            Err(error) => return self.finish(Err(FlowError::Store(error))),
            Ok(None) => SessionRecords::default(),
            Ok(Some(bytes)) => match SessionRecords::decode(bytes.expose_secret()) {
                Ok(records) => records,
                Err(corrupt) => return self.on_corrupt_session(corrupt),
            },
        };
        match self.ctx.backend {
            Backend::File => self.session = records,
            Backend::Keyring => self.session.refresh = records.refresh,
        }
        self.on_session_read(now, purpose);
    }

    pub(super) fn on_access_slot_read(
        &mut self,
        now: UnixTime,
        purpose: ReadPurpose,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        self.session.access = access_record(read);
        if matches!(purpose, ReadPurpose::Decide)
            && let Some(credential) = self.cached_answer(now)
        {
            return self.finish(Ok(Outcome::Token(credential)));
        }
        let slot = Slot::Keychain(self.key.clone());
        self.perform(Intent::Read(slot), State::RefreshSlotRead(purpose));
    }

    /// The stored access token, when it answers a `token` goal without a refresh: fresh
    /// enough, and — for `--force-refresh` — written after the one this flow saw first
    /// (another process already refreshed).
    fn cached_answer(&self, now: UnixTime) -> Option<Credential> {
        let Goal::Token {
            min_valid,
            force_refresh,
        } = self.goal
        else {
            return None;
        };
        let access = self.session.access.as_ref()?;
        let refreshed_elsewhere = self
            .cached
            .as_ref()
            .is_none_or(|c| access.generation > c.generation);
        let fresh = token::is_fresh(access, now, self.settings.refresh_window, min_valid);
        (fresh && (!force_refresh || refreshed_elsewhere)).then(|| Credential::from(access))
    }

    fn on_session_read(&mut self, now: UnixTime, purpose: ReadPurpose) {
        match purpose {
            ReadPurpose::Decide => self.decide(now),
            ReadPurpose::AfterInvalidGrant { sent, error } => {
                self.after_invalid_grant_reread(now, sent, error)
            }
        }
    }

    /// What the goal needs, now that the session is known and the lock held.
    fn decide(&mut self, now: UnixTime) {
        if !matches!(self.goal, Goal::Token { .. }) {
            // `login` always starts a new sign-in.
            return self.start_login(now);
        }
        if let Some(credential) = self.cached_answer(now) {
            return self.finish(Ok(Outcome::Token(credential)));
        }
        if self.session.refresh.is_some() {
            return self.ensure_metadata(now, Purpose::Refresh);
        }
        // Without a refresh token, a token that still works beats a login.
        if let Some(access) = &self.session.access
            && token::is_valid(access, now)
        {
            let credential = Credential::from(access);
            return self.finish(Ok(Outcome::Token(credential)));
        }
        self.login_or_fail(now, NeedsLogin::NoSession);
    }

    /// Starts an interactive login when allowed; otherwise ends with `reason`.
    pub(super) fn login_or_fail(&mut self, now: UnixTime, reason: NeedsLogin) {
        if self.interactive() {
            self.start_login(now);
        } else {
            self.finish(Err(FlowError::NeedsLogin(reason)));
        }
    }

    /// An unreadable session: left alone without a login, moved aside before one.
    fn on_corrupt_session(&mut self, corrupt: CorruptRecord) {
        if !self.interactive() {
            return self.finish(Err(FlowError::NeedsLogin(NeedsLogin::CorruptSession {
                reason: corrupt.reason,
            })));
        }
        let slot = self.ctx.backend.refresh_slot(&self.key);
        self.perform(
            Intent::MoveAside(slot),
            State::MovedAside {
                reason: corrupt.reason,
            },
        );
    }

    pub(super) fn on_moved_aside(
        &mut self,
        now: UnixTime,
        reason: String,
        stored: Result<(), StoreError>,
    ) {
        if let Err(error) = stored {
            return self.finish(Err(FlowError::Store(error)));
        }
        self.notify(Notice::SessionMovedAside { reason });
        self.session = SessionRecords::default();
        self.start_login(now);
    }

    /// Writes the session: the refresh-token record first (so a rotated refresh token is
    /// never lost), then the access-token record.
    pub(super) fn persist(
        &mut self,
        records: SessionRecords,
        refresh_changed: bool,
        after: AfterPersist,
    ) {
        self.session = records;
        let access_bytes = self.session.access.as_ref().map(|access| {
            SessionRecords {
                refresh: None,
                access: Some(access.clone()),
            }
            .encode()
        });
        match self.ctx.backend {
            Backend::File => {
                let bytes = self.session.encode();
                let slot = Slot::SessionFile(self.key.clone());
                self.perform(Intent::Write { slot, bytes }, State::SessionWritten(after));
            }
            Backend::Keyring if refresh_changed => {
                let bytes = SessionRecords {
                    refresh: self.session.refresh.clone(),
                    access: None,
                }
                .encode();
                let slot = Slot::Keychain(self.key.clone());
                let access = access_bytes.map(Box::new);
                self.perform(
                    Intent::Write { slot, bytes },
                    State::KeychainWritten { access, after },
                );
            }
            Backend::Keyring => match access_bytes {
                Some(bytes) => {
                    let slot = Slot::AccessCache(self.key.clone());
                    self.perform(
                        Intent::Write { slot, bytes },
                        State::AccessCacheWritten(after),
                    );
                }
                None => self.fire_after_persist(after),
            },
        }
    }

    pub(super) fn on_keychain_written(
        &mut self,
        access: Option<Box<SecretBytes>>,
        after: AfterPersist,
        stored: Result<(), StoreError>,
    ) {
        if let Err(error) = stored {
            return self.finish(Err(FlowError::Store(error)));
        }
        match access {
            Some(bytes) => {
                let slot = Slot::AccessCache(self.key.clone());
                self.perform(
                    Intent::Write {
                        slot,
                        bytes: *bytes,
                    },
                    State::AccessCacheWritten(after),
                );
            }
            None => self.fire_after_persist(after),
        }
    }

    pub(super) fn on_session_written(
        &mut self,
        after: AfterPersist,
        stored: Result<(), StoreError>,
    ) {
        if let Err(error) = stored {
            return self.finish(Err(FlowError::Store(error)));
        }
        self.fire_after_persist(after);
    }

    pub(super) fn on_access_cache_written(
        &mut self,
        after: AfterPersist,
        stored: Result<(), StoreError>,
    ) {
        // The refresh token is safe in the keychain; a missing cache costs one refresh.
        if let Err(error) = stored {
            self.notify(Notice::AccessCacheNotWritten {
                reason: error.to_string(),
            });
        }
        self.fire_after_persist(after);
    }

    fn fire_after_persist(&mut self, after: AfterPersist) {
        match after {
            AfterPersist::ServeToken(credential) => self.finish(Ok(Outcome::Token(credential))),
            AfterPersist::LoggedIn {
                credential,
                sub,
                refresh_token,
            } => {
                let outcome = if matches!(self.goal, Goal::Token { .. }) {
                    Outcome::Token(credential)
                } else {
                    Outcome::LoggedIn {
                        credential,
                        sub,
                        refresh_token,
                    }
                };
                self.finish(Ok(outcome));
            }
            AfterPersist::RetryRefresh => self.send_refresh(self.now),
            AfterPersist::Fail(error) => self.finish(Err(error)),
        }
    }

    /// Builds the access record for a token received at `now`.
    pub(super) fn access_record(
        &self,
        token: crate::secret::AccessToken,
        expires_in: Option<Duration>,
        now: UnixTime,
        generation: u64,
    ) -> AccessRecord {
        let expires_at = match expires_in {
            Some(lifetime) => Some(now.saturating_add(lifetime)),
            None => token::jwt_expiry(&token),
        };
        let lifetime = expires_in.or_else(|| expires_at.map(|at| at.since(now)));
        AccessRecord {
            access_token: token,
            expires_at,
            issued_at: now,
            lifetime,
            generation,
        }
    }

    /// `status`: what is stored, read without the lock.
    pub(super) fn on_inspect_refresh_read(
        &mut self,
        now: UnixTime,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        let mut corrupt = None;
        match read {
            Err(error) => return self.finish(Err(FlowError::Store(error))),
            Ok(None) => {}
            Ok(Some(bytes)) => match SessionRecords::decode(bytes.expose_secret()) {
                Ok(records) => self.session = records,
                Err(error) => corrupt = Some(error.reason),
            },
        }
        self.inspect_corrupt = corrupt;
        match self.ctx.backend {
            Backend::Keyring => {
                let slot = Slot::AccessCache(self.key.clone());
                self.perform(Intent::Read(slot), State::InspectAccessRead);
            }
            Backend::File => self.finish_inspect(now),
        }
    }

    pub(super) fn on_inspect_access_read(
        &mut self,
        now: UnixTime,
        read: Result<Option<SecretBytes>, StoreError>,
    ) {
        self.session.access = access_record(read);
        self.finish_inspect(now);
    }

    fn finish_inspect(&mut self, now: UnixTime) {
        let refresh = self.session.refresh.as_ref();
        let access = self.session.access.as_ref();
        let status = SessionStatus {
            refresh_token: refresh.is_some(),
            maybe_spent: refresh.is_some_and(|r| r.maybe_spent),
            sub: refresh.map(|r| r.sub.clone()).filter(|s| !s.is_empty()),
            access_expires_at: access.map(|a| a.expires_at),
            access_valid: access.is_some_and(|a| token::is_valid(a, now)),
            corrupt: self.inspect_corrupt.take(),
        };
        self.finish(Ok(Outcome::Inspected(status)));
    }
}

/// The access-token record in what a read returned. The access token is a cache: a
/// missing, unreadable or corrupt record is simply no token.
fn access_record(read: Result<Option<SecretBytes>, StoreError>) -> Option<AccessRecord> {
    let bytes = read.ok()??;
    SessionRecords::decode(bytes.expose_secret()).ok()?.access
}
