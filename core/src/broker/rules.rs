//! The proxy's request rules (SPEC §7): which names and origins are this machine, where
//! the local key may be, which headers go and which stay, and what the proxy's own
//! answers look like. Pure functions over strings; [`admit`](super::admission::admit)
//! puts the request checks in order, and the runtime applies the rest.

use serde_json::json;
use url::Url;

use crate::net::is_loopback_url;
use crate::text::{MAX_ERROR_LINE, excerpt};

/// The health endpoint (no local key needed; never shows the token).
pub const HEALTH_PATH: &str = "/.llmauth/health";

/// Where a tool may put the local key (besides the `key` query parameter): every one of
/// them is removed before forwarding, so the key never reaches the gateway.
pub const KEY_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// The query parameter Gemini CLI sends its API key in.
pub const KEY_QUERY_PARAM: &str = "key";

/// Request headers removed before forwarding, besides [`KEY_HEADERS`] and the hop-by-hop
/// ones: the gateway's `Host` is set anew, credentials meant for a proxy go nowhere, and
/// `Expect: 100-continue` was already answered to the client by the proxy.
pub const DROPPED_REQUEST_HEADERS: [&str; 3] = ["host", "proxy-authorization", "expect"];

/// Hop-by-hop headers (RFC 9110 §7.6.1, plus the de-facto `Proxy-Connection` and
/// `Keep-Alive`): they describe one connection and are never forwarded. Headers named in
/// `Connection` are hop-by-hop too ([`connection_options`]).
pub const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "trailer",
];

/// The header names a `Connection` header value lists (lower case), which must be
/// removed along with it. `close` and `keep-alive` are options, not header names, but
/// removing headers by those names is harmless.
pub fn connection_options(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(|token| token.trim().to_ascii_lowercase())
        .filter(|token| !token.is_empty())
}

/// Whether `host` (the request's `Host` header) names this proxy: `localhost`,
/// `127.0.0.1` or `[::1]` with the port it listens on. Anything else — in particular
/// a DNS name that a web page rebound to 127.0.0.1 — is refused.
pub(crate) fn host_allowed(host: &str, port: u16) -> bool {
    let Some((name, host_port)) = host.rsplit_once(':') else {
        return false;
    };
    if host_port.parse::<u16>().ok() != Some(port) {
        return false;
    }
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]"
}

/// Whether a browser `Origin` may use the proxy: a page served from this machine's
/// loopback (`localhost`, `127.0.0.0/8`, `[::1]`, any port).
/// `null` and every other origin are refused, so no web page elsewhere can make the proxy
/// mint gateway calls.
pub(crate) fn origin_allowed(origin: &str) -> bool {
    let Ok(url) = Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    is_loopback_url(&url)
}

/// The key in an `Authorization` value: what follows `Bearer ` (scheme compared without
/// case), or `None` for other schemes.
pub(crate) fn bearer_value(authorization: &[u8]) -> Option<&[u8]> {
    let scheme = b"bearer ";
    if authorization.len() <= scheme.len()
        || !authorization[..scheme.len()].eq_ignore_ascii_case(scheme)
    {
        return None;
    }
    Some(authorization[scheme.len()..].trim_ascii())
}

/// The error format a caller understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Anthropic Messages API (`/v1/messages…`, or an `anthropic-version` header).
    Anthropic,
    /// OpenAI-style `{"error":{"message","type"}}`, which Gemini and most tools read too.
    OpenAi,
}

impl Dialect {
    /// The dialect of a request to `path`.
    pub fn of(path: &str, anthropic_version_header: bool) -> Self {
        if anthropic_version_header || path.contains("/v1/messages") {
            Self::Anthropic
        } else {
            Self::OpenAi
        }
    }
}

/// Largest answer of announced size whose first bytes are awaited before its head is
/// passed on: an API answer, not a download.
const WAIT_FOR_BODY_UP_TO: u64 = 64 * 1024;

/// Whether to pass a gateway answer on only once its first bytes are in, given the size
/// it announces (`None`: a stream, e.g. events). For a small answer of known size this
/// costs the client nothing (it needs the whole body anyway) and lets head and body leave
/// in one write; a stream's head goes out at once.
pub fn wait_for_body(announced: Option<u64>) -> bool {
    announced.is_some_and(|size| (1..=WAIT_FOR_BODY_UP_TO).contains(&size))
}

/// The JSON body of an error the proxy answers itself.
pub fn error_body(dialect: Dialect, status: u16, message: &str) -> String {
    // A message may quote a server's answer (an IdP's error page): an excerpt, printable.
    let message = excerpt(message, MAX_ERROR_LINE);
    let kind = match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    };
    let value = match dialect {
        Dialect::Anthropic => {
            json!({"type": "error", "error": {"type": kind, "message": message}})
        }
        Dialect::OpenAi => json!({"error": {"message": message, "type": kind}}),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_answers_of_known_size_wait_for_their_body() {
        assert!(wait_for_body(Some(1)));
        assert!(wait_for_body(Some(64 * 1024)));
        assert!(!wait_for_body(Some(64 * 1024 + 1)));
        assert!(!wait_for_body(Some(0)));
        assert!(!wait_for_body(None));
    }

    #[test]
    fn an_error_body_quotes_at_most_an_excerpt() {
        let long = format!("idp said: \u{1b}[31m{}", "x".repeat(10_000));
        for dialect in [Dialect::Anthropic, Dialect::OpenAi] {
            let body: serde_json::Value =
                serde_json::from_str(&error_body(dialect, 502, &long)).unwrap();
            // Both dialects put it at error.message.
            let message = body["error"]["message"].as_str().unwrap();
            assert_eq!(message.chars().count(), MAX_ERROR_LINE, "{dialect:?}");
            assert!(message.starts_with("idp said: xxx") && message.ends_with('…'));
        }
    }

    #[test]
    fn hosts() {
        for host in [
            "localhost:14000",
            "LOCALHOST:14000",
            "127.0.0.1:14000",
            "[::1]:14000",
        ] {
            assert!(host_allowed(host, 14000), "{host}");
        }
        for host in [
            "localhost",
            "localhost:14001",
            "evil.example:14000",
            "evil.example",
            "127.0.0.2:14000",
            "::1:14000",
            "localhost.:14000",
            "127.0.0.1:14000:14000",
            "",
        ] {
            assert!(!host_allowed(host, 14000), "{host}");
        }
    }

    #[test]
    fn origins() {
        for origin in [
            "http://localhost:3000",
            "http://localhost",
            "https://127.0.0.1:8443",
            "http://[::1]:14000",
            "http://127.1.2.3",
        ] {
            assert!(origin_allowed(origin), "{origin}");
        }
        for origin in [
            "null",
            "https://evil.example",
            "http://localhost.evil.example",
            "file:///tmp/x.html",
            "chrome-extension://abc",
            "http://10.0.0.1",
            "",
        ] {
            assert!(!origin_allowed(origin), "{origin}");
        }
    }

    #[test]
    fn bearer_values() {
        assert_eq!(bearer_value(b"Bearer abc"), Some(&b"abc"[..]));
        assert_eq!(bearer_value(b"bearer   abc "), Some(&b"abc"[..]));
        assert_eq!(bearer_value(b"Basic abc"), None);
        assert_eq!(bearer_value(b"Bearer"), None);
        assert_eq!(bearer_value(b"Bearer "), None);
    }

    #[test]
    fn connection_options_are_listed() {
        let listed: Vec<String> = connection_options("keep-alive, X-Trace ,,Upgrade").collect();
        assert_eq!(listed, ["keep-alive", "x-trace", "upgrade"]);
    }

    #[test]
    fn errors_in_the_callers_dialect() {
        assert_eq!(Dialect::of("/v1/messages", false), Dialect::Anthropic);
        assert_eq!(
            Dialect::of("/anthropic/v1/messages/count_tokens", false),
            Dialect::Anthropic
        );
        assert_eq!(
            Dialect::of("/v1/chat/completions", true),
            Dialect::Anthropic
        );
        assert_eq!(Dialect::of("/v1/chat/completions", false), Dialect::OpenAi);
        let anthropic: serde_json::Value =
            serde_json::from_str(&error_body(Dialect::Anthropic, 401, "no \"key\"")).unwrap();
        assert_eq!(anthropic["type"], "error");
        assert_eq!(anthropic["error"]["type"], "authentication_error");
        assert_eq!(anthropic["error"]["message"], "no \"key\"");
        let openai: serde_json::Value =
            serde_json::from_str(&error_body(Dialect::OpenAi, 502, "down")).unwrap();
        assert_eq!(openai["error"]["type"], "api_error");
        assert_eq!(openai["error"]["message"], "down");
    }
}
