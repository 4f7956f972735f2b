//! Fault injection for the test servers: how a request may be made to fail.
//!
//! The timing variants differ in *whether the request takes effect*, which is what the
//! client's rotation safety depends on (SPEC §5 "maybe_spent"):
//!
//! | fault | request processed (e.g. refresh token rotated)? | client gets |
//! |---|---|---|
//! | [`Fault::Delay`] | yes, at once | the normal answer, late |
//! | [`Fault::Stall`] | yes, after the hold | the normal answer, late (if still waiting) |
//! | [`Fault::StallBeforeProcessing`] | no | nothing; the socket closes after the hold |
//! | [`Fault::CloseConnection`] | no | nothing; the socket closes at once |
//! | [`Fault::CloseAfterProcessing`] | yes | nothing; the socket closes at once |
//!
//! The answer-only variants (`Status`, `Garbage`, `InvalidGrant`,
//! `TemporarilyUnavailable`, `EchoForm`) never process the request.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::json;

use crate::http_server::{Request, Response};

/// One way to fail a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a generic `text/plain` body.
    Status(u16),
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Answer 400 `{"error":"invalid_grant"}` without touching any state.
    InvalidGrant,
    /// Answer 503 `{"error":"temporarily_unavailable"}`.
    TemporarilyUnavailable,
    /// Hold the request this long, then process it and answer normally.
    Stall(Duration),
    /// Hold the request this long, then drop the connection without processing it.
    StallBeforeProcessing(Duration),
    /// Process the request at once, then hold the answer this long.
    Delay(Duration),
    /// Drop the connection at once without processing or answering.
    CloseConnection,
    /// Process the request, then drop the connection without answering (the answer is
    /// lost: the client cannot know whether its request took effect).
    CloseAfterProcessing,
    /// Answer 400 `{"error":"invalid_request"}` whose `error_description` repeats the
    /// request body as received — the refresh token, code or verifier in it included —
    /// as some IdPs do for malformed requests.
    EchoForm,
}

impl Fault {
    /// Runs `process` (the endpoint's normal work on `request`) under this fault.
    pub fn apply(&self, request: &Request, process: impl FnOnce() -> Response) -> Response {
        match self {
            Fault::Status(status) => {
                Response::text(*status, &format!("injected fault: status {status}"))
            }
            Fault::Garbage => Response::new(200)
                .with_header("content-type", "application/json")
                .with_body("{\"access_token\": <html>garbage"),
            Fault::InvalidGrant => Response::json(
                400,
                &json!({"error": "invalid_grant", "error_description": "injected fault"}),
            ),
            Fault::TemporarilyUnavailable => Response::json(
                503,
                &json!({"error": "temporarily_unavailable", "error_description": "injected fault"}),
            ),
            Fault::Stall(hold) => {
                std::thread::sleep(*hold);
                process()
            }
            Fault::StallBeforeProcessing(hold) => {
                std::thread::sleep(*hold);
                Response::abort()
            }
            Fault::Delay(hold) => {
                let response = process();
                std::thread::sleep(*hold);
                response
            }
            Fault::CloseConnection => Response::abort(),
            Fault::CloseAfterProcessing => {
                let _ = process();
                Response::abort()
            }
            Fault::EchoForm => Response::json(
                400,
                &json!({
                    "error": "invalid_request",
                    "error_description": format!(
                        "cannot handle {}",
                        String::from_utf8_lossy(&request.body)
                    ),
                }),
            ),
        }
    }
}

/// The faults planned for one endpoint: one-shot faults first (in order), then the
/// sticky fault for every request while it is set.
#[derive(Clone, Debug, Default)]
pub struct FaultQueue {
    once: VecDeque<Fault>,
    sticky: Option<Fault>,
    injected: usize,
}

impl FaultQueue {
    /// Fails the next request not already claimed by an earlier one-shot fault.
    pub fn push(&mut self, fault: Fault) {
        self.once.push_back(fault);
    }

    /// Fails every request (after the one-shot faults) until cleared with `None`.
    pub fn set_sticky(&mut self, fault: Option<Fault>) {
        self.sticky = fault;
    }

    /// Removes every planned fault.
    pub fn clear(&mut self) {
        self.once.clear();
        self.sticky = None;
    }

    /// The fault for the request now arriving, if any.
    pub fn take(&mut self) -> Option<Fault> {
        let fault = self.once.pop_front().or_else(|| self.sticky.clone());
        if fault.is_some() {
            self.injected += 1;
        }
        fault
    }

    /// One-shot faults not yet used.
    pub fn pending(&self) -> usize {
        self.once.len()
    }

    /// How many requests have been failed so far.
    pub fn injected(&self) -> usize {
        self.injected
    }
}
