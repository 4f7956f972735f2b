//! SIGINT and SIGTERM (Ctrl+C on Windows) as a future, for a graceful stop.

use std::io;

use futures_lite::StreamExt as _;

/// Resolves at the first SIGINT or SIGTERM. A second one ends the process at once (exit
/// 130), for a person who does not want to wait for streams to drain.
///
/// # Errors
/// When the signal handlers cannot be installed.
pub fn first_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut signals =
        async_signal::Signals::new([async_signal::Signal::Term, async_signal::Signal::Int])?;
    #[cfg(not(unix))]
    let mut signals = async_signal::Signals::new([async_signal::Signal::Int])?;
    Ok(async move {
        if signals.next().await.is_none() {
            return std::future::pending().await;
        }
        // Later signals: give up on draining.
        std::thread::spawn(move || {
            smol::block_on(async {
                if signals.next().await.is_some() {
                    std::process::exit(130);
                }
            });
        });
    })
}
