//! Provider traps named as the cause, with the fix: IdP errors whose code or text llmauth
//! recognises (requirements 19 and 20 of the quirks reference, and the guides' trap
//! tables), and Entra ID v1 issuers.

use url::Url;

use super::Preset;
use crate::oauth::OAuthError;

/// Recognised IdP errors: a marker in the error text (or code), and what it means.
const CAUSES: &[(&str, &str)] = &[
    (
        "AADSTS9002327",
        "the redirect URI is registered in Entra ID as a single-page application; move it to \
         \"Mobile and desktop applications\" (llmauth is a native client)",
    ),
    (
        "AADSTS9010010",
        "Entra ID v2 rejects the RFC 8707 resource parameter; use `llmauth config set \
         --provider entra` (or `--audience-via scope`)",
    ),
    (
        "AADSTS901002",
        "Entra ID v2 rejects the RFC 8707 resource parameter; use `llmauth config set \
         --provider entra` (or `--audience-via scope`)",
    ),
    (
        "AADSTS700025",
        "Entra ID refuses a client secret from a public client; remove it with `llmauth config \
         set --client-secret-stdin` given an empty line",
    ),
    (
        "AADSTS7000218",
        "the Entra ID registration is not a public client; register the redirect URI under \
         \"Mobile and desktop applications\" and allow public client flows",
    ),
    (
        "AADSTS28000",
        "Entra ID issues a token for one resource per request; give one --audience and no \
         other API's scopes in --scopes",
    ),
    (
        "AADSTS70011",
        "Entra ID refused a scope; give one --audience and no other API's scopes in --scopes",
    ),
    (
        "offline_access",
        "the IdP rejects the offline_access scope; use its preset (--provider google, \
         cognito or gitlab) or --offline-via access_type|none",
    ),
    (
        "invalid_scope",
        "the IdP refused a requested scope; if it is offline_access, use the provider's preset \
         (--provider google, cognito or gitlab) or --offline-via access_type|none; otherwise \
         check --scopes",
    ),
    (
        "client_secret",
        "the IdP wants this client's secret; store it with `llmauth config set \
         --client-secret-stdin`",
    ),
];

/// Why `preset`'s IdP may end a session the person did not end, when it is known to
/// (requirements 21 and 24 of the quirks reference): said with the hint when a refresh
/// is refused with `invalid_grant`.
pub fn session_end_cause(preset: Preset) -> Option<&'static str> {
    match preset {
        Preset::Google => Some(
            "Google ends the refresh tokens of an OAuth app in \"Testing\" publishing status \
             after 7 days; publish the app (\"In production\") or ask only for openid, email \
             and profile, so that sessions last",
        ),
        Preset::Cognito => Some(
            "Cognito refuses the refreshes of a remembered device that do not name the device; \
             if the user pool remembers devices, turn device tracking off for it \
             (\"Remember user devices\": Don't remember)",
        ),
        // No cause is known there beyond the usual: expiry, revocation, a reused token.
        Preset::Generic
        | Preset::Entra
        | Preset::Okta
        | Preset::Auth0
        | Preset::Keycloak
        | Preset::Ping
        | Preset::Dex
        | Preset::Authentik
        | Preset::Zitadel
        | Preset::Gitlab => None,
    }
}

/// What an IdP error means, when llmauth recognises it: the cause and the fix, for the
/// hint after the error line.
pub fn known_cause(error: &OAuthError) -> Option<&'static str> {
    let text = error.description.as_deref().unwrap_or_default();
    CAUSES
        .iter()
        .find(|(marker, _)| text.contains(marker) || error.code.contains(marker))
        .map(|(_, cause)| *cause)
}

/// Why a discovery document named `found` instead of the configured `expected` issuer,
/// when it is a provider trap llmauth knows: an Entra ID v1 issuer, or Entra's
/// multi-tenant `{tenantid}` document read without the Entra preset.
pub fn issuer_mismatch_fix(expected: &str, found: &str) -> Option<String> {
    if found.contains("{tenantid}") {
        return Some(
            "this is Entra ID's multi-tenant document ({tenantid}); use `llmauth config set \
             --provider entra`, which checks each token's tenant"
                .to_owned(),
        );
    }
    v1_issuer_fix(found, false).or_else(|| v1_issuer_fix(expected, false))
}

/// When `issuer` is an Entra ID v1 issuer (`https://sts.windows.net/<tenant>/`, or an
/// Entra issuer without `/v2.0`), why that fails and the v2 issuer to use instead.
/// `entra` says the Entra preset was chosen (so any host counts as Entra's).
pub fn v1_issuer_fix(issuer: &str, entra: bool) -> Option<String> {
    let url = Url::parse(issuer).ok()?;
    let host = url.host_str().unwrap_or_default();
    let v2 = if host.eq_ignore_ascii_case("sts.windows.net") {
        let tenant = url.path_segments()?.find(|s| !s.is_empty())?;
        format!("https://login.microsoftonline.com/{tenant}/v2.0")
    } else if (entra || super::detect(issuer).0 == Preset::Entra)
        && !url.path().trim_end_matches('/').ends_with("/v2.0")
    {
        format!("{}/v2.0", issuer.trim_end_matches('/'))
    } else {
        return None;
    };
    Some(format!(
        "{issuer} is an Entra ID v1 issuer (its tokens name https://sts.windows.net/<tenant>/); \
         llmauth needs the v2 endpoint: `llmauth config set --issuer {v2}`"
    ))
}
