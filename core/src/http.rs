//! HTTP requests core asks for and the answers it takes back.
//!
//! Bodies are [`SecretBytes`] because token requests and responses carry credentials; the
//! `Debug` of a request shows the form's field names with secret values redacted.

use core::fmt;
use core::time::Duration;

use crate::secret::SecretBytes;
use crate::time::UnixTime;

/// Largest IdP response body core accepts (SPEC §8).
pub const MAX_IDP_BODY: usize = 1024 * 1024;

/// Form fields whose values are credentials and never shown.
const SECRET_FIELDS: [&str; 6] = [
    "refresh_token",
    "code",
    "code_verifier",
    "device_code",
    "token",
    "client_secret",
];

/// HTTP method of an IdP request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`, for discovery.
    Get,
    /// `POST` with a form body, for every token-endpoint call.
    Post,
}

/// An HTTP request to the IdP, with the limits the driver must enforce.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Request method.
    pub method: Method,
    /// Absolute URL, exactly as the IdP advertised it.
    pub url: String,
    /// Extra headers (name, value); no credentials are ever sent in headers.
    pub headers: Vec<(&'static str, String)>,
    /// The `application/x-www-form-urlencoded` body of a `POST`.
    pub body: Option<SecretBytes>,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up on the whole exchange at this time.
    pub deadline: UnixTime,
    /// Refuse response bodies larger than this.
    pub max_body: usize,
}

impl HttpRequest {
    /// A `GET` accepting JSON.
    pub(crate) fn get(url: &str, limits: Limits) -> Self {
        Self {
            method: Method::Get,
            url: url.to_owned(),
            headers: vec![("accept", "application/json".to_owned())],
            body: None,
            connect_timeout: limits.connect_timeout,
            deadline: limits.deadline,
            max_body: MAX_IDP_BODY,
        }
    }

    /// A form `POST` accepting JSON (RFC 6749 §3.2, §4.1.3, §6).
    pub(crate) fn post_form(url: &str, fields: &[(&str, &str)], limits: Limits) -> Self {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        Self {
            method: Method::Post,
            url: url.to_owned(),
            headers: vec![
                ("accept", "application/json".to_owned()),
                (
                    "content-type",
                    "application/x-www-form-urlencoded".to_owned(),
                ),
            ],
            body: Some(SecretBytes::new(form.finish().into_bytes())),
            connect_timeout: limits.connect_timeout,
            deadline: limits.deadline,
            max_body: MAX_IDP_BODY,
        }
    }

    /// The names of the form fields in the body, for transcripts and logs.
    pub fn form_field_names(&self) -> Vec<String> {
        let Some(body) = &self.body else {
            return Vec::new();
        };
        url::form_urlencoded::parse(body.expose_secret())
            .map(|(name, _)| name.into_owned())
            .collect()
    }

    /// The value of a non-secret form field (for tests and transcripts); `None` for the
    /// credential fields.
    pub fn form_field(&self, name: &str) -> Option<String> {
        if SECRET_FIELDS.contains(&name) {
            return None;
        }
        let body = self.body.as_ref()?;
        url::form_urlencoded::parse(body.expose_secret())
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.into_owned())
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut form = String::new();
        if let Some(body) = &self.body {
            for (name, value) in url::form_urlencoded::parse(body.expose_secret()) {
                if !form.is_empty() {
                    form.push_str(", ");
                }
                if SECRET_FIELDS.contains(&name.as_ref()) {
                    form.push_str(&format!("{name}=[redacted]"));
                } else {
                    form.push_str(&format!("{name}={value}"));
                }
            }
        }
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("form", &form)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Time limits of one request, derived from the flow's budget.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) connect_timeout: Duration,
    pub(crate) deadline: UnixTime,
}

/// What the IdP answered.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body (at most the request's `max_body` bytes).
    pub body: SecretBytes,
}

impl HttpResponse {
    /// A response with a JSON body (for tests and scripted transcripts).
    pub fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: Some("application/json".to_owned()),
            body: SecretBytes::new(body.as_bytes().to_vec()),
        }
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A request that got no HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct TransportError {
    /// What failed.
    pub kind: TransportErrorKind,
    /// Whether the request may have reached the server (decides `maybe_spent`, SPEC §5).
    pub request_sent: bool,
    /// A short description from the HTTP client; never contains a body or a credential.
    pub detail: String,
}

/// The kinds of transport failure, all transient for the token lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The host name did not resolve.
    Dns,
    /// The TCP connection failed or was refused.
    Connect,
    /// TLS failed (certificate, handshake).
    Tls,
    /// The deadline passed.
    Timeout,
    /// The connection broke mid-exchange.
    Io,
    /// The response body exceeded the limit.
    TooLarge,
    /// The HTTPS proxy refused or failed.
    Proxy,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dns => "name resolution failed",
            Self::Connect => "connection failed",
            Self::Tls => "TLS failed",
            Self::Timeout => "timed out",
            Self::Io => "connection broken",
            Self::TooLarge => "response too large",
            Self::Proxy => "HTTPS proxy failed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_credential_fields() {
        let limits = Limits {
            connect_timeout: Duration::from_secs(3),
            deadline: UnixTime::EPOCH,
        };
        let request = HttpRequest::post_form(
            "https://idp/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "CANARY-rt"),
                ("client_id", "c"),
            ],
            limits,
        );
        let debug = format!("{request:?}");
        assert!(!debug.contains("CANARY"), "{debug}");
        assert!(debug.contains("refresh_token=[redacted]"), "{debug}");
        assert!(debug.contains("grant_type=refresh_token"), "{debug}");
        assert_eq!(request.form_field("refresh_token"), None);
        assert_eq!(request.form_field("client_id").as_deref(), Some("c"));
    }
}
