//! `discovery` and `clock`: the IdP's metadata, and this machine's clock against the
//! IdP's `Date` header.

use core::time::Duration;

use super::{NO_CONFIG, SEE_TLS, fail, human, pass, skip, warn};
use crate::discovery::{self, DiscoveryError, ProviderMetadata};
use crate::doctor::{Exchange, Facts, Finding};
use crate::error::ErrorClass;
use crate::http::{TransportError, TransportErrorKind};
use crate::provider::IssuerMatch;
use crate::time::UnixTime;

/// Clock differences up to this are normal (network delay, a second's resolution).
const CLOCK_AGREES: Duration = Duration::from_secs(30);
/// Beyond this, short-lived tokens (5 minutes at Keycloak) look expired or not yet
/// valid, sign-ins fail their ID-token time checks, and certificates may look invalid.
const CLOCK_BROKEN: Duration = Duration::from_secs(300);

/// The fix for a wrong clock.
const SET_THE_CLOCK: &str =
    "turn on automatic time synchronisation (NTP) for this machine, and check its time zone";

/// The discovery document: served, naming the configured issuer, with https endpoints;
/// whether it offers the device flow and revocation.
pub(in crate::doctor) fn discovery(facts: &Facts) -> Vec<Finding> {
    let (Ok(config), Some(found)) = (&facts.config, &facts.discovery) else {
        return skip("discovery", NO_CONFIG);
    };
    let issuer = &config.issuer;
    let rule = config.provider.issuer_match;
    let second = found.rfc8414.as_ref().map(|e| document(e, issuer, rule));
    match (document(&found.oidc, issuer, rule), second) {
        (Ok(metadata), _) => pass("discovery", describe(&metadata, false)),
        (Err(_), Some(Ok(metadata))) => pass("discovery", describe(&metadata, true)),
        // A second location that was served says more than a first that was not.
        (Err(Trouble::Unusable(DiscoveryError::Status { .. }, _)), Some(Err(second)))
            if !matches!(second, Trouble::Unusable(DiscoveryError::Status { .. }, _)) =>
        {
            trouble(second)
        }
        (Err(first), _) => trouble(first),
    }
}

/// Why an exchange gave no usable metadata.
enum Trouble {
    /// No answer.
    Unreachable(String, TransportError),
    /// An answer that is not usable metadata for this issuer, from this URL.
    Unusable(DiscoveryError, String),
}

fn document(
    exchange: &Exchange,
    issuer: &str,
    rule: IssuerMatch,
) -> Result<ProviderMetadata, Trouble> {
    let answer = exchange
        .answer
        .as_ref()
        .map_err(|e| Trouble::Unreachable(exchange.url.clone(), e.clone()))?;
    discovery::parse(&answer.response, issuer, rule)
        .map_err(|e| Trouble::Unusable(e, exchange.url.clone()))
}

fn describe(metadata: &ProviderMetadata, rfc8414: bool) -> String {
    let device = if metadata.device_authorization_endpoint.is_some() {
        "device flow offered"
    } else {
        "no device flow (`login --device` is unavailable)"
    };
    let revocation = if metadata.revocation_endpoint.is_some() {
        "revocation offered"
    } else {
        "no revocation (`logout --revoke` can only forget the session)"
    };
    let from = if rfc8414 {
        " (from its RFC 8414 metadata)"
    } else {
        ""
    };
    format!("issuer matches; endpoints use https; {device}; {revocation}{from}")
}

fn trouble(trouble: Trouble) -> Vec<Finding> {
    let check = "discovery";
    match trouble {
        Trouble::Unreachable(_, error)
            if error.kind == TransportErrorKind::UntrustedCertificate =>
        {
            fail(
                check,
                ErrorClass::Config,
                "the IdP's certificate comes from an authority this machine does not trust"
                    .to_owned(),
                SEE_TLS,
            )
        }
        Trouble::Unreachable(url, error) => fail(
            check,
            ErrorClass::Transient,
            format!("cannot reach the IdP at {url}: {error}"),
            if error.kind == TransportErrorKind::Tls {
                SEE_TLS
            } else {
                "check the network (and HTTPS_PROXY / NO_PROXY), and that the issuer URL is right (`llmauth config show`)"
            },
        ),
        Trouble::Unusable(error @ DiscoveryError::Status { status }, url)
            if status >= 500 || status == 429 =>
        {
            fail(
                check,
                ErrorClass::Transient,
                format!("{error} ({url})"),
                "the IdP is having trouble: try again later",
            )
        }
        Trouble::Unusable(error @ DiscoveryError::Status { .. }, url) => fail(
            check,
            ErrorClass::Config,
            format!("{error} ({url})"),
            "check the issuer (`llmauth config show`): it is the URL the IdP serves /.well-known/openid-configuration under",
        ),
        Trouble::Unusable(DiscoveryError::IssuerMismatch { expected, found }, _) => fail(
            check,
            ErrorClass::Config,
            format!("the IdP names itself {found:?}, not the configured issuer {expected:?}"),
            format!(
                "write the issuer exactly as the IdP does: `llmauth config set --issuer {found}`, then `llmauth login`"
            ),
        ),
        Trouble::Unusable(error @ DiscoveryError::Malformed(_), url) => fail(
            check,
            ErrorClass::Config,
            format!("{error} ({url})"),
            "check that the issuer URL points at the IdP itself, not a login page or a proxy",
        ),
        Trouble::Unusable(error @ DiscoveryError::InsecureEndpoint { .. }, _) => fail(
            check,
            ErrorClass::Config,
            error.to_string(),
            "the IdP must publish https endpoints; tell its administrator",
        ),
    }
}

/// This machine's clock against the IdP's, from the `Date` header of its first answer.
pub(in crate::doctor) fn clock(facts: &Facts) -> Vec<Finding> {
    let Some(found) = &facts.discovery else {
        return skip("clock", NO_CONFIG);
    };
    let answered = [Some(&found.oidc), found.rfc8414.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|e| Some((e, e.answer.as_ref().ok()?)));
    let Some((exchange, answer)) = answered else {
        return skip("clock", "the IdP did not answer (see discovery)");
    };
    let Some(date) = &answer.date else {
        return skip("clock", "the IdP's answer has no Date header");
    };
    let Some(idp_time) = http_date(date) else {
        return skip("clock", "the IdP's Date header is not an HTTP date");
    };
    let Some((size, words)) = Offset::of(exchange, idp_time).describe() else {
        return pass(
            "clock",
            "agrees with the IdP's (its Date header)".to_owned(),
        );
    };
    let message = format!("this machine's clock is {words} the IdP's (its Date header)");
    if size <= CLOCK_AGREES {
        pass("clock", format!("{message}: normal"))
    } else if size <= CLOCK_BROKEN {
        warn("clock", message, SET_THE_CLOCK)
    } else {
        fail(
            "clock",
            ErrorClass::Config,
            format!(
                "{message}: tokens look expired or not yet valid, and sign-ins fail their time checks"
            ),
            SET_THE_CLOCK,
        )
    }
}

/// An RFC 9110 §5.6.7 HTTP date.
fn http_date(text: &str) -> Option<UnixTime> {
    let time = httpdate::parse_http_date(text.trim()).ok()?;
    let since_epoch = time.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(UnixTime::from_millis(
        u64::try_from(since_epoch.as_millis()).ok()?,
    ))
}

/// How far this machine's clock is from the IdP's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Offset {
    /// Indistinguishable, given when the request was in flight.
    Agrees,
    /// This clock reads later than the IdP's, by at least this much.
    Ahead(Duration),
    /// This clock reads earlier than the IdP's, by at least this much.
    Behind(Duration),
}

impl Offset {
    /// The IdP stamped its answer (`Date`, whole seconds, rounded down) at some moment
    /// while the request was in flight, between `sent_at` and `received_at` on this
    /// clock; only an offset outside that window is one.
    fn of(exchange: &Exchange, idp_time: UnixTime) -> Self {
        let idp_latest = idp_time.saturating_add(Duration::from_secs(1));
        if exchange.sent_at > idp_latest {
            Self::Ahead(exchange.sent_at.since(idp_latest))
        } else if exchange.received_at < idp_time {
            Self::Behind(idp_time.since(exchange.received_at))
        } else {
            Self::Agrees
        }
    }

    /// How large the offset is, and its words; `None` when the clocks agree.
    fn describe(self) -> Option<(Duration, String)> {
        match self {
            Self::Agrees => None,
            Self::Ahead(by) => Some((by, format!("{} ahead of", human(by)))),
            Self::Behind(by) => Some((by, format!("{} behind", human(by)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::run;
    use super::*;
    use crate::doctor::Status;
    use crate::doctor::tests::{T0, answer, exchange, healthy, transport};

    fn with_oidc(status: u16, body: &str) -> Facts {
        let mut facts = healthy();
        if let Some(d) = facts.discovery.as_mut() {
            d.oidc = exchange(answer(status, body, None));
        }
        facts
    }

    #[test]
    fn a_good_document_passes_and_says_what_it_offers() {
        let finding = run(discovery, &healthy());
        assert_eq!(finding.status, Status::Pass);
        assert_eq!(
            finding.message,
            "issuer matches; endpoints use https; device flow offered; revocation offered"
        );
        let bare = with_oidc(
            200,
            r#"{"issuer":"https://idp.example","authorization_endpoint":"https://idp.example/a","token_endpoint":"https://idp.example/t"}"#,
        );
        let message = run(discovery, &bare).message;
        assert!(message.contains("no device flow"), "{message}");
        assert!(message.contains("no revocation"), "{message}");
    }

    #[test]
    fn the_rfc8414_document_stands_in_for_a_missing_one() {
        let mut facts = with_oidc(404, "");
        if let Some(d) = facts.discovery.as_mut() {
            d.rfc8414 = Some(exchange(answer(200, crate::doctor::tests::DOCUMENT, None)));
        }
        let finding = run(discovery, &facts);
        assert_eq!(finding.status, Status::Pass);
        assert!(finding.message.ends_with("(from its RFC 8414 metadata)"));
        // Both missing: the first one's status is reported.
        if let Some(d) = facts.discovery.as_mut() {
            d.rfc8414 = Some(exchange(answer(404, "", None)));
        }
        let finding = run(discovery, &facts);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert!(finding.message.contains("HTTP 404"), "{finding:?}");
        // The second one got further: its problem is reported.
        if let Some(d) = facts.discovery.as_mut() {
            d.rfc8414 = Some(exchange(answer(
                200,
                &crate::doctor::tests::DOCUMENT.replace("https://idp.example\"", "https://other\""),
                None,
            )));
        }
        let finding = run(discovery, &facts);
        assert!(finding.message.contains("\"https://other\""), "{finding:?}");
    }

    #[test]
    fn every_discovery_failure_has_its_class_and_fix() {
        let unreachable = |kind| {
            let mut facts = healthy();
            if let Some(d) = facts.discovery.as_mut() {
                d.oidc = exchange(Err(transport(kind)));
            }
            run(discovery, &facts)
        };
        let down = unreachable(TransportErrorKind::Connect);
        assert_eq!(down.status, Status::Fail(ErrorClass::Transient));
        assert!(down.message.starts_with("cannot reach the IdP at https://idp.example/.well-known/openid-configuration: connection failed"), "{down:?}");
        assert!(down.fix.unwrap().contains("HTTPS_PROXY"));
        let untrusted = unreachable(TransportErrorKind::UntrustedCertificate);
        assert_eq!(untrusted.status, Status::Fail(ErrorClass::Config));
        assert_eq!(untrusted.fix.as_deref(), Some(SEE_TLS));
        let tls = unreachable(TransportErrorKind::Tls);
        assert_eq!(tls.status, Status::Fail(ErrorClass::Transient));
        assert_eq!(tls.fix.as_deref(), Some(SEE_TLS));

        let cases = [
            (503, "", ErrorClass::Transient, "try again later"),
            (429, "", ErrorClass::Transient, "try again later"),
            (400, "", ErrorClass::Config, "check the issuer"),
            (200, "{", ErrorClass::Config, "not a login page"),
        ];
        for (status, body, class, fix) in cases {
            let mut facts = with_oidc(status, body);
            if let Some(d) = facts.discovery.as_mut() {
                d.rfc8414 = Some(exchange(answer(404, "", None)));
            }
            let finding = run(discovery, &facts);
            assert_eq!(finding.status, Status::Fail(class), "{status}");
            assert!(finding.fix.unwrap().contains(fix), "{status}");
        }

        let other = with_oidc(
            200,
            &crate::doctor::tests::DOCUMENT
                .replace("https://idp.example\"", "https://idp.example/\""),
        );
        let finding = run(discovery, &other);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert_eq!(
            finding.message,
            "the IdP names itself \"https://idp.example/\", not the configured issuer \"https://idp.example\""
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "write the issuer exactly as the IdP does: `llmauth config set --issuer https://idp.example/`, then `llmauth login`"
            )
        );
        let insecure = with_oidc(
            200,
            &crate::doctor::tests::DOCUMENT
                .replace("https://idp.example/t", "http://idp.example/t"),
        );
        let finding = run(discovery, &insecure);
        assert_eq!(finding.status, Status::Fail(ErrorClass::Config));
        assert!(finding.message.contains("token_endpoint"), "{finding:?}");
    }

    fn dated(offset_secs: i64, date: Option<&str>) -> Facts {
        let mut facts = healthy();
        let idp = if offset_secs >= 0 {
            T0.saturating_add(Duration::from_secs(offset_secs.unsigned_abs()))
        } else {
            T0.saturating_sub(Duration::from_secs(offset_secs.unsigned_abs()))
        };
        let header = date.map_or_else(|| http_date_text(idp), str::to_owned);
        if let Some(d) = facts.discovery.as_mut() {
            d.oidc = exchange(answer(200, crate::doctor::tests::DOCUMENT, Some(&header)));
        }
        facts
    }

    fn http_date_text(time: UnixTime) -> String {
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_millis(time.as_millis()))
    }

    #[test]
    fn the_clock_is_judged_against_the_idps_date() {
        // The exchange ran from T0 to T0 + 200 ms.
        let cases: [(i64, Status, &str); 7] = [
            (0, Status::Pass, "agrees with the IdP's"),
            (-1, Status::Pass, "agrees with the IdP's"),
            (
                -12,
                Status::Pass,
                "11s ahead of the IdP's (its Date header): normal",
            ),
            (
                20,
                Status::Pass,
                "19s behind the IdP's (its Date header): normal",
            ),
            (-120, Status::Warn, "1m 59s ahead of the IdP's"),
            (
                3600,
                Status::Fail(ErrorClass::Config),
                "59m 59s behind the IdP's",
            ),
            (
                -7200,
                Status::Fail(ErrorClass::Config),
                "1h 59m ahead of the IdP's",
            ),
        ];
        for (offset, status, words) in cases {
            let finding = run(clock, &dated(offset, None));
            assert_eq!(finding.status, status, "{offset}: {finding:?}");
            assert!(finding.message.contains(words), "{offset}: {finding:?}");
            if status != Status::Pass {
                assert_eq!(finding.fix.as_deref(), Some(SET_THE_CLOCK));
            }
        }
        let broken = run(clock, &dated(3600, None));
        assert!(broken.message.contains("tokens look expired"), "{broken:?}");
    }

    #[test]
    fn no_date_no_verdict() {
        let mut facts = healthy();
        if let Some(d) = facts.discovery.as_mut() {
            d.oidc = exchange(answer(200, crate::doctor::tests::DOCUMENT, None));
        }
        assert_eq!(run(clock, &facts).status, Status::Skip);
        assert_eq!(
            run(clock, &dated(0, Some("yesterday"))).status,
            Status::Skip
        );
        if let Some(d) = facts.discovery.as_mut() {
            d.oidc = exchange(Err(transport(TransportErrorKind::Connect)));
        }
        let finding = run(clock, &facts);
        assert_eq!(finding.status, Status::Skip);
        assert!(finding.message.contains("did not answer"), "{finding:?}");
        // The RFC 8414 answer's date is used when only it came.
        let mut second = facts.clone();
        if let Some(d) = second.discovery.as_mut() {
            d.rfc8414 = Some(exchange(answer(
                404,
                "",
                Some(&http_date_text(T0.saturating_add(Duration::from_secs(900)))),
            )));
        }
        assert_eq!(run(clock, &second).status, Status::Fail(ErrorClass::Config));
    }
}
