//! Provider metadata for a flow: the 24-hour cache first, then discovery (OIDC, then the
//! RFC 8414 location).

use core::fmt;

use super::shell::{Progress, Shell};
use crate::discovery::{self, DiscoveryError};
use crate::error::{DiscoveryUnavailable, FlowError, IdpUnavailable, Misconfiguration};
use crate::http::HttpRequest;
use crate::intent::{Intent, IntentResult};
use crate::secret::SecretBytes;
use crate::store::{Slot, StoreErrorKind, discovery_key};
use crate::time::UnixTime;

/// What the metadata phase waits for; `C` is what the goal continues with.
pub(super) enum MetadataStep<C> {
    /// The discovery cache.
    CacheRead(C),
    /// A well-known URL: the OIDC one, or the RFC 8414 one as a fallback.
    Fetched { fallback: bool, then: C },
}

/// How the metadata phase ended: `shell.metadata` is set, or why not.
pub(super) type Found<C> = (C, Result<(), MetadataFailure>);

/// Why provider metadata is missing; what that means depends on what it was for.
pub(super) enum MetadataFailure {
    /// The time budget ran out before discovery.
    BudgetSpent,
    /// Discovery failed in a way that may pass.
    Unavailable(DiscoveryUnavailable),
    /// The discovery document is unusable.
    Unusable(DiscoveryError),
    /// No discovery document is served at these URLs (the last answered `status`).
    NotServed { urls: Vec<String>, status: u16 },
}

/// Makes sure provider metadata is known, then continues with `then`.
pub(super) fn ensure<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    then: C,
) -> Progress<Found<C>> {
    if shell.metadata.is_some() {
        return Ok(Some((then, Ok(()))));
    }
    let slot = Slot::Discovery(discovery_key(&shell.settings.issuer));
    shell.perform(Intent::Read(slot), MetadataStep::CacheRead(then));
    Ok(None)
}

pub(super) fn on_result<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    step: MetadataStep<C>,
    now: UnixTime,
    result: IntentResult,
) -> Progress<Found<C>> {
    match step {
        MetadataStep::CacheRead(then) => {
            let cached = match result.into_read()? {
                Ok(Some(bytes)) => {
                    discovery::decode_cache(bytes.expose_secret(), &shell.settings.issuer, now)
                }
                // Another user could have written it: the user must fix that, or the
                // next process may believe a planted token endpoint.
                Err(error) if error.kind == StoreErrorKind::UntrustedState => {
                    return Err(FlowError::Store(error));
                }
                Ok(None) | Err(_) => None,
            };
            match cached {
                Some(metadata) => {
                    shell.metadata = Some(metadata);
                    Ok(Some((then, Ok(()))))
                }
                None => Ok(fetch(shell, now, then, false)),
            }
        }
        MetadataStep::Fetched { fallback, then } => {
            let mut tried = Vec::from(discovery::well_known_urls(&shell.settings.issuer));
            tried.truncate(if fallback { 2 } else { 1 });
            let response = match result.into_http()? {
                Ok(response) => response,
                Err(error) => {
                    let url = tried.pop().unwrap_or_default();
                    let failure = DiscoveryUnavailable::Unreachable { url, error };
                    return Ok(Some((then, Err(MetadataFailure::Unavailable(failure)))));
                }
            };
            // RFC 8414 servers that are not OpenID Providers answer 404 at the OIDC location.
            if !fallback && matches!(response.status, 400 | 404 | 405) {
                return Ok(fetch(shell, now, then, true));
            }
            match discovery::parse(&response, &shell.settings.issuer) {
                Ok(metadata) => {
                    let slot = Slot::Discovery(discovery_key(&shell.settings.issuer));
                    let bytes = SecretBytes::new(discovery::encode_cache(&metadata, now));
                    shell.fire(Intent::Write { slot, bytes });
                    shell.metadata = Some(metadata);
                    Ok(Some((then, Ok(()))))
                }
                Err(DiscoveryError::Status { status }) if !discovery_may_pass(status) => {
                    let failure = MetadataFailure::NotServed {
                        urls: tried,
                        status,
                    };
                    Ok(Some((then, Err(failure))))
                }
                Err(error) => Ok(Some((then, Err(MetadataFailure::from(error))))),
            }
        }
    }
}

/// Fetches the discovery document; ends at once when the budget is spent.
fn fetch<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    then: C,
    fallback: bool,
) -> Option<Found<C>> {
    let Some(limits) = shell.limits(now) else {
        return Some((then, Err(MetadataFailure::BudgetSpent)));
    };
    let [oidc, rfc8414] = discovery::well_known_urls(&shell.settings.issuer);
    let url = if fallback { rfc8414 } else { oidc };
    shell.perform(
        Intent::Http(HttpRequest::get(&url, limits)),
        MetadataStep::Fetched { fallback, then },
    );
    None
}

/// Whether a discovery answer with this status may be followed by a better one.
fn discovery_may_pass(status: u16) -> bool {
    status >= 500 || status == 429
}

impl From<DiscoveryError> for MetadataFailure {
    fn from(error: DiscoveryError) -> Self {
        match error {
            DiscoveryError::Status { status } if discovery_may_pass(status) => {
                Self::Unavailable(DiscoveryUnavailable::Answered(error))
            }
            DiscoveryError::Status { .. }
            | DiscoveryError::IssuerMismatch { .. }
            | DiscoveryError::Malformed(_)
            | DiscoveryError::InsecureEndpoint { .. } => Self::Unusable(error),
        }
    }
}

impl From<MetadataFailure> for FlowError {
    fn from(failure: MetadataFailure) -> Self {
        match failure {
            MetadataFailure::BudgetSpent => Self::IdpUnavailable(IdpUnavailable::BudgetSpent),
            MetadataFailure::Unavailable(failure) => {
                Self::IdpUnavailable(IdpUnavailable::Discovery(failure))
            }
            MetadataFailure::Unusable(error) => {
                Self::Misconfigured(Misconfiguration::Discovery(error))
            }
            MetadataFailure::NotServed { urls, status } => {
                Self::Misconfigured(Misconfiguration::DiscoveryNotServed { urls, status })
            }
        }
    }
}

impl fmt::Display for MetadataFailure {
    /// What a revocation that could not find its endpoint reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BudgetSpent => write!(f, "{}", IdpUnavailable::BudgetSpent),
            Self::Unavailable(failure) => write!(f, "{failure}"),
            Self::Unusable(error) => write!(f, "{error}"),
            Self::NotServed { urls, status } => write!(
                f,
                "{}",
                Misconfiguration::DiscoveryNotServed {
                    urls: urls.clone(),
                    status: *status,
                }
            ),
        }
    }
}
