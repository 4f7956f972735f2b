//! Finds the first HTML form on a page and the fields a browser would submit with it.
//!
//! Deliberately small: attributes with double, single or no quotes; `input` (hidden,
//! text, checked checkboxes/radios, the first named submit), `button` (the first named
//! submit) and `textarea`. No scripts, no `select`. Enough for IdP login and consent
//! pages, which are plain forms so they work without JavaScript.

/// A form to submit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// `get` or `post` (lowercase).
    pub method: String,
    /// The `action` attribute as written (resolve it against the page URL); `None` when
    /// absent or empty (submit to the page itself).
    pub action: Option<String>,
    /// Fields in document order.
    pub fields: Vec<(String, String)>,
}

/// The first `<form>` of `html`, if any.
pub fn first_form(html: &str) -> Option<Form> {
    let lower = html.to_ascii_lowercase();
    let start = find_tag(&lower, "form", 0)?;
    let (form_attrs, body_start) = parse_tag(html, start)?;
    let body_end = lower[body_start..]
        .find("</form")
        .map_or(html.len(), |i| body_start + i);
    let method = attr(&form_attrs, "method")
        .map(|m| m.to_ascii_lowercase())
        .filter(|m| m == "post")
        .unwrap_or_else(|| "get".to_string());
    let action = attr(&form_attrs, "action").filter(|a| !a.trim().is_empty());

    let mut fields = Vec::new();
    let mut submit_taken = false;
    let mut pos = body_start;
    while let Some(lt) = lower[pos..body_end].find('<').map(|i| pos + i) {
        let name = tag_name(&lower[lt + 1..]);
        let Some((attrs, after)) = parse_tag(html, lt) else {
            break;
        };
        pos = after.max(lt + 1);
        let field_name = attr(&attrs, "name").filter(|n| !n.is_empty());
        match name.as_str() {
            "input" => {
                let kind = attr(&attrs, "type")
                    .map(|t| t.to_ascii_lowercase())
                    .unwrap_or_else(|| "text".to_string());
                let value = attr(&attrs, "value").unwrap_or_default();
                let include = match kind.as_str() {
                    "submit" | "image" => {
                        let first = !submit_taken;
                        submit_taken = true;
                        first
                    }
                    "checkbox" | "radio" => attrs.iter().any(|(k, _)| k == "checked"),
                    "button" | "reset" | "file" => false,
                    _ => true,
                };
                if let (true, Some(field_name)) = (include, field_name) {
                    fields.push((field_name, value));
                }
            }
            "button" => {
                let kind = attr(&attrs, "type")
                    .map(|t| t.to_ascii_lowercase())
                    .unwrap_or_else(|| "submit".to_string());
                if kind == "submit" {
                    let first = !submit_taken;
                    submit_taken = true;
                    if let (true, Some(field_name)) = (first, field_name) {
                        fields.push((field_name, attr(&attrs, "value").unwrap_or_default()));
                    }
                }
            }
            "textarea" => {
                let end = lower[pos..body_end]
                    .find("</textarea")
                    .map_or(body_end, |i| pos + i);
                if let Some(field_name) = field_name {
                    fields.push((field_name, decode_entities(&html[pos..end])));
                }
                pos = end;
            }
            _ => {}
        }
    }
    Some(Form {
        method,
        action,
        fields,
    })
}

/// Index of the next `<name` tag (followed by whitespace, `>` or `/`) at or after `from`.
fn find_tag(lower: &str, name: &str, from: usize) -> Option<usize> {
    let needle = format!("<{name}");
    let mut pos = from;
    while let Some(i) = lower[pos..].find(&needle) {
        let at = pos + i;
        let next = lower[at + needle.len()..].chars().next();
        if next.is_none_or(|c| c.is_ascii_whitespace() || c == '>' || c == '/') {
            return Some(at);
        }
        pos = at + needle.len();
    }
    None
}

/// The lowercase tag name at the start of `rest` (just after `<`).
fn tag_name(rest: &str) -> String {
    rest.chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// Parses the tag starting at `lt` (`<`): its attributes (names lowercased, values
/// entity-decoded) and the index just after its `>`.
fn parse_tag(html: &str, lt: usize) -> Option<(Vec<(String, String)>, usize)> {
    let bytes = html.as_bytes();
    let mut i = lt + 1;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'/' || bytes[i] == b'!')
    {
        i += 1;
    }
    let mut attrs = Vec::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        if bytes[i] == b'>' {
            return Some((attrs, i + 1));
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = html.get(name_start..i)?.to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let start = i + 1;
                let end = html[start..]
                    .bytes()
                    .position(|b| b == quote)
                    .map(|p| start + p)?;
                value = decode_entities(html.get(start..end)?);
                i = end + 1;
            } else {
                let start = i;
                while i < bytes.len() && bytes[i] != b'>' && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = decode_entities(html.get(start..i)?);
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

fn attr(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Decodes the character references IdP pages use: the five named XML ones and numeric.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn finds_hidden_fields_and_the_first_named_submit() {
        let html = r#"<html><body><p>hi</p>
            <FORM Method="POST" action='/interaction/abc?x=1&amp;y=2'>
              <input type="hidden" name="uid" value="a&quot;b">
              <input name=login value=alice>
              <input type="checkbox" name="remember" value="yes">
              <input type="checkbox" name="agree" value="1" checked>
              <textarea name="note">x &lt; y</textarea>
              <button type="submit" name="prompt" value="login">Sign in</button>
              <button type="submit" name="abort" value="1">Cancel</button>
            </FORM>
            <form action="/other"><input name="no"></form></body></html>"#;
        let form = first_form(html).unwrap();
        assert_eq!(form.method, "post");
        assert_eq!(form.action.as_deref(), Some("/interaction/abc?x=1&y=2"));
        let expected: Vec<(String, String)> = [
            ("uid", "a\"b"),
            ("login", "alice"),
            ("agree", "1"),
            ("note", "x < y"),
            ("prompt", "login"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(form.fields, expected);
    }

    #[test]
    fn no_form_and_broken_markup_are_handled() {
        assert_eq!(first_form("<p>no form here</p>"), None);
        assert_eq!(first_form("<formation>"), None);
        // Unterminated tag: nothing usable, but no panic.
        assert_eq!(first_form("<form action=\"/x"), None);
        let form = first_form("<form><input name=a value=\"1\"><input name=b").unwrap();
        assert_eq!(form.method, "get");
        assert_eq!(form.action, None);
        assert_eq!(form.fields, vec![("a".to_string(), "1".to_string())]);
    }

    #[test]
    fn entities_decode_and_bad_ones_pass_through() {
        assert_eq!(
            decode_entities("a&amp;b&#39;c&#x41;&bogus;&"),
            "a&b'cA&bogus;&"
        );
        assert_eq!(decode_entities("&#xZZ; &#99999999;"), "&#xZZ; &#99999999;");
    }
}
