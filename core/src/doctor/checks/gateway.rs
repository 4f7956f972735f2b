//! `gateway`: reachable, and accepting the token on an authenticated `GET`.

use super::{NO_CONFIG, SEE_TLS, fail, listed, pass, skip, warn};
use crate::doctor::{Facts, Finding, TokenClaims};
use crate::error::ErrorClass;
use crate::http::TransportErrorKind;

/// The fix when the probe path proves nothing.
const OTHER_PATH: &str =
    "name a GET endpoint of the gateway that needs a token: `llmauth doctor --probe-path <path>`";

/// The fix for a rejected token when the preset knows no better.
const ASK_FOR_THE_AUDIENCE: &str = "ask the gateway's owner which audience it accepts and `llmauth config set --audience <it>`, then `llmauth login`";

/// The gateway answers, and accepts the token.
pub(in crate::doctor) fn gateway(facts: &Facts) -> Vec<Finding> {
    let (Ok(config), Some(gateway)) = (&facts.config, &facts.gateway) else {
        return skip("gateway", NO_CONFIG);
    };
    let exchange = &gateway.exchange;
    let url = &exchange.url;
    let status = match &exchange.answer {
        Ok(answer) => answer.response.status,
        Err(error) if error.kind == TransportErrorKind::UntrustedCertificate => {
            return fail(
                "gateway",
                ErrorClass::Config,
                format!(
                    "cannot reach {url}: the gateway's certificate comes from an authority this machine does not trust"
                ),
                SEE_TLS,
            );
        }
        Err(error) => {
            return fail(
                "gateway",
                ErrorClass::Transient,
                format!("cannot reach {url}: {error}"),
                "check gateway_url (`llmauth config show`), the network and HTTPS_PROXY / NO_PROXY",
            );
        }
    };
    let probe = format!("GET {}", gateway.probe_path);
    if !gateway.with_token {
        return warn(
            "gateway",
            format!(
                "reachable ({probe} answered HTTP {status} without a token); the token was not tried"
            ),
            "fix the session first (see session), then run `llmauth doctor` again",
        );
    }
    match status {
        200..300 => pass(
            "gateway",
            format!("{probe} accepted the token (HTTP {status})"),
        ),
        401 | 403 => {
            let claims = facts
                .session
                .as_ref()
                .and_then(|s| s.token.as_ref().ok())
                .and_then(|t| t.claims.as_ref());
            let fix = config
                .provider
                .rejected_token_fix(&config.issuer, &config.audience, &config.client_id)
                .unwrap_or_else(|| ASK_FOR_THE_AUDIENCE.to_owned());
            fail(
                "gateway",
                ErrorClass::Config,
                format!(
                    "the gateway rejected the token: HTTP {status} for {url}; {}",
                    what_it_saw(claims, &config.issuer)
                ),
                fix,
            )
        }
        404 | 405 => warn(
            "gateway",
            format!("{probe}: HTTP {status}, so the token was not judged"),
            OTHER_PATH,
        ),
        500.. => fail(
            "gateway",
            ErrorClass::Transient,
            format!("{probe}: the gateway answered HTTP {status}"),
            "the gateway is having trouble: try again later, or tell its owner",
        ),
        _ => warn(
            "gateway",
            format!("{probe}: HTTP {status}, so the token was not judged"),
            OTHER_PATH,
        ),
    }
}

/// What the gateway judged the token by: its `aud` (the usual cause), and its `iss` when
/// that is not the configured issuer.
fn what_it_saw(claims: Option<&TokenClaims>, issuer: &str) -> String {
    let Some(claims) = claims else {
        return "the token is opaque (not a JWT): a gateway that verifies JWTs needs an audience that makes the IdP issue one".to_owned();
    };
    let mut saw = format!("the token's aud is {}", listed(&claims.aud));
    match &claims.iss {
        Some(iss) if iss != issuer => saw.push_str(&format!(" and its iss {iss:?}")),
        Some(_) => {}
        None => saw.push_str(" and it has no iss"),
    }
    saw
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use super::*;
    use crate::doctor::Status;
    use crate::doctor::tests::{answer, healthy, healthy_with, probe, transport};

    fn answering(status: u16) -> Facts {
        let mut facts = healthy();
        if let Some(g) = facts.gateway.as_mut() {
            g.exchange = probe(answer(status, "{}", None));
        }
        facts
    }

    #[test]
    fn an_accepted_token_passes() {
        let finding = run(gateway, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert_eq!(
            finding.message,
            "GET /v1/models accepted the token (HTTP 200)"
        );
    }

    #[test]
    fn a_rejected_token_names_its_audience() {
        let finding = run(gateway, &answering(401));
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert_eq!(
            finding.message,
            "the gateway rejected the token: HTTP 401 for https://gw.example/v1/models; the token's aud is \"llmauth-test\""
        );
        assert!(finding.fix.unwrap().contains("--audience"));

        let mut facts = answering(403);
        if let Some(Ok(t)) = facts.session.as_mut().map(|s| &mut s.token)
            && let Some(c) = t.claims.as_mut()
        {
            c.iss = Some("https://other".into());
        }
        assert!(
            run(gateway, &facts)
                .message
                .ends_with("aud is \"llmauth-test\" and its iss \"https://other\"")
        );
        if let Some(Ok(t)) = facts.session.as_mut().map(|s| &mut s.token) {
            t.claims = None;
        }
        assert!(run(gateway, &facts).message.contains("the token is opaque"));
    }

    /// authentik puts the client id in aud whatever is asked: the fix is the gateway's.
    #[test]
    fn a_rejected_authentik_token_asks_the_gateway_to_accept_the_client_id() {
        let mut facts = healthy_with("    provider: authentik\n");
        if let Some(g) = facts.gateway.as_mut() {
            g.exchange = probe(answer(401, "{}", None));
        }
        let finding = run(gateway, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        let fix = finding.fix.unwrap();
        assert!(
            fix.contains("#14545") && fix.contains("accept aud \"llmauth-test\""),
            "{fix}"
        );
    }

    #[test]
    fn other_answers_and_no_answer() {
        let cases = [
            (404, Status::Warn),
            (405, Status::Warn),
            (400, Status::Warn),
            (302, Status::Warn),
            (502, Status::Fail(ErrorClass::Transient)),
        ];
        for (status, verdict) in cases {
            let finding = run(gateway, &answering(status));
            assert_eq!(finding.status, verdict, "{status}");
            if verdict == Status::Warn {
                assert_eq!(finding.fix.as_deref(), Some(OTHER_PATH));
            }
        }
        let mut facts = healthy();
        if let Some(g) = facts.gateway.as_mut() {
            g.exchange = probe(Err(transport(TransportErrorKind::Connect)));
        }
        let finding = run(gateway, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Transient));
        assert!(finding.message.starts_with("cannot reach https://"));
        if let Some(g) = facts.gateway.as_mut() {
            g.exchange = probe(Err(transport(TransportErrorKind::UntrustedCertificate)));
        }
        let finding = run(gateway, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert_eq!(finding.fix.as_deref(), Some(SEE_TLS));
    }

    #[test]
    fn without_a_token_only_reachability_is_told() {
        let mut facts = answering(401);
        if let Some(g) = facts.gateway.as_mut() {
            g.with_token = false;
        }
        let finding = run(gateway, &facts);
        assert_eq!(finding.status, Status::Warn);
        assert!(
            finding
                .message
                .starts_with("reachable (GET /v1/models answered HTTP 401 without a token)")
        );
    }
}
