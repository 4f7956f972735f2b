//! Where the `llm:` block sits in the text, so that rendering replaces only those lines and
//! leaves every other top-level key (with its comments and formatting) byte for byte as it
//! was.
//!
//! The block runs from the start of the line of the `llm` key to the end of the line where
//! its value's last token ends. Comments and blank lines after that belong to whatever
//! follows; comments inside the block are not kept (llmauth rewrites the block).

use serde_saphyr::granit_parser::{Event, Parser, Span, StructureStyle};

/// How to put a rendered `llm:` block into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Byte range to replace (empty for an insertion).
    pub(crate) range: std::ops::Range<usize>,
    /// Spaces before top-level keys.
    pub(crate) indent: usize,
    /// Whether a line break must be written before the block (inserting after a last line
    /// that has none).
    pub(crate) newline_before: bool,
    /// The file's line ending.
    pub(crate) newline: &'static str,
}

/// Finds where the `llm:` block is, or where a new one goes.
///
/// # Errors
///
/// A reason when the file cannot be updated by replacing lines: the top level is a flow
/// mapping, the `llm` key has a tag, anchor or `?` indicator before it on its line, or the
/// text does not parse.
pub(crate) fn locate(text: &str) -> Result<Layout, String> {
    // The file's first line break decides, so a rendered file keeps deciding the same way
    // (a lone `\r` before an appended block must not turn the file into a CRLF one).
    let crlf = match text.find('\n') {
        Some(at) => text[..at].ends_with('\r'),
        None => text.ends_with('\r'),
    };
    let newline = if crlf { "\r\n" } else { "\n" };
    let scan = scan(text)?;
    match scan {
        Scan::NoMapping => Ok(Layout {
            range: text.len()..text.len(),
            indent: 0,
            newline_before: !text.is_empty() && !text.ends_with(LINE_BREAKS),
            newline,
        }),
        Scan::FlowMapping => Err(
            "the top level of the file is a flow mapping ({…}); write it in block style".to_owned(),
        ),
        Scan::Block {
            first_key,
            content_end,
            llm,
        } => {
            let indent = key_indent(text, first_key)?;
            match llm {
                Some(entry) => {
                    let start = line_start(text, entry.key_start);
                    let key_indent = key_indent(text, entry.key_start)?;
                    Ok(Layout {
                        range: start..line_end(text, entry.value_end.max(entry.key_end)),
                        indent: key_indent,
                        newline_before: false,
                        newline,
                    })
                }
                None => {
                    let at = line_end(text, content_end);
                    Ok(Layout {
                        range: at..at,
                        indent,
                        newline_before: at > 0 && !text[..at].ends_with(LINE_BREAKS),
                        newline,
                    })
                }
            }
        }
    }
}

/// What the event stream says about the top level.
enum Scan {
    /// Empty document, comments only, or a scalar at the top.
    NoMapping,
    /// `{…}` at the top.
    FlowMapping,
    /// A block mapping at the top.
    Block {
        /// Byte offset of the first key.
        first_key: usize,
        /// Byte offset just after the last token of the mapping.
        content_end: usize,
        /// The `llm` entry, when present.
        llm: Option<Entry>,
    },
}

struct Entry {
    key_start: usize,
    key_end: usize,
    value_end: usize,
}

/// The parser events that matter here.
#[derive(Clone, Copy)]
enum Token {
    /// Comments, stream and document markers.
    Skip,
    DocumentStart,
    /// A scalar (and whether it is `llm`) or an alias.
    Leaf {
        is_llm: bool,
    },
    /// The start of a sequence or mapping.
    Open {
        flow: bool,
        mapping: bool,
    },
    /// The end of a sequence or mapping.
    Close,
}

fn classify(event: &Event<'_>) -> Token {
    match event {
        Event::DocumentStart(..) => Token::DocumentStart,
        Event::Scalar(value, ..) => Token::Leaf {
            is_llm: value == "llm",
        },
        Event::Alias(..) | Event::UnresolvedAlias(..) => Token::Leaf { is_llm: false },
        Event::SequenceStart(style, ..) => Token::Open {
            flow: matches!(style, StructureStyle::Flow),
            mapping: false,
        },
        Event::MappingStart(style, ..) => Token::Open {
            flow: matches!(style, StructureStyle::Flow),
            mapping: true,
        },
        Event::SequenceEnd | Event::MappingEnd => Token::Close,
        Event::StreamStart
        | Event::StreamEnd
        | Event::DocumentEnd
        | Event::Anchor(..)
        | Event::Comment(..)
        | _ => Token::Skip,
    }
}

fn scan(text: &str) -> Result<Scan, String> {
    let mut parser = Parser::new_from_str(text);
    // Open collections, innermost last: whether each is in flow style.
    let mut stack: Vec<bool> = Vec::new();
    let mut first_key: Option<usize> = None;
    let mut content_end = 0usize;
    let mut llm: Option<Entry> = None;
    // Within the top mapping: whether the next node at depth 1 is a key.
    let mut expect_key = true;
    // The `llm` key just read, while its value is pending or being read.
    let mut pending: Option<Entry> = None;
    let mut in_llm_value = false;

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| format!("the file does not parse: {error}"))?;
        let (start, end) = offsets(text, &span)?;
        let token = classify(&event);
        let depth = stack.len();
        match token {
            Token::Skip | Token::DocumentStart => continue,
            Token::Open {
                flow: false,
                mapping: true,
            } if depth == 0 => {}
            Token::Open {
                flow: true,
                mapping: true,
            } if depth == 0 => return Ok(Scan::FlowMapping),
            Token::Leaf { .. } | Token::Open { .. } | Token::Close if depth == 0 => {
                return Ok(Scan::NoMapping);
            }
            Token::Leaf { .. } | Token::Open { .. } | Token::Close => {}
        }
        let starts_node = matches!(token, Token::Leaf { .. } | Token::Open { .. });
        if depth == 1 && starts_node {
            if expect_key {
                first_key.get_or_insert(start);
                if let Token::Leaf { is_llm: true } = token {
                    pending = Some(Entry {
                        key_start: start,
                        key_end: end,
                        value_end: end,
                    });
                }
            } else {
                in_llm_value = pending.is_some();
            }
        }
        // How far real content reaches: block collection ends are placed at the next token,
        // so they do not count.
        let content = match token {
            Token::Leaf { .. } | Token::Open { .. } => Some(end),
            Token::Close => stack.last().copied().filter(|flow| *flow).map(|_| end),
            Token::Skip | Token::DocumentStart => None,
        };
        match token {
            Token::Open { flow, .. } => stack.push(flow),
            Token::Close => {
                stack.pop();
            }
            Token::Leaf { .. } | Token::Skip | Token::DocumentStart => {}
        }
        if let Some(content) = content {
            content_end = content_end.max(content);
            if in_llm_value && let Some(entry) = &mut pending {
                entry.value_end = entry.value_end.max(content);
            }
        }
        let completed_at_depth_1 = match token {
            Token::Leaf { .. } => depth == 1,
            Token::Close => depth == 2,
            Token::Open { .. } | Token::Skip | Token::DocumentStart => false,
        };
        if completed_at_depth_1 {
            if !expect_key {
                if in_llm_value {
                    llm = pending.take();
                    in_llm_value = false;
                } else {
                    pending = None;
                }
            }
            expect_key = !expect_key;
        }
        if stack.is_empty() {
            // The top mapping closed; nothing after it matters.
            break;
        }
    }
    match first_key {
        Some(first_key) => Ok(Scan::Block {
            first_key,
            content_end,
            llm,
        }),
        // An empty block mapping cannot be written; this only happens for odd input.
        None => Ok(Scan::NoMapping),
    }
}

/// Byte offsets of a span; the parser reports them for string input.
fn offsets(text: &str, span: &Span) -> Result<(usize, usize), String> {
    let start = span.start.byte_offset();
    let end = span.end.byte_offset();
    match (start, end) {
        (Some(start), Some(end))
            if start <= end && text.is_char_boundary(start) && text.is_char_boundary(end) =>
        {
            Ok((start, end))
        }
        _ => Err("the parser reported no byte offsets".to_owned()),
    }
}

/// The start of the line holding `at`; a byte-order mark opening the file is not part of
/// the first line (it stays where it is).
fn line_start(text: &str, at: usize) -> usize {
    match text[..at].rfind(LINE_BREAKS) {
        Some(newline) => newline + 1,
        None if text.starts_with('\u{feff}') => '\u{feff}'.len_utf8(),
        None => 0,
    }
}

/// The offset just after the line break that ends the line holding `at - 1` (or `at` itself
/// when it already starts a line).
fn line_end(text: &str, at: usize) -> usize {
    let (before, after) = text.split_at(at);
    let starts_line =
        before.ends_with('\n') || (before.ends_with('\r') && !after.starts_with('\n'));
    if at == 0 || starts_line {
        return at;
    }
    match after.find(LINE_BREAKS) {
        Some(offset) if after[offset..].starts_with("\r\n") => at + offset + 2,
        Some(offset) => at + offset + 1,
        None => text.len(),
    }
}

/// What ends a line in YAML: `\n`, `\r\n`, or a lone `\r` (YAML 1.2 §5.4), which the parser
/// counts as a line break too — so the block's lines end where the parser's do.
const LINE_BREAKS: [char; 2] = ['\n', '\r'];

/// The indentation of a top-level key, which must be preceded only by spaces on its line.
fn key_indent(text: &str, key_start: usize) -> Result<usize, String> {
    let start = line_start(text, key_start);
    let prefix = &text[start..key_start];
    if prefix.bytes().all(|b| b == b' ') {
        Ok(prefix.len())
    } else {
        Err(format!(
            "the top-level key on line {} has {prefix:?} before it; write it as a plain `key:` line",
            text[..key_start].matches('\n').count() + 1
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> &str {
        let layout = locate(text).unwrap_or_else(|e| panic!("{e}"));
        &text[layout.range]
    }

    #[test]
    fn finds_the_block_between_other_keys() {
        let text =
            "# head\na: 1\nllm:\n  gateway_url: x # c\n  oidc:\n    issuer: y\n\n# about b\nb: 2\n";
        assert_eq!(
            block(text),
            "llm:\n  gateway_url: x # c\n  oidc:\n    issuer: y\n"
        );
    }

    /// A lone `\r` breaks a line for the parser, so it ends the block too: the key after it
    /// is not swallowed by a rewrite (found by the `config_parse` fuzzer).
    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        assert_eq!(
            block("llm:\n  gateway_url: x\r\rb:\n  c: 1\n"),
            "llm:\n  gateway_url: x\r"
        );
        assert_eq!(block("a: 1\rllm: x\rb: 2"), "llm: x\r");
        assert_eq!(block("a: 1\r\nllm: x\r\nb: 2"), "llm: x\r\n");
    }

    #[test]
    fn flow_value_and_last_key_without_newline() {
        assert_eq!(
            block("a: 1\nllm: {gateway_url: x,\n  oidc: {}}\nb: [1]"),
            "llm: {gateway_url: x,\n  oidc: {}}\n"
        );
        assert_eq!(block("a: 1\nllm:\n  x: 1"), "llm:\n  x: 1");
        assert_eq!(block("llm:\nb: 1\n"), "llm:\n");
    }

    #[test]
    fn block_scalar_value_ends_where_the_scalar_ends() {
        let text = "llm:\n  x: |\n    text\n    more\nb: 1\n";
        assert_eq!(block(text), "llm:\n  x: |\n    text\n    more\n");
    }

    #[test]
    fn insertion_points() {
        let layout = locate("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout.range, layout.newline_before), (0..0, false));
        let layout = locate("# only a comment").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout.range, layout.newline_before), (16..16, true));
        let text = "a: 1\nb:\n  - x\n# trailing\n";
        let layout = locate(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout.range, layout.indent), (14..14, 0));
        let layout = locate("  a: 1\r\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (layout.range, layout.indent, layout.newline),
            (8..8, 2, "\r\n")
        );
        // After a lone `\r` a new line has begun: nothing to add before the block.
        let layout = locate("a: 1\r").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout.range, layout.newline_before), (5..5, false));
        let layout = locate("\r:").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout.range, layout.newline_before), (1..1, false));
    }

    #[test]
    fn indented_top_level_keeps_its_indent() {
        let layout = locate("  a: 1\n  llm:\n    x: 1\n  b: 2\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((layout.range, layout.indent), (7..23, 2));
    }

    #[test]
    fn refuses_what_line_replacement_cannot_handle() {
        assert!(locate("{a: 1, llm: {}}").is_err());
        assert!(locate("? llm\n: {}\n").is_err());
    }
}
