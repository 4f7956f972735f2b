//! Fifty `llmauth token` calls at once at expiry: one refresh reaches the provider, all
//! fifty print the same token, and the grant survives. oidc-provider revokes the whole
//! grant when a rotated refresh token is replayed, so a second refresh with the old token
//! would make the final forced refresh fail.

use std::time::{Duration, Instant};

use llmauth_tests::sandbox::wait;

use super::harness::E2e;

const PROCESSES: usize = 50;

/// The provider holds back its answer to a refresh this long, so all fifty processes are
/// surely running while the one refresh is in flight (they cannot simply find the new
/// token already stored).
const SLOW_REFRESH: Duration = Duration::from_secs(2);

#[test]
fn fifty_concurrent_token_calls_make_one_refresh() {
    // 12 s tokens: fresh for 6 s, so after the one refresh every waiter finds a token
    // with 6 s of freshness left — far more than fifty lock hand-overs take.
    let e2e = E2e::start_with(Duration::from_secs(12), |options| {
        options.refresh_delay = SLOW_REFRESH;
    });
    e2e.login();
    let before = e2e.token(&[]);
    e2e.wait_until_refresh_due();

    let spawning = Instant::now();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| e2e.sandbox.spawn(&["token"]))
        .collect();
    let spawned_in = spawning.elapsed();
    assert!(
        spawned_in < SLOW_REFRESH,
        "starting {PROCESSES} processes took {spawned_in:?}: they did not all overlap with the refresh"
    );
    let results: Vec<_> = children
        .into_iter()
        .map(|child| wait(child, Duration::from_secs(60)))
        .collect();
    // The slow refresh was in effect (everyone waited for it).
    assert!(
        spawning.elapsed() >= SLOW_REFRESH,
        "{:?}",
        spawning.elapsed()
    );

    let failures: Vec<_> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.code != 0)
        .map(|(i, r)| format!("#{i}: exit {}: {}", r.code, r.stderr.trim()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {PROCESSES} failed:\n{}\n--- oidc-provider log ---\n{}",
        failures.len(),
        failures.join("\n"),
        e2e.provider.log()
    );
    let tokens: Vec<&str> = results.iter().map(|r| r.stdout.trim_end()).collect();
    assert!(
        tokens.iter().all(|t| *t == tokens[0]),
        "the processes printed {} different tokens",
        {
            let mut distinct = tokens.clone();
            distinct.sort_unstable();
            distinct.dedup();
            distinct.len()
        }
    );
    assert_ne!(tokens[0], before, "the expiring token was not refreshed");
    assert_eq!(
        e2e.refresh_requests(),
        [(200, None)],
        "expected exactly one refresh request"
    );
    e2e.assert_gateway_accepts(tokens[0]);

    // The grant survived: a forced refresh with the stored (rotated) token works.
    let forced = e2e.token(&["--force-refresh"]);
    assert_ne!(forced, tokens[0]);
    assert_eq!(e2e.refresh_requests(), [(200, None), (200, None)]);
    e2e.assert_gateway_accepts(&forced);
}
