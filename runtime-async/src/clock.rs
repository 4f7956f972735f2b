//! The async clock: the wall clock core reads time from, and sleeps that notice a
//! suspended laptop.

use std::time::Duration;

use llmauth_core::time::UnixTime;

/// Longest single sleep: a machine that suspends mid-sleep notices the jump within this.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// The current wall-clock time.
pub fn now() -> UnixTime {
    llmauth_blocking::now()
}

/// Sleeps until the wall clock reaches `deadline`, in slices of at most a minute (timers
/// run on a monotonic clock that may not count suspend). Inside a tokio runtime.
pub async fn sleep_until(deadline: UnixTime) {
    loop {
        let left = deadline.since(now());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(MAX_SLEEP)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeps_until_the_deadline() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let deadline = now().saturating_add(Duration::from_millis(80));
        runtime.block_on(sleep_until(deadline));
        assert!(now() >= deadline);
        let start = std::time::Instant::now();
        runtime.block_on(sleep_until(UnixTime::EPOCH));
        assert!(start.elapsed() < Duration::from_millis(50));
    }
}
