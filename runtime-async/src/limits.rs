//! The descriptor limit, raised at start as core's
//! [`nofile_target`](llmauth_core::broker::connections::nofile_target) says, and the
//! connection cap that follows from it.

use llmauth_core::broker::connections::connection_cap;

/// Raises the soft `RLIMIT_NOFILE` (to the hard limit) and returns the cap on client
/// connections under the limit now in force.
pub(crate) fn raise_and_cap() -> usize {
    connection_cap(raise_nofile())
}

/// The soft limit after raising it (`None`: unlimited).
#[cfg(unix)]
fn raise_nofile() -> Option<u64> {
    use llmauth_core::broker::connections::nofile_target;
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

    let limit = getrlimit(Resource::Nofile);
    let Some(target) = nofile_target(limit.current, limit.maximum) else {
        return limit.current;
    };
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(target),
        // Refused (a sandbox): the old limit stays, and so does a cap below it.
        Err(_) => limit.current,
    }
}

/// Windows has no such limit on sockets.
#[cfg(not(unix))]
fn raise_nofile() -> Option<u64> {
    None
}
