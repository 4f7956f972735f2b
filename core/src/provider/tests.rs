use std::collections::BTreeMap;

use super::*;
use crate::oauth::OAuthError;

/// Issuers of each provider, as their documentation or discovery documents write them,
/// and the preset `auto` must choose.
const DETECTION: &[(&str, Preset)] = &[
    // Entra ID, its national clouds, and the v1 issuer (named with the v2 fix).
    (
        "https://login.microsoftonline.com/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/v2.0",
        Preset::Entra,
    ),
    (
        "https://login.microsoftonline.com/common/v2.0",
        Preset::Entra,
    ),
    (
        "https://login.microsoftonline.com/organizations/v2.0",
        Preset::Entra,
    ),
    (
        "https://login.microsoftonline.us/tenant/v2.0",
        Preset::Entra,
    ),
    (
        "https://login.partner.microsoftonline.cn/tenant/v2.0",
        Preset::Entra,
    ),
    (
        "https://login.microsoftonline.de/tenant/v2.0",
        Preset::Entra,
    ),
    (
        "https://sts.windows.net/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/",
        Preset::Entra,
    ),
    // Okta: org and custom authorization servers, preview and EMEA cells.
    ("https://dev-123456.okta.com", Preset::Okta),
    ("https://example.okta.com/oauth2/default", Preset::Okta),
    (
        "https://example.oktapreview.com/oauth2/aus1abc",
        Preset::Okta,
    ),
    ("https://example.okta-emea.com/oauth2/default", Preset::Okta),
    // Google.
    ("https://accounts.google.com", Preset::Google),
    // Auth0, with its trailing slash and regional tenants.
    ("https://tenant.auth0.com/", Preset::Auth0),
    ("https://tenant.eu.auth0.com/", Preset::Auth0),
    // Keycloak, also with the pre-17 /auth prefix and on any host.
    ("https://sso.example.com/realms/dev", Preset::Keycloak),
    ("https://sso.example.com/auth/realms/dev", Preset::Keycloak),
    ("http://127.0.0.1:8080/realms/test", Preset::Keycloak),
    // PingOne's regions (PingFederate runs on the customer's domain: generic).
    ("https://auth.pingone.com/env-id/as", Preset::Ping),
    ("https://auth.pingone.eu/env-id/as", Preset::Ping),
    ("https://auth.pingone.com.au/env-id/as", Preset::Ping),
    ("https://pingfederate.example.com", Preset::Generic),
    // Dex: its own domain, never recognised.
    ("https://dex.example.com", Preset::Generic),
    ("https://example.com/dex", Preset::Generic),
    // authentik, with the slash.
    (
        "https://authentik.example.com/application/o/llmauth/",
        Preset::Authentik,
    ),
    // ZITADEL Cloud; self-hosted is not recognisable.
    ("https://my-instance-abc123.zitadel.cloud", Preset::Zitadel),
    ("https://zitadel.example.com", Preset::Generic),
    // Amazon Cognito (the issuer host, not the hosted UI domain).
    (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
        Preset::Cognito,
    ),
    (
        "https://example.auth.eu-west-1.amazoncognito.com",
        Preset::Generic,
    ),
    // GitLab.com; self-managed is not recognisable.
    ("https://gitlab.com", Preset::Gitlab),
    ("https://gitlab.example.com", Preset::Generic),
    // Look-alikes that must not match.
    ("https://okta.com.evil.example", Preset::Generic),
    ("https://notgitlab.com", Preset::Generic),
    ("https://accounts.google.com.evil.example", Preset::Generic),
    ("https://auth0.com", Preset::Generic),
    ("https://evil.example/realms", Preset::Generic),
    ("https://idp.example.com", Preset::Generic),
];

#[test]
fn auto_detection_from_issuer_urls_of_each_provider() {
    for (issuer, expected) in DETECTION {
        let (preset, reason) = detect(issuer);
        assert_eq!(preset, *expected, "{issuer}: {reason}");
        let unrecognised = reason == Reason::Unrecognised;
        assert_eq!(
            unrecognised,
            *expected == Preset::Generic,
            "{issuer}: {reason}"
        );
    }
    // Every preset but the unrecognisable ones is reached by some issuer.
    for preset in Preset::ALL {
        let reached = DETECTION.iter().any(|(_, p)| p == preset);
        assert!(
            reached || *preset == Preset::Dex,
            "{preset} is never detected"
        );
    }
}

#[test]
fn reasons_say_which_rule_matched() {
    let (_, reason) = detect("https://example.okta.com/oauth2/default");
    assert_eq!(
        reason.to_string(),
        "the issuer's host example.okta.com matches *.okta.com"
    );
    let (_, reason) = detect("https://sso.example.com/realms/dev");
    assert_eq!(
        reason.to_string(),
        "the issuer's path has the shape /realms/<realm>"
    );
    assert_eq!(detect("not a url").1, Reason::NoIssuer);
}

fn resolve(issuer: &str) -> Provider {
    Provider::resolve(&ProviderInputs {
        issuer: Some(issuer),
        ..ProviderInputs::default()
    })
}

#[test]
fn the_preset_table() {
    use AudienceVia as A;
    use OfflineVia as O;
    /// (issuer, preset, audience_via, offline_via, redirect, resend_scope, token_kind, secret)
    type Row = (
        &'static str,
        Preset,
        A,
        O,
        &'static str,
        bool,
        TokenKind,
        bool,
    );
    let rows: &[Row] = &[
        (
            "https://idp.example.com",
            Preset::Generic,
            A::Resource,
            O::Scope,
            "http://localhost:8666/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://login.microsoftonline.com/t/v2.0",
            Preset::Entra,
            A::Scope,
            O::Scope,
            "http://localhost:<any port>/callback",
            true,
            TokenKind::Access,
            false,
        ),
        (
            "https://x.okta.com/oauth2/default",
            Preset::Okta,
            A::None,
            O::Scope,
            "http://localhost:8666/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://accounts.google.com",
            Preset::Google,
            A::None,
            O::AccessType,
            "http://127.0.0.1:<any port>/callback",
            false,
            TokenKind::Id,
            true,
        ),
        (
            "https://t.auth0.com/",
            Preset::Auth0,
            A::Audience,
            O::Scope,
            "http://localhost:8666/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://h/realms/r",
            Preset::Keycloak,
            A::None,
            O::Scope,
            "http://127.0.0.1:<any port>/callback",
            true,
            TokenKind::Access,
            false,
        ),
        (
            "https://auth.pingone.eu/e/as",
            Preset::Ping,
            A::None,
            O::Scope,
            "http://127.0.0.1:<any port>/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://h/application/o/s/",
            Preset::Authentik,
            A::None,
            O::Scope,
            "http://localhost:8666/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://i.zitadel.cloud",
            Preset::Zitadel,
            A::Scope,
            O::Scope,
            "http://127.0.0.1:<any port>/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://cognito-idp.us-east-1.amazonaws.com/p",
            Preset::Cognito,
            A::None,
            O::None,
            "http://localhost:8666/callback",
            false,
            TokenKind::Access,
            false,
        ),
        (
            "https://gitlab.com",
            Preset::Gitlab,
            A::None,
            O::None,
            "http://localhost:8666/callback",
            false,
            TokenKind::Access,
            false,
        ),
    ];
    for (issuer, preset, audience_via, offline_via, redirect, resend, kind, secret) in rows {
        let p = resolve(issuer);
        assert_eq!(p.preset, *preset, "{issuer}");
        assert_eq!(p.audience_via.value, *audience_via, "{issuer}");
        assert_eq!(p.offline_via.value, *offline_via, "{issuer}");
        assert_eq!(p.redirect().to_string(), *redirect, "{issuer}");
        assert_eq!(p.resend_scope.value, *resend, "{issuer}");
        assert_eq!(p.token_kind.value, *kind, "{issuer}");
        assert_eq!(p.client_secret_expected, *secret, "{issuer}");
        assert!(
            p.rows()
                .iter()
                .all(|(_, _, source)| *source == Source::Preset)
        );
    }
    // PingFederate (named, on its own host): the `aud` parameter and a fixed port; Dex
    // (named): the cross-client scope and any port.
    let named = |preset, issuer| {
        Provider::resolve(&ProviderInputs {
            provider: Some(ProviderSetting::Preset(preset)),
            issuer: Some(issuer),
            ..ProviderInputs::default()
        })
    };
    let pingfederate = named(Preset::Ping, "https://sso.example.com");
    assert_eq!(pingfederate.audience_via.value, AudienceVia::Aud);
    assert_eq!(
        pingfederate.redirect().to_string(),
        "http://localhost:8666/callback"
    );
    assert_eq!(pingfederate.reason, Reason::Configured);
    let dex = named(Preset::Dex, "https://dex.example.com");
    assert_eq!(dex.audience_via.value, AudienceVia::Scope);
    assert_eq!(dex.redirect().port(), 0);
    assert_eq!(
        dex.scopes(&[], "llm-gateway"),
        [
            "openid",
            "audience:server:client_id:llm-gateway",
            "offline_access"
        ]
    );
}

#[test]
fn overrides_win_setting_by_setting_and_say_so() {
    let provider = Provider::resolve(&ProviderInputs {
        issuer: Some("https://accounts.google.com"),
        offline_via: Some(OfflineVia::Scope),
        callback_port: Some(9000),
        token_kind: Some(TokenKind::Access),
        ..ProviderInputs::default()
    });
    assert_eq!(provider.preset, Preset::Google);
    assert_eq!(provider.offline_via.source, Source::Config);
    assert_eq!(provider.audience_via.source, Source::Preset);
    assert_eq!(provider.token_kind.value, TokenKind::Access);
    // A pinned port on an any-port preset is an exactly registered URI: localhost.
    assert_eq!(
        provider.redirect().to_string(),
        "http://localhost:9000/callback"
    );
    let json = provider.to_json();
    assert_eq!(json["preset"], "google");
    assert_eq!(json["settings"]["offline_via"]["source"], "config");
    assert_eq!(json["settings"]["audience_via"]["source"], "preset");

    let exact = Provider::resolve(&ProviderInputs {
        issuer: Some("https://h/realms/r"),
        redirect_url: Some(RedirectUrl::parse("http://127.0.0.1:9123/oauth/cb").unwrap()),
        ..ProviderInputs::default()
    });
    let redirect = exact.redirect();
    assert_eq!((redirect.port(), redirect.path()), (9123, "/oauth/cb"));
    assert_eq!(redirect.uri(9123), "http://127.0.0.1:9123/oauth/cb");
}

#[test]
fn redirect_urls_are_checked() {
    for good in [
        "http://127.0.0.1:8666/callback",
        "http://localhost:50000/oauth2/callback",
    ] {
        assert!(RedirectUrl::parse(good).is_ok(), "{good}");
    }
    for bad in [
        "https://127.0.0.1:8666/callback",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:80/callback",
        "http://127.0.0.1:8666",
        "http://127.0.0.1:8666/",
        "http://example.com:8666/callback",
        "http://127.1:8666/callback",
        "http://[::1]:8666/callback",
        "http://127.0.0.1:8666/callback?x=1",
        "not a url",
    ] {
        assert!(RedirectUrl::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn scopes_follow_the_offline_and_audience_methods() {
    let configured = vec!["profile".to_owned(), "offline_access".to_owned()];
    let google = resolve("https://accounts.google.com");
    assert_eq!(google.scopes(&configured, ""), ["openid", "profile"]);
    let entra = resolve("https://login.microsoftonline.com/t/v2.0");
    assert_eq!(
        entra.scopes(&[], "api://gateway"),
        ["openid", "api://gateway/.default", "offline_access"]
    );
    assert_eq!(
        entra.scopes(&[], "api://gateway/.default"),
        ["openid", "api://gateway/.default", "offline_access"]
    );
    let zitadel = resolve("https://i.zitadel.cloud");
    assert_eq!(
        zitadel.scopes(&[], "1234"),
        [
            "openid",
            "urn:zitadel:iam:org:project:id:1234:aud",
            "offline_access"
        ]
    );
    let generic = resolve("https://idp.example.com");
    assert_eq!(
        generic.scopes(&configured, "https://gw"),
        ["openid", "profile", "offline_access"]
    );
    let cognito = resolve("https://cognito-idp.us-east-1.amazonaws.com/p");
    assert_eq!(cognito.scopes(&configured, ""), ["openid", "profile"]);
}

#[test]
fn google_asks_for_offline_access_its_way_and_auth_params_win() {
    let google = resolve("https://accounts.google.com");
    assert_eq!(
        google.authorization_extras("", &BTreeMap::new()),
        [
            ("prompt".to_owned(), "consent".to_owned()),
            ("access_type".to_owned(), "offline".to_owned())
        ]
    );
    let params = BTreeMap::from([("access_type".to_owned(), "offline".to_owned())]);
    let extras = google.authorization_extras("select_account consent", &params);
    assert_eq!(extras.len(), 2, "{extras:?}");
    assert_eq!(extras[0].1, "select_account consent");
    let generic = resolve("https://idp.example.com");
    assert!(
        generic
            .authorization_extras("", &BTreeMap::new())
            .is_empty()
    );
}

#[test]
fn issuers_compare_exactly_but_for_entra_tenants_and_bare_google() {
    let entra = resolve("https://login.microsoftonline.com/common/v2.0").issuer_match;
    assert_eq!(entra, IssuerMatch::EntraTenant);
    let common = "https://login.microsoftonline.com/common/v2.0";
    let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
    assert!(entra.document_matches(common, template));
    assert!(entra.id_token_matches(
        common,
        "https://login.microsoftonline.com/8eaef023/v2.0",
        Some("8eaef023")
    ));
    assert!(!entra.id_token_matches(
        common,
        "https://login.microsoftonline.com/8eaef023/v2.0",
        Some("other")
    ));
    assert!(!entra.id_token_matches(common, template, Some("{tenantid}")));
    assert!(entra.response_matches(common, "https://login.microsoftonline.com/8eaef023/v2.0"));
    assert!(!entra.response_matches(common, "https://login.microsoftonline.com/a/b/v2.0"));
    // A single tenant's issuer, and `consumers`, compare exactly.
    for exact in [
        "https://login.microsoftonline.com/8eaef023/v2.0",
        "https://login.microsoftonline.com/consumers/v2.0",
    ] {
        let rule = resolve(exact).issuer_match;
        assert_eq!(rule, IssuerMatch::Exact, "{exact}");
        assert!(!rule.document_matches(exact, template));
    }
    let google = resolve("https://accounts.google.com").issuer_match;
    assert!(google.id_token_matches("https://accounts.google.com", "accounts.google.com", None));
    assert!(!google.id_token_matches("https://accounts.google.com", "evil.example", None));
    let exact = IssuerMatch::Exact;
    assert!(!exact.id_token_matches("https://accounts.google.com", "accounts.google.com", None));
    assert!(!exact.document_matches("https://idp/", "https://idp"));
}

/// Okta's org authorization server hands out access tokens for Okta alone; authentik
/// issues no audience but the client id. Refused when the preset chose the setting that
/// fails, a warning when the configuration named it.
#[test]
fn presets_know_what_their_providers_cannot_serve() {
    let with = |issuer: &str, token_kind: Option<TokenKind>, audience_via: Option<AudienceVia>| {
        Provider::resolve(&ProviderInputs {
            issuer: Some(issuer),
            token_kind,
            audience_via,
            ..ProviderInputs::default()
        })
    };
    let org = "https://acme.okta.com";
    let [concern] = with(org, None, None)
        .concerns(org, "", "c")
        .try_into()
        .unwrap();
    assert_eq!(concern.about, Concerning::Issuer);
    assert!(concern.refused);
    assert!(
        concern.problem.contains("aud is the org URL"),
        "{concern:?}"
    );
    assert!(
        concern
            .fix
            .contains("--issuer https://acme.okta.com/oauth2/default")
            && concern.fix.contains("--token-kind id"),
        "{concern:?}"
    );
    let okta_named = with(org, Some(TokenKind::Access), None);
    let [named] = okta_named.concerns(org, "", "c").try_into().unwrap();
    assert!(!named.refused);
    assert!(
        named.fix.ends_with("Okta's introspection endpoint"),
        "{named:?}"
    );
    assert!(!concern.fix.contains("introspection"), "{concern:?}");
    for fine in [
        with(org, Some(TokenKind::Id), None).concerns(org, "", "c"),
        with("https://acme.okta.com/oauth2/default", None, None).concerns(
            "https://acme.okta.com/oauth2/default",
            "",
            "c",
        ),
        // `auto` on a custom domain: generic, which knows nothing of Okta.
        with("https://login.acme.example", None, None).concerns(
            "https://login.acme.example",
            "",
            "c",
        ),
    ] {
        assert_eq!(fine, []);
    }

    let authentik = "https://ak.example/application/o/llm/";
    let preset = with(authentik, None, None);
    let [concern] = preset
        .concerns(authentik, "https://llm.example.com", "c")
        .try_into()
        .unwrap();
    assert_eq!(concern.about, Concerning::Audience);
    assert!(concern.refused);
    assert!(concern.problem.contains("#14545"), "{concern:?}");
    assert_eq!(preset.concerns(authentik, "c", "c"), []);
    assert_eq!(preset.concerns(authentik, "", "c"), []);
    let [named_audience] = with(authentik, None, Some(AudienceVia::Resource))
        .concerns(authentik, "https://llm.example.com", "c")
        .try_into()
        .unwrap();
    assert!(!named_audience.refused);
    assert!(
        named_audience
            .fix
            .contains("honours the audience_via you set")
    );

    // When the gateway rejects a token, the preset's fix beats asking for an audience.
    let fix = preset.rejected_token_fix(authentik, "", "llm-cli").unwrap();
    assert!(fix.contains("accept aud \"llm-cli\""), "{fix}");
    assert_eq!(okta_named.rejected_token_fix(org, "", "c"), Some(named.fix));
    let generic = "https://idp.example";
    assert_eq!(resolve(generic).rejected_token_fix(generic, "", "c"), None);
}

#[test]
fn known_provider_errors_are_named_with_their_fix() {
    let error = |code: &str, description: &str| OAuthError {
        code: code.to_owned(),
        description: Some(description.to_owned()),
    };
    let cases = [
        (
            error(
                "invalid_request",
                "AADSTS9002327: Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
            ),
            "single-page application",
        ),
        (
            error(
                "invalid_request",
                "AADSTS901002: The 'resource' request parameter isn't supported.",
            ),
            "--provider entra",
        ),
        (
            error(
                "invalid_client",
                "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            ),
            "remove it",
        ),
        (
            error(
                "invalid_scope",
                "Some requested scopes were invalid. {invalid=[offline_access]}",
            ),
            "--offline-via",
        ),
        (
            error("invalid_request", "client_secret is missing."),
            "--client-secret-stdin",
        ),
    ];
    for (error, fix) in cases {
        let cause = known_cause(&error).unwrap_or_else(|| panic!("{error}"));
        assert!(cause.contains(fix), "{error}: {cause}");
    }
    assert_eq!(known_cause(&error("invalid_grant", "expired")), None);
}

#[test]
fn entra_v1_issuers_get_the_v2_form() {
    let fix = v1_issuer_fix("https://sts.windows.net/8eaef023/", false).unwrap();
    assert!(
        fix.contains("--issuer https://login.microsoftonline.com/8eaef023/v2.0"),
        "{fix}"
    );
    let fix = v1_issuer_fix("https://login.microsoftonline.com/8eaef023", false).unwrap();
    assert!(
        fix.ends_with("--issuer https://login.microsoftonline.com/8eaef023/v2.0`"),
        "{fix}"
    );
    assert_eq!(
        v1_issuer_fix("https://login.microsoftonline.com/8eaef023/v2.0", false),
        None
    );
    assert_eq!(v1_issuer_fix("https://idp.example.com/t", false), None);
    assert!(v1_issuer_fix("https://127.0.0.1:4443/t", true).is_some());
}

#[test]
fn spellings_round_trip() {
    for preset in Preset::ALL {
        assert_eq!(preset.as_str().parse::<Preset>(), Ok(*preset));
        let setting = ProviderSetting::Preset(*preset);
        assert_eq!(setting.as_str().parse::<ProviderSetting>(), Ok(setting));
    }
    assert_eq!("auto".parse::<ProviderSetting>(), Ok(ProviderSetting::Auto));
    let error = "Entra".parse::<ProviderSetting>().unwrap_err();
    assert!(error.contains("entra, okta"), "{error}");
    assert_eq!(
        "127.0.0.1".parse::<CallbackHost>(),
        Ok(CallbackHost::Loopback)
    );
    assert_eq!(
        "access_type".parse::<OfflineVia>(),
        Ok(OfflineVia::AccessType)
    );
    assert!("both".parse::<TokenKind>().is_err());
}
