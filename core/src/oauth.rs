//! Token-endpoint answers: successful token responses (RFC 6749 §5.1) and error responses
//! (§5.2), classified by what the token lifecycle should do about them.

use core::fmt;
use core::time::Duration;

use serde::Deserialize;

use crate::http::{HttpResponse, SentSecrets};
use crate::secret::{AccessToken, IdToken, RefreshToken, is_printable_token};
use crate::text::printable;

/// A successful token response.
pub struct TokenResponse {
    /// The new access token (printable ASCII, checked).
    pub access_token: AccessToken,
    /// Its lifetime, when the IdP said (`expires_in`) or the token is a JWT with `exp`.
    pub expires_in: Option<Duration>,
    /// A new refresh token, if one was issued.
    pub refresh_token: Option<RefreshToken>,
    /// The ID token, if one was issued.
    pub id_token: Option<IdToken>,
    /// Granted scopes, if the IdP listed them.
    pub scope: Option<Vec<String>>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .finish()
    }
}

/// An RFC 6749 §5.2 error: the only parts of an IdP answer we ever show or log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code.
    pub code: String,
    /// The `error_description`, cleaned of control characters and shortened.
    pub description: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(description) => write!(f, "{} ({description})", self.code),
            None => f.write_str(&self.code),
        }
    }
}

/// Why a token-endpoint call did not produce tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenFailure {
    /// The IdP answered with an RFC 6749 error.
    OAuth {
        /// HTTP status.
        status: u16,
        /// The error.
        error: OAuthError,
    },
    /// The IdP answered with a status and no recognisable error body.
    Status(u16),
    /// The IdP answered 2xx but the body was not a usable token response.
    Malformed(String),
}

/// What the lifecycle does about a failure (SPEC §5, "Failure classes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureClass {
    /// The session is dead (`invalid_grant`): log in again.
    DeadSession,
    /// Retrying later may work: serve a still-valid token or exit 4; never open a browser.
    Transient,
    /// The configuration or the IdP's client registration is wrong: exit 2.
    Config,
    /// Device flow: keep polling (`authorization_pending`).
    Pending,
    /// Device flow: keep polling, 5 s slower (`slow_down`).
    SlowDown,
    /// The user or the IdP ended the login (`access_denied`, `expired_token`).
    LoginEnded,
}

impl TokenFailure {
    /// Classifies the failure (RFC 6749 §5.2, RFC 8628 §3.5).
    pub fn class(&self) -> FailureClass {
        match self {
            Self::OAuth { status, error } => match error.code.as_str() {
                "invalid_grant" => FailureClass::DeadSession,
                "temporarily_unavailable" | "server_error" => FailureClass::Transient,
                "authorization_pending" => FailureClass::Pending,
                "slow_down" => FailureClass::SlowDown,
                "access_denied" | "expired_token" => FailureClass::LoginEnded,
                _ if *status >= 500 || *status == 429 => FailureClass::Transient,
                _ => FailureClass::Config,
            },
            Self::Status(status) if *status >= 500 || *status == 429 || *status == 408 => {
                FailureClass::Transient
            }
            Self::Status(_) => FailureClass::Config,
            Self::Malformed(_) => FailureClass::Transient,
        }
    }
}

impl fmt::Display for TokenFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OAuth { error, .. } => write!(f, "the IdP answered {error}"),
            Self::Status(status) => write!(f, "the IdP answered HTTP {status}"),
            Self::Malformed(reason) => write!(f, "the IdP's answer was unusable: {reason}"),
        }
    }
}

#[derive(Deserialize)]
struct WireTokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Parses a token-endpoint answer.
///
/// # Errors
/// A non-2xx status (with or without an RFC 6749 error body), or a 2xx body that is not a
/// bearer token response with a printable access token.
pub fn parse_token_response(
    response: &HttpResponse,
    sent: &SentSecrets,
) -> Result<TokenResponse, TokenFailure> {
    if !(200..300).contains(&response.status) {
        return Err(parse_error(response, sent));
    }
    let wire: WireTokenResponse =
        serde_json::from_slice(response.body.expose_secret()).map_err(|e| {
            TokenFailure::Malformed(format!("not a token response ({})", e.classify_name()))
        })?;
    if let Some(token_type) = &wire.token_type
        && !token_type.eq_ignore_ascii_case("bearer")
    {
        return Err(TokenFailure::Malformed(format!(
            "token type {token_type:?} is not Bearer"
        )));
    }
    if !is_printable_token(&wire.access_token) {
        return Err(TokenFailure::Malformed(
            "the access token is not printable ASCII without whitespace".to_owned(),
        ));
    }
    let expires_in = match wire.expires_in {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => Some(parse_expires_in(&value)?),
    };
    let refresh_token = wire
        .refresh_token
        .filter(|t| !t.is_empty())
        .map(RefreshToken::new);
    Ok(TokenResponse {
        access_token: AccessToken::new(wire.access_token),
        expires_in,
        refresh_token,
        id_token: wire.id_token.filter(|t| !t.is_empty()).map(IdToken::new),
        scope: wire
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect()),
    })
}

/// `expires_in` is a number of seconds; some IdPs send it as a string.
fn parse_expires_in(value: &serde_json::Value) -> Result<Duration, TokenFailure> {
    let secs = match value {
        serde_json::Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        serde_json::Value::Null
        | serde_json::Value::Bool(_)
        | serde_json::Value::Array(_)
        | serde_json::Value::Object(_) => None,
    };
    secs.map(Duration::from_secs)
        .ok_or_else(|| TokenFailure::Malformed("expires_in is not a number of seconds".to_owned()))
}

/// Parses a non-2xx answer into the RFC 6749 error it carries, if any. The texts are
/// made printable, then the credentials of the request they answer (`sent`) are taken
/// out, then they are cut short — in that order, so no control character hides a
/// credential and no cut leaves part of one.
pub fn parse_error(response: &HttpResponse, sent: &SentSecrets) -> TokenFailure {
    let text = |raw: &str, max_chars| clean(&sent.redact(&printable(raw)), max_chars);
    match serde_json::from_slice::<WireError>(response.body.expose_secret()) {
        Ok(wire) if !wire.error.is_empty() => TokenFailure::OAuth {
            status: response.status,
            error: OAuthError {
                code: text(&wire.error, 64),
                description: wire
                    .error_description
                    .map(|d| text(&d, 300))
                    .filter(|d| !d.is_empty()),
            },
        },
        _ => TokenFailure::Status(response.status),
    }
}

/// Keeps IdP-provided text printable and short before it reaches a terminal or a log.
pub(crate) fn clean(text: &str, max_chars: usize) -> String {
    crate::text::excerpt(printable(text).trim(), max_chars)
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    /// The kind of JSON problem, without quoting the input (which may hold a token).
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "missing or mistyped fields",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_response() {
        let response = HttpResponse::json(
            200,
            r#"{"access_token":"at","token_type":"bearer","expires_in":"300","refresh_token":"rt","id_token":"x.y.z","scope":"openid offline_access"}"#,
        );
        let tokens = parse_token_response(&response, &SentSecrets::default()).unwrap();
        assert_eq!(tokens.access_token.expose_secret(), "at");
        assert_eq!(tokens.expires_in, Some(Duration::from_secs(300)));
        assert_eq!(
            tokens
                .refresh_token
                .map(|t| t.expose_secret().to_owned())
                .as_deref(),
            Some("rt")
        );
        assert_eq!(tokens.scope.unwrap(), vec!["openid", "offline_access"]);
    }

    #[test]
    fn rejects_unusable_success_bodies() {
        for body in [
            "garbage",
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":"a b"}"#,
            r#"{"access_token":"a","token_type":"mac"}"#,
            r#"{"access_token":"a","expires_in":"soon"}"#,
        ] {
            let failure =
                parse_token_response(&HttpResponse::json(200, body), &SentSecrets::default())
                    .unwrap_err();
            assert_eq!(failure.class(), FailureClass::Transient, "{body}");
        }
    }

    #[test]
    fn classifies_errors() {
        let cases = [
            (
                400,
                r#"{"error":"invalid_grant"}"#,
                FailureClass::DeadSession,
            ),
            (
                503,
                r#"{"error":"temporarily_unavailable"}"#,
                FailureClass::Transient,
            ),
            (500, "<html>", FailureClass::Transient),
            (429, "", FailureClass::Transient),
            (401, r#"{"error":"invalid_client"}"#, FailureClass::Config),
            (
                400,
                r#"{"error":"authorization_pending"}"#,
                FailureClass::Pending,
            ),
            (400, r#"{"error":"slow_down"}"#, FailureClass::SlowDown),
            (
                400,
                r#"{"error":"expired_token"}"#,
                FailureClass::LoginEnded,
            ),
            (
                400,
                r#"{"error":"access_denied"}"#,
                FailureClass::LoginEnded,
            ),
            (404, "not found", FailureClass::Config),
        ];
        for (status, body, class) in cases {
            let failure =
                parse_token_response(&HttpResponse::json(status, body), &SentSecrets::default())
                    .unwrap_err();
            assert_eq!(failure.class(), class, "{status} {body}");
        }
    }

    #[test]
    fn error_text_is_cleaned() {
        let failure = parse_error(
            &HttpResponse::json(
                400,
                "{\"error\":\"invalid_grant\",\"error_description\":\"bad\\u001b[31m token\"}",
            ),
            &SentSecrets::default(),
        );
        assert_eq!(
            failure.to_string(),
            "the IdP answered invalid_grant (bad token)"
        );
    }
}
