//! Coarse deadlines for timeouts counted in minutes (the gateway's 5-minute silence
//! before answering).
//!
//! A reactor timer per request costs a timer-queue operation and a reactor wake-up (a
//! system call) on the request path. These deadlines only register a waker in a map; one
//! task checks the map once a second, and only while something is waiting. They fire up
//! to a second late, which is irrelevant at this scale.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use smol::channel::{Receiver, Sender};

/// How often waiting deadlines are checked.
const TICK: Duration = Duration::from_secs(1);

/// Hands out deadlines; cheap to clone.
#[derive(Clone)]
pub(crate) struct Deadlines {
    inner: Arc<Inner>,
}

struct Inner {
    waiting: Mutex<HashMap<u64, (Instant, Waker)>>,
    next_id: AtomicU64,
    /// Wakes the checker when the first deadline starts waiting.
    first: Sender<()>,
}

impl Deadlines {
    /// Starts the checker task on `executor`.
    pub(crate) fn start(executor: &smol::Executor<'static>) -> Self {
        let (first, wake) = smol::channel::bounded(1);
        let inner = Arc::new(Inner {
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            first,
        });
        executor.spawn(check(Arc::downgrade(&inner), wake)).detach();
        Self { inner }
    }

    /// A future that resolves `duration` from now (up to a second late).
    pub(crate) fn after(&self, duration: Duration) -> Deadline {
        Deadline {
            inner: Arc::clone(&self.inner),
            at: Instant::now() + duration,
            id: None,
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (Instant, Waker)>> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Wakes the expired deadlines once a second while any is waiting.
async fn check(inner: std::sync::Weak<Inner>, wake: Receiver<()>) {
    loop {
        let idle = match inner.upgrade() {
            Some(inner) => inner.lock().is_empty(),
            None => return,
        };
        if idle {
            if wake.recv().await.is_err() {
                return;
            }
            continue;
        }
        smol::Timer::after(TICK).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let now = Instant::now();
        let expired: Vec<Waker> = {
            let mut waiting = inner.lock();
            let ids: Vec<u64> = waiting
                .iter()
                .filter(|(_, (at, _))| *at <= now)
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| waiting.remove(id).map(|(_, waker)| waker))
                .collect()
        };
        for waker in expired {
            waker.wake();
        }
    }
}

/// See [`Deadlines::after`].
pub(crate) struct Deadline {
    inner: Arc<Inner>,
    at: Instant,
    id: Option<u64>,
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        let at = self.at;
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
                self.id = Some(id);
                id
            }
        };
        let was_empty = {
            let mut waiting = self.inner.lock();
            let was_empty = waiting.is_empty();
            match waiting.get_mut(&id) {
                Some((_, waker)) if waker.will_wake(cx.waker()) => {}
                Some((_, waker)) => waker.clone_from(cx.waker()),
                None => {
                    waiting.insert(id, (at, cx.waker().clone()));
                }
            }
            was_empty
        };
        if was_empty {
            // A full channel already holds a wake-up.
            let _ = self.inner.first.try_send(());
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.inner.lock().remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_after_its_duration_and_not_before() {
        let executor = Arc::new(smol::Executor::new());
        let deadlines = Deadlines::start(&executor);
        smol::block_on(executor.run(async {
            let started = Instant::now();
            deadlines.after(Duration::from_millis(300)).await;
            let waited = started.elapsed();
            assert!(waited >= Duration::from_millis(300), "{waited:?}");
            assert!(waited < Duration::from_millis(2500), "{waited:?}");
            // A dropped deadline leaves nothing behind.
            let pending = deadlines.after(Duration::from_secs(60));
            let raced = futures_lite::future::or(
                async {
                    pending.await;
                    false
                },
                async {
                    smol::Timer::after(Duration::from_millis(20)).await;
                    true
                },
            )
            .await;
            assert!(raced);
            assert!(deadlines.inner.lock().is_empty());
        }));
    }
}
