//! Runs the proxy's executor on the calling thread so that this thread also keeps polling
//! the I/O reactor while it is busy.
//!
//! `block_on(executor.run(..))` runs up to 200 tasks before giving the reactor a look.
//! Under load that takes longer than the 50 µs after which async-io's helper thread takes
//! the reactor over; from then on every I/O event is delivered by that thread and costs a
//! cross-thread wake-up (a futex call and two context switches). Yielding to `block_on`
//! after a few tasks lets it poll the reactor without blocking (picking up every ready
//! event in one batch), so the events stay on this thread.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use smol::Executor;
use smol::channel::Receiver;

/// While clients are connected, this thread wakes at least this often. async-io's helper
/// thread takes the reactor over once it has seen no reactor activity for about 20 ms (a
/// quiet stream between two events); from then on each event costs a second thread
/// wake-up. Waking more often than the helper's longest nap (10 ms) keeps it from doing
/// so.
const KEEP_REACTOR: Duration = Duration::from_millis(8);

/// Tasks run between two non-blocking polls of the reactor.
const BATCH: usize = 16;

/// Runs `executor`'s tasks on this thread until `main` (spawned on it) finishes.
pub(super) fn run<T: Send + 'static>(
    executor: &Executor<'static>,
    main: impl Future<Output = T> + Send + 'static,
) -> T {
    let main = executor.spawn(main);
    drive(executor, main)
}

/// Runs `executor`'s tasks on this thread until `done` finishes (which runs elsewhere or
/// on this executor).
pub(super) fn drive<T>(executor: &Executor<'static>, main: smol::Task<T>) -> T {
    smol::block_on(async {
        loop {
            let mut ran = 0;
            while ran < BATCH && executor.try_tick() {
                ran += 1;
            }
            if main.is_finished() {
                return main.await;
            }
            if ran == BATCH {
                // More may be runnable: let block_on poll the reactor without blocking.
                futures_lite::future::yield_now().await;
            } else {
                // Nothing runnable: wait (block_on then blocks on the reactor).
                executor.tick().await;
            }
        }
    })
}

/// Keeps the reactor on the executor's thread while `connected` is above zero (see
/// [`KEEP_REACTOR`]); sleeps without waking while no client is connected.
pub(super) async fn keep_reactor_here(connected: Arc<AtomicUsize>, first_client: Receiver<()>) {
    loop {
        if connected.load(Ordering::SeqCst) == 0 {
            if first_client.recv().await.is_err() {
                return;
            }
            continue;
        }
        smol::Timer::after(KEEP_REACTOR).await;
    }
}
