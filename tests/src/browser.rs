//! A scripted browser: follows an authorization URL through redirects, cookies and plain
//! HTML forms until it lands on the loopback callback (`http://localhost:<port>/callback`
//! or `127.0.0.1`/`[::1]`), which it requests once and then stops — exactly what a person
//! clicking "Sign in" does, minus the person.
//!
//! Used in-process through [`Browser`] / [`visit`], and as the `fake-browser` binary that
//! `llmauth` launches through `$BROWSER`.

mod form;

pub use form::{Form, decode_entities, first_form};

use std::collections::HashMap;
use std::io::Read as _;

use rustls_pki_types::CertificateDer;
use serde::Serialize;
use url::Url;

/// Most requests one visit makes (redirects and form submissions together).
pub const MAX_HOPS: usize = 20;
/// Most forms one visit submits (a login page, then a consent page, …).
const MAX_FORMS: usize = 5;
/// Largest page body kept.
const MAX_BODY_BYTES: u64 = 2 * 1024 * 1024;

/// One request made during a visit (its `Debug` leaves out the query, which may carry a
/// code).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL requested.
    pub url: String,
    /// The status answered.
    pub status: u16,
}

impl std::fmt::Debug for Hop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} -> {}",
            self.method,
            without_query(&self.url),
            self.status
        )
    }
}

/// How a visit ended.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Visit {
    /// The URL the visit started from.
    pub start_url: String,
    /// The last URL requested.
    pub final_url: String,
    /// Its status.
    pub status: u16,
    /// Its body (lossy UTF-8, at most 2 MiB).
    pub body: String,
    /// Whether the last URL was the loopback callback.
    pub reached_callback: bool,
    /// Every request, in order.
    pub hops: Vec<Hop>,
}

impl std::fmt::Debug for Visit {
    /// URLs without their queries (they carry authorization codes) and no body.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hops: Vec<String> = self
            .hops
            .iter()
            .map(|h| format!("{} {} -> {}", h.method, without_query(&h.url), h.status))
            .collect();
        f.debug_struct("Visit")
            .field("final_url", &without_query(&self.final_url))
            .field("status", &self.status)
            .field("reached_callback", &self.reached_callback)
            .field("body_len", &self.body.len())
            .field("hops", &hops)
            .finish_non_exhaustive()
    }
}

fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Why a visit failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrowserError {
    /// A URL (start, `Location` or form action) did not parse.
    BadUrl(String),
    /// A request failed below HTTP (connection refused, TLS, timeout).
    Transport {
        /// The URL requested, without its query.
        url: String,
        /// The transport error.
        error: String,
    },
    /// More than [`MAX_HOPS`] requests without reaching an end.
    TooManyHops(Vec<Hop>),
}

impl std::fmt::Display for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrowserError::BadUrl(url) => write!(f, "bad URL {url:?}"),
            BrowserError::Transport { url, error } => write!(f, "request to {url} failed: {error}"),
            BrowserError::TooManyHops(hops) => write!(f, "gave up after {} requests", hops.len()),
        }
    }
}

impl std::error::Error for BrowserError {}

/// A browser with a cookie jar (per host, name → value; attributes other than
/// `Max-Age=0` ignored).
pub struct Browser {
    agent: ureq::Agent,
    cookies: HashMap<String, Vec<(String, String)>>,
    callback_path: String,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("cookie_hosts", &self.cookies.keys().collect::<Vec<_>>())
            .field("callback_path", &self.callback_path)
            .finish_non_exhaustive()
    }
}

/// Visits `url` with a fresh browser trusting `roots` (the platform verifier when empty).
pub fn visit(url: &str, roots: &[CertificateDer<'static>]) -> Result<Visit, BrowserError> {
    Browser::new(roots).visit(url)
}

impl Browser {
    /// A browser trusting `roots` for HTTPS (the platform verifier when empty).
    pub fn new(roots: &[CertificateDer<'static>]) -> Browser {
        Browser {
            agent: crate::client::agent_trusting(roots),
            cookies: HashMap::new(),
            callback_path: "/callback".to_string(),
        }
    }

    /// A browser trusting the certificates of a PEM bundle.
    pub fn from_ca_pem(pem: &str) -> Browser {
        Browser::new(&crate::client::certs_from_pem(pem.as_bytes()))
    }

    /// Stops at loopback `http://` URLs whose path is `path` (default `/callback`).
    pub fn with_callback_path(mut self, path: &str) -> Browser {
        self.callback_path = path.to_string();
        self
    }

    /// The cookies held for a host.
    pub fn cookies(&self, host: &str) -> Vec<(String, String)> {
        self.cookies.get(host).cloned().unwrap_or_default()
    }

    /// Follows `start` to its end: the callback (requested, then stop), a page without a
    /// form, or an error page.
    pub fn visit(&mut self, start: &str) -> Result<Visit, BrowserError> {
        let mut url = Url::parse(start).map_err(|_| BrowserError::BadUrl(start.to_string()))?;
        let mut method = "GET".to_string();
        let mut form_body: Option<String> = None;
        let mut hops = Vec::new();
        let mut forms_submitted = 0;
        while hops.len() < MAX_HOPS {
            let at_callback = self.is_callback(&url);
            let page = self.request(&method, &url, form_body.take())?;
            hops.push(Hop {
                method: method.clone(),
                url: url.to_string(),
                status: page.status,
            });
            let finish = |page: Page, reached_callback: bool, hops: Vec<Hop>| Visit {
                start_url: start.to_string(),
                final_url: page.url,
                status: page.status,
                body: page.body,
                reached_callback,
                hops,
            };
            if at_callback {
                return Ok(finish(page, true, hops));
            }
            if (300..400).contains(&page.status)
                && let Some(location) = &page.location
            {
                url = url
                    .join(location)
                    .map_err(|_| BrowserError::BadUrl(location.clone()))?;
                if !matches!(page.status, 307 | 308) {
                    method = "GET".to_string();
                } else if let Some(body) = &page.sent_body {
                    form_body = Some(body.clone());
                }
                continue;
            }
            let next_form = (page.status == 200 && page.html && forms_submitted < MAX_FORMS)
                .then(|| first_form(&page.body))
                .flatten();
            let Some(form) = next_form else {
                return Ok(finish(page, false, hops));
            };
            forms_submitted += 1;
            let target = match &form.action {
                Some(action) => url
                    .join(action)
                    .map_err(|_| BrowserError::BadUrl(action.clone()))?,
                None => url.clone(),
            };
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.fields.iter())
                .finish();
            url = target;
            if form.method == "post" {
                method = "POST".to_string();
                form_body = Some(encoded);
            } else {
                method = "GET".to_string();
                url.set_query(Some(&encoded));
            }
        }
        Err(BrowserError::TooManyHops(hops))
    }

    /// Whether `url` is the local callback: plain http, a loopback host, the callback path.
    fn is_callback(&self, url: &Url) -> bool {
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        url.scheme() == "http" && loopback && url.path() == self.callback_path
    }

    fn request(
        &mut self,
        method: &str,
        url: &Url,
        body: Option<String>,
    ) -> Result<Page, BrowserError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let cookie_header = self
            .cookies
            .get(&host)
            .filter(|jar| !jar.is_empty())
            .map(|jar| {
                jar.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            });
        let transport = |e: ureq::Error| BrowserError::Transport {
            url: without_query(url.as_str()).to_string(),
            error: e.to_string(),
        };
        let mut response = if method == "POST" {
            let mut request = self
                .agent
                .post(url.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "text/html");
            if let Some(cookies) = &cookie_header {
                request = request.header("cookie", cookies);
            }
            request
                .send(body.clone().unwrap_or_default())
                .map_err(transport)?
        } else {
            let mut request = self.agent.get(url.as_str()).header("accept", "text/html");
            if let Some(cookies) = &cookie_header {
                request = request.header("cookie", cookies);
            }
            request.call().map_err(transport)?
        };
        for set_cookie in response.headers().get_all("set-cookie") {
            if let Ok(text) = set_cookie.to_str() {
                self.store_cookie(&host, text);
            }
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let html = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| ct.to_ascii_lowercase().contains("html"));
        let mut raw = Vec::new();
        let _ = response
            .body_mut()
            .as_reader()
            .take(MAX_BODY_BYTES)
            .read_to_end(&mut raw);
        Ok(Page {
            url: url.to_string(),
            status: response.status().as_u16(),
            location,
            html,
            body: String::from_utf8_lossy(&raw).into_owned(),
            sent_body: body,
        })
    }

    fn store_cookie(&mut self, host: &str, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        if name.is_empty() {
            return;
        }
        let expired = parts.any(|attr| {
            attr.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("max-age")
                    && v.trim().parse::<i64>().is_ok_and(|n| n <= 0)
            })
        });
        let jar = self.cookies.entry(host.to_string()).or_default();
        jar.retain(|(k, _)| *k != name);
        if !expired {
            jar.push((name, value));
        }
    }
}

/// One response, read.
struct Page {
    url: String,
    status: u16,
    location: Option<String>,
    html: bool,
    body: String,
    /// The form body this request sent (kept for 307/308 re-sends).
    sent_body: Option<String>,
}
