//! The requests `doctor` makes, and how long each step may take: every step has a short
//! limit of its own, so the whole run is bounded (about a minute at the very worst, a
//! second or two when everything answers).

use core::time::Duration;

use crate::broker::path::gateway_target;
use crate::discovery::{self, well_known_urls};
use crate::http::{HttpRequest, Limits};
use crate::provider::IssuerMatch;
use crate::time::UnixTime;

use super::facts::Exchange;

/// The gateway path probed with the token unless `--probe-path` says otherwise: the
/// OpenAI- and Anthropic-style model list, which every LLM gateway serves to any caller
/// with a valid token, costs nothing and changes nothing.
pub const DEFAULT_PROBE_PATH: &str = "/v1/models";

/// Connecting to the IdP or the gateway (the limit `token` uses, SPEC §8).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One whole request to the IdP or the gateway.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest gateway answer read (only its status matters).
const MAX_GATEWAY_BODY: usize = 64 * 1024;

/// How long the token flow may take: the non-interactive helper's default `--timeout`,
/// so doctor sees what a tool would.
pub const TOKEN_BUDGET: Duration = Duration::from_secs(8);
/// Longest wait for one tool's helper. Codex gives a helper 10 s and Claude Code warns
/// after 10 s; a helper that needs longer is broken for them, whatever its own limit.
pub const HELPER_CAP: Duration = Duration::from_secs(10);
/// How long the proxy's health endpoint may take to answer (it is on loopback).
pub const PROXY_PROBE: Duration = Duration::from_millis(500);

fn limits(now: UnixTime) -> Limits {
    Limits {
        connect_timeout: CONNECT_TIMEOUT,
        deadline: now.saturating_add(REQUEST_TIMEOUT),
    }
}

/// The discovery requests: the OpenID Connect location, then the RFC 8414 one (fetched
/// only when [`wants_rfc8414`] says so).
pub fn discovery_requests(issuer: &str, now: UnixTime) -> [HttpRequest; 2] {
    well_known_urls(issuer).map(|url| HttpRequest::get(&url, limits(now)))
}

/// Whether the RFC 8414 document is worth fetching after `oidc`: the IdP answered, but
/// not with a usable document for `issuer`. (When it did not answer at all, the same
/// host will not answer the second request either.)
pub fn wants_rfc8414(oidc: &Exchange, issuer: &str, issuer_match: IssuerMatch) -> bool {
    oidc.answer
        .as_ref()
        .is_ok_and(|answer| discovery::parse(&answer.response, issuer, issuer_match).is_err())
}

/// The probe path is not an absolute path under the gateway URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the probe path must be an absolute path such as /v1/models, staying under the gateway URL"
)]
pub struct BadProbePath;

/// `GET <gateway URL><probe path>` (the path joined onto the gateway URL's as the proxy
/// joins a request's, so `https://gw/v1` + `/v1/models` is `https://gw/v1/models`). The
/// runtime adds the token as `Authorization: Bearer`.
///
/// # Errors
/// [`BadProbePath`] when the path is not absolute or climbs out of the gateway's path.
pub fn gateway_probe(
    gateway_url: &str,
    probe_path: &str,
    now: UnixTime,
) -> Result<HttpRequest, BadProbePath> {
    let url = url::Url::parse(gateway_url).map_err(|_| BadProbePath)?;
    let origin = &url[..url::Position::BeforePath];
    let (path, query) = match probe_path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (probe_path, None),
    };
    let target = gateway_target(url.path(), path, query).map_err(|_| BadProbePath)?;
    let mut request = HttpRequest::get(&format!("{origin}{target}"), limits(now));
    request.max_body = MAX_GATEWAY_BODY;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::facts::Answer;
    use crate::http::HttpResponse;

    const T: UnixTime = UnixTime::from_secs(1_000);

    #[test]
    fn probe_urls_join_without_doubling() {
        let url = |gateway, path| gateway_probe(gateway, path, T).map(|r| r.url);
        assert_eq!(
            url("https://gw.example", "/v1/models"),
            Ok("https://gw.example/v1/models".into())
        );
        assert_eq!(
            url("https://gw.example/v1", "/v1/models"),
            Ok("https://gw.example/v1/models".into())
        );
        assert_eq!(
            url("https://gw.example/anthropic/", "/v1/models?limit=1"),
            Ok("https://gw.example/anthropic/v1/models?limit=1".into())
        );
        assert_eq!(url("https://gw.example", "v1/models"), Err(BadProbePath));
        assert_eq!(url("https://gw.example/v1", "/../admin"), Err(BadProbePath));
        let request = gateway_probe("https://gw.example", "/health", T).unwrap();
        assert_eq!(request.deadline, T.saturating_add(REQUEST_TIMEOUT));
        assert_eq!(request.max_body, MAX_GATEWAY_BODY);
    }

    #[test]
    fn the_rfc8414_document_is_fetched_only_after_an_unusable_answer() {
        let [oidc, rfc] = discovery_requests("https://idp.example/realms/x", T);
        assert_eq!(
            oidc.url,
            "https://idp.example/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            rfc.url,
            "https://idp.example/.well-known/oauth-authorization-server/realms/x"
        );
        let exchange = |status, body: &str| Exchange {
            url: oidc.url.clone(),
            sent_at: T,
            received_at: T,
            answer: Ok(Answer {
                response: HttpResponse::json(status, body),
                date: None,
            }),
        };
        let issuer = "https://idp.example/realms/x";
        let document = r#"{"issuer":"https://idp.example/realms/x","authorization_endpoint":"https://idp.example/a","token_endpoint":"https://idp.example/t"}"#;
        assert!(!wants_rfc8414(
            &exchange(200, document),
            issuer,
            IssuerMatch::Exact
        ));
        assert!(wants_rfc8414(
            &exchange(404, ""),
            issuer,
            IssuerMatch::Exact
        ));
        assert!(wants_rfc8414(
            &exchange(200, "<html>"),
            issuer,
            IssuerMatch::Exact
        ));
        let unreachable = Exchange {
            answer: Err(crate::http::TransportError {
                kind: crate::http::TransportErrorKind::Connect,
                request_sent: false,
                detail: "refused".into(),
            }),
            ..exchange(200, document)
        };
        assert!(!wants_rfc8414(&unreachable, issuer, IssuerMatch::Exact));
    }
}
