//! How many worker threads the proxy serves on: one per core serves best (each worker is a
//! runtime of its own with its own reactor and gateway pool), but a person's tools never
//! need many, and each costs a little memory.

use core::fmt;
use core::ops::RangeInclusive;

/// Most worker threads when nothing is set, however many cores the machine has.
pub const DEFAULT_MAX: usize = 8;

/// The counts `LLMAUTH_PROXY_THREADS` may set.
pub const ALLOWED: RangeInclusive<usize> = 1..=64;

/// The worker count: `setting` (the `LLMAUTH_PROXY_THREADS` variable) when given, else one
/// per core (`cores`, as the machine reports it; at least 1) up to [`DEFAULT_MAX`].
///
/// # Errors
/// A setting that is not a whole number in [`ALLOWED`]: it is refused rather than
/// ignored, so a mistyped value is seen instead of silently replaced by the default.
pub fn worker_count(setting: Option<&str>, cores: usize) -> Result<usize, BadWorkerCount> {
    let Some(setting) = setting else {
        return Ok(cores.clamp(1, DEFAULT_MAX));
    };
    setting
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|count| ALLOWED.contains(count))
        .ok_or_else(|| BadWorkerCount {
            setting: crate::text::excerpt(setting, 40),
        })
}

/// A worker count that is not a whole number from 1 to 64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadWorkerCount {
    /// What was set, as a short printable excerpt.
    setting: String,
}

impl fmt::Display for BadWorkerCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LLMAUTH_PROXY_THREADS is {:?}: set a whole number from {} to {}, or unset it for one worker per core (at most {DEFAULT_MAX})",
            self.setting,
            ALLOWED.start(),
            ALLOWED.end()
        )
    }
}

impl std::error::Error for BadWorkerCount {}

impl BadWorkerCount {
    /// A setting to correct: the proxy does not start (exit 2).
    pub fn class(&self) -> crate::error::ErrorClass {
        crate::error::ErrorClass::Config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_one_per_core_up_to_the_default_most() {
        assert_eq!(worker_count(None, 2), Ok(2));
        assert_eq!(worker_count(None, 0), Ok(1));
        assert_eq!(worker_count(None, 96), Ok(DEFAULT_MAX));
    }

    #[test]
    fn a_setting_wins_over_the_cores_within_its_range() {
        assert_eq!(worker_count(Some("1"), 16), Ok(1));
        assert_eq!(worker_count(Some(" 64 "), 2), Ok(64));
    }

    #[test]
    fn a_bad_setting_is_refused_and_named() {
        for bad in ["0", "65", "-1", "four", "", "2.5"] {
            let error = worker_count(Some(bad), 2).unwrap_err();
            assert_eq!(error.class(), crate::error::ErrorClass::Config);
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "LLMAUTH_PROXY_THREADS is {bad:?}: set a whole number from 1 to 64"
                )),
                "{message}"
            );
        }
    }
}
