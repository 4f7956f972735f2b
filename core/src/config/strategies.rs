//! proptest strategies for configurations: valid ones, and ones with exactly one invalid
//! field (paired with the field that must be named).

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

use super::{ConfigChanges, ConfiguredTool, RESERVED_AUTH_PARAMS, SecretsBackend, field};
use crate::provider::{AudienceVia, CallbackHost, OfflineVia, Preset, TokenKind};

fn host() -> impl Strategy<Value = String> {
    // `xn--` labels are punycode, which `url` checks; real ones are not generated here.
    "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9]{1,5}){0,2}"
        .prop_filter("punycode", |h| !h.contains("xn--"))
}

fn url_path() -> impl Strategy<Value = String> {
    "(/[A-Za-z0-9._~-]{1,8}){0,3}/?"
}

fn port_suffix() -> impl Strategy<Value = String> {
    option::of(1u16..).prop_map(|port| port.map(|p| format!(":{p}")).unwrap_or_default())
}

/// An https URL with a host, as written by people (with or without a path or trailing `/`).
pub fn https_url() -> impl Strategy<Value = String> {
    (host(), port_suffix(), url_path())
        .prop_map(|(host, port, path)| format!("https://{host}{port}{path}"))
}

/// A valid issuer: https anywhere, or http on a loopback host.
pub fn issuer() -> impl Strategy<Value = String> {
    let loopback = prop_oneof![
        Just("localhost".to_owned()),
        (0u8..=255, 0u8..=255, 1u8..=254).prop_map(|(a, b, c)| format!("127.{a}.{b}.{c}")),
        Just("[::1]".to_owned()),
    ];
    prop_oneof![
        https_url(),
        (loopback, port_suffix(), url_path())
            .prop_map(|(host, port, path)| format!("http://{host}{port}{path}")),
    ]
}

/// A client id: printable ASCII without surrounding spaces, including ones YAML would read as
/// numbers, booleans or null if they were not kept as strings.
pub fn client_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]([ -~]{0,18}[!-~])?",
        Just("0123".to_owned()),
        Just("no".to_owned()),
        Just("1.10".to_owned()),
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just("1e3".to_owned()),
    ]
}

fn scope() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_:.]{1,12}", "[!#-\\[\\]-~]{1,10}"]
}

fn auth_params() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(
        "[a-z_]{1,12}".prop_filter("reserved", |k| !RESERVED_AUTH_PARAMS.contains(&k.as_str())),
        "[ -~]{1,12}|[^\\p{Cc}]{1,6}",
        0..4,
    )
}

fn refresh_window() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u64..=24).prop_map(|h| format!("{h}h")),
        (1u64..=1440).prop_map(|m| format!("{m}m")),
        (1u64..=86_400).prop_map(|s| format!("{s}s")),
        (1u64..=999).prop_map(|ms| format!("{ms}ms")),
        (0u64..=23, 1u64..=59).prop_map(|(h, m)| format!("{h}h{m}m")),
    ]
}

fn ca_file() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[a-z]{1,8}/[a-z0-9 ._-]{1,12}\\.pem",
        "[A-Z]:\\\\[a-z]{1,8}\\\\[a-z]{1,8}\\.pem",
    ]
}

fn backend() -> impl Strategy<Value = SecretsBackend> {
    prop_oneof![
        Just(SecretsBackend::Auto),
        Just(SecretsBackend::Keyring),
        Just(SecretsBackend::File),
    ]
}

fn path_prefix() -> impl Strategy<Value = String> {
    prop_oneof![Just("auto".to_owned()), "(/[a-z0-9_-]{1,10}){1,2}"]
}

/// A model id as people write them: Anthropic and Bedrock ids, inference-profile ARNs,
/// `[1m]` variants, and ids matching no tier.
pub fn model_id() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop_oneof![Just("us."), Just("eu."), Just("global."), Just("")],
            prop_oneof![Just("haiku"), Just("sonnet"), Just("opus"), Just("Opus")],
            "[0-9]-[0-9]{1,2}",
            prop_oneof![Just(""), Just("-v1:0"), Just("[1m]")],
        )
            .prop_map(|(region, tier, version, suffix)| {
                format!("{region}anthropic.claude-{tier}-{version}{suffix}")
            }),
        "arn:aws:bedrock:[a-z]{2}-[a-z]{4}-1:[0-9]{4}:inference-profile/[a-z.-]{1,12}",
        "[!-~]{1,16}",
    ]
}

/// One of the spellings of a setting, as `config set` writes it.
fn spelled<T: Copy + core::fmt::Debug + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> impl Strategy<Value = String> {
    proptest::sample::select(all).prop_map(move |value| name(value).to_owned())
}

/// `llm.oidc.provider`: `auto` or any preset.
fn provider() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("auto".to_owned()),
        spelled(Preset::ALL, Preset::as_str),
    ]
}

/// A redirect URL llmauth accepts.
fn redirect_url() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("127.0.0.1"), Just("localhost")],
        1024u16..,
        "(/[a-z0-9_-]{1,8}){1,2}",
    )
        .prop_map(|(host, port, path)| format!("http://{host}:{port}{path}"))
}

/// The provider settings of a valid configuration (what `config set` flags give).
#[derive(Clone, Debug)]
struct ProviderFlags {
    provider: Option<String>,
    audience_via: Option<String>,
    offline_via: Option<String>,
    redirect_url: Option<String>,
    callback_host: Option<String>,
    resend_scope: Option<bool>,
    token_kind: Option<String>,
    client_secret_stored: Option<bool>,
}

fn provider_flags() -> impl Strategy<Value = ProviderFlags> {
    (
        option::of(provider()),
        // Never `resource` over the default: with the Entra preset (chosen by another
        // change, or from the issuer) that is the one refused combination.
        option::of(spelled(&AudienceVia::ALL[1..], AudienceVia::as_str)),
        option::of(spelled(OfflineVia::ALL, OfflineVia::as_str)),
        option::of(redirect_url()),
        option::of(spelled(CallbackHost::ALL, CallbackHost::as_str)),
        option::of(any::<bool>()),
        option::of(spelled(TokenKind::ALL, TokenKind::as_str)),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(
                provider,
                audience_via,
                offline_via,
                redirect_url,
                callback_host,
                resend_scope,
                token_kind,
                client_secret_stored,
            )| {
                // Okta's preset refuses its org authorization server when it hands out the
                // access token, authentik's an audience it cannot issue: naming the setting
                // overrides the preset (and a later change never takes it back here).
                let named = |preset: Preset| provider.as_deref() == Some(preset.as_str());
                let token_kind = token_kind
                    .or_else(|| named(Preset::Okta).then(|| TokenKind::Id.as_str().to_owned()));
                let audience_via = audience_via.or_else(|| {
                    named(Preset::Authentik).then(|| AudienceVia::Scope.as_str().to_owned())
                });
                ProviderFlags {
                    provider,
                    audience_via,
                    offline_via,
                    redirect_url,
                    callback_host,
                    resend_scope,
                    token_kind,
                    client_secret_stored,
                }
            },
        )
}

/// The ports the sign-in listener may use with `changes`.
fn callback_ports(changes: &ConfigChanges) -> Vec<i64> {
    let redirect = changes.redirect_url.as_deref().and_then(|url| {
        url.rsplit_once(':')?
            .1
            .split('/')
            .next()?
            .parse::<i64>()
            .ok()
    });
    [redirect, changes.callback_port, Some(8666)]
        .into_iter()
        .flatten()
        .collect()
}

/// `config set` changes that give a complete, valid configuration when applied to an empty
/// document.
pub fn valid_changes() -> impl Strategy<Value = ConfigChanges> {
    let required = (https_url(), issuer(), client_id());
    let oidc = (
        option::of(vec(scope(), 1..4)),
        option::of(https_url()),
        option::of(prop_oneof![Just(0i64), 1024i64..=65535]),
        option::of(prop_oneof![
            Just("consent".to_owned()),
            Just("login".to_owned()),
            "[ -~]{1,10}"
        ]),
        auth_params(),
        option::of(refresh_window()),
    );
    let rest = (
        option::of(1024i64..=65535),
        option::of(any::<bool>()),
        option::of(ca_file()),
        option::of(any::<bool>()),
        option::of(backend()),
        option::of(path_prefix()),
    );
    let models = (
        option::of(vec(model_id(), 0..4)),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    );
    (required, oidc, rest, models, provider_flags())
        .prop_map(|(required, oidc, rest, models, flags)| {
            let (gateway_url, issuer, client_id) = required;
            let (scopes, audience, callback_port, prompt, auth_params, refresh_window) = oidc;
            let (proxy_port, require_local_key, ca_file, tls_skip_verify, secrets_backend, prefix) =
                rest;
            let (models, bedrock_compat, bedrock_enable_1m) = models;
            ConfigChanges {
                gateway_url: Some(gateway_url),
                issuer: Some(issuer),
                client_id: Some(client_id),
                audience,
                scopes,
                prompt,
                auth_params: auth_params.into_iter().collect(),
                refresh_window,
                proxy_port,
                callback_port,
                require_local_key,
                ca_file,
                tls_skip_verify,
                secrets_backend,
                anthropic_path_prefix: prefix,
                models,
                bedrock_compat,
                bedrock_enable_1m,
                provider: flags.provider,
                audience_via: flags.audience_via,
                offline_via: flags.offline_via,
                redirect_url: flags.redirect_url,
                callback_host: flags.callback_host,
                resend_scope: flags.resend_scope,
                token_kind: flags.token_kind,
                // Valid only with an Entra multi-tenant issuer, which `issuer()` never is.
                tenants: None,
                client_secret_stored: flags.client_secret_stored,
            }
        })
        .prop_filter("callback and proxy ports must differ", |changes| {
            let proxy = changes.proxy_port.unwrap_or(14000);
            !callback_ports(changes).contains(&proxy)
        })
}

/// Entries for `llm.configured_tools`.
pub fn configured_tools() -> impl Strategy<Value = Vec<ConfiguredTool>> {
    vec(
        ("[a-z-]{1,12}", "helper|proxy", "[^\\p{Cc}]{1,20}")
            .prop_map(|(tool, mode, file)| ConfiguredTool { tool, mode, file }),
        0..3,
    )
}

/// A change that makes exactly one field invalid, with the dotted field that must be
/// named in the error.
pub fn invalid_change() -> impl Strategy<Value = (ConfigChanges, String)> {
    let base = ConfigChanges::default;
    prop_oneof![
        prop_oneof![
            host().prop_map(|h| format!("http://{h}")),
            host().prop_map(|h| format!("ftp://{h}")),
            Just("https://".to_owned()),
            Just("not a url".to_owned()),
            Just(String::new()),
            host().prop_map(|h| format!("https://user:pw@{h}")),
            host().prop_map(|h| format!("https://{h}/?q=1")),
        ]
        .prop_map(move |v| (
            ConfigChanges {
                gateway_url: Some(v),
                ..base()
            },
            field::GATEWAY_URL.to_owned()
        )),
        prop_oneof![
            "[a-k][a-z]{2,8}\\.com".prop_map(|h| format!("http://{h}")),
            Just("https://auth.example.com#frag".to_owned()),
            Just(" https://auth.example.com".to_owned()),
        ]
        .prop_map(move |v| (
            ConfigChanges {
                issuer: Some(v),
                ..base()
            },
            field::ISSUER.to_owned()
        )),
        prop_oneof![
            Just(String::new()),
            "[a-z]{0,4}[\\n\\t\u{e9}][a-z]{0,4}",
            Just(" x".to_owned())
        ]
        .prop_map(move |v| (
            ConfigChanges {
                client_id: Some(v),
                ..base()
            },
            field::CLIENT_ID.to_owned()
        )),
        prop_oneof![
            Just("a b".to_owned()),
            Just("q\"".to_owned()),
            Just(String::new())
        ]
        .prop_map(move |v| (
            ConfigChanges {
                scopes: Some(vec!["openid".into(), v]),
                ..base()
            },
            field::SCOPES.to_owned()
        )),
        // Invalid however the audience is requested (a URI for `resource`, one identifier
        // otherwise).
        prop_oneof![
            Just("a b".to_owned()),
            Just("q\"".to_owned()),
            Just("back\\slash".to_owned())
        ]
        .prop_map(move |v| (
            ConfigChanges {
                audience: Some(v),
                ..base()
            },
            field::AUDIENCE.to_owned()
        )),
        prop_oneof![i64::MIN..1024, 65536..i64::MAX].prop_map(move |v| (
            ConfigChanges {
                proxy_port: Some(v),
                ..base()
            },
            field::PROXY_LISTEN_PORT.to_owned()
        )),
        prop_oneof![i64::MIN..0, 1i64..1024, 65536..i64::MAX].prop_map(move |v| (
            ConfigChanges {
                callback_port: Some(v),
                ..base()
            },
            field::CALLBACK_PORT.to_owned()
        )),
        prop_oneof![
            Just("0s".to_owned()),
            Just("25h".to_owned()),
            Just("10".to_owned()),
            Just("1m1h".to_owned())
        ]
        .prop_map(move |v| (
            ConfigChanges {
                refresh_window: Some(v),
                ..base()
            },
            field::REFRESH_WINDOW.to_owned()
        )),
        prop_oneof![
            Just("relative/ca.pem".to_owned()),
            Just("~/ca.pem".to_owned()),
            Just("  ".to_owned())
        ]
        .prop_map(move |v| (
            ConfigChanges {
                ca_file: Some(v),
                ..base()
            },
            field::TLS_CA_FILE.to_owned()
        )),
        "[a-z]{0,3}[\\n\\x07\u{e9}]".prop_map(move |v| (
            ConfigChanges {
                prompt: Some(v),
                ..base()
            },
            field::PROMPT.to_owned()
        )),
        proptest::sample::select(RESERVED_AUTH_PARAMS.to_vec()).prop_map(move |k| {
            (
                ConfigChanges {
                    auth_params: vec![(k.to_owned(), "x".to_owned())],
                    ..base()
                },
                format!("{}.{k}", field::AUTH_PARAMS),
            )
        }),
        prop_oneof![
            Just("anthropic".to_owned()),
            Just("/a/".to_owned()),
            Just("/a b".to_owned())
        ]
        .prop_map(move |v| (
            ConfigChanges {
                anthropic_path_prefix: Some(v),
                ..base()
            },
            field::ANTHROPIC_PATH_PREFIX.to_owned()
        )),
        (
            vec(model_id(), 0..3),
            prop_oneof![Just(String::new()), "[a-z]{0,4}[ \\t\u{e9}][a-z]{0,4}"]
        )
            .prop_map(move |(mut models, bad)| {
                models.push(bad);
                (
                    ConfigChanges {
                        models: Some(models),
                        ..base()
                    },
                    field::MODELS.to_owned(),
                )
            }),
        invalid_provider_setting(),
        prop_oneof![
            Just("contoso.onmicrosoft.com".to_owned()),
            Just("common".to_owned()),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{11}",
        ]
        .prop_map(move |v| (
            ConfigChanges {
                tenants: Some(vec![v]),
                ..base()
            },
            field::TENANTS.to_owned()
        )),
    ]
}

/// A provider setting with a value that is not one of its spellings.
fn invalid_provider_setting() -> impl Strategy<Value = (ConfigChanges, String)> {
    let base = ConfigChanges::default;
    let misspelled = prop_oneof![
        Just("Entra".to_owned()),
        Just("both".to_owned()),
        Just("::1".to_owned()),
        "[a-z]{1,3}[0-9]{1,2}",
    ];
    (misspelled, 0u8..6).prop_map(move |(value, which)| {
        let (changes, field) = match which {
            0 => (
                ConfigChanges {
                    provider: Some(value),
                    ..base()
                },
                field::PROVIDER,
            ),
            1 => (
                ConfigChanges {
                    audience_via: Some(value),
                    ..base()
                },
                field::AUDIENCE_VIA,
            ),
            2 => (
                ConfigChanges {
                    offline_via: Some(value),
                    ..base()
                },
                field::OFFLINE_VIA,
            ),
            3 => (
                ConfigChanges {
                    callback_host: Some(value),
                    ..base()
                },
                field::CALLBACK_HOST,
            ),
            4 => (
                ConfigChanges {
                    token_kind: Some(value),
                    ..base()
                },
                field::TOKEN_KIND,
            ),
            _ => (
                ConfigChanges {
                    redirect_url: Some(format!("https://127.0.0.1:9000/{value}")),
                    ..base()
                },
                field::REDIRECT_URL,
            ),
        };
        (changes, field.to_owned())
    })
}
