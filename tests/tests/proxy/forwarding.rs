//! What reaches the gateway and what does not: the token swap, the gate (local key, Host,
//! Origin), path joining, hop-by-hop headers, errors in the caller's dialect, health.

use std::time::Duration;

use super::http::{Req, echo};
use super::rig::{Rig, Setup};

const MESSAGE: &[u8] =
    br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;

#[test]
fn injects_the_token_and_never_forwards_the_clients_key() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    let token = rig.last_token();
    let places: Vec<(&str, Req<'_>)> = vec![
        (
            "authorization",
            Req::get("/echo").header("authorization", format!("Bearer {key}")),
        ),
        (
            "x-api-key",
            Req::get("/echo").header("x-api-key", key.clone()),
        ),
        ("api-key", Req::get("/echo").header("api-key", key.clone())),
        (
            "x-goog-api-key",
            Req::get("/echo").header("x-goog-api-key", key.clone()),
        ),
    ];
    for (place, request) in places {
        let request = request
            .header("x-custom", "kept as is")
            .header("anthropic-version", "2023-06-01")
            .header("proxy-authorization", "Basic c2VjcmV0")
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "per-connection")
            .header("te", "trailers");
        let response = request.send(proxy.port);
        assert_eq!(response.status, 200, "{place}: {}", response.text());
        let seen = rig.gateway.last_request().expect("the gateway saw it");
        assert_eq!(seen.bearer_token(), Some(token.as_str()), "{place}");
        assert!(
            seen.claims.is_some(),
            "{place}: the gateway verified the JWT"
        );
        for (name, value) in &seen.headers {
            assert!(
                !value.contains(&key),
                "{place}: the local key reached the gateway in {name}"
            );
        }
        for gone in [
            "x-api-key",
            "api-key",
            "x-goog-api-key",
            "proxy-authorization",
            "x-hop",
            "te",
        ] {
            assert!(!seen.has_header(gone), "{place}: {gone} was forwarded");
        }
        assert_eq!(seen.header("x-custom"), Some("kept as is"));
        assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
        let gateway_host = rig.gateway.url().trim_start_matches("https://").to_owned();
        assert_eq!(seen.header("host"), Some(gateway_host.as_str()), "{place}");
    }
    // Gemini CLI: the key in the query, other parameters kept.
    let target = format!("/v1beta/models/m:streamGenerateContent/echo?alt=sse&key={key}&x=1");
    let response = Req::get(&target).send(proxy.port);
    assert_eq!(response.status, 200, "{}", response.text());
    let seen = rig.gateway.last_request().expect("the gateway saw it");
    assert_eq!(seen.query, "alt=sse&x=1");
    assert_eq!(seen.bearer_token(), Some(token.as_str()));
    // A real API call through the proxy.
    let answer = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["content"][0]["text"],
        "Hello from the test gateway"
    );
    // The token never appears in anything the proxy prints.
    assert!(!proxy.stderr().contains(&token));
    assert!(proxy.extra_stdout().is_empty());
}

#[test]
fn a_missing_or_wrong_key_is_401_and_nothing_reaches_the_gateway() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    rig.gateway.clear_requests();
    let wrong = format!("{}x", &key[..key.len() - 1]);
    let cases = [
        Req::post("/v1/messages", MESSAGE),
        Req::post("/v1/messages", MESSAGE).header("x-api-key", wrong.clone()),
        Req::post("/v1/chat/completions", MESSAGE)
            .header("authorization", format!("Bearer {wrong}")),
        Req::post("/v1/chat/completions", MESSAGE).header("authorization", format!("Basic {key}")),
    ];
    for (i, request) in cases.iter().enumerate() {
        let response = request.send(proxy.port);
        assert_eq!(response.status, 401, "case {i}: {}", response.text());
        let json = response.json();
        if request.target == "/v1/messages" {
            assert_eq!(json["type"], "error", "Anthropic dialect");
            assert_eq!(json["error"]["type"], "authentication_error");
        } else {
            assert_eq!(
                json["error"]["type"], "authentication_error",
                "OpenAI dialect"
            );
        }
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("llmauth proxy key")),
            "{json}"
        );
    }
    let wrong_query = format!("/echo?key={wrong}");
    assert_eq!(Req::get(&wrong_query).send(proxy.port).status, 401);
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "nothing reached the gateway"
    );
}

#[test]
fn foreign_host_and_origin_are_refused() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    rig.gateway.clear_requests();
    let port = proxy.port;
    let refused = [
        Req::get("/echo").header("host", format!("evil.example:{port}")),
        Req::get("/echo").header("host", "evil.example"),
        Req::get("/echo").header("host", format!("localhost:{}", port.wrapping_add(1))),
        Req::get("/echo").header("origin", "https://evil.example"),
        Req::get("/echo").header("origin", "null"),
        Req::get("http://evil.example/echo"),
    ];
    for (i, request) in refused.into_iter().enumerate() {
        let response = request.header("x-api-key", key.clone()).send(port);
        assert_eq!(response.status, 403, "case {i}: {}", response.text());
        assert!(response.json()["error"]["message"].is_string());
    }
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "nothing reached the gateway"
    );
    let allowed = [
        Req::get("/echo").header("host", format!("localhost:{port}")),
        Req::get("/echo").header("host", format!("[::1]:{port}")),
        Req::get("/echo").header("origin", "http://localhost:5173"),
        Req::get("/echo").header("origin", format!("http://127.0.0.1:{port}")),
    ];
    for (i, request) in allowed.into_iter().enumerate() {
        let response = request.header("x-api-key", key.clone()).send(port);
        assert_eq!(response.status, 200, "case {i}: {}", response.text());
    }
    assert_eq!(rig.gateway.request_count(), 4);
}

#[test]
fn listens_on_ipv6_loopback_too() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    let Ok(mut stream) = std::net::TcpStream::connect(("::1", proxy.port)) else {
        // This machine has no IPv6 loopback; IPv4 alone is then correct.
        return;
    };
    use std::io::{Read as _, Write as _};
    let request = format!(
        "GET /echo HTTP/1.1\r\nhost: [::1]:{}\r\nx-api-key: {key}\r\nconnection: close\r\n\r\n",
        proxy.port
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn health_shows_the_expiry_never_the_token() {
    let rig = Rig::new();
    let proxy = rig.start_proxy();
    let token = rig.last_token();
    // The first flow reads the stored session in the background; give it a moment.
    let mut json = serde_json::Value::Null;
    assert!(super::rig::eventually(Duration::from_secs(5), || {
        let response = Req::get("/.llmauth/health").send(proxy.port);
        assert_eq!(response.status, 200);
        assert!(!response.text().contains(&token), "the token leaked");
        json = response.json();
        json["token_expires_at"].is_string()
    }));
    assert_eq!(json["status"], "ok");
    let expires = json["token_expires_at"].as_str().unwrap();
    assert!(expires.ends_with('Z') && expires.len() == 20, "{expires}");
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "health is answered by the proxy"
    );
}

#[test]
fn status_reports_whether_the_proxy_runs() {
    let rig = Rig::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .to_string();
    let set = rig.run(&["config", "set", "--proxy-port", &port]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let stopped = rig.run(&["status"]);
    assert!(
        stopped.stdout.contains("proxy:         not running"),
        "{}",
        stopped.stdout
    );
    let _proxy = rig.start_proxy_on(&port);
    let token = rig.last_token();
    assert!(super::rig::eventually(Duration::from_secs(5), || {
        let running = rig.run(&["status", "--format", "json"]);
        assert!(!running.stdout.contains(&token), "the token leaked");
        let json: serde_json::Value = serde_json::from_str(&running.stdout).expect("status JSON");
        json["proxy"]["running"] == true
            && json["proxy"]["port"].as_u64() == port.parse::<u64>().ok()
    }));
    let text = rig.run(&["status"]);
    assert!(
        text.stdout.contains(&format!(
            "proxy:         running on http://localhost:{port}"
        )),
        "{}",
        text.stdout
    );
}

#[test]
fn paths_join_without_doubling_a_segment() {
    let cases = [
        ("/v1", "/v1/echo", "/v1/echo"),
        ("/anthropic", "/v1/echo", "/anthropic/v1/echo"),
        (
            "",
            "/v1beta/models/x:streamGenerateContent/echo",
            "/v1beta/models/x:streamGenerateContent/echo",
        ),
    ];
    for (base, request, expected) in cases {
        let rig = Rig::with(Setup {
            gateway_path: base,
            ..Setup::default()
        });
        let key = rig.key();
        let proxy = rig.start_proxy();
        let response = Req::get(request).header("x-api-key", key).send(proxy.port);
        assert_eq!(
            response.status,
            200,
            "{base} + {request}: {}",
            response.text()
        );
        let seen = rig.gateway.last_request().expect("the gateway saw it");
        assert_eq!(seen.path, expected, "{base} + {request}");
    }
}

#[test]
fn an_unreachable_gateway_is_a_502_in_the_callers_dialect() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    rig.gateway.down();
    let anthropic = Req::post("/v1/messages", MESSAGE)
        .header("x-api-key", key.clone())
        .send(proxy.port);
    assert_eq!(anthropic.status, 502, "{}", anthropic.text());
    assert_eq!(anthropic.header("content-type"), Some("application/json"));
    let json = anthropic.json();
    assert_eq!(json["type"], "error");
    assert_eq!(json["error"]["type"], "api_error");
    let openai = Req::post("/v1/chat/completions", MESSAGE)
        .header("authorization", format!("Bearer {key}"))
        .send(proxy.port);
    assert_eq!(openai.status, 502);
    assert!(
        openai.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("gateway"))
    );
    rig.gateway.up().expect("gateway back up");
    let again = echo(proxy.port, &key);
    assert_eq!(again.status, 200, "{}", again.text());
}

#[test]
fn proxy_key_is_created_once_private_and_stable() {
    let rig = Rig::new();
    let first = rig.key();
    let second = rig.key();
    assert_eq!(first, second);
    assert_eq!(first.len(), 43);
    let file = rig.sandbox.state_dir().join("proxy.key");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), first);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn without_the_key_requirement_requests_pass_without_a_key() {
    let rig = Rig::new();
    let config = std::fs::read_to_string(rig.sandbox.config_file()).unwrap();
    let config = config.replacen(
        "llm:\n",
        "llm:\n  proxy:\n    require_local_key: false\n",
        1,
    );
    std::fs::write(rig.sandbox.config_file(), config).unwrap();
    let proxy = rig.start_proxy();
    let response = Req::get("/echo").send(proxy.port);
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(proxy.stderr().contains("require_local_key is off"));
}

#[test]
fn the_gateway_certificate_is_verified_unless_skip_verify() {
    let rig = Rig::with(Setup {
        untrusted_gateway: true,
        ..Setup::default()
    });
    let key = rig.key();
    let proxy = rig.start_proxy();
    let refused = echo(proxy.port, &key);
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("TLS")),
        "{}",
        refused.text()
    );
    assert_eq!(rig.gateway.request_count(), 0);
    drop(proxy);

    // The flag turns verification off for one run, and says so; the config is unchanged.
    let once = rig.start_proxy_with(&["--port", "0", "--tls-skip-verify"]);
    let response = echo(once.port, &key);
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        once.stderr()
            .contains("--tls-skip-verify=true overrides tls.skip_verify=false for this run only"),
        "warned: {}",
        once.stderr()
    );
    drop(once);
    let show = rig.run(&["config", "show", "--format", "json"]);
    let show: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(show["llm"]["tls"]["skip_verify"], false);

    let set = rig.run(&["config", "set", "--tls-skip-verify"]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let proxy = rig.start_proxy();
    let response = echo(proxy.port, &key);
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(
        proxy.stderr().contains("tls.skip_verify"),
        "warned: {}",
        proxy.stderr()
    );
    assert!(!proxy.stderr().contains("overrides"), "{}", proxy.stderr());
    drop(proxy);

    // And back on for one run.
    let strict = rig.start_proxy_with(&["--port", "0", "--tls-skip-verify=false"]);
    let refused = echo(strict.port, &key);
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(
        strict
            .stderr()
            .contains("--tls-skip-verify=false overrides tls.skip_verify=true for this run only"),
        "warned: {}",
        strict.stderr()
    );
}
