//! The wall clock and the OS random source: the two non-deterministic inputs core takes
//! as arguments instead of reading them itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use llmauth_core::error::EntropyError;
use llmauth_core::secret::Entropy;
use llmauth_core::time::UnixTime;

/// Longest single sleep: a laptop that suspends mid-sleep notices the jump within this.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The current wall-clock time (a clock before 1970 reads as the epoch).
pub fn now() -> UnixTime {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    UnixTime::from_millis(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
}

/// Sleeps until the wall clock reaches `deadline`.
///
/// Sleeps in slices of at most 60 s and re-reads the wall clock after each, because
/// `thread::sleep` may not count time the machine spent suspended: a deadline that passed
/// during suspend is noticed within a minute of waking up.
pub fn sleep_until(deadline: UnixTime) {
    loop {
        let left = deadline.since(now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(MAX_SLEEP));
    }
}

/// 64 fresh bytes from the OS for the PKCE verifier, `state` and `nonce`.
///
/// # Errors
/// [`EntropyError`] when the OS random source fails; there is deliberately no fallback,
/// since guessable PKCE or `state` values would defeat their purpose.
pub fn entropy() -> Result<Entropy, EntropyError> {
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| EntropyError {
        detail: e.to_string(),
    })?;
    Ok(Entropy::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_after_2024_and_monotone_enough() {
        let a = now();
        assert!(a > UnixTime::from_secs(1_704_067_200), "{a:?}");
        let b = now();
        assert!(b >= a);
    }

    #[test]
    fn sleep_until_past_deadline_returns_at_once() {
        let start = std::time::Instant::now();
        sleep_until(UnixTime::EPOCH);
        assert!(start.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn sleep_until_waits_for_the_deadline() {
        let deadline = now().saturating_add(Duration::from_millis(120));
        sleep_until(deadline);
        assert!(now() >= deadline);
    }

    #[test]
    fn entropy_differs_between_calls() {
        let a = format!("{:?}", entropy().unwrap());
        assert_eq!(a, "Entropy([redacted])");
        // Entropy does not expose its bytes outside core, so compare what core derives
        // from it indirectly: two fills of a raw buffer must differ.
        let mut x = [0u8; 64];
        let mut y = [0u8; 64];
        getrandom::fill(&mut x).unwrap();
        getrandom::fill(&mut y).unwrap();
        assert_ne!(x, y);
    }
}
