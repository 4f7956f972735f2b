//! The facts of a healthy setup, which each check's tests bend into the case they judge,
//! and the tests of the report as a whole.

use core::time::Duration;

use super::*;
use crate::config::{ConfigDocument, SecretsBackend};
use crate::error::ErrorClass;
use crate::flow::SessionStatus;
use crate::http::{HttpResponse, TransportError, TransportErrorKind};
use crate::secret::{AccessToken, SecretBytes};
use crate::setup::drift::ToolDrift;
use crate::setup::tool::Tool;
use crate::store::Backend;

pub(super) use crate::testing::T0;

/// The IdP's discovery document: every endpoint, device flow and revocation included.
pub(super) const DOCUMENT: &str = r#"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a","token_endpoint":"https://idp.example/t","device_authorization_endpoint":"https://idp.example/d","revocation_endpoint":"https://idp.example/r"}"#;

const CONFIG: &str = "llm:\n  gateway_url: https://gw.example\n  oidc:\n    issuer: https://idp.example\n    client_id: llmauth-test\n";

/// An answer with `status`, `body` and a `Date` header.
pub(super) fn answer(
    status: u16,
    body: &str,
    date: Option<&str>,
) -> Result<Answer, TransportError> {
    Ok(Answer {
        response: HttpResponse::json(status, body),
        date: date.map(str::to_owned),
    })
}

/// The IdP's discovery exchange, in flight from T0 for 200 ms.
pub(super) fn exchange(answer: Result<Answer, TransportError>) -> Exchange {
    Exchange {
        url: "https://idp.example/.well-known/openid-configuration".to_owned(),
        sent_at: T0,
        received_at: T0.saturating_add(Duration::from_millis(200)),
        answer,
    }
}

/// The gateway probe's exchange.
pub(super) fn probe(answer: Result<Answer, TransportError>) -> Exchange {
    Exchange {
        url: "https://gw.example/v1/models".to_owned(),
        ..exchange(answer)
    }
}

/// A request that got no answer.
pub(super) fn transport(kind: TransportErrorKind) -> TransportError {
    TransportError {
        kind,
        request_sent: false,
        detail: "refused".to_owned(),
    }
}

/// A helper run that took `millis`.
pub(super) fn ran(outcome: HelperOutcome, millis: u64) -> HelperFacts {
    HelperFacts::Ran(HelperRun {
        name: String::new(),
        limit: HELPER_CAP,
        elapsed: Duration::from_millis(millis),
        outcome,
    })
}

/// A configured tool; a helper run gets the name the tool gives it.
pub(super) fn tool(tool: Tool, helper: Option<HelperFacts>) -> ToolFacts {
    let helper = helper.map(|helper| match helper {
        HelperFacts::Ran(mut run) => {
            run.name = match tool {
                Tool::ClaudeCode => "Claude Code's apiKeyHelper",
                Tool::Codex => "Codex's auth.command",
                Tool::ClaudeDesktop => "Claude Desktop's credential helper",
                Tool::GeminiCli
                | Tool::Vscode
                | Tool::VscodeInsiders
                | Tool::Cursor
                | Tool::Xcode => "no helper",
            }
            .to_owned();
            HelperFacts::Ran(run)
        }
        unwired @ HelperFacts::Unwired(_) => unwired,
    });
    ToolFacts {
        tool,
        drift: ToolDrift::without_receipt(tool.name().to_owned()),
        helper,
    }
}

/// Facts of a setup where everything works: the keyring backend, a JWT for the client,
/// Claude Code configured, no proxy-mode tool.
pub(super) fn healthy() -> Facts {
    let expires = T0.saturating_add(Duration::from_secs(240));
    let date =
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_millis(T0.as_millis()));
    let helper = HelperOutcome::Exited {
        code: Some(0),
        stdout: SecretBytes::new(b"CANARY-token\n".to_vec()),
        stderr: String::new(),
    };
    Facts {
        now: T0,
        config: ConfigDocument::parse(CONFIG)
            .and_then(|d| d.validate())
            .map_err(|e| Problem {
                message: e.to_string(),
                fix: None,
            }),
        discovery: Some(DiscoveryFacts {
            oidc: exchange(answer(200, DOCUMENT, Some(&date))),
            rfc8414: None,
        }),
        tls: Some(TlsFacts {
            ca_file: None,
            ssl_cert_file: None,
            codex_ca_certificate: None,
        }),
        keychain: Some(KeychainFacts {
            configured: SecretsBackend::Keyring,
            backend: Backend::Keyring,
            probe: Some(Ok(Duration::from_millis(12))),
        }),
        session: Some(SessionFacts {
            token: Ok(TokenFacts {
                expires_at: Some(expires),
                claims: Some(TokenClaims {
                    iss: Some("https://idp.example".to_owned()),
                    aud: vec!["llmauth-test".to_owned()],
                    exp: Some(expires),
                    scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
                }),
            }),
            stored: Ok(SessionStatus {
                refresh_token: true,
                access_expires_at: Some(Some(expires)),
                access_valid: true,
                ..SessionStatus::default()
            }),
        }),
        gateway: Some(GatewayFacts {
            probe_path: DEFAULT_PROBE_PATH.to_owned(),
            with_token: true,
            exchange: probe(answer(200, "{}", None)),
        }),
        tools: vec![tool(Tool::ClaudeCode, Some(ran(helper, 15)))],
        proxy: None,
    }
}

/// [`healthy`] facts with `extra` lines added under `llm.oidc` of the configuration.
pub(super) fn healthy_with(extra: &str) -> Facts {
    let config = ConfigDocument::parse(&format!("{CONFIG}{extra}"))
        .and_then(|d| d.validate())
        .unwrap_or_else(|e| panic!("{e}"));
    Facts {
        config: Ok(config),
        ..healthy()
    }
}

/// Facts when the configuration cannot be used.
pub(super) fn no_config(problem: Problem) -> Facts {
    Facts::without_config(problem, T0)
}

fn names(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.check.as_str()).collect()
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let report = judge(&healthy());
    assert_eq!(
        names(&report),
        [
            "config",
            "provider",
            "discovery",
            "clock",
            "tls",
            "keychain",
            "session",
            "token",
            "gateway",
            "claude-code",
            "proxy"
        ]
    );
    for finding in &report.findings {
        let expected = if finding.check == "proxy" {
            Status::Skip
        } else {
            Status::Pass
        };
        assert_eq!(finding.status, expected, "{finding:?}");
        assert_eq!(finding.fix, None, "{finding:?}");
    }
    assert_eq!(report.exit_class(), None);
    assert!(report.failed().is_empty());
}

#[test]
fn without_a_configuration_only_config_fails_and_every_check_says_so() {
    let report = judge(&no_config(Problem {
        message: "llmauth is not configured".to_owned(),
        fix: None,
    }));
    assert_eq!(report.findings.len(), CHECKS.len());
    assert_eq!(report.failed(), ["config"]);
    assert_eq!(report.exit_class(), Some(ErrorClass::Config));
    for finding in report.findings.iter().skip(1) {
        assert_eq!(finding.status, Status::Skip, "{finding:?}");
        assert!(finding.message.starts_with("not checked: "), "{finding:?}");
    }
}

#[test]
fn the_exit_class_is_the_worst_failure() {
    let report = |classes: &[ErrorClass]| Report {
        findings: classes
            .iter()
            .map(|class| Finding {
                check: "x".to_owned(),
                status: Status::Fail(*class),
                message: String::new(),
                fix: None,
            })
            .chain([Finding {
                check: "w".to_owned(),
                status: Status::Warn,
                message: String::new(),
                fix: None,
            }])
            .collect(),
    };
    use ErrorClass::*;
    let cases: [(&[ErrorClass], Option<ErrorClass>); 6] = [
        (&[], None),
        (&[AuthRequired, Transient], Some(Transient)),
        (&[Transient, Config], Some(Config)),
        (&[LockTimeout, AuthRequired], Some(AuthRequired)),
        (&[Config, Bug, Transient], Some(Bug)),
        (&[LockTimeout], Some(LockTimeout)),
    ];
    for (classes, worst) in cases {
        assert_eq!(report(classes).exit_class(), worst, "{classes:?}");
    }
}

#[test]
fn helper_exit_codes_map_back_to_their_classes() {
    let cases = [
        (1, ErrorClass::Bug),
        (2, ErrorClass::Config),
        (3, ErrorClass::AuthRequired),
        (4, ErrorClass::Transient),
        (5, ErrorClass::LockTimeout),
        (126, ErrorClass::Config),
        (127, ErrorClass::Config),
        (-1, ErrorClass::Bug),
        (101, ErrorClass::Bug),
    ];
    for (code, class) in cases {
        assert_eq!(class_of_exit_code(code), class, "{code}");
    }
}

#[test]
fn no_secret_reaches_the_facts_debug_or_the_report() {
    let mut facts = healthy();
    let jwt = {
        use base64::Engine as _;
        let part = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        AccessToken::new(format!(
            "{}.{}.CANARY-signature",
            part(r#"{"alg":"ES256"}"#),
            part(
                r#"{"iss":"https://idp.example","aud":"llmauth-test","exp":1795874040,"sub":"CANARY-user","email":"CANARY@example.com"}"#
            )
        ))
    };
    if let Some(Ok(token)) = facts.session.as_mut().map(|s| &mut s.token) {
        token.claims = TokenClaims::read(&jwt);
    }
    let report = judge(&facts);
    let everything = format!("{facts:?}{report:?}");
    assert!(!everything.contains("CANARY"), "{everything}");
    assert_eq!(report.exit_class(), None);
}
