//! Text that reaches a person: what came from the network or from state made safe to
//! print, counted nouns and lists that read as sentences.
//!
//! An IdP (or whoever wrote a file llmauth reads) controls strings that end up on the
//! user's terminal: a device code, a verification URL, an error description, a login
//! marker's URL. Raw, they could carry escape sequences that rewrite the screen, retitle
//! the window, or make a link (OSC 8) show one URL and open another. [`printable`] is
//! the one place they are cleaned; every print site of such a string goes through it.

/// `text` with everything that could drive a terminal taken out: escape sequences (CSI,
/// OSC — OSC 8 hyperlinks among them — DCS and the rest, in their 7- and 8-bit forms),
/// the other C0 and C1 control characters (carriage returns and line feeds included),
/// DEL, and the Unicode marks that reorder text on screen (bidi overrides and isolates).
/// What is left prints as itself.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // A two-character sequence (ESC 7, ESC c, …), or a lone ESC.
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Longest line of an error shown, to a person or to a proxy's client: any file or server
/// answer quoted in it is an excerpt.
pub const MAX_ERROR_LINE: usize = 500;

/// [`printable`], cut to at most `max_chars` characters (the last one `…` when cut), for
/// a string of any length that is quoted in a message: a server's answer, a value from a
/// file.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let clean = printable(text);
    if clean.chars().count() <= max_chars {
        return clean;
    }
    let mut cut: String = clean.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Skips a control sequence's parameters and intermediates, up to and including its
/// final byte (ECMA-48 §5.4).
fn skip_csi(chars: &mut impl Iterator<Item = char>) {
    for c in chars {
        if ('\u{40}'..='\u{7e}').contains(&c) || !('\u{20}'..='\u{3f}').contains(&c) {
            return;
        }
    }
}

/// Skips a control string (OSC, DCS, SOS, PM, APC) up to its terminator: BEL, ST
/// (`ESC \` or U+009C). xterm ends an OSC at BEL too.
fn skip_string(chars: &mut std::iter::Peekable<impl Iterator<Item = char>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// The Unicode format characters that reorder text on screen (Unicode bidi algorithm:
/// embeddings, overrides, isolates and the marks), which can make a URL read as another.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `1 minute`, `5 minutes`: a count with its noun in the right number.
pub fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// `a`, `a and b`, `a, b and c` (with `conjunction` "and" or "or").
pub fn listing<S: AsRef<str>>(items: &[S], conjunction: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {conjunction} {}", init.join(", "), last.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_taken_out() {
        let cases = [
            ("plain https://idp/device", "plain https://idp/device"),
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("\u{1b}[2J\u{1b}[Hcleared", "cleared"),
            // OSC 8: the link text stays, the hidden target goes.
            (
                "\u{1b}]8;;https://evil.example\u{7}https://idp.example\u{1b}]8;;\u{7}",
                "https://idp.example",
            ),
            (
                "\u{1b}]8;;https://evil\u{1b}\\shown\u{1b}]8;;\u{1b}\\",
                "shown",
            ),
            ("\u{1b}]0;window title\u{7}text", "text"),
            ("\u{9b}31mC1 CSI\u{9d}0;t\u{9c}", "C1 CSI"),
            ("ABCD\rEFGH", "ABCDEFGH"),
            ("two\nlines\ttab\u{7f}", "twolinestab"),
            ("\u{1b}Pdcs\u{1b}\\after", "after"),
            ("\u{1b}7saved", "saved"),
            ("trailing\u{1b}", "trailing"),
            ("\u{1b}[unfinished", "nfinished"),
            ("moc.elpmaxe\u{202e}//:sptth", "moc.elpmaxe//:sptth"),
            ("é ü 日本", "é ü 日本"),
        ];
        for (raw, clean) in cases {
            assert_eq!(printable(raw), clean, "{raw:?}");
        }
    }

    #[test]
    fn excerpts_are_short_and_say_so() {
        assert_eq!(excerpt("  short  ", 10), "  short  ");
        assert_eq!(excerpt(&"a".repeat(50), 10), format!("{}…", "a".repeat(9)));
        assert_eq!(excerpt("\u{1b}[31mabc", 3), "abc");
    }

    #[test]
    fn counts_and_lists_read_as_english() {
        assert_eq!(count(1, "minute", "minutes"), "1 minute");
        assert_eq!(count(0, "minute", "minutes"), "0 minutes");
        assert_eq!(count(10, "minute", "minutes"), "10 minutes");
        assert_eq!(listing::<&str>(&[], "and"), "");
        assert_eq!(listing(&["a"], "and"), "a");
        assert_eq!(listing(&["a", "b"], "or"), "a or b");
        assert_eq!(listing(&["a", "b", "c"], "and"), "a, b and c");
    }
}
