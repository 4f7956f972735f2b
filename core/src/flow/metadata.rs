//! What the IdP needs from a flow before its first request: the provider metadata — the
//! 24-hour cache when it may be used, else discovery (OIDC, merged with RFC 8414 when the
//! OpenID document lacks an optional endpoint; RFC 8414 alone when the OpenID location is
//! not served) — and the client secret, when one is configured.

use core::fmt;

use super::shell::{Progress, Shell};
use crate::discovery::{self, DiscoveryError, Document, ProviderMetadata};
use crate::error::{DiscoveryUnavailable, FlowError, IdpUnavailable, Misconfiguration};
use crate::http::HttpRequest;
use crate::intent::{Intent, IntentResult};
use crate::secret::{ClientSecret, SecretBytes};
use crate::store::{ClientKey, Slot, StoreError, StoreErrorKind, discovery_key};
use crate::time::UnixTime;

/// What the metadata phase waits for; `C` is what the goal continues with.
pub(super) enum MetadataStep<C> {
    /// The discovery cache.
    CacheRead(C),
    /// A well-known URL.
    Fetched { document: Fetching, then: C },
    /// The stored client secret.
    SecretRead(C),
}

/// Which discovery document is being fetched.
pub(super) enum Fetching {
    /// The OpenID configuration.
    OpenId,
    /// The RFC 8414 metadata, because the OpenID location is not served.
    Fallback,
    /// The RFC 8414 metadata, to complete this OpenID document.
    Completing(Box<Document>),
}

/// How the metadata phase ended: `shell.metadata` (and the client secret) is set, or why
/// not.
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
    /// A client secret is configured but not stored.
    NoClientSecret,
    /// The client secret could not be read.
    SecretStore(StoreError),
}

/// Makes sure provider metadata (and the client secret) is known, then continues with
/// `then`.
pub(super) fn ensure<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    then: C,
) -> Progress<Found<C>> {
    if shell.metadata.is_some() {
        return Ok(read_secret(shell, then));
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
    let settings = &shell.settings;
    match step {
        MetadataStep::CacheRead(then) => {
            let cached = match result.into_read()? {
                Ok(Some(bytes)) => discovery::decode_cache(
                    bytes.expose_secret(),
                    &settings.issuer,
                    settings.issuer_match,
                    now,
                ),
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
                    Ok(read_secret(shell, then))
                }
                None => Ok(fetch(shell, now, then, Fetching::OpenId)),
            }
        }
        MetadataStep::Fetched { document, then } => {
            let [oidc, rfc8414] = discovery::well_known_urls(&settings.issuer);
            let tried = match document {
                Fetching::OpenId => vec![oidc],
                Fetching::Fallback | Fetching::Completing(_) => vec![oidc, rfc8414],
            };
            let response = match result.into_http()? {
                Ok(response) => response,
                Err(error) => {
                    return Ok(match document {
                        // The completing document is optional: the OpenID one stands alone.
                        Fetching::Completing(openid) => completed(shell, now, then, *openid, None),
                        Fetching::OpenId | Fetching::Fallback => {
                            let url = tried.last().cloned().unwrap_or_default();
                            let failure = DiscoveryUnavailable::Unreachable { url, error };
                            Some((then, Err(MetadataFailure::Unavailable(failure))))
                        }
                    });
                }
            };
            let parsed = discovery::parse_document(&response);
            match document {
                // RFC 8414 servers that are not OpenID Providers answer 404 at the OIDC
                // location.
                Fetching::OpenId if matches!(response.status, 400 | 404 | 405) => {
                    Ok(fetch(shell, now, then, Fetching::Fallback))
                }
                Fetching::OpenId | Fetching::Fallback => {
                    let openid = matches!(document, Fetching::OpenId);
                    let checked = parsed.and_then(|document| {
                        let checked = document
                            .clone()
                            .check(&settings.issuer, settings.issuer_match)?;
                        Ok((document, checked))
                    });
                    match checked {
                        Ok((document, metadata))
                            if openid && metadata.lacks_optional_endpoints() =>
                        {
                            let completing = Fetching::Completing(Box::new(document));
                            Ok(fetch(shell, now, then, completing))
                        }
                        Ok((_, metadata)) => Ok(adopt(shell, now, then, metadata)),
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
                Fetching::Completing(openid) => {
                    Ok(completed(shell, now, then, *openid, parsed.ok()))
                }
            }
        }
        MetadataStep::SecretRead(then) => {
            let bytes = match result.into_read()? {
                Ok(bytes) => bytes,
                Err(error) => return Ok(Some((then, Err(MetadataFailure::SecretStore(error))))),
            };
            let secret = bytes
                .as_ref()
                .and_then(|bytes| std::str::from_utf8(bytes.expose_secret()).ok())
                .map(str::trim)
                .filter(|secret| !secret.is_empty());
            let Some(secret) = secret else {
                return Ok(Some((then, Err(MetadataFailure::NoClientSecret))));
            };
            shell.client_secret = Some(ClientSecret::new(secret));
            Ok(Some((then, Ok(()))))
        }
    }
}

/// The OpenID document, completed by the RFC 8414 one when that one could be read.
fn completed<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    then: C,
    openid: Document,
    rfc8414: Option<Document>,
) -> Option<Found<C>> {
    let settings = &shell.settings;
    let merged = match rfc8414 {
        Some(other) => openid.clone().merged_with(other),
        None => openid.clone(),
    };
    let checked = merged
        .check(&settings.issuer, settings.issuer_match)
        .or_else(|_| openid.check(&settings.issuer, settings.issuer_match));
    match checked {
        Ok(metadata) => adopt(shell, now, then, metadata),
        Err(error) => Some((then, Err(MetadataFailure::from(error)))),
    }
}

/// Uses `metadata` (caching it when it may be read back), then reads the client secret.
fn adopt<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    then: C,
    metadata: ProviderMetadata,
) -> Option<Found<C>> {
    if let Some(bytes) = discovery::encode_cache(&metadata, &shell.settings.issuer, now) {
        let slot = Slot::Discovery(discovery_key(&shell.settings.issuer));
        shell.fire(Intent::Write {
            slot,
            bytes: SecretBytes::new(bytes),
        });
    }
    shell.metadata = Some(metadata);
    read_secret(shell, then)
}

/// Reads the client secret when one is configured and not read yet.
fn read_secret<C, S: From<MetadataStep<C>>>(shell: &mut Shell<S>, then: C) -> Option<Found<C>> {
    if !shell.settings.client_secret || shell.client_secret.is_some() {
        return Some((then, Ok(())));
    }
    let key = ClientKey::derive(&shell.settings.issuer, &shell.settings.client_id);
    let slot = shell.ctx.backend.client_secret_slot(&key);
    shell.perform(Intent::Read(slot), MetadataStep::SecretRead(then));
    None
}

/// Fetches a discovery document; ends at once when the budget is spent (for the
/// optional completing document: continues without it).
fn fetch<C, S: From<MetadataStep<C>>>(
    shell: &mut Shell<S>,
    now: UnixTime,
    then: C,
    document: Fetching,
) -> Option<Found<C>> {
    let Some(limits) = shell.limits(now) else {
        return match document {
            Fetching::Completing(openid) => completed(shell, now, then, *openid, None),
            Fetching::OpenId | Fetching::Fallback => {
                Some((then, Err(MetadataFailure::BudgetSpent)))
            }
        };
    };
    let [oidc, rfc8414] = discovery::well_known_urls(&shell.settings.issuer);
    let url = match document {
        Fetching::OpenId => oidc,
        Fetching::Fallback | Fetching::Completing(_) => rfc8414,
    };
    shell.perform(
        Intent::Http(HttpRequest::get(&url, limits)),
        MetadataStep::Fetched { document, then },
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
            MetadataFailure::NoClientSecret => {
                Self::Misconfigured(Misconfiguration::ClientSecretMissing)
            }
            MetadataFailure::SecretStore(error) => Self::Store(error),
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
            Self::NoClientSecret => write!(f, "{}", Misconfiguration::ClientSecretMissing),
            Self::SecretStore(error) => write!(f, "the client secret could not be read: {error}"),
        }
    }
}
