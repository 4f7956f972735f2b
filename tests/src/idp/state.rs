//! The IdP's mutable state: grants, codes, device authorizations, and the records tests
//! assert on. One `Mutex` guards all of it, so concurrent token requests are serialized
//! and every counter is exact.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ring::rand::{SecureRandom, SystemRandom};

pub(crate) use crate::random::random_token;

use super::options::{AuthorizeMode, GrantType, IdpEndpoint};

/// One user consent: the refresh tokens issued for it share its fate.
#[derive(Debug)]
pub(crate) struct Grant {
    pub(crate) scope: String,
    /// The audience of the original request (its RFC 8707 resource, or what the quirk
    /// mode's audience rule found), if any.
    pub(crate) resource: Option<String>,
    /// The sign-in's nonce (repeated in refreshed ID tokens by some quirk modes).
    pub(crate) nonce: Option<String>,
    pub(crate) auth_time: u64,
    /// Every refresh token issued for this grant, oldest first; the last is current.
    pub(crate) refresh_tokens: Vec<String>,
    pub(crate) revoked: bool,
}

/// An issued authorization code.
#[derive(Debug)]
pub(crate) struct AuthCode {
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) nonce: Option<String>,
    pub(crate) scope: String,
    pub(crate) resource: Option<String>,
    pub(crate) prompt_consent: bool,
    /// `access_type=offline` was asked for (Google).
    pub(crate) access_type_offline: bool,
    pub(crate) issued: Instant,
    /// The grant created when the code was redeemed (revoked if the code is replayed).
    pub(crate) redeemed_grant: Option<u64>,
}

/// Where a device authorization stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

/// An RFC 8628 device authorization.
#[derive(Debug)]
pub(crate) struct DeviceAuth {
    pub(crate) user_code: String,
    pub(crate) scope: String,
    pub(crate) resource: Option<String>,
    pub(crate) status: DeviceStatus,
    pub(crate) expires: Instant,
    pub(crate) last_poll: Option<Instant>,
}

/// A pending interactive login (the login form shown, not yet submitted).
#[derive(Debug)]
pub(crate) struct Interaction {
    pub(crate) params: Vec<(String, String)>,
    pub(crate) cookie: String,
}

/// Everything mutable.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) access_token_lifetime: Duration,
    pub(crate) subject: String,
    pub(crate) authorize_mode: AuthorizeMode,

    pub(crate) next_grant: u64,
    pub(crate) grants: HashMap<u64, Grant>,
    /// Every refresh token ever issued → its grant.
    pub(crate) refresh_index: HashMap<String, u64>,
    pub(crate) codes: HashMap<String, AuthCode>,
    /// Device authorizations by device code.
    pub(crate) devices: HashMap<String, DeviceAuth>,
    pub(crate) interactions: HashMap<String, Interaction>,
    /// Every access token issued, for introspection.
    pub(crate) access_tokens: HashMap<String, IssuedAccess>,

    pub(crate) records: Records,
}

/// An access token as introspection sees it (RFC 7662).
#[derive(Debug)]
pub(crate) struct IssuedAccess {
    pub(crate) grant: u64,
    pub(crate) expires_at: u64,
    /// Not invalidated by a later refresh (GitLab).
    pub(crate) active: bool,
    /// Its claims (for the introspection answer).
    pub(crate) claims: serde_json::Value,
}

/// What tests assert on.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub(crate) endpoint_hits: HashMap<IdpEndpoint, usize>,
    pub(crate) grant_requests: HashMap<GrantType, usize>,
    pub(crate) authorize_queries: Vec<Vec<(String, String)>>,
    pub(crate) token_forms: Vec<Vec<(String, String)>>,
    pub(crate) device_forms: Vec<Vec<(String, String)>>,
    pub(crate) presented_refresh_tokens: Vec<String>,
    pub(crate) issued_access_tokens: Vec<String>,
    pub(crate) issued_id_tokens: Vec<String>,
    pub(crate) issued_user_codes: Vec<String>,
    pub(crate) revoked_tokens: Vec<String>,
    pub(crate) reuse_detections: usize,
}

impl State {
    pub(crate) fn new(access_token_lifetime: Duration, subject: String) -> State {
        State {
            access_token_lifetime,
            subject,
            authorize_mode: AuthorizeMode::Approve,
            next_grant: 1,
            grants: HashMap::new(),
            refresh_index: HashMap::new(),
            codes: HashMap::new(),
            devices: HashMap::new(),
            interactions: HashMap::new(),
            access_tokens: HashMap::new(),
            records: Records::default(),
        }
    }

    /// Creates a grant and returns its id.
    pub(crate) fn new_grant(
        &mut self,
        scope: String,
        resource: Option<String>,
        nonce: Option<String>,
    ) -> u64 {
        let id = self.next_grant;
        self.next_grant += 1;
        self.grants.insert(
            id,
            Grant {
                scope,
                resource,
                nonce,
                auth_time: unix_now(),
                refresh_tokens: Vec::new(),
                revoked: false,
            },
        );
        id
    }

    /// Issues a new refresh token for a grant (making it the current one).
    pub(crate) fn new_refresh_token(&mut self, grant_id: u64) -> String {
        let token = random_token(32);
        if let Some(grant) = self.grants.get_mut(&grant_id) {
            grant.refresh_tokens.push(token.clone());
        }
        self.refresh_index.insert(token.clone(), grant_id);
        token
    }

    /// Revokes a grant and with it every refresh and access token issued for it.
    pub(crate) fn revoke_grant(&mut self, grant_id: u64) {
        if let Some(grant) = self.grants.get_mut(&grant_id) {
            grant.revoked = true;
        }
        self.invalidate_access_tokens(grant_id);
    }

    /// Marks every access token of a grant inactive.
    pub(crate) fn invalidate_access_tokens(&mut self, grant_id: u64) {
        for access in self.access_tokens.values_mut() {
            if access.grant == grant_id {
                access.active = false;
            }
        }
    }

    /// Whether an access token is active now (RFC 7662 §2.2).
    pub(crate) fn is_active(&self, token: &str) -> Option<&IssuedAccess> {
        let access = self.access_tokens.get(token)?;
        let revoked = self.grants.get(&access.grant).is_none_or(|g| g.revoked);
        (access.active && !revoked && access.expires_at > unix_now()).then_some(access)
    }

    /// Finds a device authorization by user code (case and dashes ignored).
    pub(crate) fn device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceAuth> {
        let wanted = normalize_user_code(user_code);
        self.devices
            .values_mut()
            .find(|d| normalize_user_code(&d.user_code) == wanted)
    }
}

/// Seconds since the UNIX epoch, from the real clock (the binary under test reads it too).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A user code like `BCDF-GHJK`: consonants only (no accidental words, no 0/O or 1/I).
pub(crate) fn random_user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut buf = [0u8; 8];
    if SystemRandom::new().fill(&mut buf).is_err() {
        buf = *b"\x01\x02\x03\x04\x05\x06\x07\x08";
    }
    let letters: String = buf
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

pub(crate) fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether a space-separated scope string holds `wanted`.
pub(crate) fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split_ascii_whitespace().any(|s| s == wanted)
}
