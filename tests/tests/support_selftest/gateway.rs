//! The gateway stand-in: token verification, the LLM APIs, the utility endpoints, and
//! SSE timing.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use llmauth_tests::faults::Fault;
use llmauth_tests::gateway::{GatewayOptions, TestGateway, download_pattern};
use llmauth_tests::idp::{IdpOptions, TestIdp};
use llmauth_tests::jwt::{SigningAlg, b64};
use serde_json::{Value, json};

use super::common::{Answer, get_with, idp, post_json};

fn messages(agent: &ureq::Agent, gateway: &TestGateway, token: &str) -> Answer {
    post_json(
        agent,
        &format!("{}/v1/messages", gateway.url()),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("anthropic-version", "2023-06-01"),
        ],
        &json!({"model": "claude-test", "max_tokens": 10,
                "messages": [{"role": "user", "content": "hi"}]}),
    )
}

fn error_message(answer: &Answer) -> String {
    answer.json["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn accepts_the_idps_tokens_and_rejects_doctored_ones() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    let agent = idp.ca().agent();
    let token = idp
        .create_session("openid offline_access", None)
        .access_token;

    let ok = messages(&agent, &gateway, &token);
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["type"], "message");
    assert_eq!(ok.json["model"], "claude-test");
    assert_eq!(ok.json["content"][0]["text"], "Hello from the test gateway");
    let seen = gateway.last_request().unwrap();
    assert_eq!(seen.claims.as_ref().unwrap()["sub"], "test-user");
    assert_eq!(
        seen.model.as_deref(),
        Some("claude-test"),
        "the model asked for"
    );
    assert_eq!(seen.bearer_token(), Some(token.as_str()));
    assert_eq!(gateway.jwks_fetches(), 1);

    // Tampered payload, same signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&base64_decode(parts[1])).unwrap();
    claims["sub"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    let answer = messages(&agent, &gateway, &tampered);
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json["type"], "error");
    assert_eq!(answer.json["error"]["type"], "authentication_error");

    let mut expired = idp.access_token_claims(idp.client_id());
    expired["exp"] = json!(now() - 60);
    let answer = messages(&agent, &gateway, &idp.mint_access_token(&expired));
    assert_eq!(answer.status, 401);
    assert_eq!(error_message(&answer), "token expired");

    // Within the leeway still passes.
    let mut barely = idp.access_token_claims(idp.client_id());
    barely["exp"] = json!(now() - 1);
    assert_eq!(
        messages(&agent, &gateway, &idp.mint_access_token(&barely)).status,
        200
    );

    let wrong_aud = idp.mint_access_token(&idp.access_token_claims("https://other.example"));
    let answer = messages(&agent, &gateway, &wrong_aud);
    assert_eq!(error_message(&answer), "wrong audience");
    let mut both = idp.access_token_claims("ignored");
    both["aud"] = json!(["https://other.example", idp.client_id()]);
    assert_eq!(
        messages(&agent, &gateway, &idp.mint_access_token(&both)).status,
        200
    );

    let mut wrong_iss = idp.access_token_claims(idp.client_id());
    wrong_iss["iss"] = json!("https://evil.example");
    let answer = messages(&agent, &gateway, &idp.mint_access_token(&wrong_iss));
    assert_eq!(error_message(&answer), "wrong issuer");

    // A token from another IdP (another key) is unknown; the gateway refetches its JWKS
    // once before rejecting it.
    let other = TestIdp::start(IdpOptions::default());
    let foreign = other.create_session("openid", None).access_token;
    let fetches = gateway.jwks_fetches();
    let answer = messages(&agent, &gateway, &foreign);
    assert_eq!(answer.status, 401);
    assert_eq!(gateway.jwks_fetches(), fetches + 1);

    let missing = post_json(
        &agent,
        &format!("{}/v1/chat/completions", gateway.url()),
        &[("x-api-key", "sk-should-never-arrive")],
        &json!({"messages": []}),
    );
    assert_eq!(missing.status, 401);
    assert_eq!(missing.json["error"]["code"], "invalid_token");
    assert_eq!(error_message(&missing), "missing bearer token");
    let last = gateway.last_request().unwrap();
    assert!(
        last.has_header("x-api-key"),
        "the gateway records what it received"
    );
    assert_eq!(last.rejection.as_deref(), Some("missing bearer token"));
    assert_eq!(last.status, 401);
}

fn base64_decode(part: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap()
}

#[test]
fn forced_rejections_for_the_proxys_retry_logic() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    let agent = idp.ca().agent();
    let first = idp.create_session("openid offline_access", None);
    let token = first.access_token.clone();

    gateway.reject_next(2);
    assert_eq!(messages(&agent, &gateway, &token).status, 401);
    assert_eq!(messages(&agent, &gateway, &token).status, 401);
    assert_eq!(messages(&agent, &gateway, &token).status, 200);

    gateway.reject_token(&token);
    assert_eq!(messages(&agent, &gateway, &token).status, 401);

    // Tokens issued before a cutoff: iat has one-second resolution, so step past it.
    let second = idp.create_session("openid", None).access_token;
    std::thread::sleep(Duration::from_millis(1100));
    gateway.reject_tokens_issued_before(Some(SystemTime::now()));
    assert_eq!(messages(&agent, &gateway, &second).status, 401);
    let fresh = idp.create_session("openid", None).access_token;
    assert_eq!(messages(&agent, &gateway, &fresh).status, 200);
    gateway.reject_tokens_issued_before(None);
    assert_eq!(messages(&agent, &gateway, &second).status, 200);

    gateway.push_fault(Fault::Status(502));
    assert_eq!(messages(&agent, &gateway, &fresh).status, 502);
    assert_eq!(gateway.request_count(), 8);
    gateway.clear_requests();
    assert_eq!(gateway.request_count(), 0);
}

#[test]
fn rs256_tokens_verify_too() {
    let ca = super::common::new_ca();
    let idp = TestIdp::start_with_ca(
        IdpOptions {
            signing_alg: SigningAlg::Rs256,
            ..IdpOptions::default()
        },
        Arc::clone(&ca),
    );
    let gateway = TestGateway::start(
        GatewayOptions {
            expected_audience: Some("https://gw.example".into()),
            ..GatewayOptions::for_idp(&idp)
        },
        ca,
    );
    let agent = idp.ca().agent();
    let token = idp
        .create_session("openid", Some("https://gw.example"))
        .access_token;
    assert_eq!(messages(&agent, &gateway, &token).status, 200);
    let unaudienced = idp.create_session("openid", None).access_token;
    assert_eq!(messages(&agent, &gateway, &unaudienced).status, 401);
}

#[test]
fn streams_anthropic_and_openai_events_in_order() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    let agent = idp.ca().agent();
    let token = idp.create_session("openid", None).access_token;
    let bearer = format!("Bearer {token}");

    let stream = post_json(
        &agent,
        &format!("{}/v1/messages", gateway.url()),
        &[("authorization", &bearer)],
        &json!({"model": "m", "stream": true, "messages": []}),
    );
    assert_eq!(stream.status, 200);
    assert!(stream.content_type.starts_with("text/event-stream"));
    let names: Vec<&str> = stream
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    let mut deduped = names.clone();
    deduped.dedup();
    assert_eq!(
        deduped,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text: String = stream
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|v| v["type"] == "content_block_delta")
        .map(|v| v["delta"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, "Hello from the test gateway");

    gateway.set_answer_text("Two words");
    let chat = post_json(
        &agent,
        &format!("{}/v1/chat/completions", gateway.url()),
        &[("authorization", &bearer)],
        &json!({"model": "gpt-test", "stream": true, "messages": []}),
    );
    let data: Vec<&str> = chat
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let content: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(content, "Two words");
    let full = post_json(
        &agent,
        &format!("{}/v1/chat/completions", gateway.url()),
        &[("authorization", &bearer)],
        &json!({"messages": []}),
    );
    assert_eq!(full.json["choices"][0]["message"]["content"], "Two words");
    assert_eq!(full.json["object"], "chat.completion");

    let anthropic_models = get_with(
        &agent,
        &format!("{}/anthropic/v1/models", gateway.url()),
        &[
            ("authorization", &bearer),
            ("anthropic-version", "2023-06-01"),
        ],
    );
    assert_eq!(anthropic_models.json["data"][0]["type"], "model");
    let openai_models = get_with(
        &agent,
        &format!("{}/v1/models", gateway.url()),
        &[("authorization", &bearer)],
    );
    assert_eq!(openai_models.json["object"], "list");
    let bad_json = agent
        .post(format!("{}/v1/messages", gateway.url()))
        .header("authorization", &bearer)
        .send("not json")
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_eq!(
        get_with(
            &agent,
            &format!("{}/nowhere", gateway.url()),
            &[("authorization", &bearer)]
        )
        .status,
        404
    );
}

#[test]
fn upload_download_and_echo() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    let agent = idp.ca().agent();
    let bearer = format!("Bearer {}", idp.create_session("openid", None).access_token);

    // A streamed (chunked) upload.
    let payload = download_pattern(300_000);
    let mut reader: &[u8] = &payload;
    let mut response = agent
        .post(format!("{}/upload", gateway.url()))
        .header("authorization", &bearer)
        .send(ureq::SendBody::from_reader(&mut reader))
        .unwrap();
    let answer: Value =
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(answer["bytes"], 300_000);
    assert_eq!(answer["chunked"], true);
    let digest = ring::digest::digest(&ring::digest::SHA256, &payload);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(answer["sha256"], hex);
    let upload = gateway.last_request().unwrap();
    assert!(upload.chunked);
    assert_eq!(upload.model, None, "a body that is not JSON names no model");

    let mut response = agent
        .get(format!("{}/download?bytes=200000", gateway.url()))
        .header("authorization", &bearer)
        .call()
        .unwrap();
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(bytes, download_pattern(200_000));

    let echo = get_with(
        &agent,
        &format!("{}/echo?a=1", gateway.url()),
        &[("authorization", &bearer), ("x-custom", "yes")],
    );
    assert_eq!(echo.json["query"], "a=1");
    assert!(
        echo.json["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0] == "x-custom" && h[1] == "yes")
    );
}

#[test]
fn sse_events_arrive_spaced_as_sent() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    let agent = idp.ca().agent();
    let bearer = format!("Bearer {}", idp.create_session("openid", None).access_token);
    let mut response = agent
        .get(format!("{}/sse?events=5&interval_ms=150", gateway.url()))
        .header("authorization", &bearer)
        .call()
        .unwrap();
    let started = Instant::now();
    let mut reader = BufReader::new(response.body_mut().as_reader());
    let mut arrivals = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            let event: Value = serde_json::from_str(data).unwrap();
            let received_us = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_micros();
            let sent_us = u128::from(event["sent_us"].as_u64().unwrap());
            arrivals.push((
                event["seq"].as_u64().unwrap(),
                started.elapsed(),
                received_us - sent_us,
            ));
        }
        line.clear();
    }
    assert_eq!(
        arrivals.iter().map(|a| a.0).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    for pair in arrivals.windows(2) {
        let gap = pair[1].1 - pair[0].1;
        assert!(
            gap >= Duration::from_millis(100) && gap < Duration::from_millis(1000),
            "events were not delivered one by one: {arrivals:?}"
        );
    }
    for (_, _, latency_us) in &arrivals {
        assert!(
            *latency_us < 500_000,
            "event took {latency_us} µs: {arrivals:?}"
        );
    }
}

#[test]
fn gateway_without_jwks_accepts_any_bearer_but_not_none() {
    let gateway = TestGateway::start(GatewayOptions::default(), super::common::new_ca());
    let agent = gateway.ca().agent();
    let opaque = get_with(
        &agent,
        &format!("{}/echo", gateway.url()),
        &[("authorization", "Bearer opaque-token")],
    );
    assert_eq!(opaque.status, 200);
    assert_eq!(
        get_with(&agent, &format!("{}/echo", gateway.url()), &[]).status,
        401
    );
    gateway.down();
    assert!(agent.get(format!("{}/echo", gateway.url())).call().is_err());
    gateway.up().unwrap();
    assert_eq!(
        get_with(
            &agent,
            &format!("{}/echo", gateway.url()),
            &[("authorization", "Bearer x")]
        )
        .status,
        200
    );
}

#[test]
fn request_records_are_capped_but_counted() {
    let gateway = TestGateway::start(
        GatewayOptions {
            max_recorded_requests: 2,
            ..GatewayOptions::default()
        },
        super::common::new_ca(),
    );
    let agent = gateway.ca().agent();
    for i in 0..3 {
        let url = format!("{}/echo?n={i}", gateway.url());
        assert_eq!(
            get_with(&agent, &url, &[("authorization", "Bearer x")]).status,
            200
        );
    }
    assert_eq!(gateway.request_count(), 3);
    let kept: Vec<String> = gateway.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(kept, ["n=1", "n=2"]);
}

#[test]
fn speaks_the_gemini_api_gemini_cli_uses() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    gateway.set_answer_text("Hello from Gemini land");
    let agent = idp.ca().agent();
    let token = idp.create_session("openid", None).access_token;
    let bearer = format!("Bearer {token}");
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "say hi"}]}]});
    let url = |method: &str| format!("{}/v1beta/models/gemini-test:{method}", gateway.url());

    let one = post_json(
        &agent,
        &url("generateContent"),
        &[("authorization", &bearer)],
        &body,
    );
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(
        one.json["candidates"][0]["content"]["parts"][0]["text"],
        "Hello from Gemini land"
    );
    assert_eq!(one.json["candidates"][0]["finishReason"], "STOP");
    assert_eq!(
        gateway.last_request().unwrap().model.as_deref(),
        Some("gemini-test")
    );

    let stream = post_json(
        &agent,
        &format!("{}?alt=sse", url("streamGenerateContent")),
        &[("authorization", &bearer)],
        &body,
    );
    assert_eq!(stream.status, 200, "{}", stream.text);
    let chunks: Vec<Value> = stream
        .text
        .split("\r\n\r\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .map(|c| {
            c["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(text, "Hello from Gemini land");
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks[3]["candidates"][0]["finishReason"], "STOP");

    let counted = post_json(
        &agent,
        &url("countTokens"),
        &[("authorization", &bearer)],
        &body,
    );
    assert!(counted.json["totalTokens"].as_u64().unwrap() > 0);
    let models = get_with(
        &agent,
        &format!("{}/v1beta/models", gateway.url()),
        &[("authorization", &bearer)],
    );
    assert_eq!(models.json["models"][0]["name"], "models/test-model-1");
    // Without the bearer token, Gemini's own key is not enough.
    let keyed = post_json(
        &agent,
        &url("generateContent"),
        &[("x-goog-api-key", "k")],
        &body,
    );
    assert_eq!(keyed.status, 401);
}

#[test]
fn gemini_structured_output_gets_json_of_the_asked_schema() {
    let idp = idp();
    let gateway = TestGateway::for_idp(&idp);
    let agent = idp.ca().agent();
    let token = idp.create_session("openid", None).access_token;
    let body = json!({
        "contents": [{"role": "user", "parts": [{"text": "route me"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {
                "type": "OBJECT",
                "properties": {
                    "reasoning": {"type": "STRING"},
                    "model_choice": {"type": "STRING", "enum": ["flash", "pro"]},
                    "score": {"type": "INTEGER"}
                },
                "required": ["reasoning", "model_choice"]
            }
        }
    });
    let answer = post_json(
        &agent,
        &format!("{}/v1beta/models/router:generateContent", gateway.url()),
        &[("authorization", &format!("Bearer {token}"))],
        &body,
    );
    let text = answer.json["candidates"][0]["content"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    let parsed: Value = serde_json::from_str(text).unwrap();
    assert_eq!(parsed["model_choice"], "flash");
    assert_eq!(parsed["reasoning"], "Hello from the test gateway");
    assert_eq!(parsed["score"], 1);
}
