use super::*;
use crate::config::{ConfigChanges, SecretsBackend, field, fuzzing, strategies};
use proptest::prelude::*;

fn doc(text: &str) -> ConfigDocument {
    ConfigDocument::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn render(document: &ConfigDocument) -> String {
    document.render().unwrap_or_else(|e| panic!("{e}"))
}

fn trio() -> ConfigChanges {
    ConfigChanges {
        gateway_url: Some("https://llm.example.com".into()),
        issuer: Some("https://auth.example.com".into()),
        client_id: Some("my-client-id".into()),
        ..ConfigChanges::default()
    }
}

const TRIO_BLOCK: &str = "llm:\n  version: 1\n  gateway_url: https://llm.example.com\n  oidc:\n    \
                          issuer: https://auth.example.com\n    client_id: my-client-id\n";

fn parse_err(text: &str) -> ConfigError {
    match ConfigDocument::parse(text) {
        Ok(document) => panic!("parsed: {text}\n{document:?}"),
        Err(error) => error,
    }
}

// --- reading ---------------------------------------------------------------------------

#[test]
fn empty_or_foreign_files_are_unconfigured_documents() {
    for text in [
        "",
        "\n",
        "# just a comment\n",
        "---\n",
        "other: 1\nmore: [a]\n",
        "llm:\n",
        "llm: ~\n",
        "llm: {}\n",
    ] {
        let document = doc(text);
        assert_eq!(document.raw(), &RawConfig::default(), "{text:?}");
        assert!(!document.is_complete());
        assert!(
            matches!(document.validate(), Err(ConfigError::Unconfigured { .. })),
            "{text:?}"
        );
    }
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let cases = [
        ("llm:\n  oidc:\n    isuer: https://x\n", "llm.oidc.isuer", 3),
        ("# c\nllm:\n  gateway: https://x\n", "llm.gateway", 3),
        (
            "llm:\n  proxy:\n    listen_port: 15000\n    port: 1\n",
            "llm.proxy.port",
            4,
        ),
        ("llm:\n  tls: {ca: /x}\n", "llm.tls.ca", 2),
        (
            "llm:\n  secrets:\n    backend: auto\n    password: x\n",
            "llm.secrets.password",
            4,
        ),
        ("llm:\n  setup:\n    prefix: /a\n", "llm.setup.prefix", 3),
        (
            "llm:\n  bedrock:\n    compat: true\n    enable-1m: true\n",
            "llm.bedrock.enable-1m",
            4,
        ),
        ("llm:\n  model: [a]\n", "llm.model", 2),
        (
            "llm:\n  configured_tools:\n    - {tool: a, mode: b, file: c}\n    - tool: a\n      name: b\n",
            "llm.configured_tools[1].name",
            5,
        ),
        (
            "a: 1\nllm:\n  oidc:\n    issuer: https://x\n  extra: 1\n  other: 2\n",
            "llm.extra",
            5,
        ),
    ];
    for (text, key, line) in cases {
        assert_eq!(
            parse_err(text),
            ConfigError::UnknownKey {
                key: key.to_owned(),
                line
            },
            "{text}"
        );
    }
    assert_eq!(
        parse_err("llm:\n  oidc:\n    isuer: x\n").to_string(),
        "line 3: unknown key `llm.oidc.isuer` (did you mean `llm.oidc.issuer`?)"
    );
}

#[test]
fn syntax_errors_report_their_line() {
    let cases = [
        ("a: 1\nb: \"unclosed\n", 2),
        ("llm:\n  gateway_url: x\n   oidc: y\n", 3),
        ("a: 1\nllm:\n  oidc: {issuer: x\n", 3),
        ("llm:\n\tgateway_url: x\n", 2),
        ("a: 1\na: 2\n", 2),
        ("a: 1\n---\nb: 2\n", 3),
    ];
    for (text, line) in cases {
        let error = parse_err(text);
        let ConfigError::Parse {
            line: got,
            column,
            message,
        } = error
        else {
            panic!("{text:?}: {error:?}");
        };
        assert_eq!(got, line, "{text:?}: {message}");
        assert!(column >= 1);
        assert!(
            !message.contains("DuplicateKeyPolicy") && !message.contains("from_str"),
            "{message}"
        );
    }
}

#[test]
fn wrong_types_name_the_field_and_line() {
    let cases = [
        (
            "llm:\n  oidc:\n    callback_port: abc\n",
            "llm.oidc.callback_port",
            3,
        ),
        ("llm:\n  gateway_url: [a]\n", "llm.gateway_url", 2),
        (
            "llm:\n  proxy:\n    require_local_key: maybe\n",
            "llm.proxy.require_local_key",
            3,
        ),
        ("llm:\n  oidc:\n    scopes: openid\n", "llm.oidc.scopes", 3),
        (
            "llm:\n  oidc:\n    auth_params:\n      a: [1]\n",
            "llm.oidc.auth_params",
            4,
        ),
        ("llm:\n  oidc: 5\n", "llm.oidc", 2),
        ("x: 1\nllm: [1]\n", "llm", 2),
        (
            "llm:\n  configured_tools: {tool: a}\n",
            "llm.configured_tools",
            2,
        ),
    ];
    for (text, field, line) in cases {
        let error = parse_err(text);
        let ConfigError::Parse {
            line: got, message, ..
        } = error
        else {
            panic!("{text:?}: {error:?}");
        };
        assert!(
            message.starts_with(&format!("{field}: ")),
            "{text:?}: {message}"
        );
        assert_eq!(got, line, "{text:?}: {message}");
    }
}

#[test]
fn top_level_must_be_a_mapping() {
    for text in ["just text\n", "- a\n- b\n"] {
        assert!(
            matches!(parse_err(text), ConfigError::Parse { line: 1, .. }),
            "{text}"
        );
    }
}

#[test]
fn newer_versions_are_refused() {
    assert_eq!(
        parse_err("llm:\n  version: 2\n  brand_new_key: x\n"),
        ConfigError::UnsupportedVersion { found: 2 }
    );
    assert_eq!(
        parse_err("llm:\n  version: 7\n").to_string(),
        "written by a newer llmauth (version 7) — upgrade llmauth"
    );
    assert_eq!(doc("llm:\n  version: 1\n").raw().version, Some(1));
    assert_eq!(doc("llm:\n  gateway_url: https://g\n").raw().version, None);
}

#[test]
fn yaml_lookalikes_stay_strings() {
    let document = doc(
        "llm:\n  oidc:\n    client_id: 0123\n    prompt: no\n    audience: 1.10\n    \
         auth_params:\n      a: yes\n      b: 0x1F\n      c: 1e3\n    scopes: [on, 007]\n",
    );
    let oidc = &document.raw().oidc;
    assert_eq!(oidc.client_id.as_deref(), Some("0123"));
    assert_eq!(oidc.prompt.as_deref(), Some("no"));
    assert_eq!(oidc.audience.as_deref(), Some("1.10"));
    let params = oidc.auth_params.clone().unwrap_or_default();
    assert_eq!(params["a"], "yes");
    assert_eq!(params["b"], "0x1F");
    assert_eq!(params["c"], "1e3");
    assert_eq!(oidc.scopes.clone().unwrap_or_default(), ["on", "007"]);
}

#[test]
fn null_values_mean_unset() {
    let document =
        doc("llm:\n  gateway_url:\n  oidc:\n    issuer: ~\n    prompt: null\n  proxy:\n");
    assert_eq!(document.raw(), &RawConfig::default());
}

#[test]
fn anchors_and_aliases_are_read() {
    let document = doc("base: &gw https://llm.example.com\nllm:\n  gateway_url: *gw\n");
    assert_eq!(
        document.raw().gateway_url.as_deref(),
        Some("https://llm.example.com")
    );
}

#[test]
fn bytes_must_be_utf8() {
    assert_eq!(
        ConfigDocument::parse_bytes(b"a: 1\nb: \xff\n"),
        Err(ConfigError::Parse {
            line: 2,
            column: 4,
            message: "the file is not valid UTF-8".into()
        })
    );
    let with_bom = "\u{feff}llm:\n  gateway_url: https://g\n";
    let document =
        ConfigDocument::parse_bytes(with_bom.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(document.raw().gateway_url.as_deref(), Some("https://g"));
    let mut changed = document.clone();
    changed.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert!(render(&changed).starts_with("\u{feff}llm:\n  version: 1\n"));
}

#[test]
fn hostile_input_does_not_panic() {
    let deep_flow = format!("llm: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let deep_block: String = (0..2000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let bomb = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n\
                c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n\
                e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n";
    for text in [
        deep_flow.as_str(),
        deep_block.as_str(),
        bomb,
        "\0",
        "llm: !!binary x",
        "%YAML 9.9\n---\n",
    ] {
        fuzzing::config_parse(text.as_bytes());
    }
}

// --- rendering -------------------------------------------------------------------------

#[test]
fn renders_into_an_empty_file() {
    let mut document = ConfigDocument::new();
    document.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(render(&document), TRIO_BLOCK);
}

#[test]
fn renders_every_field() {
    let mut document = ConfigDocument::new();
    let changes = ConfigChanges {
        scopes: Some(vec!["openid".into(), "profile".into()]),
        audience: Some("https://llm.example.com".into()),
        callback_port: Some(0),
        prompt: Some("consent".into()),
        auth_params: vec![
            ("access_type".into(), "offline".into()),
            ("max_age".into(), "0".into()),
        ],
        refresh_window: Some("5m".into()),
        proxy_port: Some(15000),
        require_local_key: Some(false),
        ca_file: Some("/etc/ssl/corp ca.pem".into()),
        tls_skip_verify: Some(true),
        secrets_backend: Some(SecretsBackend::File),
        anthropic_path_prefix: Some("/anthropic".into()),
        ..trio()
    };
    document.apply(&changes).unwrap_or_else(|e| panic!("{e}"));
    document
        .set_configured_tools(vec![ConfiguredTool {
            tool: "claude-code".into(),
            mode: "helper".into(),
            file: "/home/u/.claude/settings.json".into(),
        }])
        .unwrap_or_else(|e| panic!("{e}"));
    let expected = "llm:\n  version: 1\n  gateway_url: https://llm.example.com\n  oidc:\n    \
        issuer: https://auth.example.com\n    client_id: my-client-id\n    scopes:\n      - openid\n      \
        - profile\n    audience: https://llm.example.com\n    callback_port: 0\n    prompt: consent\n    \
        auth_params:\n      access_type: offline\n      max_age: \"0\"\n    refresh_window: 5m\n  \
        proxy:\n    listen_port: 15000\n    require_local_key: false\n  tls:\n    \
        ca_file: \"/etc/ssl/corp ca.pem\"\n    skip_verify: true\n  secrets:\n    backend: file\n  \
        setup:\n    anthropic_path_prefix: /anthropic\n  configured_tools:\n    - tool: claude-code\n      \
        mode: helper\n      file: /home/u/.claude/settings.json\n";
    let text = render(&document);
    assert_eq!(text, expected);
    assert_eq!(doc(&text).validate(), document.validate());
}

#[test]
fn other_top_level_keys_are_preserved_byte_for_byte() {
    let before = "# My settings\n# (hand written)\nother:   {a: 1,   b: [x, y]}   # odd spacing\n\nliteral: |\n  keep\n\n  this\n";
    let llm = "llm:\n  gateway_url: https://old.example.com # will go\n  # inner comment\n  oidc:\n    issuer: https://auth.example.com\n";
    let after = "\n# about tail\ntail:\n- 1\n-   2\n...\n";
    let mut document = doc(&format!("{before}{llm}{after}"));
    document
        .apply(&ConfigChanges {
            gateway_url: Some("https://new.example.com".into()),
            ..ConfigChanges::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let expected_block = "llm:\n  version: 1\n  gateway_url: https://new.example.com\n  oidc:\n    issuer: https://auth.example.com\n";
    assert_eq!(
        render(&document),
        format!("{before}{expected_block}{after}")
    );
}

#[test]
fn document_markers_are_kept() {
    let mut document = doc("%YAML 1.2\n---\n# head\nllm:\n  gateway_url: https://x\n...\n");
    document.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        render(&document),
        format!("%YAML 1.2\n---\n# head\n{TRIO_BLOCK}...\n")
    );

    let mut empty = doc("---\n");
    empty.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(render(&empty), format!("---\n{TRIO_BLOCK}"));
}

#[test]
fn llm_as_the_only_or_first_key() {
    let mut document =
        doc("llm: {gateway_url: https://g.example, oidc: {issuer: https://i.example}}\nz: 1\n");
    document
        .apply(&ConfigChanges {
            client_id: Some("c".into()),
            ..ConfigChanges::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        render(&document),
        "llm:\n  version: 1\n  gateway_url: https://g.example\n  oidc:\n    issuer: https://i.example\n    client_id: c\nz: 1\n"
    );
}

#[test]
fn appends_to_a_file_with_only_other_keys() {
    let mut document = doc("a: 1\nb:\n  c: 2 # note\n# trailing comment\n");
    document.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        render(&document),
        format!("a: 1\nb:\n  c: 2 # note\n{TRIO_BLOCK}# trailing comment\n")
    );

    let mut no_newline = doc("a: 1");
    no_newline.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(render(&no_newline), format!("a: 1\n{TRIO_BLOCK}"));

    let mut comment_only = doc("# nothing yet");
    comment_only
        .apply(&trio())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        render(&comment_only),
        format!("# nothing yet\n{TRIO_BLOCK}")
    );
}

#[test]
fn crlf_files_stay_crlf() {
    let mut document = doc("a: 1\r\nllm:\r\n  gateway_url: https://x\r\nb: 2\r\n");
    document.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    let text = render(&document);
    assert_eq!(
        text,
        format!("a: 1\r\n{}b: 2\r\n", TRIO_BLOCK.replace('\n', "\r\n"))
    );
}

#[test]
fn indented_top_level_keeps_its_indentation() {
    let mut document = doc("  a: 1\n  llm:\n    gateway_url: https://x\n  b: 2\n");
    document.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    let text = render(&document);
    let indented: String = TRIO_BLOCK.lines().map(|l| format!("  {l}\n")).collect();
    assert_eq!(text, format!("  a: 1\n{indented}  b: 2\n"));
}

#[test]
fn unchanged_document_renders_only_the_normalised_block() {
    let text = format!("a: 1\n{TRIO_BLOCK}b: 2\n");
    assert_eq!(render(&doc(&text)), text);
    // Without a version, rendering adds `version: 1`; nothing else changes.
    let without = "llm:\n  gateway_url: https://llm.example.com\n  oidc:\n    issuer: https://auth.example.com\n    client_id: my-client-id\n";
    assert_eq!(render(&doc(without)), TRIO_BLOCK);
}

#[test]
fn awkward_strings_round_trip_through_the_file() {
    let mut document = ConfigDocument::new();
    document
        .apply(&ConfigChanges {
            client_id: Some("0123".into()),
            prompt: Some("no".into()),
            auth_params: vec![
                ("k:v#1".into(), "#x \"y\" é".into()),
                ("n".into(), "~".into()),
            ],
            ..trio()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let text = render(&document);
    assert!(text.contains("    client_id: \"0123\"\n"), "{text}");
    assert!(text.contains("    prompt: \"no\"\n"), "{text}");
    assert_eq!(
        doc(&text).raw(),
        &RawConfig {
            version: Some(1),
            ..document.raw().clone()
        }
    );
}

#[test]
fn refuses_to_render_what_it_cannot_update_in_place() {
    let mut flow = doc("{a: 1, llm: {gateway_url: https://x}}");
    flow.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        flow.render(),
        Err(ConfigError::Unrenderable { .. })
    ));

    // An anchor defined under llm: and used elsewhere would dangle.
    let mut anchored = doc("llm:\n  gateway_url: &gw https://x\nother: *gw\n");
    anchored.apply(&trio()).unwrap_or_else(|e| panic!("{e}"));
    match anchored.render() {
        Err(ConfigError::Unrenderable { reason }) => {
            assert!(reason.contains("read back"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

// --- changes ---------------------------------------------------------------------------

#[test]
fn apply_changes_only_given_fields_and_validates() {
    let mut document = doc(&format!("{TRIO_BLOCK}  proxy:\n    listen_port: 15000\n"));
    document
        .apply(&ConfigChanges {
            prompt: Some("consent".into()),
            ..ConfigChanges::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let config = document.validate().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.prompt, "consent");
    assert_eq!(config.proxy_port, 15000);
    assert_eq!(config.client_id, "my-client-id");
}

#[test]
fn invalid_changes_leave_the_document_unchanged() {
    let original = doc(&format!("# keep\n{TRIO_BLOCK}"));
    let before = render(&original);
    let mut document = original.clone();
    let error = document
        .apply(&ConfigChanges {
            gateway_url: Some("http://plain.example.com".into()),
            proxy_port: Some(80),
            prompt: Some("login".into()),
            ..ConfigChanges::default()
        })
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    let fields: Vec<&str> = error
        .field_errors()
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert_eq!(fields, [field::GATEWAY_URL, field::PROXY_LISTEN_PORT]);
    assert_eq!(document, original);
    assert_eq!(render(&document), before);
}

#[test]
fn apply_is_partial_until_the_trio_is_complete() {
    let mut document = ConfigDocument::new();
    let step = |document: &mut ConfigDocument, changes: ConfigChanges| document.apply(&changes);
    step(
        &mut document,
        ConfigChanges {
            gateway_url: Some("https://g.example".into()),
            ..ConfigChanges::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let error = step(
        &mut document,
        ConfigChanges {
            issuer: Some("http://i.example".into()),
            ..ConfigChanges::default()
        },
    )
    .err()
    .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.field_errors()[0].field, field::ISSUER);
    step(
        &mut document,
        ConfigChanges {
            issuer: Some("http://localhost:8080".into()),
            ..ConfigChanges::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        document.validate(),
        Err(ConfigError::Unconfigured { .. })
    ));
    step(
        &mut document,
        ConfigChanges {
            client_id: Some("c".into()),
            ..ConfigChanges::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(document.validate().is_ok());
    // Complete now: clearing a required field is refused by full validation.
    let error = step(
        &mut document,
        ConfigChanges {
            client_id: Some(String::new()),
            ..ConfigChanges::default()
        },
    )
    .err()
    .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.field_errors()[0].field, field::CLIENT_ID);
}

#[test]
fn extra_errors_block_a_change() {
    let mut document = ConfigDocument::new();
    let ca = FieldError::new(field::TLS_CA_FILE, "holds no PEM certificate");
    let error = document
        .apply_with(
            &ConfigChanges {
                ca_file: Some("/x.pem".into()),
                ..trio()
            },
            vec![ca.clone()],
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error, ConfigError::Invalid(vec![ca]));
    assert_eq!(document, ConfigDocument::new());
}

#[test]
fn configured_tools_setter_replaces_the_list() {
    let mut document = doc(TRIO_BLOCK);
    let tool = |name: &str| ConfiguredTool {
        tool: name.into(),
        mode: "helper".into(),
        file: format!("/{name}.json"),
    };
    document
        .set_configured_tools(vec![tool("a"), tool("b")])
        .unwrap_or_else(|e| panic!("{e}"));
    document
        .set_configured_tools(vec![tool("c")])
        .unwrap_or_else(|e| panic!("{e}"));
    let reread = doc(&render(&document));
    assert_eq!(reread.raw().configured_tools, Some(vec![tool("c")]));
    let error = document
        .set_configured_tools(vec![ConfiguredTool::default()])
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(error.field_errors().len(), 3);
    assert_eq!(
        doc(&render(&document)).raw().configured_tools,
        Some(vec![tool("c")])
    );
    document
        .set_configured_tools(Vec::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(render(&document).ends_with("  configured_tools: []\n"));
}

// --- properties ------------------------------------------------------------------------

/// Other top-level content, as people write it, split into the text before and after
/// the `llm:` block (each piece ends with a newline and starts at column 0; keys are
/// unique).
fn surrounding() -> impl Strategy<Value = (String, String)> {
    let pieces = vec![
        "# a comment\n",
        "\n",
        "other:\n  nested: [1, 2]  # trailing\n",
        "anchors: &a\n  x: 1\nuses: *a\n",
        "text: |\n  line one\n\n  line three\n",
        "'quoted key': \"v\"\n",
        "empty:\n",
        "list:\n- a\n- b\n",
        "number: 0123\n",
        "folded: >-\n  a\n  b\n",
    ];
    let count = pieces.len();
    (
        proptest::sample::subsequence(pieces, 0..=count).prop_shuffle(),
        0..=count,
    )
        .prop_map(|(pieces, split)| {
            let split = split.min(pieces.len());
            (pieces[..split].concat(), pieces[split..].concat())
        })
}

proptest! {
    #[test]
    fn valid_configs_round_trip(changes in strategies::valid_changes(), tools in strategies::configured_tools()) {
        let mut document = ConfigDocument::new();
        prop_assert_eq!(document.apply(&changes), Ok(()));
        prop_assert_eq!(document.set_configured_tools(tools), Ok(()));
        let config = document.validate();
        prop_assert!(config.is_ok(), "{:?}", config);
        let text = document.render();
        prop_assert!(text.is_ok(), "{:?}", text);
        let text = text.unwrap_or_default();
        let reread = ConfigDocument::parse(&text);
        prop_assert!(reread.is_ok(), "{:?}\n{}", reread, text);
        let reread = reread.unwrap_or_default();
        prop_assert_eq!(reread.validate(), config.clone());
        // validate is idempotent, and rendering again gives the same text
        prop_assert_eq!(reread.validate(), reread.validate());
        prop_assert_eq!(reread.render(), Ok(text));
    }

    #[test]
    fn invalid_values_are_rejected_naming_their_field(
        start in strategies::valid_changes(),
        (change, field) in strategies::invalid_change(),
    ) {
        let mut document = ConfigDocument::new();
        prop_assert_eq!(document.apply(&start), Ok(()));
        let before = document.render();
        let snapshot = document.clone();
        let error = document.apply(&change);
        let fields: Vec<String> = error
            .as_ref()
            .err()
            .map(|e| e.field_errors().iter().map(|f| f.field.clone()).collect())
            .unwrap_or_default();
        prop_assert_eq!(fields, vec![field]);
        prop_assert_eq!(&document, &snapshot);
        prop_assert_eq!(document.render(), before);
    }

    #[test]
    fn invalid_values_are_rejected_while_incomplete(
        (change, field) in strategies::invalid_change(),
    ) {
        let mut document = ConfigDocument::new();
        let fields: Vec<String> = document
            .apply(&change)
            .err()
            .map(|e| e.field_errors().iter().map(|f| f.field.clone()).collect())
            .unwrap_or_default();
        prop_assert_eq!(fields, vec![field]);
        prop_assert_eq!(document, ConfigDocument::new());
    }

    #[test]
    fn mutated_config_files_never_panic(
        (before, after) in surrounding(),
        changes in strategies::valid_changes(),
        tools in strategies::configured_tools(),
        edits in proptest::collection::vec(
            (any::<proptest::sample::Index>(), 0usize..4, "[ \n:\\-\\[\\]{},#&*!|>'\"?a-z0-9]{0,3}"),
            1..6,
        ),
    ) {
        let mut document = ConfigDocument::new();
        prop_assert_eq!(document.apply(&changes), Ok(()));
        prop_assert_eq!(document.set_configured_tools(tools), Ok(()));
        let block = document.render().unwrap_or_default();
        let mut text = format!("{before}{block}{after}").into_bytes();
        for (at, delete, insert) in edits {
            let at = at.index(text.len() + 1);
            let end = (at + delete).min(text.len());
            text.splice(at..end, insert.bytes());
        }
        fuzzing::config_parse(&text);
    }

    #[test]
    fn yaml_like_noise_never_panics(text in "(llm:|  |oidc:|issuer:|gateway_url:|\\{|\\}|\\[|\\]|, |-|#|&a|\\*a|!!str|\"|'|~|\\?|:|\n|\r\n|[a-z0-9]{1,4}){0,40}") {
        fuzzing::config_parse(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::config_parse(&bytes);
    }
}

proptest! {
    // Each case parses and renders about a dozen files; fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn surrounding_text_is_preserved(
        (before, after) in surrounding(),
        first in strategies::valid_changes(),
        second in strategies::valid_changes(),
    ) {
        // Insert a block into foreign text, then change it: the foreign text is kept.
        let mut document = ConfigDocument::parse(&format!("{before}{after}")).unwrap_or_default();
        prop_assert_eq!(document.apply(&first), Ok(()));
        let inserted = document.render();
        prop_assert!(inserted.is_ok(), "{:?}", inserted);
        let inserted = inserted.unwrap_or_default();
        // The block goes after the last key, before trailing comments and blank lines;
        // taking it out again gives the original text.
        let mut alone = ConfigDocument::new();
        prop_assert_eq!(alone.apply(&first), Ok(()));
        let block = alone.render().unwrap_or_default();
        prop_assert_eq!(inserted.replacen(&block, "", 1), format!("{before}{after}"));

        let mut reread = ConfigDocument::parse(&inserted).unwrap_or_default();
        prop_assert_eq!(reread.apply(&second), Ok(()));
        let changed = reread.render().unwrap_or_default();
        let mut alone = ConfigDocument::new();
        prop_assert_eq!(alone.apply(&first), Ok(()));
        prop_assert_eq!(alone.apply(&second), Ok(()));
        let block = alone.render().unwrap_or_default();
        prop_assert_eq!(changed.replacen(&block, "", 1), format!("{before}{after}"));
        let expected_config = {
            let mut fresh = ConfigDocument::new();
            prop_assert_eq!(fresh.apply(&first), Ok(()));
            prop_assert_eq!(fresh.apply(&second), Ok(()));
            fresh.validate()
        };
        prop_assert_eq!(ConfigDocument::parse(&changed).and_then(|d| d.validate()), expected_config);

        // With the block written between the two parts, both parts are kept exactly.
        let block = ConfigDocument::new().render().unwrap_or_default();
        let mut between = ConfigDocument::parse(&format!("{before}{block}{after}")).unwrap_or_default();
        prop_assert_eq!(between.apply(&second), Ok(()));
        let out = between.render().unwrap_or_default();
        prop_assert!(out.starts_with(&before) && out.ends_with(&after), "{}", out);
    }
}
