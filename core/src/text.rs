//! Text that reaches a person: counted nouns and lists that read as sentences.

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
