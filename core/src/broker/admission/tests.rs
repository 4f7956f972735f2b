use super::*;

const PORT: u16 = 14000;

fn key() -> LocalKey {
    LocalKey::from_random([7; 32])
}

/// Headers as a test writes them (names lower case, values raw bytes).
struct TestHeaders(Vec<(&'static str, Vec<u8>)>);

impl Headers for TestHeaders {
    fn values(&self, name: &'static str) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// One request, described by what differs from a well-formed keyed `GET /v1/messages`
/// to `localhost:14000`.
#[derive(Clone)]
struct Req {
    method: &'static str,
    authority: Option<&'static str>,
    path: &'static str,
    query: Option<String>,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: BodyFacts,
    key_required: bool,
}

impl Req {
    /// `method path` with `Host: localhost:14000` and no key.
    fn new(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            authority: None,
            path,
            query: None,
            headers: vec![("host", b"localhost:14000".to_vec())],
            body: BodyFacts {
                empty: true,
                length: Some(0),
            },
            key_required: true,
        }
    }

    /// `GET /v1/messages` with the key in `x-api-key`.
    fn keyed() -> Self {
        Self::new("GET", "/v1/messages").header("x-api-key", key().expose_secret())
    }

    fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }

    fn without(mut self, name: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    fn method(mut self, method: &'static str) -> Self {
        self.method = method;
        self
    }

    fn path(mut self, path: &'static str) -> Self {
        self.path = path;
        self
    }

    fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    fn authority(mut self, authority: &'static str) -> Self {
        self.authority = Some(authority);
        self
    }

    fn body(mut self, empty: bool, length: Option<u64>) -> Self {
        self.body = BodyFacts { empty, length };
        self
    }

    fn key_off(mut self) -> Self {
        self.key_required = false;
        self
    }

    fn admit(&self) -> Admission {
        let key = key();
        let headers = TestHeaders(self.headers.clone());
        admit(&RequestFacts {
            port: PORT,
            local_key: self.key_required.then_some(&key),
            gateway_path: "/v1",
            method: self.method,
            authority: self.authority,
            path: self.path,
            query: self.query.as_deref(),
            headers: &headers,
            body: self.body,
        })
    }
}

fn forward(target: &str) -> Admission {
    forward_with(target, BodyPlan::Empty)
}

fn forward_with(target: &str, body: BodyPlan) -> Admission {
    Admission::Forward(Forward {
        target: target.to_owned(),
        body,
    })
}

fn deny(denial: Denial) -> Admission {
    Admission::Deny(denial)
}

const FOREIGN_HOST: Denial = Denial::ForeignHost { port: PORT };

/// Every percent-encoded byte of `text`.
fn percent_encoded(text: &str) -> String {
    text.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn check(table: Vec<(&str, Req, Admission)>) {
    for (what, request, expected) in table {
        assert_eq!(request.admit(), expected, "{what}");
    }
}

#[test]
fn connect_and_trace_are_refused_before_anything_else() {
    check(vec![
        (
            "CONNECT to the proxy",
            Req::keyed()
                .method("CONNECT")
                .path("")
                .authority("localhost:14000"),
            deny(Denial::MethodNotAllowed),
        ),
        (
            "CONNECT to the gateway, as an HTTPS proxy client sends it",
            Req::new("CONNECT", "")
                .authority("llm.example.com:443")
                .without("host")
                .header("host", "llm.example.com:443"),
            deny(Denial::MethodNotAllowed),
        ),
        (
            "TRACE",
            Req::keyed().method("TRACE"),
            deny(Denial::MethodNotAllowed),
        ),
        (
            "lower-case connect",
            Req::keyed().method("connect"),
            deny(Denial::MethodNotAllowed),
        ),
        (
            "TRACE with two Hosts and no key",
            Req::new("TRACE", "/").header("host", "evil.example"),
            deny(Denial::MethodNotAllowed),
        ),
    ]);
    for method in [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND",
    ] {
        assert_eq!(
            Req::keyed().method(method).admit(),
            forward("/v1/messages"),
            "{method}"
        );
    }
}

#[test]
fn host_and_authority_must_name_this_proxy() {
    let mut table = vec![
        ("no Host", Req::keyed().without("host"), deny(FOREIGN_HOST)),
        (
            "two identical Hosts",
            Req::keyed().header("host", "localhost:14000"),
            deny(Denial::DuplicateHost),
        ),
        (
            "a second, foreign Host",
            Req::keyed().header("host", "evil.example"),
            deny(Denial::DuplicateHost),
        ),
        (
            "a foreign first Host, then ours",
            Req::keyed()
                .without("host")
                .header("host", "evil.example:14000")
                .header("host", "localhost:14000"),
            deny(Denial::DuplicateHost),
        ),
        (
            "Host not UTF-8",
            Req::keyed()
                .without("host")
                .header("host", b"localhost:14000\xff"),
            deny(FOREIGN_HOST),
        ),
        (
            "absolute-form target to another host",
            Req::keyed().authority("evil.example:14000"),
            deny(FOREIGN_HOST),
        ),
        (
            "absolute-form target to this proxy",
            Req::keyed().authority("127.0.0.1:14000"),
            forward("/v1/messages"),
        ),
    ];
    for host in [
        "evil.example:14000",
        "evil.example",
        "localhost",
        "localhost:14001",
        "127.0.0.2:14000",
        "",
    ] {
        table.push((
            host,
            Req::keyed().without("host").header("host", host),
            deny(FOREIGN_HOST),
        ));
    }
    for host in [
        "localhost:14000",
        "LOCALHOST:14000",
        "127.0.0.1:14000",
        "[::1]:14000",
    ] {
        table.push((
            host,
            Req::keyed().without("host").header("host", host),
            forward("/v1/messages"),
        ));
    }
    check(table);
}

#[test]
fn only_this_machine_may_be_the_origin() {
    let mut table = vec![(
        "no Origin (not a browser)",
        Req::keyed(),
        forward("/v1/messages"),
    )];
    for origin in [
        "https://evil.example",
        "null",
        "http://localhost.evil.example",
        "file:///tmp/x.html",
        "http://10.0.0.1",
    ] {
        table.push((
            origin,
            Req::keyed().header("origin", origin),
            deny(Denial::ForeignOrigin),
        ));
    }
    for origin in [
        "http://localhost:5173",
        "https://127.0.0.1:8443",
        "http://[::1]",
    ] {
        table.push((
            origin,
            Req::keyed().header("origin", origin),
            forward("/v1/messages"),
        ));
    }
    table.extend([
        (
            "a good Origin, then a foreign one",
            Req::keyed()
                .header("origin", "http://localhost:5173")
                .header("origin", "https://evil.example"),
            deny(Denial::ForeignOrigin),
        ),
        (
            "Origin not UTF-8",
            Req::keyed().header("origin", b"http://localhost\xff"),
            deny(Denial::ForeignOrigin),
        ),
    ]);
    check(table);
}

#[test]
fn health_needs_the_gate_but_not_the_key() {
    check(vec![
        ("GET", Req::new("GET", HEALTH_PATH), Admission::Health),
        ("HEAD", Req::new("HEAD", HEALTH_PATH), Admission::Health),
        (
            "with a query",
            Req::new("GET", HEALTH_PATH).query("x=1"),
            Admission::Health,
        ),
        (
            "foreign Host",
            Req::new("GET", HEALTH_PATH)
                .without("host")
                .header("host", "evil.example:14000"),
            deny(FOREIGN_HOST),
        ),
        (
            "foreign Origin",
            Req::new("GET", HEALTH_PATH).header("origin", "https://evil.example"),
            deny(Denial::ForeignOrigin),
        ),
        (
            "POST is no health check: it needs the key",
            Req::new("POST", HEALTH_PATH),
            deny(Denial::MissingKey),
        ),
        (
            "POST with the key is forwarded",
            Req::new("POST", HEALTH_PATH).header("x-api-key", key().expose_secret()),
            forward("/v1/.llmauth/health"),
        ),
    ]);
}

#[test]
fn the_local_key_is_accepted_wherever_tools_put_it() {
    let key = key();
    let secret = key.expose_secret();
    let mut wrong = secret.to_owned();
    wrong.replace_range(42.., if secret.ends_with('A') { "B" } else { "A" });
    let table = vec![
        (
            "nowhere",
            Req::new("GET", "/v1/messages"),
            deny(Denial::MissingKey),
        ),
        (
            "x-api-key",
            Req::new("GET", "/v1/messages").header("x-api-key", secret),
            forward("/v1/messages"),
        ),
        (
            "api-key",
            Req::new("GET", "/v1/messages").header("api-key", secret),
            forward("/v1/messages"),
        ),
        (
            "x-goog-api-key",
            Req::new("GET", "/v1/messages").header("x-goog-api-key", secret),
            forward("/v1/messages"),
        ),
        (
            "x-api-key with spaces around",
            Req::new("GET", "/v1/messages").header("x-api-key", format!("  {secret} ")),
            forward("/v1/messages"),
        ),
        (
            "Authorization: Bearer",
            Req::new("GET", "/v1/messages").header("authorization", format!("Bearer {secret}")),
            forward("/v1/messages"),
        ),
        (
            "Authorization: bearer, spaced",
            Req::new("GET", "/v1/messages").header("authorization", format!("bearer   {secret} ")),
            forward("/v1/messages"),
        ),
        (
            "Authorization: Basic",
            Req::new("GET", "/v1/messages").header("authorization", format!("Basic {secret}")),
            deny(Denial::MissingKey),
        ),
        (
            "Authorization without a scheme",
            Req::new("GET", "/v1/messages").header("authorization", secret),
            deny(Denial::MissingKey),
        ),
        (
            "a wrong key",
            Req::new("GET", "/v1/messages").header("x-api-key", &wrong),
            deny(Denial::MissingKey),
        ),
        (
            "a wrong key, then the right one",
            Req::new("GET", "/v1/messages")
                .header("x-api-key", &wrong)
                .header("x-api-key", secret),
            forward("/v1/messages"),
        ),
        (
            "the key in another header",
            Req::new("GET", "/v1/messages").header("x-key", secret),
            deny(Denial::MissingKey),
        ),
        (
            "the key query parameter",
            Req::new("GET", "/v1beta/models/m:streamGenerateContent")
                .query(format!("alt=sse&key={secret}&x=1")),
            forward("/v1/v1beta/models/m:streamGenerateContent?alt=sse&x=1"),
        ),
        (
            "the key query parameter, percent-encoded",
            Req::new("GET", "/v1/models").query(format!("key={}", percent_encoded(secret))),
            forward("/v1/models"),
        ),
        (
            "a wrong key query parameter",
            Req::new("GET", "/v1/models").query(format!("key={wrong}")),
            deny(Denial::MissingKey),
        ),
        (
            "the key in a parameter of another name",
            Req::new("GET", "/v1/models").query(format!("monkey={secret}")),
            deny(Denial::MissingKey),
        ),
        (
            "no key needed",
            Req::new("GET", "/v1/messages").key_off(),
            forward("/v1/messages"),
        ),
        (
            "no key needed, and a key query parameter is still never forwarded",
            Req::new("GET", "/v1/models")
                .key_off()
                .query("key=anything&a=1"),
            forward("/v1/models?a=1"),
        ),
        (
            "the key checks come after the gate",
            Req::new("GET", "/v1/messages").header("origin", "https://evil.example"),
            deny(Denial::ForeignOrigin),
        ),
    ];
    check(table);
}

#[test]
fn the_path_stays_under_the_gateway_base_path() {
    check(vec![
        (
            "dot-dot out of the root",
            Req::keyed().path("/../../x"),
            deny(Denial::BadPath),
        ),
        (
            "percent-encoded dot-dot",
            Req::keyed().path("/%2e%2E/x"),
            deny(Denial::BadPath),
        ),
        (
            "through the doubled segment",
            Req::keyed().path("/v1/../../x"),
            deny(Denial::BadPath),
        ),
        (
            "asterisk form",
            Req::keyed().method("OPTIONS").path("*"),
            deny(Denial::BadPath),
        ),
        ("no path", Req::keyed().path(""), deny(Denial::BadPath)),
        (
            "dot segments inside are removed",
            Req::keyed().path("/a/../v1/./messages"),
            forward("/v1/messages"),
        ),
        (
            "the key is checked before the path",
            Req::new("GET", "/../x"),
            deny(Denial::MissingKey),
        ),
    ]);
}

#[test]
fn a_body_is_kept_only_when_small_enough_to_send_twice() {
    let post = || Req::keyed().method("POST");
    check(vec![
        (
            "no body",
            post(),
            forward_with("/v1/messages", BodyPlan::Empty),
        ),
        (
            "a small body",
            post().body(false, Some(120)),
            forward_with("/v1/messages", BodyPlan::Keep),
        ),
        (
            "exactly the limit",
            post().body(false, Some(MAX_RETRY_BODY)),
            forward_with("/v1/messages", BodyPlan::Keep),
        ),
        (
            "one byte over",
            post().body(false, Some(MAX_RETRY_BODY + 1)),
            forward_with("/v1/messages", BodyPlan::Stream),
        ),
        (
            "chunked (length unknown)",
            post().body(false, None),
            forward_with("/v1/messages", BodyPlan::Stream),
        ),
    ]);
}

#[test]
fn only_a_401_with_a_kept_body_is_retried() {
    let table = [
        (401, BodyPlan::Empty, true),
        (401, BodyPlan::Keep, true),
        (401, BodyPlan::Stream, false),
        (200, BodyPlan::Keep, false),
        (403, BodyPlan::Keep, false),
        (407, BodyPlan::Empty, false),
        (500, BodyPlan::Keep, false),
    ];
    for (status, body, retry) in table {
        assert_eq!(may_retry(status, body), retry, "{status} {body:?}");
    }
}

#[test]
fn denials_have_a_status_and_a_message() {
    let table = [
        (Denial::MethodNotAllowed, 405, "reverse proxy"),
        (Denial::DuplicateHost, 400, "more than one Host"),
        (FOREIGN_HOST, 403, "localhost:14000 (Host header)"),
        (Denial::ForeignOrigin, 403, "Origin"),
        (Denial::MissingKey, 401, "`llmauth proxy key`"),
        (Denial::BadPath, 400, "path"),
    ];
    for (denial, status, text) in table {
        assert_eq!(denial.status(), status, "{denial:?}");
        assert!(denial.to_string().contains(text), "{denial}");
        assert_eq!(
            denial.allow(),
            (status == 405).then_some(ALLOWED_METHODS),
            "{denial:?}"
        );
    }
    assert!(!ALLOWED_METHODS.contains("CONNECT") && !ALLOWED_METHODS.contains("TRACE"));
}
