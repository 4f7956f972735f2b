//! The edits setup makes, as unit tests, the `tool_config_patch` fuzz harness and the
//! property tests of the editors use them, and the round trip they all check: setup, a
//! second setup, teardown.

use serde_json::{Value as Json, json};

use crate::setup::edit::{self, Edit, PatchError};
use crate::setup::plan::FileSpec;
use crate::setup::plan::{FileAction, plan_file, teardown_file};
use crate::setup::receipt::Format;

/// `Edit::Set` of the key at `key`.
pub fn set(key: &[&str], value: Json) -> Edit {
    Edit::Set {
        key: key.iter().map(|k| (*k).to_owned()).collect(),
        value,
    }
}

/// Claude Code's `settings.json` keys.
pub fn claude_code_edits() -> Vec<Edit> {
    vec![
        set(&["apiKeyHelper"], json!("llmauth token")),
        set(
            &["env", "ANTHROPIC_BASE_URL"],
            json!("https://gw.example.com"),
        ),
        set(
            &["env", "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"],
            json!("300000"),
        ),
    ]
}

/// The keys Claude Code gets on top of [`claude_code_edits`] with Bedrock compatibility on.
pub fn bedrock_edits() -> Vec<Edit> {
    vec![
        set(
            &["env", "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS"],
            json!("1"),
        ),
        set(
            &["env", "ANTHROPIC_DEFAULT_HAIKU_MODEL"],
            json!("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ),
        set(
            &["env", "ANTHROPIC_DEFAULT_OPUS_MODEL"],
            json!("us.anthropic.claude-opus-4-8[1m]"),
        ),
        set(
            &["env", "ANTHROPIC_DEFAULT_SONNET_MODEL"],
            json!("us.anthropic.claude-sonnet-4-6[1m]"),
        ),
    ]
}

/// Every kind of JSON edit setup makes, over the keys of every JSON-configured tool: nested
/// keys, a flat key containing dots, an appended array element.
pub fn json_edits() -> Vec<Edit> {
    let mut edits = claude_code_edits();
    edits.extend([set(&["env", "NODE_EXTRA_CA_CERTS"], json!("/etc/ca.pem"))]);
    edits.extend(bedrock_edits());
    edits.extend([
        set(
            &["security", "auth", "selectedType"],
            json!("gemini-api-key"),
        ),
        set(
            &["cursor.general.openAIBaseURL"],
            json!("http://localhost:14000/v1"),
        ),
        Edit::Append {
            key: vec!["entries".into()],
            element: json!({"id": "x1", "name": "llmauth gateway"}),
        },
    ]);
    edits
}

/// Codex's `config.toml` keys.
pub fn codex_edits() -> Vec<Edit> {
    let provider = |k: &[&'static str]| -> Vec<&'static str> {
        let mut key = vec!["model_providers", "llmauth"];
        key.extend_from_slice(k);
        key
    };
    vec![
        set(&["model_provider"], json!("llmauth")),
        set(&provider(&["name"]), json!("llmauth gateway")),
        set(&provider(&["base_url"]), json!("https://gw.example.com/v1")),
        set(&provider(&["wire_api"]), json!("responses")),
        set(&provider(&["auth", "command"]), json!("/usr/bin/llmauth")),
        set(
            &provider(&["auth", "args"]),
            json!(["token", "--non-interactive"]),
        ),
        set(&provider(&["auth", "refresh_interval_ms"]), json!(300_000)),
    ]
}

/// Gemini CLI's `.env` variables.
pub fn gemini_env_edits() -> Vec<Edit> {
    vec![
        set(&["GEMINI_API_KEY"], json!("local-key")),
        set(&["GOOGLE_GEMINI_BASE_URL"], json!("http://localhost:14000")),
    ]
}

/// What setup and teardown did to a document in [`round_trip`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoundTrip {
    /// Setup refused the document; nothing was written.
    Refused(PatchError),
    /// Setup wrote this, and teardown gave back the original.
    Restored(String),
}

/// Setup of `doc` with `edits`, a second setup, then teardown. Checks that the patched
/// file parses, that the second setup changes nothing (text or receipt), and that
/// teardown gives back `doc` byte for byte with nothing kept.
///
/// Documented limit: TOML whose line breaks are not all LF or all CRLF (mixed, or with
/// stray CRs) comes back with one style, so its restored bytes are not compared.
///
/// # Errors
/// Which of those did not hold.
pub fn round_trip(format: Format, doc: &str, edits: &[Edit]) -> Result<RoundTrip, String> {
    let (patched, entries) = match edit::apply(format, Some(doc), edits, &[]) {
        Ok(done) => done,
        Err(refused) => return Ok(RoundTrip::Refused(refused)),
    };
    if let Err(e) = edit::check(format, &patched) {
        return Err(format!(
            "setup wrote a file that does not parse ({e}):\n{patched}"
        ));
    }
    match edit::apply(format, Some(&patched), edits, &entries) {
        Ok((again, again_entries)) if again == patched && again_entries == entries => {}
        Ok(_) => return Err(format!("a second setup changed the file:\n{patched}")),
        Err(e) => {
            return Err(format!(
                "a second setup refused its own file ({e}):\n{patched}"
            ));
        }
    }
    let crlf = doc.matches("\r\n").count();
    let uniform = !doc.contains('\r')
        || (crlf == doc.matches('\n').count() && crlf == doc.matches('\r').count());
    if format == Format::Toml && !uniform {
        return Ok(RoundTrip::Restored(patched));
    }
    match edit::revert(format, &patched, &entries) {
        Ok(reverted) if reverted.text.as_deref() == Some(doc) && reverted.kept.is_empty() => {
            Ok(RoundTrip::Restored(patched))
        }
        Ok(reverted) => Err(format!(
            "teardown did not give back the original: {:?}\npatched:\n{patched}",
            reverted.text
        )),
        Err(e) => Err(format!("teardown refused setup's file ({e}):\n{patched}")),
    }
}

/// A setting switched between two setups: setup of `doc` with `first`, then with `second`
/// (keys only one of them writes, such as Claude Code's Bedrock keys), a repeat, then
/// teardown. Checks that the second setup leaves exactly what a setup with `second` alone
/// leaves (text and receipt) — keys it no longer writes are given back — that the repeat
/// changes nothing, and that teardown gives back `doc` byte for byte.
///
/// # Errors
/// Which of those did not hold.
pub fn switch_round_trip(
    format: Format,
    doc: &str,
    first: &[Edit],
    second: &[Edit],
) -> Result<RoundTrip, String> {
    let spec = |edits: &[Edit]| FileSpec {
        path: "/f".into(),
        format,
        edits: edits.to_vec(),
        new_file_mode: 0o644,
        secret: false,
    };
    let plan = |edits: &[Edit], text: &str, prior| {
        plan_file(&spec(edits), "/f", Some(text), prior, Vec::new())
    };
    let one = match plan(first, doc, None) {
        Ok(one) => one,
        Err(refused) => return Ok(RoundTrip::Refused(refused)),
    };
    let one_text = one.new_text.unwrap_or_else(|| doc.to_owned());
    let two = plan(second, &one_text, Some(&one.receipt))
        .map_err(|e| format!("the second setup refused the first one's file ({e}):\n{one_text}"))?;
    let two_text = two.new_text.unwrap_or_else(|| one_text.clone());
    match plan(second, doc, None) {
        Ok(alone)
            if alone.new_text.as_deref().unwrap_or(doc) == two_text
                && alone.receipt == two.receipt => {}
        Ok(_) => {
            return Err(format!(
                "switching left something else than a setup with the second edits alone:\n{two_text}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "the second edits alone were refused ({e}), but not after the first"
            ));
        }
    }
    match plan(second, &two_text, Some(&two.receipt)) {
        Ok(again) if again.new_text.is_none() && again.receipt == two.receipt => {}
        Ok(_) => return Err(format!("a repeat changed the file:\n{two_text}")),
        Err(e) => return Err(format!("a repeat refused its own file ({e}):\n{two_text}")),
    }
    match teardown_file(&two.receipt, Some(&two_text)) {
        Ok(t)
            if t.remaining.is_none()
                && (t.action == FileAction::Write(doc.to_owned())
                    || (t.action == FileAction::Leave && two_text == doc)) =>
        {
            Ok(RoundTrip::Restored(two_text))
        }
        Ok(t) => Err(format!(
            "teardown did not give back the original: {:?}\npatched:\n{two_text}",
            t.action
        )),
        Err(e) => Err(format!("teardown refused setup's file ({e}):\n{two_text}")),
    }
}
