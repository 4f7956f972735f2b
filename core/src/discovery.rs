//! Provider metadata: OpenID Connect Discovery 1.0 with the RFC 8414 fallback, and its
//! 24-hour cache.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::http::HttpResponse;
use crate::time::UnixTime;

/// How long a cached discovery document is trusted (SPEC §5).
pub const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The parts of the provider metadata llmauth uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer, equal to the configured one.
    pub issuer: String,
    /// Where the browser is sent.
    pub authorization_endpoint: String,
    /// Where codes, refresh tokens and device codes are exchanged.
    pub token_endpoint: String,
    /// RFC 8628 device authorization endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// RFC 9207: the authorization response carries `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// The two places metadata may live, in the order they are tried.
///
/// OIDC Discovery §4 appends the well-known path to the issuer; RFC 8414 §3 inserts it
/// between the host and the issuer's path.
pub fn well_known_urls(issuer: &str) -> [String; 2] {
    let trimmed = issuer.trim_end_matches('/');
    let oidc = format!("{trimmed}/.well-known/openid-configuration");
    let rfc8414 = match url::Url::parse(trimmed) {
        Ok(url) => {
            let path = url.path().trim_end_matches('/');
            let origin = url.origin().ascii_serialization();
            format!("{origin}/.well-known/oauth-authorization-server{path}")
        }
        Err(_) => format!("{trimmed}/.well-known/oauth-authorization-server"),
    };
    [oidc, rfc8414]
}

/// Why metadata could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The document's `issuer` differs from the configured one (OIDC Discovery §4.3).
    #[error("the IdP's discovery document names issuer {found:?}, not the configured {expected:?}")]
    IssuerMismatch {
        /// What the configuration says.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// The document is not JSON, or lacks a required endpoint.
    #[error("the IdP's discovery document is unusable: {0}")]
    Malformed(String),
    /// An endpoint is not https (http is allowed only on loopback hosts).
    #[error("the IdP's {field} is not an https URL")]
    InsecureEndpoint {
        /// The metadata field.
        field: &'static str,
    },
    /// Neither well-known URL answered with a document.
    #[error("the IdP answered HTTP {status} for its discovery document")]
    Status {
        /// The last status seen.
        status: u16,
    },
}

/// Parses and checks a discovery answer against the configured issuer (compared exactly
/// as written).
///
/// # Errors
/// See [`DiscoveryError`].
pub fn parse(
    response: &HttpResponse,
    expected_issuer: &str,
) -> Result<ProviderMetadata, DiscoveryError> {
    if !(200..300).contains(&response.status) {
        return Err(DiscoveryError::Status {
            status: response.status,
        });
    }
    let metadata: ProviderMetadata = serde_json::from_slice(response.body.expose_secret())
        .map_err(|e| {
            DiscoveryError::Malformed(format!(
                "line {}, column {}: {}",
                e.line(),
                e.column(),
                short(&e)
            ))
        })?;
    check(metadata, expected_issuer)
}

fn short(error: &serde_json::Error) -> String {
    let text = error.to_string();
    text.split(" at line").next().unwrap_or(&text).to_owned()
}

fn check(
    metadata: ProviderMetadata,
    expected_issuer: &str,
) -> Result<ProviderMetadata, DiscoveryError> {
    if metadata.issuer != expected_issuer {
        return Err(DiscoveryError::IssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: crate::oauth::clean(&metadata.issuer, 200),
        });
    }
    let endpoints = [
        (
            "authorization_endpoint",
            Some(&metadata.authorization_endpoint),
        ),
        ("token_endpoint", Some(&metadata.token_endpoint)),
        (
            "device_authorization_endpoint",
            metadata.device_authorization_endpoint.as_ref(),
        ),
        ("revocation_endpoint", metadata.revocation_endpoint.as_ref()),
    ];
    for (field, value) in endpoints {
        if let Some(value) = value
            && !is_secure_url(value)
        {
            return Err(DiscoveryError::InsecureEndpoint { field });
        }
    }
    Ok(metadata)
}

/// Whether `url` is https, or http on a loopback host (SPEC §3's rule for issuers).
pub fn is_secure_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => crate::net::is_loopback_url(&parsed),
        _ => false,
    }
}

/// The cached form in `$STATE/discovery/<hash>.json`.
#[derive(Debug, Serialize, Deserialize)]
struct CachedDocument {
    fetched_at: u64,
    metadata: ProviderMetadata,
}

/// Serializes metadata for the cache.
pub fn encode_cache(metadata: &ProviderMetadata, fetched_at: UnixTime) -> Vec<u8> {
    let cached = CachedDocument {
        fetched_at: fetched_at.as_millis(),
        metadata: metadata.clone(),
    };
    serde_json::to_vec_pretty(&cached).unwrap_or_default()
}

/// Reads the cache: the metadata when it is for this issuer and younger than 24 h.
pub fn decode_cache(
    bytes: &[u8],
    expected_issuer: &str,
    now: UnixTime,
) -> Option<ProviderMetadata> {
    let cached: CachedDocument = serde_json::from_slice(bytes).ok()?;
    let fetched_at = UnixTime::from_millis(cached.fetched_at);
    if fetched_at > now || now.since(fetched_at) >= CACHE_TTL {
        return None;
    }
    check(cached.metadata, expected_issuer).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"issuer":"https://idp.example/realms/x","authorization_endpoint":"https://idp.example/auth","token_endpoint":"https://idp.example/token","device_authorization_endpoint":"https://idp.example/device","authorization_response_iss_parameter_supported":true,"jwks_uri":"https://idp.example/jwks"}"#;

    #[test]
    fn well_known_locations() {
        let [oidc, rfc] = well_known_urls("https://idp.example/realms/x");
        assert_eq!(
            oidc,
            "https://idp.example/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            rfc,
            "https://idp.example/.well-known/oauth-authorization-server/realms/x"
        );
        let [oidc, rfc] = well_known_urls("https://idp.example/");
        assert_eq!(oidc, "https://idp.example/.well-known/openid-configuration");
        assert_eq!(
            rfc,
            "https://idp.example/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn parses_and_checks_issuer_exactly() {
        let metadata = parse(
            &HttpResponse::json(200, DOC),
            "https://idp.example/realms/x",
        )
        .unwrap();
        assert!(metadata.authorization_response_iss_parameter_supported);
        assert_eq!(
            metadata.device_authorization_endpoint.as_deref(),
            Some("https://idp.example/device")
        );
        let err = parse(
            &HttpResponse::json(200, DOC),
            "https://idp.example/realms/x/",
        )
        .unwrap_err();
        assert!(matches!(err, DiscoveryError::IssuerMismatch { .. }));
    }

    #[test]
    fn rejects_insecure_endpoints_and_garbage() {
        let doc = DOC.replace("https://idp.example/token", "http://idp.example/token");
        let err = parse(
            &HttpResponse::json(200, &doc),
            "https://idp.example/realms/x",
        )
        .unwrap_err();
        assert_eq!(
            err,
            DiscoveryError::InsecureEndpoint {
                field: "token_endpoint"
            }
        );
        assert!(matches!(
            parse(&HttpResponse::json(200, "<html>"), "x"),
            Err(DiscoveryError::Malformed(_))
        ));
        assert!(matches!(
            parse(&HttpResponse::json(404, ""), "x"),
            Err(DiscoveryError::Status { status: 404 })
        ));
        assert!(is_secure_url("http://127.0.0.1:8080/token"));
        assert!(is_secure_url("http://[::1]/token"));
        assert!(!is_secure_url("http://10.0.0.1/token"));
    }

    #[test]
    fn cache_expires_after_a_day() {
        let metadata = parse(
            &HttpResponse::json(200, DOC),
            "https://idp.example/realms/x",
        )
        .unwrap();
        let t0 = UnixTime::from_secs(1_000_000);
        let bytes = encode_cache(&metadata, t0);
        let issuer = "https://idp.example/realms/x";
        assert_eq!(
            decode_cache(&bytes, issuer, t0.saturating_add(Duration::from_secs(3600))),
            Some(metadata)
        );
        assert_eq!(
            decode_cache(&bytes, issuer, t0.saturating_add(CACHE_TTL)),
            None
        );
        assert_eq!(decode_cache(&bytes, "https://other", t0), None);
        assert_eq!(decode_cache(b"junk", issuer, t0), None);
    }
}
