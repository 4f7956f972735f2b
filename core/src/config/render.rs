//! Writing the `llm:` block as YAML text.
//!
//! Only the fields that are set are written (defaults stay implicit, so a later llmauth can
//! change them), plus `version: 1`. Strings are written plain only when they cannot be read
//! back as anything else; otherwise they are double-quoted with escapes, so that every
//! string, including `no`, `0123`, `~` or `""`, reads back exactly as it was.

use std::fmt::Write as _;

use super::raw::{RawConfig, RawOidc};

/// Renders `llm:` and everything under it, each line prefixed with `indent` spaces and
/// ended with `newline`.
pub(crate) fn render_block(raw: &RawConfig, indent: usize, newline: &str) -> String {
    let mut out = Lines {
        text: String::new(),
        base: indent,
        newline,
    };
    out.line(0, "llm:");
    // A missing version is written as the current one; a version that is set is kept, so
    // rendering never turns an invalid document into a valid one (llmauth only writes
    // documents that validated, whose version is the current one).
    let version = raw.version.unwrap_or(super::CURRENT_VERSION);
    out.line(1, &format!("version: {version}"));
    out.opt_str(1, "gateway_url", raw.gateway_url.as_deref());

    let oidc = &raw.oidc;
    if *oidc != RawOidc::default() {
        out.line(1, "oidc:");
        out.opt_str(2, "issuer", oidc.issuer.as_deref());
        out.opt_str(2, "client_id", oidc.client_id.as_deref());
        if let Some(scopes) = &oidc.scopes {
            out.list(2, "scopes", scopes);
        }
        out.opt_str(2, "audience", oidc.audience.as_deref());
        out.opt_display(2, "callback_port", oidc.callback_port);
        out.opt_str(2, "prompt", oidc.prompt.as_deref());
        if let Some(params) = &oidc.auth_params {
            if params.is_empty() {
                out.line(2, "auth_params: {}");
            } else {
                out.line(2, "auth_params:");
                for (key, value) in params {
                    out.line(3, &format!("{}: {}", scalar(key), scalar(value)));
                }
            }
        }
        out.opt_str(2, "refresh_window", oidc.refresh_window.as_deref());
        out.opt_str(2, "provider", oidc.provider.as_deref());
        out.opt_str(2, "audience_via", oidc.audience_via.as_deref());
        out.opt_str(2, "offline_via", oidc.offline_via.as_deref());
        out.opt_str(2, "client_secret", oidc.client_secret.as_deref());
        out.opt_str(2, "redirect_url", oidc.redirect_url.as_deref());
        out.opt_str(2, "callback_host", oidc.callback_host.as_deref());
        out.opt_display(2, "resend_scope", oidc.resend_scope);
        out.opt_str(2, "token_kind", oidc.token_kind.as_deref());
        if let Some(tenants) = &oidc.tenants {
            out.list(2, "tenants", tenants);
        }
    }

    let proxy = &raw.proxy;
    if proxy.listen_port.is_some() || proxy.require_local_key.is_some() {
        out.line(1, "proxy:");
        out.opt_display(2, "listen_port", proxy.listen_port);
        out.opt_display(2, "require_local_key", proxy.require_local_key);
    }

    let tls = &raw.tls;
    if tls.ca_file.is_some() || tls.skip_verify.is_some() {
        out.line(1, "tls:");
        out.opt_str(2, "ca_file", tls.ca_file.as_deref());
        out.opt_display(2, "skip_verify", tls.skip_verify);
    }

    if let Some(backend) = &raw.secrets.backend {
        out.line(1, "secrets:");
        out.opt_str(2, "backend", Some(backend));
    }

    if let Some(prefix) = &raw.setup.anthropic_path_prefix {
        out.line(1, "setup:");
        out.opt_str(2, "anthropic_path_prefix", Some(prefix));
    }

    if let Some(models) = &raw.models {
        out.list(1, "models", models);
    }

    let bedrock = &raw.bedrock;
    if bedrock.compat.is_some() || bedrock.enable_1m.is_some() {
        out.line(1, "bedrock:");
        out.opt_display(2, "compat", bedrock.compat);
        out.opt_display(2, "enable_1m", bedrock.enable_1m);
    }

    if let Some(tools) = &raw.configured_tools {
        if tools.is_empty() {
            out.line(1, "configured_tools: []");
        } else {
            out.line(1, "configured_tools:");
            for tool in tools {
                out.line(2, &format!("- tool: {}", scalar(&tool.tool)));
                out.line(3, &format!("mode: {}", scalar(&tool.mode)));
                out.line(3, &format!("file: {}", scalar(&tool.file)));
            }
        }
    }
    out.text
}

struct Lines<'a> {
    text: String,
    base: usize,
    newline: &'a str,
}

impl Lines<'_> {
    fn line(&mut self, level: usize, content: &str) {
        let width = self.base + 2 * level;
        let _ = write!(self.text, "{:width$}{content}{}", "", self.newline);
    }

    fn opt_str(&mut self, level: usize, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.line(level, &format!("{key}: {}", scalar(value)));
        }
    }

    fn opt_display(&mut self, level: usize, key: &str, value: Option<impl std::fmt::Display>) {
        if let Some(value) = value {
            self.line(level, &format!("{key}: {value}"));
        }
    }

    fn list(&mut self, level: usize, key: &str, items: &[String]) {
        if items.is_empty() {
            self.line(level, &format!("{key}: []"));
            return;
        }
        self.line(level, &format!("{key}:"));
        for item in items {
            self.line(level + 1, &format!("- {}", scalar(item)));
        }
    }
}

/// A YAML scalar that reads back as exactly `text`, as a string.
pub(crate) fn scalar(text: &str) -> String {
    if is_plain_safe(text) {
        text.to_owned()
    } else {
        double_quoted(text)
    }
}

/// Whether `text` can be written without quotes and still read back as this string.
///
/// Conservative on purpose: it must start with a letter or `/` (so no number, indicator or
/// anchor), use only characters that never mean anything in a block-context plain scalar,
/// not end with `:`, and not be a word that YAML 1.1 or 1.2 reads as null or a boolean.
fn is_plain_safe(text: &str) -> bool {
    // Durations such as `10m` or `1h30m` are never numbers, so they need no quotes.
    if text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric())
        && super::duration::parse_duration(text).is_ok()
    {
        return true;
    }
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '/') {
        return false;
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:@+%=~?&-".contains(c);
    if !text.chars().all(safe) || text.ends_with(':') {
        return false;
    }
    const RESERVED: [&str; 9] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    !RESERVED.iter().any(|word| word.eq_ignore_ascii_case(text))
}

/// A double-quoted scalar; everything outside YAML's printable set, and anything a reader
/// might fold or treat as a line break, is escaped.
fn double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            ' '..='~' => out.push(c),
            c if is_printable_non_ascii(c) => out.push(c),
            c if u32::from(c) <= 0xFF => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// YAML 1.2 `c-printable` above ASCII, minus NEL, the line/paragraph separators and the
/// byte-order mark, which some readers treat specially.
fn is_printable_non_ascii(c: char) -> bool {
    matches!(u32::from(c), 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x1_0000..=0x10_FFFF)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reads a rendered scalar back the way the config parser does (typed `String`).
    fn read_back(rendered: &str) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Probe {
            v: Option<String>,
        }
        let probe: Probe = serde_saphyr::from_str(&format!("v: {rendered}\n")).ok()?;
        probe.v
    }

    #[test]
    fn plain_only_when_unambiguous() {
        for text in [
            "https://llm.example.com",
            "https://auth.example.com/realms/a?b=c&d=e",
            "my-client-id",
            "/anthropic",
            "10m",
            "1h30m",
            "500ms",
            "openid",
            "offline_access",
        ] {
            assert_eq!(scalar(text), text);
        }
        for text in [
            "", "no", "No", "yes", "on", "off", "y", "N", "true", "null", "~", "0123", "1.10",
            "123", "-1", ".inf", "a b", "a: b", "a #b", "x:", "&a", "*a", "!tag", "@x", "`x",
            "[a]", "{a}", "a,b", "'q'", "\"q\"", "é", "- a", "? a", "%YAML", "|", ">",
        ] {
            assert!(scalar(text).starts_with('"'), "{text:?} written plain");
        }
    }

    #[test]
    fn escapes_what_must_be_escaped() {
        assert_eq!(scalar("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(scalar("a\nb\tc\r\0"), r#""a\nb\tc\r\0""#);
        assert_eq!(
            scalar("\u{7f}\u{85}\u{2028}\u{feff}"),
            r#""\x7F\x85\u2028\uFEFF""#
        );
        assert_eq!(scalar("é😀"), "\"é😀\"");
    }

    #[test]
    fn awkward_strings_read_back_exactly() {
        for text in [
            "no", "0123", "1.10", "~", "", "null", " lead", "trail ", "a: b", "#x",
        ] {
            assert_eq!(read_back(&scalar(text)).as_deref(), Some(text), "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn every_string_reads_back(text in any::<String>()) {
            prop_assert_eq!(read_back(&scalar(&text)), Some(text));
        }

        #[test]
        fn url_like_strings_read_back(text in "[a-zA-Z0-9/:._~?&=%@+#!, -]{0,30}") {
            prop_assert_eq!(read_back(&scalar(&text)), Some(text));
        }
    }
}
