//! Fuzz harness for `config.yaml` parsing (run by the `fuzz/` crate and replayed on stable).

use super::{ConfigDocument, ConfigError};

/// Parses arbitrary bytes as `config.yaml` and checks the invariants that must hold for any
/// input:
///
/// * parsing, validating, showing and rendering never panic;
/// * a document that renders reads back with the same validation result (the same
///   [`Config`](super::Config) when valid, the same errors otherwise);
/// * rendering the re-read document gives the same text again.
///
/// # Panics
///
/// When an invariant is broken: that is what the fuzzer looks for.
pub fn config_parse(data: &[u8]) {
    let Ok(document) = ConfigDocument::parse_bytes(data) else {
        return;
    };
    let validated = document.validate();
    let _ = document.check();
    let _ = document.show_text();
    let _ = document.show_json();
    if let Ok(config) = &validated {
        let _ = config.session_key();
    }
    let text = match document.render() {
        Ok(text) => text,
        Err(ConfigError::Unrenderable { .. }) => return,
        Err(other) => panic!("render failed with an unexpected error: {other}"),
    };
    let reread = match ConfigDocument::parse(&text) {
        Ok(reread) => reread,
        Err(error) => panic!("rendered text does not parse: {error}\n{text}"),
    };
    assert_eq!(
        reread.validate(),
        validated,
        "validation changed after render\n{text}"
    );
    assert_eq!(
        reread.render().as_deref(),
        Ok(text.as_str()),
        "render is not stable"
    );
}
