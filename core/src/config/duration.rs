//! Durations as people write them in `config.yaml` and on the command line: `10m`, `90s`,
//! `1h30m`, `500ms`.
//!
//! The grammar is deliberately small: one or more `<digits><unit>` parts, units `h`, `m`,
//! `s`, `ms`, each used at most once and from largest to smallest, so that every accepted
//! spelling reads unambiguously.

use core::time::Duration;

/// Parses a duration such as `10m`, `90s`, `1h30m` or `500ms`.
///
/// # Errors
///
/// A description of what is wrong (lowercase, no trailing period), for use in a
/// [`FieldError`](super::FieldError).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || format!("{text:?} is not a duration like 10m, 90s, 1h30m or 500ms");
    if text.is_empty() {
        return Err(expected());
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    // Index into UNITS of the last unit used, to enforce largest-to-smallest order.
    let mut last_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("{text:?} has a number without a unit (h, m, s or ms)"))?;
        if digits_end == 0 {
            return Err(expected());
        }
        let (digits, after) = rest.split_at(digits_end);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return Err(format!(
                "{text:?} uses unknown unit {unit:?} (use h, m, s or ms)"
            ));
        };
        if last_unit.is_some_and(|last| index <= last) {
            return Err(format!(
                "{text:?} must list units once each, from largest to smallest (e.g. 1h30m)"
            ));
        }
        last_unit = Some(index);
        let too_long = || format!("{text:?} is too long");
        let amount: u64 = digits.parse().map_err(|_| too_long())?;
        let part = amount.checked_mul(UNITS[index].1).ok_or_else(too_long)?;
        total_ms = total_ms.checked_add(part).ok_or_else(too_long)?;
        rest = next;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration in the same grammar, largest units first (`1h30m`, `500ms`, `0s`).
///
/// Sub-millisecond parts are dropped: the grammar cannot express them and no setting needs
/// them.
pub fn format_duration(duration: Duration) -> String {
    let mut ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, size) in UNITS {
        let amount = ms / size;
        if amount > 0 {
            out.push_str(&amount.to_string());
            out.push_str(name);
            ms -= amount * size;
        }
    }
    out
}

/// Units from largest to smallest, with their size in milliseconds.
const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_documented_spellings() {
        let cases = [
            ("10m", 600_000),
            ("90s", 90_000),
            ("1h", 3_600_000),
            ("1h30m", 5_400_000),
            ("500ms", 500),
            ("1m30s500ms", 90_500),
            ("0s", 0),
            ("007s", 7_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_everything_else() {
        for text in [
            "",
            "10",
            "m",
            "10 m",
            " 10m",
            "10m ",
            "1.5h",
            "-1m",
            "10d",
            "10M",
            "1m1h",
            "1m1m",
            "1s1ms1s",
            "ms",
            "10mss",
            "1h 30m",
            "99999999999999999999h",
            "5124095576030432h",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn error_messages_quote_the_input() {
        assert_eq!(
            parse_duration("10"),
            Err("\"10\" has a number without a unit (h, m, s or ms)".to_owned())
        );
        assert_eq!(
            parse_duration("10d"),
            Err("\"10d\" uses unknown unit \"d\" (use h, m, s or ms)".to_owned())
        );
    }

    #[test]
    fn formats_largest_units_first() {
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(
            format_duration(Duration::from_millis(5_400_500)),
            "1h30m500ms"
        );
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_micros(1)), "0s");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(ms in 0u64..=u64::MAX / 4) {
            let duration = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }

        #[test]
        fn never_panics(text in "[0-9hms .-]{0,24}") {
            let _ = parse_duration(&text);
        }
    }
}
