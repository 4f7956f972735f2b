use serde_json::json;

use super::super::Edit;
use super::*;
use crate::setup::receipt::Format;
use crate::testing::edits::{self as samples, RoundTrip, claude_code_edits, set};

fn key(path: &[&str]) -> Vec<String> {
    path.iter().map(|k| (*k).to_owned()).collect()
}

/// Setup, a second setup and teardown of `original` ([`samples::round_trip`]); what setup
/// wrote.
fn round_trip(original: &str, edits: &[Edit]) -> String {
    match samples::round_trip(Format::Json, original, edits) {
        Ok(RoundTrip::Restored(patched)) => patched,
        other => panic!("{original:?}: {other:?}"),
    }
}

#[test]
fn inserts_after_the_last_key_with_its_indentation() {
    let original = "{\n    // my settings\n    \"model\": \"opus\", // favourite\n    \"theme\": \"dark\"\n}\n";
    let patched = round_trip(original, &claude_code_edits());
    assert_eq!(
        patched,
        "{\n    // my settings\n    \"model\": \"opus\", // favourite\n    \"theme\": \"dark\",\n    \"apiKeyHelper\": \"llmauth token\",\n    \"env\": {\n        \"ANTHROPIC_BASE_URL\": \"https://gw.example.com\",\n        \"CLAUDE_CODE_API_KEY_HELPER_TTL_MS\": \"300000\"\n    }\n}\n"
    );
}

#[test]
fn empty_and_missing_files_get_an_object() {
    for original in ["", "\n", "// nothing yet\n", "{}", "{ }\n", "{\n}\n"] {
        let patched = round_trip(original, &claude_code_edits());
        let value = semantic(&patched).unwrap_or_else(|| panic!("{patched}"));
        assert_eq!(value["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"], "300000");
    }
    let (patched, _) = apply("", &claude_code_edits(), &[]).unwrap();
    assert_eq!(
        patched,
        "{\n  \"apiKeyHelper\": \"llmauth token\",\n  \"env\": {\n    \"ANTHROPIC_BASE_URL\": \"https://gw.example.com\",\n    \"CLAUDE_CODE_API_KEY_HELPER_TTL_MS\": \"300000\"\n  }\n}\n"
    );
}

#[test]
fn existing_values_are_replaced_in_place_and_restored() {
    let original = "{\r\n\t\"apiKeyHelper\" : \"~/bin/my-helper\" , /* mine */\r\n\t\"env\": {\"ANTHROPIC_BASE_URL\": \"https://old\", \"X\": 1,},\r\n}";
    let patched = round_trip(original, &claude_code_edits());
    assert_eq!(
        patched,
        "{\r\n\t\"apiKeyHelper\" : \"llmauth token\" , /* mine */\r\n\t\"env\": {\"ANTHROPIC_BASE_URL\": \"https://gw.example.com\", \"X\": 1, \"CLAUDE_CODE_API_KEY_HELPER_TTL_MS\": \"300000\",},\r\n}"
    );
}

#[test]
fn a_key_the_user_changed_is_kept_and_reported() {
    let original = "{\n  \"apiKeyHelper\": \"mine\"\n}\n";
    let (patched, entries) = apply(original, &claude_code_edits(), &[]).unwrap();
    let edited = patched.replace("https://gw.example.com", "https://elsewhere");
    let reverted = revert(&edited, &entries).unwrap();
    let text = reverted.text.unwrap();
    assert!(text.contains("\"apiKeyHelper\": \"mine\""), "{text}");
    assert!(text.contains("https://elsewhere"), "{text}");
    assert!(
        !text.contains("CLAUDE_CODE_API_KEY_HELPER_TTL_MS"),
        "{text}"
    );
    assert_eq!(reverted.kept.len(), 1);
    assert_eq!(
        reverted.notes,
        vec![Note {
            key: "env.ANTHROPIC_BASE_URL".into(),
            kind: NoteKind::Changed
        }]
    );
    // The kept entry can be reverted later, once the user puts our value back.
    let later = revert(&patched.replace("\"mine\"", "\"llmauth token\""), &entries);
    assert!(later.is_ok());
    assert_eq!(
        drift(&edited, &entries).unwrap(),
        vec![Note {
            key: "env.ANTHROPIC_BASE_URL".into(),
            kind: NoteKind::Changed
        }]
    );
    assert!(drift(&patched, &entries).unwrap().is_empty());
}

#[test]
fn unrelated_edits_after_setup_survive_teardown() {
    let original = "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n";
    let (patched, entries) = apply(original, &claude_code_edits(), &[]).unwrap();
    let edited = patched.replace("\"a\": 1,", "\"a\": 2, // changed later");
    let reverted = revert(&edited, &entries).unwrap();
    assert_eq!(
        reverted.text.as_deref(),
        Some("{\n  \"a\": 2, // changed later\n  \"b\": [1, 2]\n}\n")
    );
}

#[test]
fn a_file_that_does_not_parse_is_refused_with_its_position() {
    let err = apply(
        "{\n  \"a\": 1,\n  \"b\": oops\n}\n",
        &claude_code_edits(),
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, PatchError::Parse { line: 3, .. }), "{err:?}");
    let err = apply("[1, 2]", &claude_code_edits(), &[]).unwrap_err();
    assert!(matches!(err, PatchError::NotAnObject { .. }), "{err:?}");
    let err = apply("{\"env\": \"x\"}", &claude_code_edits(), &[]).unwrap_err();
    assert_eq!(err, PatchError::NotAnObject { key: "env".into() });
}

#[test]
fn flat_keys_with_dots_are_one_key() {
    let edits = vec![set(
        &["cursor.general.openAIBaseURL"],
        json!("http://localhost:14000/v1"),
    )];
    let patched = round_trip("{\n  \"editor.fontSize\": 14,\n}\n", &edits);
    assert_eq!(
        patched,
        "{\n  \"editor.fontSize\": 14,\n  \"cursor.general.openAIBaseURL\": \"http://localhost:14000/v1\",\n}\n"
    );
}

#[test]
fn array_elements_are_appended_once_and_removed() {
    let element = json!({"id": "abc", "name": "llmauth"});
    let edits = vec![
        set(&["appliedId"], json!("abc")),
        Edit::Append {
            key: key(&["entries"]),
            element: element.clone(),
        },
    ];
    let original = "{\n  \"appliedId\": \"old\",\n  \"entries\": [\n    {\"id\": \"old\", \"name\": \"Mine\"}\n  ]\n}\n";
    let patched = round_trip(original, &edits);
    assert_eq!(
        elements_at(&patched, &key(&["entries"])),
        vec![json!({"id": "old", "name": "Mine"}), element]
    );
    assert_eq!(
        string_at(&patched, &key(&["appliedId"])).as_deref(),
        Some("abc")
    );
    round_trip("{}", &edits);
    round_trip("", &edits);
    round_trip("{\"entries\": []}", &edits);
    // An array created for the element is not drift once it holds it.
    let (created, entries) = apply("{}", &edits, &[]).unwrap();
    assert!(drift(&created, &entries).unwrap().is_empty());
}

#[test]
fn a_later_setup_with_new_values_keeps_the_first_previous_value() {
    let original = "{\"apiKeyHelper\": \"mine\"}";
    let (first, entries) = apply(original, &claude_code_edits(), &[]).unwrap();
    let newer = vec![set(&["apiKeyHelper"], json!("/opt/llmauth token"))];
    let (second, entries) = apply(&first, &newer, &entries).unwrap();
    assert!(second.contains("/opt/llmauth token"));
    let reverted = revert(&second, &entries).unwrap();
    assert_eq!(reverted.text.as_deref(), Some(original));
}
