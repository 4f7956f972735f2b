//! Choosing a preset from the issuer, where its host or path shape is unambiguous
//! (requirement 26 of the quirks reference).

use core::fmt;

use url::{Host, Url};

use super::kinds::Preset;

/// Why a preset was chosen, for `status`, `config show` and `doctor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// `llm.oidc.provider` names it.
    Configured,
    /// The issuer's host is one of the provider's.
    Host {
        /// The issuer's host.
        host: String,
        /// The rule it matched, e.g. `*.okta.com`.
        rule: &'static str,
    },
    /// The issuer's path has the provider's shape.
    Path {
        /// The shape it matched, e.g. `/realms/<realm>`.
        rule: &'static str,
    },
    /// Nothing in the issuer names a provider: the standards-following preset.
    Unrecognised,
    /// No (usable) issuer is configured yet.
    NoIssuer,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Configured => f.write_str("set in llm.oidc.provider"),
            Self::Host { host, rule } => write!(f, "the issuer's host {host} matches {rule}"),
            Self::Path { rule } => write!(f, "the issuer's path has the shape {rule}"),
            Self::Unrecognised => f.write_str(
                "the issuer names no known provider (use --provider to pick one for a custom domain)",
            ),
            Self::NoIssuer => f.write_str("no issuer is configured yet"),
        }
    }
}

/// Host rules, tried in order: an exact host, or a suffix starting with a dot.
const HOST_RULES: &[(&str, Preset)] = &[
    ("login.microsoftonline.com", Preset::Entra),
    ("login.microsoftonline.us", Preset::Entra),
    ("login.partner.microsoftonline.cn", Preset::Entra),
    ("login.microsoftonline.de", Preset::Entra),
    ("sts.windows.net", Preset::Entra),
    (".okta.com", Preset::Okta),
    (".oktapreview.com", Preset::Okta),
    (".okta-emea.com", Preset::Okta),
    ("accounts.google.com", Preset::Google),
    (".auth0.com", Preset::Auth0),
    (".zitadel.cloud", Preset::Zitadel),
    ("gitlab.com", Preset::Gitlab),
];

/// Chooses the preset for `issuer` (as written in the configuration) and says why.
///
/// Hosts are checked first (Entra and its national clouds, Okta, Google, Auth0, ZITADEL
/// Cloud, Amazon Cognito, gitlab.com, PingOne), then path shapes (Keycloak's
/// `/realms/<realm>`, authentik's `/application/o/<slug>/`). PingFederate, Dex and
/// self-hosted installations run on the customer's own domain and cannot be recognised:
/// they get [`Preset::Generic`] unless `llm.oidc.provider` names them.
pub fn detect(issuer: &str) -> (Preset, Reason) {
    let Ok(url) = Url::parse(issuer) else {
        return (Preset::Generic, Reason::NoIssuer);
    };
    let Some(Host::Domain(host)) = url.host() else {
        return path_rule(&url).unwrap_or((Preset::Generic, Reason::Unrecognised));
    };
    let host = host.to_ascii_lowercase();
    let found = |preset: Preset, rule: &'static str| {
        let reason = Reason::Host {
            host: host.clone(),
            rule,
        };
        Some((preset, reason))
    };
    let by_host = HOST_RULES
        .iter()
        .find(|(rule, _)| match rule.strip_prefix('.') {
            Some(suffix) => host.ends_with(rule) && host.len() > suffix.len() + 1,
            None => host == *rule,
        })
        .and_then(|(rule, preset)| {
            let shown: &'static str = match *rule {
                ".okta.com" => "*.okta.com",
                ".oktapreview.com" => "*.oktapreview.com",
                ".okta-emea.com" => "*.okta-emea.com",
                ".auth0.com" => "*.auth0.com",
                ".zitadel.cloud" => "*.zitadel.cloud",
                exact => exact,
            };
            found(*preset, shown)
        })
        .or_else(|| {
            is_cognito(&host).then_some(())?;
            found(Preset::Cognito, "cognito-idp.<region>.amazonaws.com")
        })
        .or_else(|| {
            is_pingone(&host).then_some(())?;
            found(Preset::Ping, "auth.pingone.<region>")
        });
    by_host
        .or_else(|| path_rule(&url))
        .unwrap_or((Preset::Generic, Reason::Unrecognised))
}

/// `cognito-idp.<region>.amazonaws.com`.
fn is_cognito(host: &str) -> bool {
    host.strip_prefix("cognito-idp.")
        .and_then(|rest| rest.strip_suffix(".amazonaws.com"))
        .is_some_and(|region| !region.is_empty() && !region.contains('.'))
}

/// PingOne's hosts: `auth.pingone.com`, `.eu`, `.ca`, `.asia`, `.com.au`, `.sg` … and
/// custom subdomains of them (`<env>.pingone.<region>`).
pub(super) fn is_pingone(host: &str) -> bool {
    host.split('.')
        .position(|label| label == "pingone")
        .is_some_and(|at| at > 0 && at + 1 < host.split('.').count())
}

/// Path shapes: Keycloak's `/realms/<realm>` (also under the pre-17 `/auth` prefix) and
/// authentik's `/application/o/<slug>/`.
fn path_rule(url: &Url) -> Option<(Preset, Reason)> {
    let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., "realms", realm] if !realm.is_empty() => Some((
            Preset::Keycloak,
            Reason::Path {
                rule: "/realms/<realm>",
            },
        )),
        [.., "application", "o", slug] if !slug.is_empty() => Some((
            Preset::Authentik,
            Reason::Path {
                rule: "/application/o/<slug>/",
            },
        )),
        _ => None,
    }
}
