//! `tls`: whether the IdP's and the gateway's certificates are trusted, and, when they are
//! not, what a corporate network that inspects TLS needs — for llmauth and for the tools.

use super::{NO_CONFIG, fail, pass, skip, warn};
use crate::doctor::{CaFile, Exchange, Facts, Finding};
use crate::error::ErrorClass;
use crate::http::{TransportError, TransportErrorKind};
use crate::setup::tool::Tool;

/// Trust roots: the CA file is usable; no certificate was refused.
pub(in crate::doctor) fn tls(facts: &Facts) -> Vec<Finding> {
    let (Ok(config), Some(tls)) = (&facts.config, &facts.tls) else {
        return skip("tls", NO_CONFIG);
    };
    if let Some(CaFile {
        path,
        problem: Some(problem),
    }) = &tls.ca_file
    {
        return fail(
            "tls",
            ErrorClass::Config,
            format!("tls.ca_file {path}: {problem}"),
            "point it at your organisation's CA certificate (PEM): `llmauth config set --ca-file <path>` (\"\" removes it)",
        );
    }
    let refused = [
        ("the IdP", facts.discovery.as_ref().map(|d| &d.oidc)),
        ("the gateway", facts.gateway.as_ref().map(|g| &g.exchange)),
    ]
    .into_iter()
    .filter_map(|(whose, exchange)| Some((whose, failure(exchange?)?)));
    let untrusted: Vec<&str> = refused
        .clone()
        .filter(|(_, e)| e.kind == TransportErrorKind::UntrustedCertificate)
        .map(|(whose, _)| whose)
        .collect();
    if !untrusted.is_empty() {
        let whose = untrusted.join(" and ");
        let (despite, fix) = match &tls.ca_file {
            Some(ca) => (
                format!(", not even with tls.ca_file {}", ca.path),
                "tls.ca_file does not hold the authority that signed them: get the right CA certificate (PEM) from your IT department and `llmauth config set --ca-file <path>`".to_owned(),
            ),
            None => (
                String::new(),
                "get your organisation's CA certificate (PEM) and run `llmauth config set --ca-file <path>`; then `llmauth setup` gives Claude Code NODE_EXTRA_CA_CERTS, and start Codex with CODEX_CA_CERTIFICATE=<path>".to_owned(),
            ),
        };
        return fail(
            "tls",
            ErrorClass::Config,
            format!(
                "the certificate of {whose} comes from an authority this machine does not trust{despite} (a corporate network that inspects TLS does this)"
            ),
            fix,
        );
    }
    if let Some((whose, error)) = refused
        .clone()
        .find(|(_, e)| e.kind == TransportErrorKind::Tls)
    {
        return fail(
            "tls",
            ErrorClass::Transient,
            format!("TLS with {whose} failed: {}", error.detail),
            "check that the URL names the right host and that this machine's clock is right",
        );
    }
    let mut notes = Vec::new();
    if config.skip_verify {
        notes.push((
            "tls.skip_verify is on: the proxy does not check the gateway's certificate (Claude Code, Codex and Claude Desktop still do)".to_owned(),
            "once the gateway's authority is trusted: `llmauth config set --tls-skip-verify=false`".to_owned(),
        ));
    }
    let codex = facts.tools.iter().any(|t| t.tool == Tool::Codex);
    if let (Some(ca), true, None) = (&tls.ca_file, codex, &tls.codex_ca_certificate) {
        notes.push((
            "Codex does not read tls.ca_file, and CODEX_CA_CERTIFICATE is not set here".to_owned(),
            format!("start Codex with CODEX_CA_CERTIFICATE={}", ca.path),
        ));
    }
    if !notes.is_empty() {
        let (messages, fixes): (Vec<String>, Vec<String>) = notes.into_iter().unzip();
        return warn("tls", messages.join("; "), fixes.join("; "));
    }
    let mut roots = vec!["the platform's roots".to_owned()];
    roots.extend(
        tls.ca_file
            .iter()
            .map(|ca| format!("tls.ca_file {}", ca.path)),
    );
    roots.extend(
        tls.ssl_cert_file
            .iter()
            .map(|file| format!("SSL_CERT_FILE {file}")),
    );
    pass(
        "tls",
        format!("no certificate refused (trusting {})", roots.join(", ")),
    )
}

/// The exchange's transport failure, if it had one.
fn failure(exchange: &Exchange) -> Option<&TransportError> {
    exchange.answer.as_ref().err()
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use super::*;
    use crate::doctor::Status;
    use crate::doctor::tests::{exchange, healthy, tool, transport};

    fn refused(idp: Option<TransportErrorKind>, gateway: Option<TransportErrorKind>) -> Facts {
        let mut facts = healthy();
        if let (Some(kind), Some(d)) = (idp, facts.discovery.as_mut()) {
            d.oidc = exchange(Err(transport(kind)));
        }
        if let (Some(kind), Some(g)) = (gateway, facts.gateway.as_mut()) {
            g.exchange = exchange(Err(transport(kind)));
        }
        facts
    }

    fn with_ca(facts: &mut Facts, problem: Option<&str>) {
        if let Some(tls) = facts.tls.as_mut() {
            tls.ca_file = Some(CaFile {
                path: "/etc/corp.pem".into(),
                problem: problem.map(str::to_owned),
            });
        }
    }

    #[test]
    fn trusted_certificates_pass_and_say_which_roots() {
        let finding = run(tls, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert_eq!(
            finding.message,
            "no certificate refused (trusting the platform's roots)"
        );
        let mut facts = healthy();
        with_ca(&mut facts, None);
        if let Some(t) = facts.tls.as_mut() {
            t.ssl_cert_file = Some("/etc/ssl/x.pem".into());
        }
        assert_eq!(
            run(tls, &facts).message,
            "no certificate refused (trusting the platform's roots, tls.ca_file /etc/corp.pem, SSL_CERT_FILE /etc/ssl/x.pem)"
        );
    }

    #[test]
    fn an_unknown_authority_is_explained_with_the_fix_for_every_tool() {
        use TransportErrorKind::UntrustedCertificate as Untrusted;
        let finding = run(tls, &refused(Some(Untrusted), Some(Untrusted)));
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert!(
            finding.message.starts_with(
                "the certificate of the IdP and the gateway comes from an authority this machine does not trust (a corporate network"
            ),
            "{finding:?}"
        );
        let fix = finding.fix.unwrap();
        for needed in ["--ca-file", "NODE_EXTRA_CA_CERTS", "CODEX_CA_CERTIFICATE"] {
            assert!(fix.contains(needed), "{fix}");
        }
        let gateway_only = run(tls, &refused(None, Some(Untrusted)));
        assert!(
            gateway_only
                .message
                .starts_with("the certificate of the gateway comes")
        );

        let mut despite = refused(Some(Untrusted), None);
        with_ca(&mut despite, None);
        let finding = run(tls, &despite);
        assert!(
            finding
                .message
                .contains("not even with tls.ca_file /etc/corp.pem"),
            "{finding:?}"
        );
        assert!(finding.fix.unwrap().contains("does not hold the authority"));
    }

    #[test]
    fn other_tls_failures_and_bad_ca_files() {
        let finding = run(tls, &refused(Some(TransportErrorKind::Tls), None));
        assert_eq!(finding.status, Status::Fail(ErrorClass::Transient));
        assert_eq!(finding.message, "TLS with the IdP failed: refused");
        // Not TLS: nothing to say here.
        let down = run(tls, &refused(Some(TransportErrorKind::Connect), None));
        assert_eq!(down.status, Status::Pass);

        let mut facts = healthy();
        with_ca(&mut facts, Some("no certificate in it"));
        let finding = run(tls, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert_eq!(
            finding.message,
            "tls.ca_file /etc/corp.pem: no certificate in it"
        );
    }

    #[test]
    fn codex_and_skip_verify_are_reminded() {
        let mut facts = healthy();
        with_ca(&mut facts, None);
        facts.tools.push(tool(Tool::Codex, None));
        let finding = run(tls, &facts);
        assert_eq!(finding.status, Status::Warn);
        assert_eq!(
            finding.fix.as_deref(),
            Some("start Codex with CODEX_CA_CERTIFICATE=/etc/corp.pem")
        );
        if let Some(t) = facts.tls.as_mut() {
            t.codex_ca_certificate = Some("/etc/corp.pem".into());
        }
        assert_eq!(run(tls, &facts).status, Status::Pass);

        if let Ok(config) = facts.config.as_mut() {
            config.skip_verify = true;
        }
        let finding = run(tls, &facts);
        assert_eq!(finding.status, Status::Warn);
        assert!(finding.message.starts_with("tls.skip_verify is on"));
    }
}
