//! Helpers shared by the self-tests.

use std::sync::Arc;

use llmauth_tests::ca::TestCa;
use llmauth_tests::http_server::{HttpServer, Request, Response, ServerOptions};
use llmauth_tests::idp::{IdpOptions, TestIdp};
use llmauth_tests::jwt::b64;
use serde_json::Value;
use std::sync::Mutex;

/// A PKCE pair: (verifier, S256 challenge).
pub(crate) fn pkce(seed: &str) -> (String, String) {
    let verifier: String = format!("{seed}{}", "0123456789abcdef".repeat(4))
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    let challenge = b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref());
    (verifier, challenge)
}

/// An IdP with default options.
pub(crate) fn idp() -> TestIdp {
    TestIdp::start(IdpOptions::default())
}

/// The outcome of an HTTP call: status, headers we care about, body parsed as JSON when
/// it is JSON (else `Value::Null`) and as text.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) json: Value,
    pub(crate) text: String,
    pub(crate) content_type: String,
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let location = header("location");
    let content_type = header("content-type").unwrap_or_default();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        location,
        json,
        text,
        content_type,
    }
}

pub(crate) fn get(agent: &ureq::Agent, url: &str) -> Answer {
    read(agent.get(url).call().unwrap())
}

pub(crate) fn get_with(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = agent.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    read(request.call().unwrap())
}

pub(crate) fn post_form(agent: &ureq::Agent, url: &str, form: &[(&str, &str)]) -> Answer {
    read(agent.post(url).send_form(form.iter().copied()).unwrap())
}

/// Like `post_form`, but a transport failure is returned instead of panicking.
pub(crate) fn try_post_form(
    agent: &ureq::Agent,
    url: &str,
    form: &[(&str, &str)],
) -> Result<Answer, ureq::Error> {
    agent.post(url).send_form(form.iter().copied()).map(read)
}

pub(crate) fn post_json(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Answer {
    let mut request = agent.post(url).header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    read(request.send(body.to_string()).unwrap())
}

/// The query pairs of a URL.
pub(crate) fn query_of(url: &str) -> Vec<(String, String)> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Runs `/authorize` with valid parameters and returns the redirect's query.
pub(crate) struct Authorized {
    pub(crate) code: String,
    pub(crate) verifier: String,
    pub(crate) redirect_uri: String,
    pub(crate) nonce: String,
}

pub(crate) fn authorize_url(
    idp: &TestIdp,
    redirect_uri: &str,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", idp.client_id())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", "openid offline_access")
        .append_pair("state", "state-123")
        .append_pair("nonce", "nonce-456")
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    for (k, v) in extra {
        query.append_pair(k, v);
    }
    format!("{}?{}", idp.authorization_endpoint(), query.finish())
}

/// A code via `/authorize` (auto-approve), with optional extra parameters.
pub(crate) fn authorize(idp: &TestIdp, agent: &ureq::Agent, extra: &[(&str, &str)]) -> Authorized {
    let (verifier, challenge) = pkce("verifier");
    let redirect_uri = "http://localhost:8666/callback".to_string();
    let answer = get(agent, &authorize_url(idp, &redirect_uri, &challenge, extra));
    assert_eq!(answer.status, 302, "authorize answered {}", answer.text);
    let location = answer.location.unwrap();
    assert!(
        location.starts_with("http://localhost:8666/callback?"),
        "{location}"
    );
    let query = query_of(&location);
    assert_eq!(param(&query, "state"), Some("state-123"));
    assert_eq!(param(&query, "iss"), Some(idp.issuer()));
    Authorized {
        code: param(&query, "code").unwrap().to_string(),
        verifier,
        redirect_uri,
        nonce: "nonce-456".to_string(),
    }
}

/// Exchanges a code; returns the token response.
pub(crate) fn exchange(
    idp: &TestIdp,
    agent: &ureq::Agent,
    auth: &Authorized,
    extra: &[(&str, &str)],
) -> Answer {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", auth.code.as_str()),
        ("redirect_uri", auth.redirect_uri.as_str()),
        ("code_verifier", auth.verifier.as_str()),
        ("client_id", idp.client_id()),
    ];
    form.extend_from_slice(extra);
    post_form(agent, &idp.token_endpoint(), &form)
}

pub(crate) fn refresh(idp: &TestIdp, agent: &ureq::Agent, refresh_token: &str) -> Answer {
    post_form(
        agent,
        &idp.token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", idp.client_id()),
        ],
    )
}

pub(crate) fn str_field<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// A plain-HTTP loopback listener standing in for llmauth's redirect listener: records
/// each request's path and query and answers a small page.
pub(crate) struct CallbackListener {
    pub(crate) server: HttpServer,
    pub(crate) seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl CallbackListener {
    pub(crate) fn start() -> CallbackListener {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        let server = HttpServer::start(ServerOptions::default(), move |_| {
            Arc::new(move |request: &Request| {
                record
                    .lock()
                    .unwrap()
                    .push((request.path.clone(), request.query.clone()));
                Response::html(200, "<p>Signed in. You can close this window.</p>")
            })
        })
        .unwrap();
        CallbackListener { server, seen }
    }

    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.server.port())
    }
}

/// A fresh CA to share between servers.
pub(crate) fn new_ca() -> Arc<TestCa> {
    Arc::new(TestCa::new())
}
