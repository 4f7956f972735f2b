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
    fn probe_needs_a_difference() {
        assert_eq!(from_probe(Some(401), Some(404)), "/anthropic");
        assert_eq!(from_probe(Some(405), Some(404)), "/anthropic");
        assert_eq!(from_probe(Some(401), Some(401)), "");
        assert_eq!(from_probe(Some(404), Some(404)), "");
        assert_eq!(from_probe(None, Some(404)), "");
        assert_eq!(from_probe(Some(401), None), "");
    }
}
