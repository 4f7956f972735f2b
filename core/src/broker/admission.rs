//! Which requests the proxy lets through, in which order it checks them, and when a
//! forwarded request may be sent again (SPEC §7, §9).
//!
//! The runtime gathers [`RequestFacts`] from a request as it arrives (borrowed, nothing
//! copied), calls [`admit`], and performs the [`Admission`]: answer the health endpoint,
//! refuse with the [`Denial`]'s status and message, or forward to the target core built.
//! After a gateway answer, [`may_retry`] says whether to force a refresh and send again.
//!
//! The checks run in this order, each before anything is learned from the next:
//!
//! 1. the method: `CONNECT` and `TRACE` are never forwarded (405);
//! 2. `Host` and the request target's authority must name this proxy (a doubled `Host`
//!    is 400, RFC 9112 §3.2; a foreign one 403: DNS rebinding);
//! 3. a browser `Origin` must be this machine (403: no web page elsewhere may use it);
//! 4. `GET`/`HEAD /.llmauth/health` is answered without the key;
//! 5. the local key, in any header or query parameter tools put an API key in (401);
//! 6. the path, with dot segments removed, must stay under the gateway's base path (400).

use core::fmt;
use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::path::{gateway_target, query_param_name};
use super::rules::{
    HEALTH_PATH, KEY_HEADERS, KEY_QUERY_PARAM, bearer_value, host_allowed, origin_allowed,
};
use crate::secret::LocalKey;

/// Request bodies up to this size are kept in memory so the request can be sent again
/// after a gateway 401 (SPEC §7); larger ones stream through once.
pub const MAX_RETRY_BODY: u64 = 1024 * 1024;

/// The methods a 405 names in `Allow`: everything the proxy forwards is fair, these are
/// what tools use.
pub const ALLOWED_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// A request's header values by name, as the runtime holds them.
pub trait Headers {
    /// Every value of the header `name` (lower case), in the order received.
    fn values(&self, name: &'static str) -> impl Iterator<Item = &[u8]>;
}

impl<T: Headers + ?Sized> Headers for &T {
    fn values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        (**self).values(name)
    }
}

/// What the proxy knows when a request arrives: its own settings and the request head.
pub struct RequestFacts<'a, H> {
    /// The port the proxy listens on.
    pub port: u16,
    /// The key requests must carry; `None` when `proxy.require_local_key` is off.
    pub local_key: Option<&'a LocalKey>,
    /// The path of `llm.gateway_url` (`/v1`, `/anthropic`, or empty).
    pub gateway_path: &'a str,
    /// The method, as sent.
    pub method: &'a str,
    /// The request target's authority, when it came in absolute or authority form.
    pub authority: Option<&'a str>,
    /// The request target's path, as sent (empty for the authority form).
    pub path: &'a str,
    /// The request target's query, as sent, without `?`.
    pub query: Option<&'a str>,
    /// The request's headers (a borrowed view, such as a reference).
    pub headers: H,
    /// What is known of the body before reading it.
    pub body: BodyFacts,
}

/// What is known of a request body before reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyFacts {
    /// The request says it has no body.
    pub empty: bool,
    /// Its announced length (`Content-Length`), when known.
    pub length: Option<u64>,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Answer `/.llmauth/health` ([`Health`](super::health::Health)).
    Health,
    /// Forward to the gateway.
    Forward(Forward),
    /// Answer with an error; nothing reaches the gateway.
    Deny(Denial),
}

/// A request to forward.
#[derive(Debug, PartialEq, Eq)]
pub struct Forward {
    /// The gateway's path and query: dot segments removed, joined onto the gateway's
    /// base path, without the `key` parameter.
    pub target: String,
    /// How the body travels.
    pub body: BodyPlan,
}

/// How a forwarded body travels, which decides whether the request can be sent twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    /// There is none.
    Empty,
    /// Read whole first (at most [`MAX_RETRY_BODY`]), so it can be sent again.
    Keep,
    /// Streamed as it arrives, once.
    Stream,
}

/// Why the proxy answers a request itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// `CONNECT` or `TRACE` (405).
    MethodNotAllowed,
    /// More than one `Host` header (400).
    DuplicateHost,
    /// `Host` or the target's authority names something else than this proxy (403).
    ForeignHost {
        /// The proxy's port, for the message.
        port: u16,
    },
    /// A browser `Origin` other than this machine (403).
    ForeignOrigin,
    /// The local key is missing or wrong (401).
    MissingKey,
    /// The path is not absolute, or its `..` segments would leave the gateway URL's base
    /// path (400).
    BadPath,
}

impl Denial {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::DuplicateHost | Self::BadPath => 400,
            Self::ForeignHost { .. } | Self::ForeignOrigin => 403,
            Self::MissingKey => 401,
        }
    }

    /// The `Allow` header a 405 must carry (RFC 9110 §15.5.6).
    pub fn allow(self) -> Option<&'static str> {
        match self {
            Self::MethodNotAllowed => Some(ALLOWED_METHODS),
            Self::DuplicateHost
            | Self::ForeignHost { .. }
            | Self::ForeignOrigin
            | Self::MissingKey
            | Self::BadPath => None,
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MethodNotAllowed => f.write_str(
                "CONNECT and TRACE are not forwarded: this is a reverse proxy, set the tool's base URL to it instead of using it as an HTTP proxy",
            ),
            Self::DuplicateHost => f.write_str("the request has more than one Host header"),
            Self::ForeignHost { port } => write!(
                f,
                "this proxy only answers requests addressed to localhost:{port} (Host header)"
            ),
            Self::ForeignOrigin => f.write_str(
                "requests from web pages are not allowed (Origin is not this machine)",
            ),
            Self::MissingKey => f.write_str(
                "missing or wrong local key: set the tool's API key to the output of `llmauth proxy key`",
            ),
            Self::BadPath => f.write_str(
                "the request path cannot be forwarded: it must be absolute and its .. segments must stay under the gateway URL's path",
            ),
        }
    }
}

/// Decides what to do with a request (the order is the module doc's).
pub fn admit<H: Headers>(facts: &RequestFacts<'_, H>) -> Admission {
    // Methods are case-sensitive (RFC 9110 §9.1), but a gateway might not be.
    if ["CONNECT", "TRACE"]
        .iter()
        .any(|refused| facts.method.eq_ignore_ascii_case(refused))
    {
        return Admission::Deny(Denial::MethodNotAllowed);
    }
    let mut hosts = facts.headers.values("host");
    let host = hosts.next();
    if hosts.next().is_some() {
        return Admission::Deny(Denial::DuplicateHost);
    }
    let names_this_proxy = |value: &str| host_allowed(value, facts.port);
    let host_ok = host
        .and_then(|value| core::str::from_utf8(value).ok())
        .is_some_and(names_this_proxy);
    if !host_ok || facts.authority.is_some_and(|a| !names_this_proxy(a)) {
        return Admission::Deny(Denial::ForeignHost { port: facts.port });
    }
    let from_elsewhere = facts
        .headers
        .values("origin")
        .any(|origin| core::str::from_utf8(origin).map_or(true, |origin| !origin_allowed(origin)));
    if from_elsewhere {
        return Admission::Deny(Denial::ForeignOrigin);
    }
    if facts.path == HEALTH_PATH && matches!(facts.method, "GET" | "HEAD") {
        return Admission::Health;
    }
    if let Some(key) = facts.local_key
        && !presents(key, facts)
    {
        return Admission::Deny(Denial::MissingKey);
    }
    let Ok(target) = gateway_target(facts.gateway_path, facts.path, facts.query) else {
        return Admission::Deny(Denial::BadPath);
    };
    let body = if facts.body.empty {
        BodyPlan::Empty
    } else if facts
        .body
        .length
        .is_some_and(|length| length <= MAX_RETRY_BODY)
    {
        BodyPlan::Keep
    } else {
        BodyPlan::Stream
    };
    Admission::Forward(Forward { target, body })
}

/// Whether a request the gateway answered with `gateway_status` may be sent again with a
/// fresh token: only after a 401, and only when its body was kept. (The broker then says
/// whether the rejected token may be force-refreshed at all.)
pub fn may_retry(gateway_status: u16, body: BodyPlan) -> bool {
    gateway_status == 401 && matches!(body, BodyPlan::Empty | BodyPlan::Keep)
}

/// Whether the request carries `key` in any place tools put an API key: `Authorization:
/// Bearer`, `x-api-key`, `api-key`, `x-goog-api-key` or the `key` query parameter
/// (percent-decoded).
fn presents<H: Headers>(key: &LocalKey, facts: &RequestFacts<'_, H>) -> bool {
    let in_headers = KEY_HEADERS.iter().any(|&name| {
        facts.headers.values(name).any(|value| {
            let presented = if name == "authorization" {
                bearer_value(value)
            } else {
                Some(value.trim_ascii())
            };
            presented.is_some_and(|presented| key.matches(presented))
        })
    });
    in_headers
        || facts.query.is_some_and(|query| {
            query
                .split('&')
                .filter(|pair| query_param_name(pair) == KEY_QUERY_PARAM)
                .any(|pair| {
                    let value = pair.split_once('=').map_or("", |(_, value)| value);
                    let decoded: Cow<'_, [u8]> = percent_decode_str(value).into();
                    key.matches(&decoded)
                })
        })
}

#[cfg(test)]
mod tests;
