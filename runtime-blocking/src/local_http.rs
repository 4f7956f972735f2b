//! One plain-HTTP GET to a loopback service of ours (the proxy's health endpoint, for
//! `status`, `proxy stop` and `doctor`): no proxy, no TLS, a short timeout, the body
//! bounded.

use std::time::Duration;

use llmauth_core::broker::health::Answer;
use llmauth_core::broker::rules::HEALTH_PATH;

/// Largest body read.
const MAX_BODY: u64 = 64 * 1024;

/// GETs `http://127.0.0.1:<port><path>` and returns the status and body.
///
/// # Errors
/// A short description when nothing answers in time.
fn get(port: u16, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .new_agent();
    let mut response = agent
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .call()
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    Ok((status, body))
}

/// What answers on the proxy's `port`: an llmauth proxy (with its health answer),
/// something else, or nothing within `wait`.
pub fn probe_proxy(port: u16, wait: Duration) -> Answer {
    let response = get(port, HEALTH_PATH, wait).ok();
    Answer::judge(
        response
            .as_ref()
            .map(|(status, body)| (*status, body.as_str())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn reads_a_loopback_answer_and_reports_silence() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"status\":\"ok\"}").unwrap();
        });
        assert_eq!(
            get(port, "/.llmauth/health", Duration::from_secs(5)),
            Ok((200, "{\"status\":\"ok\"}".to_owned()))
        );
        server.join().unwrap();
        assert!(
            get(port, "/", Duration::from_millis(500)).is_err(),
            "nothing listens any more"
        );
    }
}
