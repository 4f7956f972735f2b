//! The path prefix Anthropic-style tools need in front of `/v1/messages` (SPEC §9,
//! `setup.anthropic_path_prefix`).

/// What to do about the prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrefixChoice {
    /// Use this prefix (possibly empty) as configured.
    Fixed(String),
    /// `auto`: probe the gateway.
    Probe,
}

/// The path the probe asks about under a prefix, and the prefix it tries.
pub const PROBED_PREFIX: &str = "/anthropic";
/// The Messages API path appended to the gateway URL (after the prefix, if any).
pub const MESSAGES_PATH: &str = "/v1/messages";

/// Reads `setup.anthropic_path_prefix`: `auto` asks for a probe, anything else is used as
/// written (with one leading slash).
pub fn choice(configured: &str) -> PrefixChoice {
    match configured.trim() {
        "auto" => PrefixChoice::Probe,
        "" => PrefixChoice::Fixed(String::new()),
        other => PrefixChoice::Fixed(format!("/{}", other.trim_matches('/'))),
    }
}

/// The gateway URL as Anthropic-style tools (Claude Code, Claude Desktop) need it, before
/// the prefix: without a trailing `/v1`, which they add themselves — given
/// `https://gw/v1`, Claude Code would call `https://gw/v1/v1/messages`.
pub fn anthropic_base(gateway_url: &str) -> &str {
    let base = gateway_url.trim_end_matches('/');
    base.strip_suffix("/v1").unwrap_or(base)
}

/// The two URLs the `auto` probe asks about, for [`from_probe`]: the Messages API under
/// [`PROBED_PREFIX`], and without it.
pub fn probe_urls(gateway_url: &str) -> [String; 2] {
    let base = anthropic_base(gateway_url);
    [
        format!("{base}{PROBED_PREFIX}{MESSAGES_PATH}"),
        format!("{base}{MESSAGES_PATH}"),
    ]
}

/// Decides from two unauthenticated `HEAD` requests: `<gateway>/anthropic/v1/messages`
/// (`prefixed`) and `<gateway>/v1/messages` (`plain`); `None` is a request that failed.
///
/// The prefix is used only when the prefixed path exists (any answer but 404) and the
/// plain one does not (404): a gateway answering 401 on every path — which fooled the
/// reference's single probe — gets no prefix.
pub fn from_probe(prefixed: Option<u16>, plain: Option<u16>) -> String {
    match (prefixed, plain) {
        (Some(status), Some(404)) if status != 404 => PROBED_PREFIX.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_values() {
        assert_eq!(choice("auto"), PrefixChoice::Probe);
        assert_eq!(choice(""), PrefixChoice::Fixed(String::new()));
        assert_eq!(
            choice("anthropic/"),
            PrefixChoice::Fixed("/anthropic".into())
        );
    }

    #[test]
    fn a_trailing_v1_is_left_to_the_tools() {
        assert_eq!(anthropic_base("https://gw/v1/"), "https://gw");
        assert_eq!(anthropic_base("https://gw/api/v1"), "https://gw/api");
        assert_eq!(anthropic_base("https://gw/v10"), "https://gw/v10");
        assert_eq!(
            probe_urls("https://gw/v1"),
            [
                "https://gw/anthropic/v1/messages".to_owned(),
                "https://gw/v1/messages".to_owned()
            ]
        );
    }

    #[test]
    fn probe_needs_a_difference() {
        assert_eq!(from_probe(Some(401), Some(404)), "/anthropic");
        assert_eq!(from_probe(Some(405), Some(404)), "/anthropic");
        assert_eq!(from_probe(Some(401), Some(401)), "");
        assert_eq!(from_probe(Some(404), Some(404)), "");
        assert_eq!(from_probe(None, Some(404)), "");
        assert_eq!(from_probe(Some(401), None), "");
    }
}
