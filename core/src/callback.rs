//! The loopback redirect (RFC 8252 §7.3): checking what arrives at the redirect URI
//! (`http://<host>:<port>/callback`, or the configured `redirect_url`) or is pasted back
//! by the user, and the small self-contained pages the listener answers with.

use crate::oauth::{OAuthError, clean};
use crate::pkce::constant_time_eq;
use crate::provider::IssuerMatch;
use crate::secret::AuthorizationCode;

/// What to do with one request to the listener (or one pasted URL).
#[derive(Debug)]
pub enum Verdict {
    /// Not a redirect for us (another path, a wrong or missing `state`): answer with this
    /// page and keep waiting.
    Ignore {
        /// HTTP status of the answer.
        status: u16,
        /// The page.
        page: String,
        /// Why, for the terminal.
        reason: &'static str,
    },
    /// The redirect for this login ended it with an error.
    Failed {
        /// What went wrong, shown to the user.
        error: CallbackError,
    },
    /// The authorization code of this login.
    Code(AuthorizationCode),
}

/// Why the redirect for this login did not carry a usable code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The IdP answered with an error (RFC 6749 §4.1.2.1), e.g. `access_denied`.
    #[error("the IdP refused the login: {0}")]
    Refused(OAuthError),
    /// The `iss` parameter names another issuer, or is missing although the IdP promised
    /// it (RFC 9207 §2.4): a possible mix-up attack.
    #[error("the login response came from an unexpected issuer (RFC 9207 check failed)")]
    IssuerMismatch,
    /// The redirect had neither a code nor an error.
    #[error("the login response carried no authorization code")]
    NoCode,
}

/// What the redirect must match.
pub struct CallbackExpectations<'a> {
    /// The `state` sent in the authorization request.
    pub state: &'a str,
    /// The configured issuer.
    pub issuer: &'a str,
    /// How issuers compare ([`IssuerMatch::response_matches`]).
    pub issuer_match: IssuerMatch,
    /// The redirect URI's path.
    pub path: &'a str,
    /// Discovery said `authorization_response_iss_parameter_supported: true`.
    pub iss_required: bool,
}

/// Checks a request target (`/callback?code=…`) or a pasted redirect URL.
pub fn evaluate(target: &str, expect: &CallbackExpectations<'_>) -> Verdict {
    // A pasted redirect is an absolute URL; a request target starts with `/`.
    let without_scheme = match target.split_once("://") {
        Some((scheme, rest)) if !target.starts_with('/') && !scheme.contains(['/', '?']) => {
            rest.find('/').map_or("", |slash| &rest[slash..])
        }
        _ => target,
    };
    let (path, query) = without_scheme
        .split_once('?')
        .unwrap_or((without_scheme, ""));
    let path = path.split('#').next().unwrap_or(path);
    if path != expect.path {
        let page = error_page(
            "Not found",
            "This address only receives the sign-in redirect.",
        );
        return Verdict::Ignore {
            status: 404,
            page,
            reason: "a request for another path",
        };
    }
    let mut code = None;
    let mut state = None;
    let mut iss = None;
    let mut error = None;
    let mut error_description = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "code" => code = Some(value.into_owned()),
            "state" => state = Some(value.into_owned()),
            "iss" => iss = Some(value.into_owned()),
            "error" => error = Some(value.into_owned()),
            "error_description" => error_description = Some(value.into_owned()),
            _ => {}
        }
    }
    // RFC 6749 §10.12: only a redirect carrying this login's state is acted upon.
    if !state
        .as_deref()
        .is_some_and(|s| constant_time_eq(s, expect.state))
    {
        let page = error_page(
            "Sign-in link does not match",
            "This redirect does not belong to the sign-in llmauth is waiting for. Start the sign-in again from your terminal if needed.",
        );
        return Verdict::Ignore {
            status: 400,
            page,
            reason: "a redirect with a wrong or missing state",
        };
    }
    // RFC 9207 §2.4.
    match &iss {
        Some(iss) if !expect.issuer_match.response_matches(expect.issuer, iss) => {
            return Verdict::Failed {
                error: CallbackError::IssuerMismatch,
            };
        }
        None if expect.iss_required => {
            return Verdict::Failed {
                error: CallbackError::IssuerMismatch,
            };
        }
        _ => {}
    }
    if let Some(code) = error {
        let error = OAuthError {
            code: clean(&code, 64),
            description: error_description
                .map(|d| clean(&d, 300))
                .filter(|d| !d.is_empty()),
        };
        return Verdict::Failed {
            error: CallbackError::Refused(error),
        };
    }
    match code {
        Some(code) if !code.is_empty() => Verdict::Code(AuthorizationCode::new(code)),
        _ => Verdict::Failed {
            error: CallbackError::NoCode,
        },
    }
}

/// The page shown after a successful sign-in.
pub fn success_page() -> String {
    page(
        "Signed in",
        "#1a7f37",
        "You are signed in to your LLM gateway. You can close this tab and return to your terminal.",
    )
}

/// A page explaining what went wrong (text is HTML-escaped).
pub fn error_page(title: &str, detail: &str) -> String {
    page(title, "#cf222e", detail)
}

fn page(title: &str, color: &str, detail: &str) -> String {
    let title = escape(title);
    let detail = escape(detail);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>llmauth: {title}</title>\
<meta name=\"viewport\" content=\"width=device-width\"></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#1f2328\">\
<h1 style=\"color:{color};font-size:1.5em\">{title}</h1><p>{detail}</p>\
<p style=\"color:#59636e;font-size:.9em\">llmauth</p></body></html>"
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::CALLBACK_PATH;

    fn expect(iss_required: bool) -> CallbackExpectations<'static> {
        CallbackExpectations {
            state: "S",
            issuer: "https://idp",
            issuer_match: IssuerMatch::Exact,
            path: CALLBACK_PATH,
            iss_required,
        }
    }

    #[test]
    fn accepts_the_code_from_a_request_or_a_pasted_url() {
        for target in [
            "/callback?code=C&state=S&iss=https%3A%2F%2Fidp",
            "http://localhost:8666/callback?state=S&code=C&iss=https://idp",
        ] {
            let Verdict::Code(code) = evaluate(target, &expect(true)) else {
                panic!("{target}")
            };
            assert_eq!(code.expose_secret(), "C");
        }
        assert!(matches!(
            evaluate("/callback?code=C&state=S", &expect(false)),
            Verdict::Code(_)
        ));
    }

    #[test]
    fn wrong_state_or_path_keeps_waiting() {
        assert!(matches!(
            evaluate("/favicon.ico", &expect(false)),
            Verdict::Ignore { status: 404, .. }
        ));
        assert!(matches!(
            evaluate("/callback?code=C&state=X", &expect(false)),
            Verdict::Ignore { status: 400, .. }
        ));
        assert!(matches!(
            evaluate("/callback?code=C", &expect(false)),
            Verdict::Ignore { status: 400, .. }
        ));
    }

    #[test]
    fn issuer_and_errors_end_the_login() {
        let failed = |target| match evaluate(target, &expect(true)) {
            Verdict::Failed { error } => error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            failed("/callback?code=C&state=S"),
            CallbackError::IssuerMismatch
        );
        assert_eq!(
            failed("/callback?code=C&state=S&iss=https://evil"),
            CallbackError::IssuerMismatch
        );
        assert_eq!(
            failed("/callback?state=S&iss=https://idp"),
            CallbackError::NoCode
        );
        let CallbackError::Refused(error) = failed(
            "/callback?error=access_denied&error_description=no%3Cb%3E&state=S&iss=https://idp",
        ) else {
            panic!()
        };
        assert_eq!(error.code, "access_denied");
    }

    #[test]
    fn pages_escape_text() {
        assert!(error_page("<x>", "a&b").contains("&lt;x&gt;"));
        assert!(!success_page().contains("<script"));
    }
}
