//! How many client connections the proxy holds, and which it closes when they crowd it
//! (issue: about 1,000 idle sockets from any local process, no key needed, used to make
//! `accept` fail with EMFILE so that keyed requests hung).
//!
//! * At start the soft `RLIMIT_NOFILE` is raised to the hard limit ([`nofile_target`]).
//! * The cap on connections stays well below that limit ([`connection_cap`]): every
//!   connection may hold a second descriptor for its gateway connection, and the proxy
//!   needs a few more of its own (listeners, the reactor, session files, locks).
//! * A connection is either busy (a request head arrived; its answer is not finished) or
//!   waiting for a request head — a fresh connection, or a keep-alive one between
//!   requests. One that has waited [`WAIT_LIMIT`] is closed however few are open (a slow
//!   head, an idle keep-alive connection); once the cap is near (three quarters of it),
//!   already those that have waited [`HEADER_DEADLINE`], and at the cap a new connection
//!   closes the one that has waited longest ([`to_close`]). Busy connections are never
//!   closed; when every connection is busy the proxy stops accepting until one is done.
//!
//! So a client with the key always gets in: its connection is accepted at once (an idle
//! one makes room), and once its head has arrived, nothing idle can push it out.

use core::time::Duration;

/// The most client connections at once, however high the descriptor limit (tools keep a
/// few each; the benchmarks hold a thousand streams).
pub const MAX_CONNECTIONS: usize = 4096;

/// Descriptors kept for the proxy itself.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// Under pressure, how long a connection may wait for a complete request head.
pub const HEADER_DEADLINE: Duration = Duration::from_secs(3);

/// However few connections are open, how long one may wait for a complete request head:
/// a slow head, or an idle keep-alive connection between requests.
pub const WAIT_LIMIT: Duration = Duration::from_secs(30);

/// Descriptors the proxy can use at most: two per connection, plus its own.
const NEEDED_DESCRIPTORS: u64 = MAX_CONNECTIONS as u64 * 2 + RESERVED_DESCRIPTORS;

/// The soft `RLIMIT_NOFILE` to set at start, given the current soft and hard limits
/// (`None`: unlimited); `None` when it should stay as it is.
///
/// The soft limit goes up to the hard one. An unlimited hard limit is not a value
/// `setrlimit` takes for descriptors everywhere (macOS refuses it), so then it goes up to
/// what the proxy can use.
pub fn nofile_target(soft: Option<u64>, hard: Option<u64>) -> Option<u64> {
    let soft = soft?;
    let target = hard.unwrap_or(NEEDED_DESCRIPTORS.max(soft));
    (target > soft).then_some(target)
}

/// The cap on client connections under the descriptor limit `limit` (`None`: unlimited).
pub fn connection_cap(limit: Option<u64>) -> usize {
    let Some(limit) = limit else {
        return MAX_CONNECTIONS;
    };
    let usable = limit.saturating_sub(RESERVED_DESCRIPTORS) / 2;
    usize::try_from(usable)
        .unwrap_or(usize::MAX)
        .clamp(1, MAX_CONNECTIONS)
}

/// Whether the cap is near: from three quarters of it on.
pub fn near_cap(open: usize, cap: usize) -> bool {
    open.saturating_mul(4) >= cap.saturating_mul(3)
}

/// A connection as the proxy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// A request head arrived and its answer is not finished.
    Busy,
    /// Waiting this long for a (next) request head.
    Waiting(Duration),
}

/// Which of `open` to close (their indexes), with `incoming` a new connection about to
/// join them: those that waited [`WAIT_LIMIT`] for a head — [`HEADER_DEADLINE`] once the
/// cap is near; above the cap, also the longest-waiting ones until the cap is met. Busy
/// connections never, nor the newcomer (it is about to send its head).
pub fn to_close(open: &[Connection], cap: usize, incoming: bool) -> Vec<usize> {
    let total = open.len() + usize::from(incoming);
    let limit = if near_cap(total, cap) {
        HEADER_DEADLINE
    } else {
        WAIT_LIMIT
    };
    let mut waiting: Vec<(usize, Duration)> = open
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Connection::Waiting(waited) => Some((i, *waited)),
            Connection::Busy => None,
        })
        .collect();
    // Longest-waiting first.
    waiting.sort_by_key(|(_, waited)| core::cmp::Reverse(*waited));
    let over = total.saturating_sub(cap);
    let mut close: Vec<usize> = waiting
        .iter()
        .enumerate()
        .take_while(|(rank, (_, waited))| *rank < over || *waited >= limit)
        .map(|(_, (i, _))| *i)
        .collect();
    close.sort_unstable();
    close
}

/// Whether a new connection may be accepted now: below the cap, or at it with one
/// waiting connection to make room.
pub fn may_accept(open: usize, cap: usize, any_waiting: bool) -> bool {
    open < cap || any_waiting
}

#[cfg(test)]
mod tests {
    use super::*;
    use Connection::{Busy, Waiting};

    fn secs(s: u64) -> Connection {
        Waiting(Duration::from_secs(s))
    }

    #[test]
    fn the_soft_limit_goes_up_to_the_hard_one() {
        assert_eq!(nofile_target(Some(1024), Some(524_288)), Some(524_288));
        assert_eq!(nofile_target(Some(1024), Some(1024)), None);
        assert_eq!(nofile_target(Some(20_000), Some(20_000)), None);
        assert_eq!(nofile_target(Some(256), None), Some(NEEDED_DESCRIPTORS));
        assert_eq!(nofile_target(Some(100_000), None), None);
        assert_eq!(nofile_target(None, None), None);
    }

    #[test]
    fn the_cap_stays_well_below_the_limit() {
        assert_eq!(connection_cap(Some(1024)), 480);
        assert_eq!(connection_cap(Some(256)), 96);
        assert_eq!(connection_cap(Some(20_000)), MAX_CONNECTIONS);
        assert_eq!(connection_cap(None), MAX_CONNECTIONS);
        assert_eq!(connection_cap(Some(10)), 1);
        for limit in [70_u64, 100, 1024, 4096, 8256, 9000] {
            let cap = connection_cap(Some(limit)) as u64;
            assert!(cap * 2 + RESERVED_DESCRIPTORS <= limit, "{limit}");
        }
    }

    #[test]
    fn while_the_cap_is_far_only_the_wait_limit_closes() {
        assert!(to_close(&[secs(29), secs(10)], 8, false).is_empty());
        assert!(to_close(&[secs(29); 4], 8, true).is_empty());
        assert!(!near_cap(5, 8));
        assert!(near_cap(6, 8));
        // A slow head or an idle keep-alive connection, however few are open.
        assert_eq!(to_close(&[secs(30)], 8, false), vec![0]);
        let open = [secs(31), Busy, secs(29), secs(100)];
        assert_eq!(to_close(&open, 4096, true), vec![0, 3]);
        // A request that takes longer than that is not waiting.
        assert!(to_close(&[Busy], 8, false).is_empty());
    }

    #[test]
    fn near_the_cap_slow_heads_go_first() {
        // 6 of 8: near. Only those past the deadline go.
        let open = [secs(5), Busy, secs(1), secs(3), Busy, secs(0)];
        assert_eq!(to_close(&open, 8, false), vec![0, 3]);
        // 5 of 8 plus a newcomer: near too.
        assert_eq!(to_close(&open[..5], 8, true), vec![0, 3]);
    }

    #[test]
    fn above_the_cap_the_longest_waiting_makes_room() {
        // 4 open at a cap of 4, one coming: one must go, and none is past the deadline.
        let open = [secs(1), Busy, secs(2), Busy];
        assert_eq!(to_close(&open, 4, true), vec![2]);
        // The same 4 with nobody coming stay.
        assert!(to_close(&open, 4, false).is_empty());
        // Busy connections are never closed, even above the cap.
        assert!(to_close(&[Busy, Busy, Busy], 2, true).is_empty());
        assert!(!may_accept(2, 2, false));
        assert!(may_accept(2, 2, true));
        assert!(may_accept(1, 2, false));
    }
}
