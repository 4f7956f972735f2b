use super::*;
use crate::config::ConfigDocument;
use crate::provider::{OfflineVia, TokenKind};
use core::time::Duration;

const TRIO: &str = "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    \
                    issuer: https://auth.example.com\n    client_id: my-client-id\n";

fn doc(text: &str) -> ConfigDocument {
    ConfigDocument::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// A complete config with `extra` appended under `llm.oidc` (4-space indent) or at `llm`
/// level when it starts with two spaces only.
fn with(extra: &str) -> ConfigDocument {
    doc(&format!("{TRIO}{extra}"))
}

fn valid(extra: &str) -> Config {
    with(extra)
        .validate()
        .unwrap_or_else(|e| panic!("{e}\n{extra}"))
}

/// The fields named by validation of a complete config with `extra`.
fn rejected(extra: &str) -> Vec<FieldError> {
    match with(extra).validate() {
        Ok(config) => panic!("accepted: {extra}\n{config:?}"),
        Err(error) => error.field_errors().to_vec(),
    }
}

fn assert_rejects(extra: &str, field: &str, problem_part: &str) {
    let errors = rejected(extra);
    assert!(
        errors
            .iter()
            .any(|e| e.field == field && e.problem.contains(problem_part)),
        "{extra}: expected {field} ({problem_part}), got {errors:?}"
    );
    assert_eq!(errors.len(), 1, "{extra}: {errors:?}");
}

#[test]
fn defaults_fill_every_unset_field() {
    let config = valid("");
    assert_eq!(
        config,
        Config {
            gateway_url: "https://llm.example.com".into(),
            issuer: "https://auth.example.com".into(),
            client_id: "my-client-id".into(),
            audience: String::new(),
            scopes: vec!["openid".into(), "offline_access".into()],
            prompt: String::new(),
            auth_params: BTreeMap::new(),
            refresh_window: Duration::from_secs(600),
            proxy_port: 14000,
            require_local_key: true,
            ca_file: None,
            skip_verify: false,
            secrets_backend: SecretsBackend::Auto,
            anthropic_path_prefix: String::new(),
            models: Vec::new(),
            bedrock_compat: false,
            bedrock_enable_1m: false,
            configured_tools: Vec::new(),
            provider: Provider::resolve(&ProviderInputs {
                issuer: Some("https://auth.example.com"),
                ..ProviderInputs::default()
            }),
            client_secret: false,
        }
    );
    assert_eq!(config.provider.preset, Preset::Generic);
    assert_eq!(
        config.provider.redirect().to_string(),
        "http://localhost:8666/callback"
    );
}

#[test]
fn every_field_set() {
    let config = valid(
        "    scopes: [openid, profile, offline_access]\n    audience: https://llm.example.com\n    \
         callback_port: 0\n    prompt: consent\n    auth_params:\n      access_type: offline\n    \
         refresh_window: 1h30m\n  proxy:\n    listen_port: 15000\n    require_local_key: false\n  \
         tls:\n    ca_file: /etc/ssl/corp-ca.pem\n    skip_verify: true\n  secrets:\n    \
         backend: file\n  setup:\n    anthropic_path_prefix: /anthropic\n  models: [us.anthropic.claude-opus-4-8, \
         \"claude-sonnet-4-6[1m]\"]\n  bedrock:\n    compat: true\n    enable_1m: true\n  configured_tools:\n    \
         - {tool: claude-code, mode: helper, file: /home/u/.claude/settings.json}\n",
    );
    assert_eq!(config.scopes, ["openid", "profile", "offline_access"]);
    assert_eq!(config.audience, "https://llm.example.com");
    assert_eq!(config.provider.redirect().port(), 0);
    assert_eq!(config.prompt, "consent");
    assert_eq!(
        config.auth_params,
        BTreeMap::from([("access_type".to_owned(), "offline".to_owned())])
    );
    assert_eq!(config.refresh_window, Duration::from_secs(5400));
    assert_eq!(config.proxy_port, 15000);
    assert!(!config.require_local_key);
    assert_eq!(config.ca_file.as_deref(), Some("/etc/ssl/corp-ca.pem"));
    assert!(config.skip_verify);
    assert_eq!(config.secrets_backend, SecretsBackend::File);
    assert_eq!(config.anthropic_path_prefix, "/anthropic");
    assert_eq!(
        config.models,
        ["us.anthropic.claude-opus-4-8", "claude-sonnet-4-6[1m]"]
    );
    assert!(config.bedrock_compat && config.bedrock_enable_1m);
    assert_eq!(
        config.configured_tools,
        [ConfiguredTool {
            tool: "claude-code".into(),
            mode: "helper".into(),
            file: "/home/u/.claude/settings.json".into(),
        }]
    );
}

#[test]
fn urls_are_kept_exactly_as_written() {
    let config = doc(
        "llm:\n  gateway_url: HTTPS://LLM.example.com:443/v1/\n  oidc:\n    \
         issuer: https://auth.example.com/realms/Corp\n    client_id: x\n",
    )
    .validate()
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.gateway_url, "HTTPS://LLM.example.com:443/v1/");
    assert_eq!(config.issuer, "https://auth.example.com/realms/Corp");
}

fn gateway(url: &str) -> Result<Config, ConfigError> {
    doc(&format!(
        "llm:\n  gateway_url: {}\n  oidc:\n    issuer: https://i.example\n    client_id: c\n",
        crate::config::render::scalar(url)
    ))
    .validate()
}

fn issuer(url: &str) -> Result<Config, ConfigError> {
    doc(&format!(
        "llm:\n  gateway_url: https://g.example\n  oidc:\n    issuer: {}\n    client_id: c\n",
        crate::config::render::scalar(url)
    ))
    .validate()
}

fn only_field(result: Result<Config, ConfigError>, field: &str) -> String {
    match result {
        Ok(config) => panic!("accepted {config:?}"),
        Err(error) => match error.field_errors() {
            [only] if only.field == field => only.problem.clone(),
            other => panic!("expected one error for {field}, got {other:?}"),
        },
    }
}

#[test]
fn gateway_url_must_be_https_with_a_host() {
    for url in [
        "https://llm.example.com",
        "https://llm.example.com/",
        "https://llm.example.com:8443/gateway",
        "https://10.0.0.1",
        "https://[2001:db8::1]/x",
    ] {
        assert!(gateway(url).is_ok(), "{url}");
    }
    for url in [
        "http://llm.example.com",
        "http://localhost:8080",
        "ftp://llm.example.com",
        "llm.example.com",
        "https://",
        "https:llm.example.com",
        "https:\\\\llm.example.com",
        "https:///path",
        "",
    ] {
        let problem = only_field(gateway(url), field::GATEWAY_URL);
        assert!(
            problem.starts_with("must be an https URL with a host"),
            "{url}: {problem}"
        );
    }
    assert_eq!(
        only_field(
            gateway("https://user:pw@llm.example.com"),
            field::GATEWAY_URL
        ),
        "must not contain a user name or password"
    );
    assert_eq!(
        only_field(gateway("https://llm.example.com/?a=b"), field::GATEWAY_URL),
        "must not have a query (?) or fragment (#)"
    );
    assert!(
        only_field(gateway(" https://llm.example.com"), field::GATEWAY_URL)
            .contains("without spaces")
    );
}

#[test]
fn issuer_allows_http_only_on_loopback() {
    for url in [
        "https://auth.example.com",
        "http://localhost:8080/realms/x",
        "http://LOCALHOST",
        "http://127.0.0.1:9000",
        "http://127.255.0.3",
        "http://[::1]:4444",
        // Decided on the parsed address, as proxy selection decides it (`net`).
        "http://127.1:9000",
        "http://[::ffff:127.0.0.1]",
    ] {
        assert!(issuer(url).is_ok(), "{url}");
    }
    for url in [
        "http://auth.example.com",
        "http://128.0.0.1",
        "http://10.0.0.1",
        "http://[::2]",
        "http://localhost.example.com",
        "http://0.0.0.0",
        "http://128.1",
        "http://auth.localhost",
    ] {
        let problem = only_field(issuer(url), field::ISSUER);
        assert!(
            problem.contains("http is allowed only on a loopback host"),
            "{url}: {problem}"
        );
    }
    for url in ["https://auth.example.com#x", "https://auth.example.com?x=1"] {
        let problem = only_field(issuer(url), field::ISSUER);
        assert!(problem.contains("query"), "{url}: {problem}");
    }
}

#[test]
fn client_id_is_printable_ascii_kept_as_written() {
    for id in ["0123", "no", "1.10", "a b", "~", "null"] {
        let text = format!(
            "llm:\n  gateway_url: https://g\n  oidc:\n    issuer: https://i\n    client_id: {}\n",
            crate::config::render::scalar(id)
        );
        assert_eq!(
            doc(&text).validate().map(|c| c.client_id),
            Ok(id.to_owned())
        );
    }
    // Written plain, YAML would read these as numbers or booleans; they stay strings.
    let text =
        "llm:\n  gateway_url: https://g\n  oidc:\n    issuer: https://i\n    client_id: 0123\n";
    assert_eq!(doc(text).validate().map(|c| c.client_id), Ok("0123".into()));
    for (id, problem) in [
        ("\"\"", "must not be empty"),
        ("\"a\\nb\"", "printable ASCII"),
        ("é", "printable ASCII"),
        ("\" x\"", "must not start or end with a space"),
    ] {
        let text = format!(
            "llm:\n  gateway_url: https://g\n  oidc:\n    issuer: https://i\n    client_id: {id}\n"
        );
        let got = only_field(doc(&text).validate(), field::CLIENT_ID);
        assert!(got.contains(problem), "{id}: {got}");
    }
}

#[test]
fn scopes_always_include_openid_and_offline_access() {
    let cases: [(&str, &[&str]); 6] = [
        ("[openid, offline_access]", &["openid", "offline_access"]),
        ("[profile]", &["openid", "profile", "offline_access"]),
        (
            "[offline_access, email, openid]",
            &["offline_access", "email", "openid"],
        ),
        (
            "[openid, openid, email, email]",
            &["openid", "email", "offline_access"],
        ),
        ("[]", &["openid", "offline_access"]),
        (
            "[\"api://llm/.default\"]",
            &["openid", "api://llm/.default", "offline_access"],
        ),
    ];
    for (written, effective) in cases {
        assert_eq!(
            valid(&format!("    scopes: {written}\n")).scopes,
            effective,
            "{written}"
        );
    }
    assert_rejects(
        "    scopes: [openid, \"a b\"]\n",
        field::SCOPES,
        "\"a b\" is not a valid scope",
    );
    assert_rejects("    scopes: [\"\"]\n", field::SCOPES, "not a valid scope");
    assert_rejects("    scopes: ['x\"']\n", field::SCOPES, "not a valid scope");
}

#[test]
fn audience_defaults_to_empty_and_must_be_an_absolute_uri() {
    assert_eq!(valid("").audience, "");
    assert_eq!(valid("    audience: \"\"\n").audience, "");
    assert_eq!(valid("    audience:\n").audience, "");
    assert_eq!(
        valid("    audience: urn:llm:gateway\n").audience,
        "urn:llm:gateway"
    );
    assert_rejects(
        "    audience: llm-gateway\n",
        field::AUDIENCE,
        "absolute URI",
    );
    assert_rejects("    audience: https://a#b\n", field::AUDIENCE, "fragment");
}

/// Sent any other way than `resource`, the audience is an identifier: a client id
/// (Keycloak, Dex), a project id (ZITADEL), an `api://` URI (Entra).
#[test]
fn the_audience_rule_follows_how_it_is_requested() {
    for (via, audience) in [
        ("none", "llm-gateway"),
        ("scope", "271234567890123456"),
        ("audience", "https://llm.example.com"),
        ("aud", "llm-gateway"),
    ] {
        let config = valid(&format!(
            "    audience_via: {via}\n    audience: {audience}\n"
        ));
        assert_eq!(config.audience, audience);
    }
    assert_rejects(
        "    audience_via: none\n    audience: \"two words\"\n",
        field::AUDIENCE,
        "one identifier",
    );
    // Entra's audience goes into its scope.
    let entra = valid("    provider: entra\n    audience: api://gateway\n    scopes: [profile]\n");
    assert_eq!(
        entra.scopes,
        [
            "openid",
            "profile",
            "api://gateway/.default",
            "offline_access"
        ]
    );
}

/// A configuration a preset knows its provider cannot serve is refused when the preset
/// chose the failing setting, and accepted when the file names that setting itself.
#[test]
fn presets_refuse_what_their_providers_cannot_serve() {
    let okta = |issuer: &str, extra: &str| {
        doc(&format!(
            "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    \
             issuer: {issuer}\n    client_id: c\n{extra}"
        ))
        .validate()
    };
    let okta_org = |extra: &str| okta("https://acme.okta.com", extra);
    // Okta's org authorization server, detected from the host, handing out access tokens.
    let error = okta_org("").unwrap_err();
    let [only] = error.field_errors() else {
        panic!("{error}");
    };
    assert_eq!(only.field, field::ISSUER);
    for part in [
        "org authorization server",
        "--issuer https://acme.okta.com/oauth2/default",
        "--token-kind id",
    ] {
        assert!(only.problem.contains(part), "{part}: {only}");
    }
    assert!(okta_org("    token_kind: id\n").is_ok());
    assert!(
        okta_org("    token_kind: access\n").is_ok(),
        "named: a warning only"
    );
    assert!(okta_org("    provider: generic\n").is_ok());
    let custom = okta("https://acme.okta.com/oauth2/default", "").unwrap();
    assert_eq!(custom.provider.preset, Preset::Okta);
    // A custom domain is Okta's only when named, and then judged the same way.
    assert!(okta("https://login.acme.example", "").is_ok());
    assert!(okta("https://login.acme.example", "    provider: okta\n").is_err());

    // authentik: any audience but the client id.
    assert_rejects(
        "    provider: authentik\n    audience: https://llm.example.com\n",
        field::AUDIENCE,
        "goauthentik/authentik#14545",
    );
    valid("    provider: authentik\n    audience: my-client-id\n");
    valid(
        "    provider: authentik\n    audience_via: resource\n    audience: https://llm.example.com\n",
    );
    // Judged only once every field is valid on its own.
    let errors = rejected(
        "    provider: authentik\n    audience_via: sideways\n    audience: https://llm.example.com\n",
    );
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, [field::AUDIENCE_VIA]);
}

/// Requirement 1: never `resource` for Entra ID v2, whatever the configuration says.
#[test]
fn entra_never_gets_resource() {
    assert_rejects(
        "    provider: entra\n    audience_via: resource\n",
        field::AUDIENCE_VIA,
        "AADSTS9010010",
    );
    let detected = doc(
        "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    \
         issuer: https://login.microsoftonline.com/t/v2.0\n    client_id: c\n    \
         audience_via: resource\n",
    );
    let fields: Vec<String> = detected
        .validate()
        .unwrap_err()
        .field_errors()
        .iter()
        .map(|e| e.field.clone())
        .collect();
    assert_eq!(fields, [field::AUDIENCE_VIA]);
}

#[test]
fn provider_settings_take_their_spellings_only() {
    let config = valid(
        "    provider: keycloak\n    offline_via: none\n    callback_host: localhost\n    \
         resend_scope: false\n    token_kind: id\n",
    );
    assert_eq!(config.provider.preset, Preset::Keycloak);
    assert_eq!(config.provider.offline_via.value, OfflineVia::None);
    assert_eq!(config.provider.token_kind.value, TokenKind::Id);
    assert!(!config.provider.resend_scope.value);
    assert_eq!(config.scopes, ["openid"]);
    for (key, value, field) in [
        ("provider", "Entra", field::PROVIDER),
        ("audience_via", "header", field::AUDIENCE_VIA),
        ("offline_via", "prompt", field::OFFLINE_VIA),
        ("callback_host", "::1", field::CALLBACK_HOST),
        ("token_kind", "both", field::TOKEN_KIND),
        (
            "redirect_url",
            "https://127.0.0.1:9000/cb",
            field::REDIRECT_URL,
        ),
    ] {
        assert_rejects(&format!("    {key}: \"{value}\"\n"), field, "");
    }
}

/// The redirect URL replaces host, port and path; its port must not be the proxy's.
#[test]
fn a_redirect_url_wins_and_is_checked_against_the_proxy_port() {
    let config = valid("    callback_port: 0\n    redirect_url: http://localhost:9000/oauth/cb\n");
    let redirect = config.provider.redirect();
    assert_eq!(redirect.uri(9000), "http://localhost:9000/oauth/cb");
    assert_rejects(
        "    redirect_url: http://127.0.0.1:14000/cb\n",
        field::CALLBACK_PORT,
        "must differ",
    );
}

/// The client secret is never written to the file: only the marker is accepted, and a
/// secret pasted there is refused without being echoed.
#[test]
fn the_client_secret_key_holds_only_the_marker() {
    assert!(valid("    client_secret: stored\n").client_secret);
    assert!(!valid("").client_secret);
    let errors = rejected("    client_secret: GOCSPX-CANARY-secret\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, field::CLIENT_SECRET);
    assert!(
        !errors[0].problem.contains("CANARY"),
        "{}",
        errors[0].problem
    );
    assert!(errors[0].problem.contains("--client-secret-stdin"));
}

/// Auth0's `audience` and PingFederate's `aud` come from `llm.oidc.audience`, not from
/// `auth_params` (which would send it twice).
#[test]
fn auth_params_cannot_name_the_audience_parameter_in_use() {
    assert_rejects(
        "    provider: auth0\n    audience: https://api\n    auth_params: {audience: x}\n",
        "llm.oidc.auth_params.audience",
        "llm.oidc.audience",
    );
    // Without a configured audience, an Auth0 user's own `audience` parameter stays.
    let config = valid("    provider: auth0\n    auth_params: {audience: https://api}\n");
    assert_eq!(
        config.auth_params.get("audience").map(String::as_str),
        Some("https://api")
    );
}

#[test]
fn ports_are_in_range() {
    let port = |extra: &str| valid(extra).provider.redirect().port();
    assert_eq!(port("    callback_port: 0\n"), 0);
    assert_eq!(port("    callback_port: 1024\n"), 1024);
    assert_eq!(port("    callback_port: 65535\n"), 65535);
    for port in ["1", "80", "1023", "65536", "-1", "99999999999"] {
        assert_rejects(
            &format!("    callback_port: {port}\n"),
            field::CALLBACK_PORT,
            "must be 0 (any free port) or between 1024 and 65535",
        );
    }
    assert_eq!(valid("  proxy:\n    listen_port: 1024\n").proxy_port, 1024);
    for port in ["0", "443", "65536", "-14000"] {
        assert_rejects(
            &format!("  proxy:\n    listen_port: {port}\n"),
            field::PROXY_LISTEN_PORT,
            "must be between 1024 and 65535",
        );
    }
    assert_rejects(
        "    callback_port: 14000\n",
        field::CALLBACK_PORT,
        "must differ from llm.proxy.listen_port (14000)",
    );
    assert_rejects(
        "  proxy:\n    listen_port: 8666\n",
        field::CALLBACK_PORT,
        "must differ from llm.proxy.listen_port (8666)",
    );
}

#[test]
fn prompt_is_kept_and_must_be_printable() {
    assert_eq!(valid("    prompt: consent\n").prompt, "consent");
    assert_eq!(
        valid("    prompt: \"login consent\"\n").prompt,
        "login consent"
    );
    assert_eq!(valid("    prompt: \"\"\n").prompt, "");
    assert_rejects("    prompt: \"a\\tb\"\n", field::PROMPT, "printable ASCII");
}

#[test]
fn auth_params_cannot_override_our_parameters() {
    for key in RESERVED_AUTH_PARAMS {
        let errors = rejected(&format!("    auth_params:\n      {key}: x\n"));
        assert_eq!(errors.len(), 1, "{key}");
        assert_eq!(errors[0].field, format!("llm.oidc.auth_params.{key}"));
        assert!(
            errors[0].problem.starts_with("is set by llmauth itself"),
            "{errors:?}"
        );
    }
    assert_rejects(
        "    auth_params:\n      prompt: consent\n",
        "llm.oidc.auth_params.prompt",
        "(use llm.oidc.prompt)",
    );
    assert_rejects(
        "    auth_params:\n      \"\": x\n",
        field::AUTH_PARAMS,
        "must not be empty",
    );
    assert_rejects(
        "    auth_params:\n      \"a b\": x\n",
        "llm.oidc.auth_params.a b",
        "spaces",
    );
    assert_rejects(
        "    auth_params:\n      a: \"x\\ny\"\n",
        "llm.oidc.auth_params.a",
        "control characters",
    );
    let config =
        valid("    auth_params:\n      access_type: offline\n      max_age: 0\n      flag: no\n");
    assert_eq!(config.auth_params["max_age"], "0");
    assert_eq!(config.auth_params["flag"], "no");
}

#[test]
fn refresh_window_is_a_positive_duration_up_to_a_day() {
    assert_eq!(
        valid("    refresh_window: 90s\n").refresh_window,
        Duration::from_secs(90)
    );
    assert_eq!(
        valid("    refresh_window: 500ms\n").refresh_window,
        Duration::from_millis(500)
    );
    assert_eq!(
        valid("    refresh_window: 24h\n").refresh_window,
        Duration::from_secs(86_400)
    );
    assert_rejects(
        "    refresh_window: 0s\n",
        field::REFRESH_WINDOW,
        "must be greater than 0",
    );
    assert_rejects(
        "    refresh_window: 24h1ms\n",
        field::REFRESH_WINDOW,
        "at most 24h",
    );
    assert_rejects(
        "    refresh_window: 600\n",
        field::REFRESH_WINDOW,
        "without a unit",
    );
    assert_rejects(
        "    refresh_window: 1m1h\n",
        field::REFRESH_WINDOW,
        "largest to smallest",
    );
}

#[test]
fn ca_file_must_be_an_absolute_path() {
    for path in [
        "/etc/ssl/ca.pem",
        "C:\\certs\\ca.pem",
        "d:/ca.pem",
        "\\\\server\\share\\ca.pem",
    ] {
        let config = valid(&format!("  tls:\n    ca_file: '{path}'\n"));
        assert!(config.ca_file.is_some(), "{path}");
    }
    assert_rejects(
        "  tls:\n    ca_file: ca.pem\n",
        field::TLS_CA_FILE,
        "must be an absolute path",
    );
    assert_rejects(
        "  tls:\n    ca_file: ~/ca.pem\n",
        field::TLS_CA_FILE,
        "~ is not expanded",
    );
    assert_rejects(
        "  tls:\n    ca_file: \"\"\n",
        field::TLS_CA_FILE,
        "must be a path",
    );
    assert_rejects(
        "  tls:\n    ca_file: \"/a\\0b\"\n",
        field::TLS_CA_FILE,
        "control characters",
    );
}

#[test]
fn secrets_backend_is_one_of_three() {
    assert_eq!(
        valid("  secrets:\n    backend: keyring\n").secrets_backend,
        SecretsBackend::Keyring
    );
    assert_eq!(
        valid("  secrets:\n    backend: auto\n").secrets_backend,
        SecretsBackend::Auto
    );
    assert_rejects(
        "  secrets:\n    backend: Keyring\n",
        field::SECRETS_BACKEND,
        "\"Keyring\" is not one of auto, keyring, file",
    );
}

#[test]
fn anthropic_path_prefix_is_empty_auto_or_a_path() {
    for prefix in ["\"\"", "auto", "/anthropic", "/api/anthropic"] {
        valid(&format!("  setup:\n    anthropic_path_prefix: {prefix}\n"));
    }
    for prefix in [
        "anthropic",
        "/anthropic/",
        "/",
        "\"/a b\"",
        "//a",
        "\"/a?b\"",
        "Auto",
    ] {
        assert_rejects(
            &format!("  setup:\n    anthropic_path_prefix: {prefix}\n"),
            field::ANTHROPIC_PATH_PREFIX,
            "must be \"\", \"auto\" or a path",
        );
    }
}

#[test]
fn models_are_printable_tokens() {
    let config = valid("  models:\n    - arn:aws:bedrock:us-east-1:1:inference-profile/x\n");
    assert_eq!(config.models.len(), 1);
    for model in ["\"\"", "\"a b\"", "\"a\\tb\"", "\"é\""] {
        assert_rejects(
            &format!("  models: [ok-haiku, {model}]\n"),
            field::MODELS,
            "is not a model id",
        );
    }
}

#[test]
fn configured_tools_entries_need_every_field() {
    let errors =
        rejected("  configured_tools:\n    - {tool: a, mode: helper, file: /f}\n    - {tool: b}\n");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "llm.configured_tools[1].mode",
            "llm.configured_tools[1].file"
        ]
    );
}

#[test]
fn every_invalid_field_is_reported() {
    let text = "llm:\n  gateway_url: http://g\n  oidc:\n    issuer: http://i\n    client_id: \"\"\n    \
                callback_port: 1\n    refresh_window: 0s\n  proxy:\n    listen_port: 2\n  secrets:\n    \
                backend: vault\n";
    let error = doc(text)
        .validate()
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let fields: Vec<&str> = error
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            field::GATEWAY_URL,
            field::ISSUER,
            field::CLIENT_ID,
            field::CALLBACK_PORT,
            field::REFRESH_WINDOW,
            field::PROXY_LISTEN_PORT,
            field::SECRETS_BACKEND,
        ]
    );
    let message = error.to_string();
    for field in fields {
        assert!(message.contains(&format!("\n  {field}: ")), "{message}");
    }
}

#[test]
fn partial_validation_checks_only_what_is_set() {
    // Only the gateway: valid so far, but not usable yet.
    let partial = doc("llm:\n  gateway_url: https://g.example\n");
    assert_eq!(partial.check(), Ok(()));
    assert_eq!(
        partial.validate(),
        Err(ConfigError::Unconfigured {
            missing: vec![field::ISSUER, field::CLIENT_ID]
        })
    );

    // A broken field is reported even while incomplete, without the missing ones.
    let broken = doc("llm:\n  proxy:\n    listen_port: 80\n");
    let error = broken.check().err().unwrap_or_else(|| panic!("accepted"));
    let fields: Vec<&str> = error
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, [field::PROXY_LISTEN_PORT]);

    // Full validation lists the missing fields first, then the broken ones.
    let error = broken
        .validate()
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let fields: Vec<&str> = error
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(
        fields,
        [
            field::GATEWAY_URL,
            field::ISSUER,
            field::CLIENT_ID,
            field::PROXY_LISTEN_PORT
        ]
    );
    assert!(
        error.field_errors()[0]
            .problem
            .contains("llmauth config set --gateway-url URL")
    );

    // Once the trio is complete, check() is full validation.
    assert_eq!(with("").check(), Ok(()));
}

#[test]
fn unconfigured_document_names_the_three_fields() {
    let error = ConfigDocument::new()
        .validate()
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(
        error,
        ConfigError::Unconfigured {
            missing: vec![field::GATEWAY_URL, field::ISSUER, field::CLIENT_ID]
        }
    );
    assert!(
        error
            .to_string()
            .contains("run `llmauth config set --gateway-url URL --issuer URL --client-id ID`")
    );
}

#[test]
fn version_must_be_one() {
    assert!(doc(&format!("{TRIO}  version: 1\n")).validate().is_ok());
    for version in ["0", "-3"] {
        let text = format!("{TRIO}  version: {version}\n");
        assert_eq!(
            only_field(doc(&text).validate(), field::VERSION),
            "must be 1"
        );
    }
}

#[test]
fn extra_errors_join_the_list() {
    let ca = FieldError::new(field::TLS_CA_FILE, "holds no PEM certificate");
    let document = with("  tls:\n    ca_file: /etc/ca.pem\n");
    assert_eq!(
        document.validate_with(vec![ca.clone()]),
        Err(ConfigError::Invalid(vec![ca.clone()]))
    );
    let broken = with("    callback_port: 1\n");
    let error = broken
        .validate_with(vec![ca.clone()])
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.field_errors().len(), 2);
    assert_eq!(error.field_errors()[1], ca);
}

#[test]
fn validation_is_idempotent() {
    let document = with("    scopes: [profile, profile]\n");
    assert_eq!(document.validate(), document.validate());
    let broken = with("    callback_port: 1\n");
    assert_eq!(broken.validate(), broken.validate());
}

/// Requirement 4: `llm.oidc.tenants` holds Entra tenant ids (GUIDs, lower-cased, repeats
/// dropped), only with Entra's multi-tenant issuers, and is not part of the session key.
#[test]
fn tenants_are_guids_for_entra_multi_tenant_issuers_only() {
    const A: &str = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490";
    let entra = |issuer: &str, extra: &str| {
        doc(&format!(
            "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    \
             issuer: {issuer}\n    client_id: c\n{extra}"
        ))
    };
    let common = "https://login.microsoftonline.com/common/v2.0";
    let listed = format!("    tenants: [\"{}\", {A}]\n", A.to_ascii_uppercase());
    let config = entra(common, &listed).validate().unwrap();
    assert_eq!(config.provider.tenants.ids(), [A]);
    let organizations = entra(
        "https://login.microsoftonline.com/organizations/v2.0",
        &listed,
    );
    assert!(organizations.validate().is_ok());
    // The list restricts sign-ins; it does not move the session.
    assert_eq!(
        config.session_key(),
        entra(common, "").validate().unwrap().session_key()
    );
    assert!(entra(common, "    tenants: []\n").validate().is_ok());

    // Not a GUID: each value named.
    let errors = entra(common, "    tenants: [contoso.onmicrosoft.com, common]\n")
        .validate()
        .unwrap_err();
    let problems: Vec<&str> = errors
        .field_errors()
        .iter()
        .filter(|e| e.field == field::TENANTS)
        .map(|e| e.problem.as_str())
        .collect();
    assert_eq!(problems.len(), 2, "{errors}");
    assert!(problems[0].contains("\"contoso.onmicrosoft.com\" is not an Entra tenant id"));

    // A single-tenant Entra issuer, `consumers`, or another provider: refused, saying why.
    for (issuer, why) in [
        (
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
            "already decides",
        ),
        (
            "https://login.microsoftonline.com/consumers/v2.0",
            "already decides",
        ),
        ("https://auth.example.com", "the IdP alone decides"),
    ] {
        let error = entra(issuer, &listed).validate().unwrap_err();
        let [only] = error.field_errors() else {
            panic!("{error}");
        };
        assert_eq!(only.field, field::TENANTS, "{issuer}");
        for part in ["multi-tenant issuers", why, "--tenants \"\""] {
            assert!(only.problem.contains(part), "{issuer}: {part}: {only}");
        }
    }
    // `config set --tenants` before `--issuer`: judged once the issuer is known.
    let partial = doc(&format!("llm:\n  oidc:\n{listed}"));
    assert!(partial.check().is_ok());

    // `config set --tenants` writes a list that reads back as written; `--tenants ""`
    // (an empty list) removes the key.
    let mut document = entra(common, "");
    let tenants = |ids: &[&str]| crate::config::ConfigChanges {
        tenants: Some(ids.iter().map(|id| (*id).to_owned()).collect()),
        ..Default::default()
    };
    document.apply(&tenants(&[A])).unwrap();
    let text = document.render().unwrap();
    assert!(
        text.contains("    tenants:\n      - ") && text.contains(A),
        "{text}"
    );
    assert_eq!(doc(&text).raw().oidc, document.raw().oidc);
    assert!(text.contains("  version: 1\n"), "no version bump: {text}");
    document.apply(&tenants(&[])).unwrap();
    assert_eq!(document.raw().oidc.tenants, None);
    let mut elsewhere = entra("https://auth.example.com", "");
    assert!(
        elsewhere.apply(&tenants(&[A])).is_err(),
        "refused, file unchanged"
    );
    assert_eq!(elsewhere.raw().oidc.tenants, None);
}
