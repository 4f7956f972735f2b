//! Provider metadata: OpenID Connect Discovery 1.0 merged with RFC 8414 authorization
//! server metadata, and its 24-hour cache.
//!
//! Some providers publish an endpoint in only one of the two documents (Django OAuth
//! Toolkit's `revocation_endpoint` is only in the RFC 8414 one), so when the OpenID
//! document lacks an optional endpoint the other one is read too and the two are merged:
//! the OpenID document wins where both say something, and both must name the same issuer.
//!
//! The cache is a file another process could have written: a cached document is used only
//! when it names the configured issuer and every endpoint in it is on the issuer's origin.
//! A document that sends requests elsewhere (Google's and Cognito's token endpoints are on
//! other hosts) is never cached: each process fetches it over TLS (or plain http on
//! loopback, as the issuer rules allow) before sending a secret to one of its endpoints.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::http::HttpResponse;
use crate::provider::IssuerMatch;
use crate::time::UnixTime;

/// How long a cached discovery document is trusted (SPEC §5).
pub const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The parts of the provider metadata llmauth uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer, as the document names it (the configured one, or Entra's
    /// `{tenantid}` template for it).
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

impl ProviderMetadata {
    /// Whether the other document could add an endpoint this one lacks.
    pub fn lacks_optional_endpoints(&self) -> bool {
        self.device_authorization_endpoint.is_none() || self.revocation_endpoint.is_none()
    }

    /// Every endpoint, with its metadata field name.
    fn endpoints(&self) -> [(&'static str, Option<&String>); 4] {
        [
            ("authorization_endpoint", Some(&self.authorization_endpoint)),
            ("token_endpoint", Some(&self.token_endpoint)),
            (
                "device_authorization_endpoint",
                self.device_authorization_endpoint.as_ref(),
            ),
            ("revocation_endpoint", self.revocation_endpoint.as_ref()),
        ]
    }
}

/// A discovery document as served: what may be missing is optional, so that two can be
/// merged before the result is checked.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Document {
    issuer: String,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    device_authorization_endpoint: Option<String>,
    #[serde(default)]
    revocation_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

impl Document {
    /// This (OpenID) document with what only `other` (the RFC 8414 one) says, when both
    /// name the same issuer; otherwise this one alone.
    pub fn merged_with(self, other: Self) -> Self {
        if other.issuer != self.issuer {
            return self;
        }
        Self {
            authorization_endpoint: self.authorization_endpoint.or(other.authorization_endpoint),
            token_endpoint: self.token_endpoint.or(other.token_endpoint),
            device_authorization_endpoint: self
                .device_authorization_endpoint
                .or(other.device_authorization_endpoint),
            revocation_endpoint: self.revocation_endpoint.or(other.revocation_endpoint),
            authorization_response_iss_parameter_supported: self
                .authorization_response_iss_parameter_supported
                .or(other.authorization_response_iss_parameter_supported),
            issuer: self.issuer,
        }
    }

    /// Checks the document against the configured issuer.
    ///
    /// # Errors
    /// See [`DiscoveryError`].
    pub fn check(
        self,
        expected_issuer: &str,
        issuer_match: IssuerMatch,
    ) -> Result<ProviderMetadata, DiscoveryError> {
        let missing = |field| DiscoveryError::Malformed(format!("it has no {field}"));
        let metadata = ProviderMetadata {
            authorization_endpoint: self
                .authorization_endpoint
                .ok_or_else(|| missing("authorization_endpoint"))?,
            token_endpoint: self
                .token_endpoint
                .ok_or_else(|| missing("token_endpoint"))?,
            device_authorization_endpoint: self.device_authorization_endpoint,
            revocation_endpoint: self.revocation_endpoint,
            authorization_response_iss_parameter_supported: self
                .authorization_response_iss_parameter_supported
                .unwrap_or(false),
            issuer: self.issuer,
        };
        check(metadata, expected_issuer, issuer_match)
    }
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

/// Reads a discovery answer (status and JSON), unchecked.
///
/// # Errors
/// [`DiscoveryError::Status`] for a non-2xx answer, [`DiscoveryError::Malformed`] for a
/// body that is not a discovery document.
pub fn parse_document(response: &HttpResponse) -> Result<Document, DiscoveryError> {
    if !(200..300).contains(&response.status) {
        return Err(DiscoveryError::Status {
            status: response.status,
        });
    }
    serde_json::from_slice(response.body.expose_secret()).map_err(|e| {
        DiscoveryError::Malformed(format!(
            "line {}, column {}: {}",
            e.line(),
            e.column(),
            short(&e)
        ))
    })
}

/// Parses and checks one discovery answer against the configured issuer.
///
/// # Errors
/// See [`DiscoveryError`].
pub fn parse(
    response: &HttpResponse,
    expected_issuer: &str,
    issuer_match: IssuerMatch,
) -> Result<ProviderMetadata, DiscoveryError> {
    parse_document(response)?.check(expected_issuer, issuer_match)
}

fn short(error: &serde_json::Error) -> String {
    let text = error.to_string();
    text.split(" at line").next().unwrap_or(&text).to_owned()
}

fn check(
    metadata: ProviderMetadata,
    expected_issuer: &str,
    issuer_match: IssuerMatch,
) -> Result<ProviderMetadata, DiscoveryError> {
    if !issuer_match.document_matches(expected_issuer, &metadata.issuer) {
        return Err(DiscoveryError::IssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: crate::oauth::clean(&metadata.issuer, 200),
        });
    }
    for (field, value) in metadata.endpoints() {
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

/// Whether every endpoint of `metadata` is on the origin (scheme, host, port) of `issuer`.
pub fn on_issuer_origin(metadata: &ProviderMetadata, issuer: &str) -> bool {
    let origin = |url: &str| url::Url::parse(url).ok().map(|url| url.origin());
    let Some(issuer_origin) = origin(issuer).filter(url::Origin::is_tuple) else {
        return false;
    };
    metadata
        .endpoints()
        .into_iter()
        .filter_map(|(_, value)| value)
        .all(|endpoint| origin(endpoint).as_ref() == Some(&issuer_origin))
}

/// The cached form in `$STATE/discovery/<hash>.json`.
#[derive(Debug, Serialize, Deserialize)]
struct CachedDocument {
    fetched_at: u64,
    metadata: ProviderMetadata,
}

/// Serializes metadata for the cache; `None` for a document that would not be used from
/// the cache (an endpoint off the issuer's origin).
pub fn encode_cache(
    metadata: &ProviderMetadata,
    issuer: &str,
    fetched_at: UnixTime,
) -> Option<Vec<u8>> {
    if !on_issuer_origin(metadata, issuer) {
        return None;
    }
    let cached = CachedDocument {
        fetched_at: fetched_at.as_millis(),
        metadata: metadata.clone(),
    };
    serde_json::to_vec_pretty(&cached).ok()
}

/// Reads the cache: the metadata when it is younger than 24 h, names the configured
/// issuer, and keeps every endpoint on the issuer's origin.
pub fn decode_cache(
    bytes: &[u8],
    expected_issuer: &str,
    issuer_match: IssuerMatch,
    now: UnixTime,
) -> Option<ProviderMetadata> {
    let cached: CachedDocument = serde_json::from_slice(bytes).ok()?;
    let fetched_at = UnixTime::from_millis(cached.fetched_at);
    if fetched_at > now || now.since(fetched_at) >= CACHE_TTL {
        return None;
    }
    let metadata = check(cached.metadata, expected_issuer, issuer_match).ok()?;
    on_issuer_origin(&metadata, expected_issuer).then_some(metadata)
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
            IssuerMatch::Exact,
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
            IssuerMatch::Exact,
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
            IssuerMatch::Exact,
        )
        .unwrap_err();
        assert_eq!(
            err,
            DiscoveryError::InsecureEndpoint {
                field: "token_endpoint"
            }
        );
        assert!(matches!(
            parse(&HttpResponse::json(200, "<html>"), "x", IssuerMatch::Exact),
            Err(DiscoveryError::Malformed(_))
        ));
        assert!(matches!(
            parse(&HttpResponse::json(404, ""), "x", IssuerMatch::Exact),
            Err(DiscoveryError::Status { status: 404 })
        ));
        assert!(is_secure_url("http://127.0.0.1:8080/token"));
        assert!(is_secure_url("http://[::1]/token"));
        assert!(!is_secure_url("http://10.0.0.1/token"));
    }

    #[test]
    fn cache_expires_after_a_day() {
        let issuer = "https://idp.example/realms/x";
        let metadata = parse(&HttpResponse::json(200, DOC), issuer, IssuerMatch::Exact).unwrap();
        let t0 = UnixTime::from_secs(1_000_000);
        let bytes = encode_cache(&metadata, issuer, t0).unwrap();
        let exact = IssuerMatch::Exact;
        assert_eq!(
            decode_cache(
                &bytes,
                issuer,
                exact,
                t0.saturating_add(Duration::from_secs(3600))
            ),
            Some(metadata)
        );
        assert_eq!(
            decode_cache(&bytes, issuer, exact, t0.saturating_add(CACHE_TTL)),
            None
        );
        assert_eq!(decode_cache(&bytes, "https://other", exact, t0), None);
        assert_eq!(decode_cache(b"junk", issuer, exact, t0), None);
    }

    /// Issue 9.1: a cached document that sends the refresh token to another origin is
    /// never used (a planted file), and such a document is never written to the cache.
    #[test]
    fn the_cache_holds_only_documents_on_the_issuers_origin() {
        let issuer = "https://idp.example/realms/x";
        let t0 = UnixTime::from_secs(1_000_000);
        let planted = DOC.replace(
            "https://idp.example/token",
            "https://attacker.example/token",
        );
        let metadata = parse(
            &HttpResponse::json(200, &planted),
            issuer,
            IssuerMatch::Exact,
        )
        .unwrap();
        assert!(!on_issuer_origin(&metadata, issuer));
        assert_eq!(encode_cache(&metadata, issuer, t0), None);
        let file = serde_json::to_vec(&serde_json::json!({
            "fetched_at": t0.as_millis(),
            "metadata": metadata,
        }))
        .unwrap();
        assert_eq!(decode_cache(&file, issuer, IssuerMatch::Exact, t0), None);
        // Another port of the same host is another origin too.
        let port = DOC.replace(
            "https://idp.example/token",
            "https://idp.example:8443/token",
        );
        let metadata = parse(&HttpResponse::json(200, &port), issuer, IssuerMatch::Exact).unwrap();
        assert!(!on_issuer_origin(&metadata, issuer));
    }

    /// Django OAuth Toolkit publishes its revocation endpoint only in the RFC 8414
    /// document; the OpenID one wins where both speak, and a document for another issuer
    /// adds nothing.
    #[test]
    fn documents_merge_with_the_openid_one_winning() {
        let issuer = "https://idp.example/o";
        let oidc = r#"{"issuer":"https://idp.example/o","authorization_endpoint":"https://idp.example/o/authorize/","token_endpoint":"https://idp.example/o/token/"}"#;
        let rfc8414 = r#"{"issuer":"https://idp.example/o","authorization_endpoint":"https://idp.example/other/","token_endpoint":"https://idp.example/other-token/","revocation_endpoint":"https://idp.example/o/revoke_token/","authorization_response_iss_parameter_supported":true}"#;
        let document = |text: &str| parse_document(&HttpResponse::json(200, text)).unwrap();
        let merged = document(oidc)
            .merged_with(document(rfc8414))
            .check(issuer, IssuerMatch::Exact)
            .unwrap();
        assert_eq!(merged.token_endpoint, "https://idp.example/o/token/");
        assert_eq!(
            merged.revocation_endpoint.as_deref(),
            Some("https://idp.example/o/revoke_token/")
        );
        assert!(merged.authorization_response_iss_parameter_supported);
        let foreign = rfc8414.replace(
            r#""issuer":"https://idp.example/o""#,
            r#""issuer":"https://evil""#,
        );
        let alone = document(oidc)
            .merged_with(document(&foreign))
            .check(issuer, IssuerMatch::Exact)
            .unwrap();
        assert_eq!(alone.revocation_endpoint, None);
        assert!(
            document(oidc)
                .check(issuer, IssuerMatch::Exact)
                .unwrap()
                .lacks_optional_endpoints()
        );
    }

    #[test]
    fn entra_multi_tenant_documents_name_the_tenant_template() {
        let issuer = "https://login.microsoftonline.com/common/v2.0";
        let doc = r#"{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","authorization_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/authorize","token_endpoint":"https://login.microsoftonline.com/common/oauth2/v2.0/token"}"#;
        let response = HttpResponse::json(200, doc);
        assert!(parse(&response, issuer, IssuerMatch::EntraTenant).is_ok());
        assert!(matches!(
            parse(&response, issuer, IssuerMatch::Exact),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
    }
}
