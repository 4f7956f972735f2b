//! The token supply behind the proxy: retry after a gateway 401 (once, no storm), an IdP
//! outage, short-lived tokens renewed ahead of expiry, and a logout or sign-in needed
//! while the proxy runs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use llmauth_async::{FlowSetup, Proxy, ProxyOptions};
use llmauth_blocking::{IoOptions, Paths};
use llmauth_core::config::ConfigDocument;
use llmauth_core::flow::{FlowSettings, Interaction};
use llmauth_core::store::Backend;
use llmauth_tests::browser::Browser;
use llmauth_tests::faults::Fault;
use llmauth_tests::idp::{GrantType, IdpEndpoint, IdpOptions};

use super::http::{Req, echo};
use super::rig::{Rig, Setup, eventually};

const MESSAGE: &[u8] =
    br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn a_gateway_401_is_retried_once_with_a_refreshed_token() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    let first = echo(proxy.port, &key);
    assert_eq!(first.status, 200);
    let old_token = rig.last_token();
    let refreshes = rig.idp.token_requests(GrantType::RefreshToken);
    rig.gateway.clear_requests();

    rig.gateway.reject_next(1);
    let response = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        rig.idp.token_requests(GrantType::RefreshToken),
        refreshes + 1
    );
    let seen = rig.gateway.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].status, 401);
    assert_eq!(seen[0].bearer_token(), Some(old_token.as_str()));
    assert_eq!(seen[1].status, 200);
    let new_token = rig.last_token();
    assert_ne!(new_token, old_token);
    assert_eq!(seen[1].bearer_token(), Some(new_token.as_str()));
    assert_eq!(seen[1].body_len, MESSAGE.len(), "the body was sent again");

    // Right after a forced refresh, another 401 goes back as it is: no refresh storm,
    // however many requests are rejected.
    rig.gateway.reject_next(1000);
    for _ in 0..20 {
        let rejected = Req::post("/v1/messages", MESSAGE)
            .header("x-api-key", key.clone())
            .send(proxy.port);
        assert_eq!(rejected.status, 401);
        assert_eq!(rejected.json()["error"]["type"], "authentication_error");
        assert!(
            rejected.header("www-authenticate").is_some(),
            "the gateway's own 401"
        );
    }
    assert_eq!(
        rig.idp.token_requests(GrantType::RefreshToken),
        refreshes + 1
    );
    rig.gateway.reject_next(0);
}

#[test]
fn a_large_body_is_not_retried() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    assert_eq!(echo(proxy.port, &key).status, 200);
    let refreshes = rig.idp.token_requests(GrantType::RefreshToken);
    rig.gateway.clear_requests();
    rig.gateway.reject_next(1);
    let body = vec![b'x'; 2 * 1024 * 1024];
    let mut upload = Req::post("/upload", &body).header("x-api-key", key);
    upload.headers.retain(|(k, _)| *k != "content-type");
    let response = upload.send(proxy.port);
    assert_eq!(response.status, 401, "{}", response.text());
    assert_eq!(rig.gateway.request_count(), 1);
    assert_eq!(rig.idp.token_requests(GrantType::RefreshToken), refreshes);
}

#[test]
fn an_idp_outage_with_a_valid_token_does_not_stop_requests() {
    // 20 s tokens: refreshed ahead at ~7.5 s, usable until ~15 s.
    let rig = Rig::with(Setup {
        idp: IdpOptions {
            access_token_lifetime: Duration::from_secs(20),
            ..IdpOptions::default()
        },
        ..Setup::default()
    });
    let issued = Instant::now();
    let key = rig.key();
    let proxy = rig.start_proxy();
    let first_token = rig.last_token();
    // The gateway fetches the IdP's keys once, on its first request.
    let warm = echo(proxy.port, &key);
    assert_eq!(warm.status, 200, "{}", warm.text());
    rig.idp.down();
    while issued.elapsed() < Duration::from_secs(12) {
        let response = echo(proxy.port, &key);
        assert_eq!(
            response.status,
            200,
            "at {:?}: {}",
            issued.elapsed(),
            response.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        proxy.stderr().contains("could not refresh"),
        "the outage is reported: {}",
        proxy.stderr()
    );
    // Once the IdP is back, the retries (with backoff) renew the token.
    rig.idp.up().expect("IdP back up");
    assert!(
        eventually(Duration::from_secs(10), || {
            let response = echo(proxy.port, &key);
            assert_eq!(response.status, 200, "{}", response.text());
            let seen = rig.gateway.last_request().expect("seen");
            seen.bearer_token() != Some(first_token.as_str())
        }),
        "the token was not renewed after the outage"
    );
}

#[test]
fn short_lived_tokens_are_renewed_ahead_during_a_30_second_run() {
    const REFRESH_ANSWER_HELD: Duration = Duration::from_secs(2);
    let rig = Rig::with(Setup {
        idp: IdpOptions {
            access_token_lifetime: Duration::from_secs(10),
            ..IdpOptions::default()
        },
        strict_expiry: true,
        ..Setup::default()
    });
    let key = rig.key();
    let proxy = rig.start_proxy();
    // Every refresh answer is held back: a request that waited for a refresh would take
    // at least this long, one served while the refresh runs ahead takes milliseconds.
    rig.idp
        .set_sticky_fault(IdpEndpoint::Token, Some(Fault::Delay(REFRESH_ANSWER_HELD)));
    let refreshes = rig.idp.token_requests(GrantType::RefreshToken);
    let started = Instant::now();
    let mut requests = 0;
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(30) {
        let sent = Instant::now();
        let response = Req::post("/v1/messages", MESSAGE)
            .header("x-api-key", key.clone())
            .send(proxy.port);
        slowest = slowest.max(sent.elapsed());
        assert_eq!(
            response.status,
            200,
            "request {requests} at {:?}: {}",
            started.elapsed(),
            response.text()
        );
        requests += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    let renewed = rig.idp.token_requests(GrantType::RefreshToken) - refreshes;
    assert!(
        (3..=12).contains(&renewed),
        "{renewed} refreshes in 30 s of 10 s tokens"
    );
    assert!(requests > 200, "only {requests} requests");
    // Refreshing ahead means no request waited for the IdP.
    assert!(
        slowest < REFRESH_ANSWER_HELD,
        "slowest request {slowest:?}: it waited for a refresh"
    );
    assert!(rig.gateway.requests().iter().all(|r| r.rejection.is_none()));
}

/// The proxy run in-process (library), for what needs a short login wait.
struct InProcess {
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    fn start(rig: &Rig, login_wait: Duration) -> Self {
        Self::start_with(rig, login_wait, 64)
    }

    fn start_with(rig: &Rig, login_wait: Duration, max_connections: usize) -> Self {
        let bytes = std::fs::read(rig.sandbox.config_file()).expect("config file");
        let config = ConfigDocument::parse_bytes(&bytes)
            .expect("parse config")
            .validate()
            .expect("valid config");
        let paths = Paths::new(
            rig.sandbox.config_file(),
            rig.sandbox.state_dir(),
            rig.sandbox.runtime_dir().join("llmauth"),
        );
        let key = llmauth_blocking::proxy_key::load_or_create(&paths).expect("local key");
        let ca_file = Some(PathBuf::from(&rig.ca_file));
        let options = ProxyOptions {
            gateway_url: config.gateway_url.clone(),
            port: 0,
            local_key: Some(key),
            ca_file: ca_file.clone(),
            skip_verify: false,
            flow: FlowSetup {
                settings: FlowSettings::from(&config),
                backend: Backend::File,
                interaction: Interaction {
                    login: true,
                    open_browser: false,
                    paste_back: false,
                    show_device_code: false,
                    browser_only: false,
                },
                paths,
                io_options: IoOptions { ca_file },
            },
            login_wait,
            // Two workers: the token supply is shared across them.
            threads: 2,
            max_connections,
            managed_by: None,
        };
        let proxy = Proxy::bind(options).expect("bind");
        let port = proxy.port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            proxy
                .run_until(async move {
                    let _ = stopped.await;
                })
                .expect("proxy ran");
        });
        Self {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_logout_elsewhere_takes_effect_at_once_and_a_sign_in_brings_it_back() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = InProcess::start(&rig, Duration::from_secs(2));
    let first = echo(proxy.port, &key);
    assert_eq!(first.status, 200, "{}", first.text());
    let old_token = rig.last_token();

    let logout = rig.run(&["logout"]);
    assert_eq!(logout.code, 0, "{}", logout.stderr);
    rig.gateway.clear_requests();
    // The stored session is re-read at most once a second.
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let refused = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(refused.status, 401, "{}", refused.text());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for the sign-in"
    );
    let json = refused.json();
    assert_eq!(json["error"]["type"], "authentication_error");
    let message = json["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    let url = message
        .split("finish signing in at ")
        .nth(1)
        .and_then(|rest| rest.split(", then retry").next())
        .unwrap_or_else(|| panic!("no sign-in URL in {message:?}"));
    assert!(
        url.starts_with(&format!("{}/authorize?", rig.idp.issuer())),
        "{url}"
    );
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "nothing reached the gateway"
    );

    // Someone completes the sign-in the proxy started (it was never cancelled).
    let mut browser = Browser::from_ca_pem(rig.idp.ca().ca_pem());
    let visit = browser.visit(url).expect("sign in");
    assert_eq!(visit.status, 200, "{}", visit.body);
    let back = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key)
        .send(proxy.port);
    assert_eq!(back.status, 200, "{}", back.text());
    let seen = rig.gateway.last_request().expect("seen");
    assert_ne!(seen.bearer_token(), Some(old_token.as_str()));
    assert!(seen.claims.is_some());
}

#[test]
fn a_refresh_by_another_process_is_picked_up() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    assert_eq!(echo(proxy.port, &key).status, 200);
    let refreshes = rig.idp.token_requests(GrantType::RefreshToken);
    let token = rig.run(&["token", "--force-refresh"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    let refreshed = token.stdout.trim().to_owned();
    std::thread::sleep(Duration::from_millis(1100));
    let response = echo(proxy.port, &key);
    assert_eq!(response.status, 200);
    let seen = rig.gateway.last_request().expect("seen");
    assert_eq!(seen.bearer_token(), Some(refreshed.as_str()));
    assert_eq!(
        rig.idp.token_requests(GrantType::RefreshToken),
        refreshes + 1,
        "the proxy took the new token from the store, without a refresh of its own"
    );
}

#[test]
fn concurrent_connections_are_bounded() {
    use std::io::{Read as _, Write as _};
    let rig = Rig::new();
    let key = rig.key();
    let proxy = InProcess::start_with(&rig, Duration::from_secs(5), 1);
    let request = |target: &str| {
        format!(
            "GET {target} HTTP/1.1\r\nhost: 127.0.0.1:{}\r\nx-api-key: {key}\r\n\r\n",
            proxy.port
        )
    };
    let read_status = |stream: &mut std::net::TcpStream| {
        let mut buf = [0u8; 12];
        stream
            .read_exact(&mut buf)
            .map(|()| String::from_utf8_lossy(&buf).into_owned())
    };
    // The first client holds the only slot with a request in flight (a stream of three
    // events 300 ms apart).
    let mut first = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    first
        .write_all(request("/sse?events=3&interval_ms=300").as_bytes())
        .unwrap();
    assert_eq!(read_status(&mut first).unwrap(), "HTTP/1.1 200");
    // The second waits, unanswered, while that request is busy.
    let mut second = std::net::TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    second.write_all(request("/echo").as_bytes()).unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(read_status(&mut second).is_err(), "served beyond the bound");
    // Once the stream has ended, the first connection only waits for a next request: the
    // second takes its place (it is closed) and is served.
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(read_status(&mut second).unwrap(), "HTTP/1.1 200");
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    first
        .read_to_end(&mut rest)
        .expect("the first connection is closed");
    assert!(
        String::from_utf8_lossy(&rest).contains("\r\n0\r\n\r\n"),
        "the stream was delivered to its end before its connection went"
    );
}

/// With `token_kind: id` (Google's default) the proxy injects the ID token, and a gateway
/// 401 refreshes it like an access token.
#[test]
fn the_proxy_injects_the_id_token_when_that_is_the_kind_handed_out() {
    let rig = Rig::with(Setup {
        extra_config: vec!["--token-kind", "id"],
        ..Setup::default()
    });
    let key = rig.key();
    let proxy = rig.start_proxy();
    let first = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(first.status, 200, "{}", first.text());
    let id_token = rig.idp.last_id_token().expect("an ID token");
    let seen = rig.gateway.last_request().expect("seen");
    assert_eq!(seen.bearer_token(), Some(id_token.as_str()));

    rig.gateway.reject_next(1);
    let retried = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key)
        .send(proxy.port);
    assert_eq!(retried.status, 200, "{}", retried.text());
    let refreshed = rig.idp.last_id_token().expect("a new ID token");
    assert_ne!(refreshed, id_token);
    let seen = rig.gateway.last_request().expect("seen");
    assert_eq!(seen.bearer_token(), Some(refreshed.as_str()));
}
