//! Properties of the editors over generated documents: for any JSON-with-comments, TOML or
//! `.env` file that setup accepts, teardown(setup(doc)) == doc, byte for byte, and a
//! second setup changes nothing.

use proptest::prelude::*;
use serde_json::Value as Json;

use llmauth_core::config::strategies::model_id;
use llmauth_core::setup::edit::{self, Edit, PatchError};
use llmauth_core::setup::receipt::Format;
use llmauth_core::setup::tool::{Platform, Tool};
use llmauth_core::setup::wiring::files;
use llmauth_core::testing::edits::{
    self as samples, RoundTrip, codex_edits, gemini_env_edits, json_edits,
};
use llmauth_core::testing::setup::{environment, settings};

/// Asserts the round trip for `doc` when setup accepts it ([`samples::round_trip`]);
/// returns whether it did.
fn round_trip(format: Format, doc: &str, edits: &[Edit]) -> Result<bool, TestCaseError> {
    judge(doc, samples::round_trip(format, doc, edits))
}

/// Whether setup accepted `doc`, or the property that failed.
fn judge(doc: &str, outcome: Result<RoundTrip, String>) -> Result<bool, TestCaseError> {
    match outcome {
        Ok(RoundTrip::Restored(_)) => Ok(true),
        // Our keys cannot go where a scalar or array sits; the file is then refused.
        Ok(RoundTrip::Refused(
            PatchError::NotAnObject { .. }
            | PatchError::NotAnArray { .. }
            | PatchError::Occupied { .. },
        )) => Ok(false),
        Ok(RoundTrip::Refused(other)) => Err(TestCaseError::fail(format!(
            "setup refused {doc:?}: {other}"
        ))),
        Err(violation) => Err(TestCaseError::fail(format!("{doc:?}: {violation}"))),
    }
}

// ---- JSON with comments ----------------------------------------------------------------

/// A generated JSON value with its layout choices.
#[derive(Clone, Debug)]
enum Node {
    Scalar(String),
    Object {
        items: Vec<(String, Node, Option<String>)>,
        multiline: bool,
        trailing_comma: bool,
        empty_inside: &'static str,
    },
    Array(Vec<Node>, bool),
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("apiKeyHelper".to_owned()),
        Just("env".to_owned()),
        Just("ANTHROPIC_BASE_URL".to_owned()),
        Just("CLAUDE_CODE_API_KEY_HELPER_TTL_MS".to_owned()),
        Just("security".to_owned()),
        Just("auth".to_owned()),
        Just("selectedType".to_owned()),
        Just("entries".to_owned()),
        Just("cursor.general.openAIBaseURL".to_owned()),
        "[a-z]{1,6}",
        "[a-zA-Z .é\\\\\"]{0,5}",
    ]
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("\"llmauth token\"".to_owned()),
        Just("\"https://gw.example.com\"".to_owned()),
        any::<i32>().prop_map(|n| n.to_string()),
        "[a-z /:é]{0,8}".prop_map(|s| Json::String(s).to_string()),
        Just("1.5e3".to_owned()),
    ]
}

fn comment() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        3 => Just(None),
        1 => "[a-z ]{0,8}".prop_map(|c| Some(format!("// {c}"))),
        1 => "[a-z ]{0,8}".prop_map(|c| Some(format!("/* {c} */"))),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    scalar()
        .prop_map(Node::Scalar)
        .prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                (
                    prop::collection::vec((key(), inner.clone(), comment()), 0..6),
                    any::<bool>(),
                    any::<bool>(),
                    prop_oneof![Just(""), Just(" "), Just("\n"), Just(" /* empty */ ")],
                )
                    .prop_map(
                        |(items, multiline, trailing_comma, empty_inside)| {
                            let mut seen = std::collections::BTreeSet::new();
                            let items = items
                                .into_iter()
                                .filter(|(k, _, _)| seen.insert(k.clone()))
                                .collect();
                            Node::Object {
                                items,
                                multiline,
                                trailing_comma,
                                empty_inside,
                            }
                        }
                    ),
                (prop::collection::vec(inner, 0..4), any::<bool>())
                    .prop_map(|(items, trailing)| Node::Array(items, trailing)),
            ]
        })
}

fn render(node: &Node, unit: &str, depth: usize, nl: &str) -> String {
    match node {
        Node::Scalar(s) => s.clone(),
        Node::Array(items, trailing) => {
            let parts: Vec<String> = items.iter().map(|n| render(n, unit, depth, nl)).collect();
            let comma = if *trailing && !parts.is_empty() {
                ","
            } else {
                ""
            };
            format!("[{}{comma}]", parts.join(", "))
        }
        Node::Object {
            items,
            multiline,
            trailing_comma,
            empty_inside,
        } => {
            if items.is_empty() {
                return format!("{{{}}}", empty_inside.replace('\n', nl));
            }
            let outer = unit.repeat(depth);
            let inner = unit.repeat(depth + 1);
            let mut out = String::from("{");
            for (i, (k, v, comment)) in items.iter().enumerate() {
                let last = i + 1 == items.len();
                let key = Json::String(k.clone());
                let value = render(v, unit, depth + 1, nl);
                let comma = if !last || *trailing_comma { "," } else { "" };
                if *multiline {
                    out.push_str(nl);
                    out.push_str(&inner);
                    out.push_str(&format!("{key}: {value}{comma}"));
                    if let Some(c) = comment {
                        out.push(' ');
                        out.push_str(c);
                    }
                } else {
                    if i > 0 {
                        out.push(' ');
                    }
                    if let Some(c) = comment.as_ref().filter(|c| c.starts_with("/*")) {
                        out.push_str(c);
                        out.push(' ');
                    }
                    out.push_str(&format!("{key}: {value}{comma}"));
                }
            }
            if *multiline {
                out.push_str(nl);
                out.push_str(&outer);
            }
            out.push('}');
            out
        }
    }
}

fn json_document() -> impl Strategy<Value = String> {
    (
        node(),
        prop_oneof![Just("  "), Just("    "), Just("\t")],
        prop_oneof![Just("\n"), Just("\r\n")],
        prop_oneof![Just(""), Just("// settings\n"), Just("/* header */ ")],
        prop_oneof![Just(""), Just("\n"), Just("\n\n"), Just(" // end")],
        any::<bool>(),
    )
        .prop_map(|(root, unit, nl, head, tail, bom)| {
            let root = match root {
                object @ Node::Object { .. } => object,
                other @ (Node::Scalar(_) | Node::Array(..)) => Node::Object {
                    items: vec![("wrapped".to_owned(), other, None)],
                    multiline: true,
                    trailing_comma: false,
                    empty_inside: "",
                },
            };
            let bom = if bom { "\u{feff}" } else { "" };
            format!(
                "{bom}{}{}{}",
                head.replace('\n', nl),
                render(&root, unit, 0, nl),
                tail.replace('\n', nl)
            )
        })
}

// ---- TOML ---------------------------------------------------------------------------------

fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"openai\"".to_owned()),
        Just("'llmauth'".to_owned()),
        Just("\"llmauth\"".to_owned()),
        any::<i16>().prop_map(|n| n.to_string()),
        Just("true".to_owned()),
        Just("[\"a\", 'b']".to_owned()),
        Just("{ x = 1, y = \"z\" }".to_owned()),
        Just("\"\"\"multi\nline\"\"\"".to_owned()),
        Just("300000".to_owned()),
    ]
}

fn toml_kv() -> impl Strategy<Value = (String, String, Option<String>)> {
    (
        prop_oneof![
            Just("model_provider".to_owned()),
            Just("model".to_owned()),
            Just("name".to_owned()),
            Just("base_url".to_owned()),
            Just("command".to_owned()),
            "[a-z_]{1,6}",
            Just("\"quoted key\"".to_owned()),
        ],
        toml_value(),
        prop_oneof![2 => Just(None), 1 => "[a-z ]{0,8}".prop_map(|c| Some(format!("# {c}")))],
    )
}

fn toml_document() -> impl Strategy<Value = String> {
    let table_name = prop_oneof![
        Just("model_providers".to_owned()),
        Just("model_providers.azure".to_owned()),
        Just("model_providers.llmauth".to_owned()),
        Just("model_providers.llmauth.auth".to_owned()),
        Just("profiles.fast".to_owned()),
        Just("mcp_servers.docs".to_owned()),
        Just("tui".to_owned()),
    ];
    (
        prop::collection::vec(toml_kv(), 0..5),
        prop::collection::vec(
            (
                table_name,
                prop::collection::vec(toml_kv(), 0..4),
                any::<bool>(),
            ),
            0..5,
        ),
        prop_oneof![Just("\n"), Just("\r\n")],
        prop_oneof![Just(""), Just("# Codex config\n"), Just("\n")],
        prop_oneof![Just(""), Just("\n# the end\n"), Just("\n\n")],
    )
        .prop_map(|(root, tables, nl, head, tail)| {
            let mut out = head.to_owned();
            let kvs = |kvs: &[(String, String, Option<String>)], out: &mut String| {
                let mut seen = std::collections::BTreeSet::new();
                for (k, v, c) in kvs {
                    if !seen.insert(k.clone()) {
                        continue;
                    }
                    out.push_str(&format!("{k} = {v}"));
                    if let Some(c) = c {
                        out.push_str("  ");
                        out.push_str(c);
                    }
                    out.push('\n');
                }
            };
            kvs(&root, &mut out);
            let mut seen = std::collections::BTreeSet::new();
            for (name, body, blank) in &tables {
                if !seen.insert(name.clone()) {
                    continue;
                }
                if *blank {
                    out.push('\n');
                }
                out.push_str(&format!("[{name}]\n"));
                kvs(body, &mut out);
            }
            out.push_str(tail);
            out.replace('\n', nl)
        })
}

// ---- .env ---------------------------------------------------------------------------------

fn dotenv_document() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("# comment".to_owned()),
        Just(String::new()),
        Just("GEMINI_API_KEY=mine".to_owned()),
        Just("export GEMINI_API_KEY=\"quoted # not a comment\"".to_owned()),
        Just("  GOOGLE_GEMINI_BASE_URL = https://example.com # note".to_owned()),
        Just("OTHER=1".to_owned()),
        Just("not a variable".to_owned()),
        Just("=no name".to_owned()),
        "[A-Z_]{1,5}=[a-z]{0,4}",
    ];
    (
        prop::collection::vec(line, 0..8),
        prop_oneof![Just("\n"), Just("\r\n")],
        any::<bool>(),
    )
        .prop_map(|(lines, nl, final_newline)| {
            let mut text = lines.join(nl);
            if final_newline && !text.is_empty() {
                text.push_str(nl);
            }
            text
        })
}

/// Claude Code's edits for a run with these model settings, as setup makes them.
fn claude_code_edits(models: &[String], compat: bool, enable_1m: bool) -> Vec<Edit> {
    let mut settings = settings();
    settings.models = models.to_vec();
    settings.bedrock_compat = compat;
    settings.bedrock_enable_1m = enable_1m;
    let env = environment(Platform::Linux);
    files(Tool::ClaudeCode, &settings, &env)
        .map(|mut specs| specs.swap_remove(0).edits)
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn switching_bedrock_compat_then_teardown_is_the_original(
        doc in json_document(),
        models in prop::collection::vec(model_id(), 0..5),
        enable_1m in any::<bool>(),
        on_first in any::<bool>(),
    ) {
        let with = claude_code_edits(&models, true, enable_1m);
        let without = claude_code_edits(&models, false, enable_1m);
        prop_assert!(with.len() == without.len() + 4);
        let (first, second) = if on_first { (&with, &without) } else { (&without, &with) };
        judge(&doc, samples::switch_round_trip(Format::Json, &doc, first, second))?;
        // The Bedrock keys alone, too (setup with them, teardown).
        round_trip(Format::Json, &doc, &with)?;
    }

    #[test]
    fn json_teardown_of_setup_is_the_original(doc in json_document()) {
        prop_assert!(edit::check(Format::Json, &doc).is_ok(), "generator made invalid JSONC: {doc:?}");
        round_trip(Format::Json, &doc, &json_edits())?;
        // Each edit alone too, so the accepted documents are not only those where every
        // key fits.
        for one in json_edits() {
            round_trip(Format::Json, &doc, std::slice::from_ref(&one))?;
        }
    }

    #[test]
    fn toml_teardown_of_setup_is_the_original(doc in toml_document()) {
        prop_assume!(edit::check(Format::Toml, &doc).is_ok());
        round_trip(Format::Toml, &doc, &codex_edits())?;
    }

    #[test]
    fn dotenv_teardown_of_setup_is_the_original(doc in dotenv_document()) {
        prop_assert!(round_trip(Format::Dotenv, &doc, &gemini_env_edits())?);
    }
}

#[test]
fn generated_documents_are_mostly_accepted() {
    // Guards the properties above against a generator whose documents are all refused
    // (which would make them pass vacuously).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut json_ok, mut toml_ok) = (0, 0);
    for _ in 0..200 {
        let doc = json_document().new_tree(&mut runner).unwrap().current();
        if round_trip(Format::Json, &doc, &json_edits()).unwrap() {
            json_ok += 1;
        }
        let doc = toml_document().new_tree(&mut runner).unwrap().current();
        if edit::check(Format::Toml, &doc).is_ok()
            && round_trip(Format::Toml, &doc, &codex_edits()).unwrap()
        {
            toml_ok += 1;
        }
    }
    assert!(
        json_ok > 60,
        "only {json_ok} of 200 JSON documents were accepted"
    );
    assert!(
        toml_ok > 60,
        "only {toml_ok} of 200 TOML documents were accepted"
    );
}
