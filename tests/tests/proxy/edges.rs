//! Request edges the proxy answers itself, never contacting the gateway (issue 9.6):
//! `CONNECT` (and `TRACE`), dot segments that would leave the gateway's base path, and a
//! doubled `Host`.

use super::http::Req;
use super::rig::{Rig, Setup};

/// A request with the method `method` (the raw client writes it as given).
fn with_method<'a>(method: &'a str, target: &'a str) -> Req<'a> {
    Req {
        method,
        ..Req::get(target)
    }
}

#[test]
fn connect_and_trace_are_405_and_never_reach_the_gateway() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    rig.gateway.clear_requests();
    let here = format!("127.0.0.1:{}", proxy.port);
    let gateway = rig.gateway.url().trim_start_matches("https://").to_owned();
    let cases = [
        // A tool told to use the proxy as its HTTPS proxy.
        with_method("CONNECT", &gateway).header("host", gateway.clone()),
        // A CONNECT addressed to the proxy itself, passing the Host check.
        with_method("CONNECT", &here).header("host", here.clone()),
        // TRACE would echo the injected bearer token back (RFC 9110 §9.3.8).
        with_method("TRACE", "/v1/echo"),
    ];
    for (i, request) in cases.into_iter().enumerate() {
        let response = request.header("x-api-key", key.clone()).send(proxy.port);
        assert_eq!(response.status, 405, "case {i}: {}", response.text());
        let allow = response.header("allow").unwrap_or_default();
        assert!(
            allow.contains("GET") && !allow.contains("CONNECT"),
            "case {i}: allow {allow:?}"
        );
        assert!(
            response.json()["error"]["message"].is_string(),
            "case {i}: {}",
            response.text()
        );
    }
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "nothing reached the gateway"
    );
}

#[test]
fn dot_segments_are_normalised_and_never_leave_the_gateway_base_path() {
    let rig = Rig::with(Setup {
        gateway_path: "/v1",
        ..Setup::default()
    });
    let key = rig.key();
    let proxy = rig.start_proxy();
    rig.gateway.clear_requests();
    for target in [
        "/../../x",
        "/..",
        "/v1/../../x/echo",
        "/%2e%2e/x/echo",
        "/.%2E/x/echo",
        "/a/b/../../../echo",
    ] {
        let response = Req::get(target)
            .header("x-api-key", key.clone())
            .send(proxy.port);
        assert_eq!(response.status, 400, "{target}: {}", response.text());
        assert!(
            response.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("path")),
            "{target}: {}",
            response.text()
        );
    }
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "nothing reached the gateway"
    );
    // Dot segments that stay inside are removed (RFC 3986 §5.2.4) before the join.
    for (target, seen_path) in [
        ("/v1/./echo", "/v1/echo"),
        ("/a/../v1/echo", "/v1/echo"),
        ("/x/%2E%2e/models/./echo", "/v1/models/echo"),
    ] {
        let response = Req::get(target)
            .header("x-api-key", key.clone())
            .send(proxy.port);
        assert_eq!(response.status, 200, "{target}: {}", response.text());
        let seen = rig.gateway.last_request().expect("the gateway saw it");
        assert_eq!(seen.path, seen_path, "{target}");
    }
}

#[test]
fn two_host_headers_are_400_and_never_reach_the_gateway() {
    let rig = Rig::new();
    let key = rig.key();
    let proxy = rig.start_proxy();
    rig.gateway.clear_requests();
    let here = format!("127.0.0.1:{}", proxy.port);
    for second in [here.clone(), "evil.example".to_owned()] {
        let response = Req::get("/echo")
            .header("host", here.clone())
            .header("host", second.clone())
            .header("x-api-key", key.clone())
            .send(proxy.port);
        assert_eq!(response.status, 400, "{second}: {}", response.text());
        assert!(
            response.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("Host")),
            "{}",
            response.text()
        );
    }
    assert_eq!(
        rig.gateway.request_count(),
        0,
        "nothing reached the gateway"
    );
}
