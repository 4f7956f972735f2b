//! A parsed request, with the small lookups the test servers need.

use std::net::SocketAddr;

/// One HTTP request, body fully read.
#[derive(Clone)]
pub struct Request {
    /// `GET`, `POST`, … as sent.
    pub method: String,
    /// The path as sent (still percent-encoded), without the query.
    pub path: String,
    /// The raw query string without `?`; empty when there is none.
    pub query: String,
    /// Headers in arrival order, names as sent (look them up with [`Request::header`]).
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked when it arrived chunked).
    pub body: Vec<u8>,
    /// Whether the body arrived with `Transfer-Encoding: chunked` (a streaming client).
    pub chunked: bool,
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the request came over TLS.
    pub tls: bool,
}

impl Request {
    /// The first value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in arrival order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The query, percent-decoded into pairs (order and duplicates kept).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        decode_pairs(self.query.as_bytes())
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        first(self.query_pairs(), name)
    }

    /// The body as `application/x-www-form-urlencoded` pairs.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        decode_pairs(&self.body)
    }

    /// The first value of a form field.
    pub fn form_param(&self, name: &str) -> Option<String> {
        first(self.form_pairs(), name)
    }

    /// The bearer token from `Authorization`, if that header uses the Bearer scheme.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?.trim();
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

impl std::fmt::Debug for Request {
    /// Prints no header values and no body: they carry codes, verifiers and tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .field("chunked", &self.chunked)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

fn decode_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn first(pairs: Vec<(String, String)>, name: &str) -> Option<String> {
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
