//! Socket activation, as core's [`activation`](llmauth_core::service::activation) decides
//! it: the listening sockets a service manager opened for this process (descriptors 3,
//! 4, …), or none.

use std::io;
use std::net::TcpListener;

/// The listening sockets handed to this process, when `LISTEN_PID` names it; none
/// otherwise. Either way `LISTEN_PID` and `LISTEN_FDS` are gone from the environment
/// afterwards, so no child process takes them for its own.
///
/// Call it before any thread starts: it changes the environment.
///
/// # Errors
/// An inherited descriptor that is not a listening TCP socket.
#[cfg(unix)]
pub fn inherited_listeners() -> io::Result<Vec<TcpListener>> {
    use llmauth_core::service::activation::{ActivationFacts, decide};

    let listen_pid = std::env::var("LISTEN_PID").ok();
    let listen_fds = std::env::var("LISTEN_FDS").ok();
    let activation = decide(&ActivationFacts {
        listen_pid: listen_pid.as_deref(),
        listen_fds: listen_fds.as_deref(),
        pid: std::process::id(),
    });
    if !activation.clear_env {
        return Ok(Vec::new());
    }
    // Reads the variables once more and removes them (listenfd's own check accepts an
    // unset LISTEN_PID too; core's stricter rule above decides what is taken).
    let mut fds = listenfd::ListenFd::from_env();
    (0..activation.inherited)
        .filter_map(|index| fds.take_tcp_listener(index).transpose())
        .collect()
}

/// Windows has no socket activation: the proxy always binds by itself.
#[cfg(not(unix))]
pub fn inherited_listeners() -> io::Result<Vec<TcpListener>> {
    Ok(Vec::new())
}
