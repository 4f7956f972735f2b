//! Socket activation (systemd's `sd_listen_fds` protocol): a manager that opened the
//! listening sockets passes them as file descriptors 3, 4, … and says so in `LISTEN_FDS`,
//! naming the process they are meant for in `LISTEN_PID`.

use std::net::{IpAddr, SocketAddr};

use url::Host;

use crate::net::is_loopback;

/// What the runtime read from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivationFacts<'a> {
    /// `LISTEN_PID`.
    pub listen_pid: Option<&'a str>,
    /// `LISTEN_FDS`.
    pub listen_fds: Option<&'a str>,
    /// This process's id.
    pub pid: u32,
}

/// What to do with the variables and the descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activation {
    /// How many inherited sockets (from descriptor 3 on) to serve; 0 = bind by itself.
    pub inherited: usize,
    /// Remove the variables from this process's environment, so no child (a browser
    /// opener) takes them for its own.
    pub clear_env: bool,
}

/// The sockets are this process's only when `LISTEN_PID` is its pid: a variable left
/// over in a shell, or meant for a parent, is never taken (descriptor 3 would then be
/// whatever the process happened to open). Either way the variables are cleared.
pub fn decide(facts: &ActivationFacts<'_>) -> Activation {
    let ours = facts
        .listen_pid
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .is_some_and(|pid| pid == facts.pid);
    let count = facts
        .listen_fds
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0);
    Activation {
        inherited: if ours { count } else { 0 },
        clear_env: facts.listen_pid.is_some() || facts.listen_fds.is_some(),
    }
}

/// Inherited sockets that cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InheritedError {
    /// The proxy listens on loopback only, whoever opened the socket.
    #[error(
        "the inherited socket {0} is not on a loopback address (the proxy serves 127.0.0.1 and [::1] only)"
    )]
    NotLoopback(SocketAddr),
    /// One proxy serves one port (the `Host` check and the tools' URLs name it).
    #[error("the inherited sockets listen on different ports ({0} and {1})")]
    Ports(u16, u16),
    /// `LISTEN_FDS` promised sockets that are not there.
    #[error("no inherited listening socket could be used")]
    None,
}

/// The port the inherited listeners serve: all of them on loopback, all on one port.
///
/// # Errors
/// [`InheritedError`] when one is not loopback, the ports differ, or there is none.
pub fn inherited_port(addresses: &[SocketAddr]) -> Result<u16, InheritedError> {
    let first = addresses.first().ok_or(InheritedError::None)?;
    for address in addresses {
        let host = match address.ip() {
            IpAddr::V4(v4) => Host::Ipv4(v4),
            IpAddr::V6(v6) => Host::Ipv6(v6),
        };
        if !is_loopback(&host) {
            return Err(InheritedError::NotLoopback(*address));
        }
        if address.port() != first.port() {
            return Err(InheritedError::Ports(first.port(), address.port()));
        }
    }
    Ok(first.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(pid: Option<&'a str>, fds: Option<&'a str>) -> ActivationFacts<'a> {
        ActivationFacts {
            listen_pid: pid,
            listen_fds: fds,
            pid: 4242,
        }
    }

    #[test]
    fn sockets_are_taken_only_for_this_pid() {
        assert_eq!(
            decide(&facts(Some("4242"), Some("2"))),
            Activation {
                inherited: 2,
                clear_env: true
            }
        );
        for (pid, fds) in [
            (Some("1"), Some("1")),
            (None, Some("1")),
            (Some(""), Some("1")),
            (Some("4242"), Some("x")),
            (Some("4242"), None),
        ] {
            assert_eq!(
                decide(&facts(pid, fds)),
                Activation {
                    inherited: 0,
                    clear_env: true
                },
                "{pid:?} {fds:?}"
            );
        }
        assert_eq!(
            decide(&facts(None, None)),
            Activation {
                inherited: 0,
                clear_env: false
            }
        );
    }

    #[test]
    fn inherited_sockets_are_loopback_on_one_port() {
        let v4: SocketAddr = "127.0.0.1:14000".parse().unwrap();
        let v6: SocketAddr = "[::1]:14000".parse().unwrap();
        assert_eq!(inherited_port(&[v4, v6]), Ok(14000));
        let any: SocketAddr = "0.0.0.0:14000".parse().unwrap();
        assert_eq!(
            inherited_port(&[v4, any]),
            Err(InheritedError::NotLoopback(any))
        );
        let other: SocketAddr = "[::1]:15000".parse().unwrap();
        assert_eq!(
            inherited_port(&[v4, other]),
            Err(InheritedError::Ports(14000, 15000))
        );
        assert_eq!(inherited_port(&[]), Err(InheritedError::None));
    }
}
