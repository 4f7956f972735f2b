//! The unauthenticated request setup uses to tell whether the gateway serves the
//! Anthropic API under a path prefix (`llmauth_core::setup::prefix`).

use std::path::PathBuf;
use std::time::Duration;

use llmauth_core::http::{HttpRequest, Method};

use crate::clock;
use crate::http_client::HttpClient;

/// How long the probe may take in all.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The status of a `GET` to `url` with no credentials, or `None` when no answer came.
/// Trusts the platform's roots plus `ca_file`, like every other request.
pub(super) fn probe_status(url: &str, ca_file: Option<PathBuf>) -> Option<u16> {
    let now = clock::now();
    let request = HttpRequest {
        method: Method::Get,
        url: url.to_owned(),
        headers: vec![("accept", "application/json".to_owned())],
        body: None,
        connect_timeout: PROBE_TIMEOUT,
        deadline: now.saturating_add(PROBE_TIMEOUT),
        max_body: 64 * 1024,
    };
    HttpClient::new(ca_file)
        .perform(&request, now)
        .ok()
        .map(|response| response.status)
}
