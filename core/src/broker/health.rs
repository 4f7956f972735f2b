//! `GET /.llmauth/health`: what a running proxy says about itself — never a token — for
//! `status`, `proxy status` and `proxy stop`.
//!
//! ```json
//! {"status":"ok","token_expires_at":"…"|null,"pid":4242,"port":14000,
//!  "started_at":"…","uptime_secs":93,"requests_served":17,
//!  "last_upstream_error":{"at":"…","message":"…"}|null,"managed_by":"systemd"|null}
//! ```
//!
//! Everything but `status` and `token_expires_at` came later, so a reader takes each as
//! optional (an older proxy answers without them).

use serde::{Deserialize, Serialize};

use crate::service::Manager;
use crate::text::{MAX_ERROR_LINE, excerpt};
use crate::time::UnixTime;

/// What the proxy knows about itself when asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthFacts {
    /// When the token in memory expires (`None`: none yet, or no expiry known).
    pub token_expires_at: Option<UnixTime>,
    /// The proxy's process id (`proxy stop` signals it).
    pub pid: u32,
    /// The port it serves.
    pub port: u16,
    /// When it started.
    pub started_at: UnixTime,
    /// Now.
    pub now: UnixTime,
    /// Requests forwarded to the gateway and answered by it.
    pub requests_served: u64,
    /// The last time the gateway or the IdP could not be used for a request, and why
    /// (the message the client got; it never holds a token).
    pub last_upstream_error: Option<(UnixTime, String)>,
    /// The service manager that started it, when one did.
    pub managed_by: Option<Manager>,
}

/// The health answer, as written and as read back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `"ok"`.
    pub status: String,
    /// RFC 3339.
    pub token_expires_at: Option<String>,
    /// The proxy's process id.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The port it serves.
    #[serde(default)]
    pub port: Option<u16>,
    /// RFC 3339.
    #[serde(default)]
    pub started_at: Option<String>,
    /// Seconds since it started.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Requests the gateway answered through it.
    #[serde(default)]
    pub requests_served: Option<u64>,
    /// The last request the gateway or the IdP failed.
    #[serde(default)]
    pub last_upstream_error: Option<UpstreamError>,
    /// `systemd`, `launchd`, `task-scheduler`, or `null` for a proxy started by hand.
    #[serde(default)]
    pub managed_by: Option<String>,
}

/// A request the gateway or the IdP failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamError {
    /// RFC 3339.
    pub at: String,
    /// What the client was told.
    pub message: String,
}

impl Health {
    /// The answer for `facts`.
    pub fn of(facts: &HealthFacts) -> Self {
        Self {
            status: "ok".to_owned(),
            token_expires_at: facts.token_expires_at.map(UnixTime::to_rfc3339),
            pid: Some(facts.pid),
            port: Some(facts.port),
            started_at: Some(facts.started_at.to_rfc3339()),
            uptime_secs: Some(facts.now.since(facts.started_at).as_secs()),
            requests_served: Some(facts.requests_served),
            last_upstream_error: facts.last_upstream_error.as_ref().map(|(at, message)| {
                UpstreamError {
                    at: at.to_rfc3339(),
                    // As the client got it: an excerpt (`rules::error_body`).
                    message: excerpt(message, MAX_ERROR_LINE),
                }
            }),
            managed_by: facts.managed_by.map(|m| m.name().to_owned()),
        }
    }

    /// The body of the answer.
    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an answer; `None` when it is not an llmauth proxy's (`status` is not `ok`).
    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str::<Self>(body)
            .ok()
            .filter(|health| health.status == "ok")
    }

    /// The manager that started the proxy, when one did.
    pub fn manager(&self) -> Option<Manager> {
        self.managed_by.as_deref().and_then(Manager::parse)
    }
}

/// What answers on the proxy's port, judged from a GET of its health endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An llmauth proxy, and what it says about itself.
    Proxy(Health),
    /// Something else, described for people.
    Other(String),
    /// Nothing answered.
    Nothing,
}

impl Answer {
    /// Judges the status and body of the health request (`None`: nothing answered).
    pub fn judge(response: Option<(u16, &str)>) -> Self {
        match response {
            None => Self::Nothing,
            Some((200, body)) => Health::parse(body).map_or_else(
                || Self::Other("something that is not an llmauth proxy".to_owned()),
                Self::Proxy,
            ),
            Some((status, _)) => Self::Other(format!("something answering HTTP {status}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> HealthFacts {
        HealthFacts {
            token_expires_at: Some(UnixTime::from_secs(1_795_873_800)),
            pid: 4242,
            port: 14000,
            started_at: UnixTime::from_secs(1_795_870_000),
            now: UnixTime::from_secs(1_795_870_093),
            requests_served: 17,
            last_upstream_error: Some((
                UnixTime::from_secs(1_795_870_050),
                "the gateway did not answer within 300 s".to_owned(),
            )),
            managed_by: Some(Manager::Systemd),
        }
    }

    #[test]
    fn the_answer_keeps_its_first_fields_and_adds_the_process() {
        let body = Health::of(&facts()).render();
        assert_eq!(
            body,
            r#"{"status":"ok","token_expires_at":"2026-11-28T13:50:00Z","pid":4242,"port":14000,"started_at":"2026-11-28T12:46:40Z","uptime_secs":93,"requests_served":17,"last_upstream_error":{"at":"2026-11-28T12:47:30Z","message":"the gateway did not answer within 300 s"},"managed_by":"systemd"}"#
        );
        let health = Health::parse(&body).unwrap();
        assert_eq!(health.manager(), Some(Manager::Systemd));
        let none = HealthFacts {
            token_expires_at: None,
            last_upstream_error: None,
            managed_by: None,
            ..facts()
        };
        let body = Health::of(&none).render();
        assert!(
            body.starts_with(r#"{"status":"ok","token_expires_at":null,"pid":4242"#),
            "{body}"
        );
        assert!(body.ends_with(r#""last_upstream_error":null,"managed_by":null}"#));
    }

    #[test]
    fn the_last_upstream_error_is_the_excerpt_the_client_got() {
        let long = HealthFacts {
            last_upstream_error: Some((UnixTime::from_secs(1), "y".repeat(10_000))),
            ..facts()
        };
        let error = Health::of(&long).last_upstream_error.unwrap();
        assert_eq!(error.message.chars().count(), MAX_ERROR_LINE);
        assert!(error.message.ends_with('…'));
    }

    #[test]
    fn older_answers_and_other_servers() {
        let old = Health::parse(r#"{"status":"ok","token_expires_at":null}"#).unwrap();
        assert_eq!(old.pid, None);
        assert_eq!(old.manager(), None);
        assert_eq!(Health::parse(r#"{"status":"down"}"#), None);
        assert_eq!(Health::parse("<html>"), None);
    }

    #[test]
    fn what_answers_on_the_port() {
        let ours = Health::of(&facts()).render();
        assert!(matches!(
            Answer::judge(Some((200, &ours))),
            Answer::Proxy(_)
        ));
        assert_eq!(
            Answer::judge(Some((200, "{}"))),
            Answer::Other("something that is not an llmauth proxy".to_owned())
        );
        assert_eq!(
            Answer::judge(Some((404, ""))),
            Answer::Other("something answering HTTP 404".to_owned())
        );
        assert_eq!(Answer::judge(None), Answer::Nothing);
    }
}
