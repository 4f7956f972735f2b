//! Just enough of the Anthropic Messages and OpenAI Chat Completions APIs for real
//! clients: the answer is a fixed text, streamed word by word in each API's own SSE
//! event format when asked.

use std::time::Duration;

use serde_json::{Value, json};

use super::GatewayOptions;
use crate::http_server::{Request, Response, StreamWriter};
use crate::random::random_id;

/// The request body as JSON, or the 400 to answer.
fn json_body(request: &Request, anthropic: bool) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(&request.body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            let message = "request body must be a JSON object";
            let body = if anthropic {
                json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
            } else {
                json!({"error": {"message": message, "type": "invalid_request_error"}})
            };
            Response::json(400, &body)
        })
}

fn model_of(body: &Value, options: &GatewayOptions) -> String {
    body.get("model")
        .and_then(Value::as_str)
        .unwrap_or(&options.model)
        .to_string()
}

fn wants_stream(body: &Value) -> bool {
    body.get("stream").and_then(Value::as_bool).unwrap_or(false)
}

/// The answer split into word-sized deltas (spaces kept), as models stream them.
fn deltas(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn event_stream(events: Vec<String>, interval: Duration) -> Response {
    Response::stream(200, move |out: &mut StreamWriter<'_>| {
        for (i, event) in events.iter().enumerate() {
            if i > 0 && !interval.is_zero() {
                std::thread::sleep(interval);
            }
            out.send(event.as_bytes())?;
        }
        Ok(())
    })
    .with_header("content-type", "text/event-stream")
    .with_header("cache-control", "no-cache")
}

fn anthropic_event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// `POST /v1/messages`.
pub(crate) fn anthropic_messages(
    request: &Request,
    options: &GatewayOptions,
    text: &str,
) -> Response {
    let body = match json_body(request, true) {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let model = model_of(&body, options);
    let id = format!("msg_test_{}", random_id());
    let input_tokens = word_count(
        &body
            .get("messages")
            .map(Value::to_string)
            .unwrap_or_default(),
    );
    let output_tokens = word_count(text);
    if !wants_stream(&body) {
        return Response::json(
            200,
            &json!({
                "id": id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
            }),
        );
    }
    let mut events = vec![
        anthropic_event(
            "message_start",
            &json!({"type": "message_start", "message": {
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            }}),
        ),
        anthropic_event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
        ),
        anthropic_event("ping", &json!({"type": "ping"})),
    ];
    for delta in deltas(text) {
        events.push(anthropic_event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": delta}}),
        ));
    }
    events.push(anthropic_event(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(anthropic_event(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(anthropic_event(
        "message_stop",
        &json!({"type": "message_stop"}),
    ));
    event_stream(events, options.stream_event_interval)
}

/// `POST /v1/chat/completions`.
pub(crate) fn openai_chat(request: &Request, options: &GatewayOptions, text: &str) -> Response {
    let body = match json_body(request, false) {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let model = model_of(&body, options);
    let id = format!("chatcmpl-test{}", random_id());
    let created = super::unix_micros() / 1_000_000;
    if !wants_stream(&body) {
        let completion_tokens = word_count(text);
        return Response::json(
            200,
            &json!({
                "id": id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }],
                "usage": {"prompt_tokens": 1, "completion_tokens": completion_tokens,
                          "total_tokens": 1 + completion_tokens},
            }),
        );
    }
    let chunk = |delta: Value, finish: Value| {
        let data = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {data}\n\n")
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for delta in deltas(text) {
        events.push(chunk(json!({"content": delta}), Value::Null));
    }
    events.push(chunk(json!({}), json!("stop")));
    events.push("data: [DONE]\n\n".to_string());
    event_stream(events, options.stream_event_interval)
}

/// `POST /v1/responses` (the OpenAI Responses API, which Codex speaks): one assistant
/// message; streamed as the API's typed events (`response.created`, output item and text
/// deltas, `response.completed`) when asked.
pub(crate) fn openai_responses(
    request: &Request,
    options: &GatewayOptions,
    text: &str,
) -> Response {
    let body = match json_body(request, false) {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let model = model_of(&body, options);
    let id = format!("resp_test{}", random_id());
    let item_id = format!("msg_test{}", random_id());
    let created = super::unix_micros() / 1_000_000;
    let output_tokens = word_count(text);
    let usage = json!({
        "input_tokens": 1, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 1 + output_tokens,
    });
    let message = |status: &str, content: Value| json!({"id": item_id, "type": "message", "status": status, "role": "assistant", "content": content});
    let part = json!({"type": "output_text", "text": text, "annotations": []});
    let response = |status: &str, output: Value, usage: Value| {
        json!({
            "id": id, "object": "response", "created_at": created, "status": status,
            "model": model, "output": output, "usage": usage,
        })
    };
    if !wants_stream(&body) {
        return Response::json(
            200,
            &response(
                "completed",
                json!([message("completed", json!([part]))]),
                usage,
            ),
        );
    }
    let mut sequence = 0u64;
    let mut event = |name: &str, mut data: Value| {
        if let Some(object) = data.as_object_mut() {
            object.insert("type".to_owned(), json!(name));
            object.insert("sequence_number".to_owned(), json!(sequence));
        }
        sequence += 1;
        format!("event: {name}\ndata: {data}\n\n")
    };
    let mut events = vec![
        event(
            "response.created",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
        event(
            "response.in_progress",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
        event(
            "response.output_item.added",
            json!({"output_index": 0, "item": message("in_progress", json!([]))}),
        ),
        event(
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
    ];
    for delta in deltas(text) {
        events.push(event(
            "response.output_text.delta",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": delta}),
        ));
    }
    events.push(event(
        "response.output_text.done",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": text}),
    ));
    events.push(event(
        "response.content_part.done",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": part}),
    ));
    events.push(event(
        "response.output_item.done",
        json!({"output_index": 0, "item": message("completed", json!([part]))}),
    ));
    events.push(event(
        "response.completed",
        json!({"response": response("completed", json!([message("completed", json!([part]))]), usage)}),
    ));
    event_stream(events, options.stream_event_interval)
}

/// `GET /v1/models`: Anthropic's shape when `anthropic-version` is sent, else OpenAI's.
pub(crate) fn models(request: &Request, options: &GatewayOptions) -> Response {
    let body = if request.header("anthropic-version").is_some() {
        json!({
            "data": [{"type": "model", "id": options.model, "display_name": "Test Model",
                      "created_at": "2025-01-01T00:00:00Z"}],
            "has_more": false,
            "first_id": options.model,
            "last_id": options.model,
        })
    } else {
        json!({
            "object": "list",
            "data": [{"id": options.model, "object": "model", "created": 1_735_689_600,
                      "owned_by": "llmauth-tests"}],
        })
    };
    Response::json(200, &body)
}

/// The model a Gemini API path names (`…/models/<model>:<method>`).
pub(crate) fn gemini_model(path: &str) -> Option<&str> {
    let (_, rest) = path.rsplit_once("/models/")?;
    rest.split(':').next().filter(|m| !m.is_empty())
}

/// One `GenerateContentResponse`: `text` from the model, with `finishReason` and the
/// usage on the last one.
fn gemini_response(model: &str, id: &str, text: &str, last: bool, output_tokens: usize) -> Value {
    let mut candidate = json!({
        "content": {"role": "model", "parts": [{"text": text}]},
        "index": 0,
    });
    if last {
        candidate["finishReason"] = json!("STOP");
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": 1,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": 1 + output_tokens,
        },
        "modelVersion": model,
        "responseId": id,
    })
}

/// A value of the JSON schema Gemini's structured output asks for (`responseSchema`,
/// OpenAPI-style types in any case, or `responseJsonSchema`): required properties filled
/// with the answer text, an enum's first value, zero or false — so a tool that asks for
/// JSON (Gemini CLI's model router) gets JSON and does not retry.
fn schema_instance(schema: &Value, text: &str) -> Value {
    if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
        return first.clone();
    }
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string")
        .to_ascii_lowercase();
    match kind.as_str() {
        "object" => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let object = properties
                .into_iter()
                .flatten()
                .map(|(name, property)| (name.clone(), schema_instance(property, text)))
                .collect();
            Value::Object(object)
        }
        "array" => json!([]),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        _ => json!(text),
    }
}

/// The text to answer a Gemini request with: the answer, or JSON when structured output
/// was asked for.
fn gemini_text(body: &Value, text: &str) -> String {
    let config = body.get("generationConfig").unwrap_or(&Value::Null);
    if config.get("responseMimeType").and_then(Value::as_str) != Some("application/json") {
        return text.to_owned();
    }
    let schema = config
        .get("responseJsonSchema")
        .or_else(|| config.get("responseSchema"))
        .unwrap_or(&Value::Null);
    schema_instance(schema, text).to_string()
}

/// `POST …/models/<model>:generateContent` and `:streamGenerateContent` (the Gemini API
/// that Gemini CLI speaks): the answer as one response, or streamed word by word — as
/// SSE `data:` events with `?alt=sse` (what Gemini CLI asks for), else as a JSON array.
pub(crate) fn gemini_generate(
    request: &Request,
    options: &GatewayOptions,
    text: &str,
    stream: bool,
) -> Response {
    let body = match json_body(request, false) {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let text = &gemini_text(&body, text);
    let model = gemini_model(&request.path).unwrap_or(&options.model);
    let id = format!("gemini-test{}", random_id());
    let output_tokens = word_count(text);
    if !stream {
        return Response::json(200, &gemini_response(model, &id, text, true, output_tokens));
    }
    let parts = deltas(text);
    let count = parts.len();
    let chunks: Vec<Value> = parts
        .iter()
        .enumerate()
        .map(|(i, part)| gemini_response(model, &id, part, i + 1 == count, output_tokens))
        .collect();
    if request.query_param("alt").as_deref() != Some("sse") {
        return Response::json(200, &Value::Array(chunks));
    }
    let events = chunks
        .iter()
        .map(|chunk| format!("data: {chunk}\r\n\r\n"))
        .collect();
    event_stream(events, options.stream_event_interval)
}

/// `POST …/models/<model>:countTokens`.
pub(crate) fn gemini_count_tokens(request: &Request) -> Response {
    let body = match json_body(request, false) {
        Ok(body) => body,
        Err(rejection) => return rejection,
    };
    let tokens = word_count(&body.to_string());
    Response::json(200, &json!({"totalTokens": tokens}))
}

/// `GET …/v1beta/models`: the one model, in the Gemini API's shape.
pub(crate) fn gemini_models(options: &GatewayOptions) -> Response {
    Response::json(
        200,
        &json!({"models": [{
            "name": format!("models/{}", options.model),
            "displayName": "Test Model",
            "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
        }]}),
    )
}
