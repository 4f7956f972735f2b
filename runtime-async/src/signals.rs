//! SIGINT and SIGTERM (Ctrl+C on Windows) as a future, for a graceful stop.

use std::io;

use crate::Proxy;

/// Resolves at the first SIGINT or SIGTERM. A second one ends the process at once (exit
/// 130), for a person who does not want to wait for streams to drain.
///
/// The handlers are installed now, through `proxy`'s runtime (which delivers them once it
/// runs): a signal that arrives before the proxy serves is not lost.
///
/// # Errors
/// When the signal handlers cannot be installed.
pub fn first_signal(proxy: &Proxy) -> io::Result<impl Future<Output = ()> + Send + 'static> {
    let _inside = proxy.runtime().enter();
    let mut signals = Signals::install()?;
    Ok(async move {
        signals.next().await;
        // Later signals: give up on draining.
        tokio::spawn(async move {
            signals.next().await;
            std::process::exit(130);
        });
    })
}

/// The stop signals of this platform.
#[cfg(unix)]
struct Signals {
    terminate: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// The next signal (never, once the runtime delivering them is gone).
    async fn next(&mut self) {
        let Self {
            terminate,
            interrupt,
        } = self;
        let received = futures_lite::future::or(terminate.recv(), interrupt.recv()).await;
        if received.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// The stop signals of this platform.
#[cfg(not(unix))]
struct Signals {
    ctrl_c: tokio::signal::windows::CtrlC,
}

#[cfg(not(unix))]
impl Signals {
    fn install() -> io::Result<Self> {
        Ok(Self {
            ctrl_c: tokio::signal::windows::ctrl_c()?,
        })
    }

    /// The next Ctrl+C (never, once the runtime delivering them is gone).
    async fn next(&mut self) {
        if self.ctrl_c.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}
