//! The client connections held, each busy or waiting for a request head, and the closing
//! core's [`to_close`] asks for: those that waited too long for a head (a slow head, an
//! idle keep-alive connection), and those that crowd the cap.
//!
//! One sweep a second while any connection is open does what a header-read timer per
//! request would: such a timer, armed anew for every request head, cost each request a
//! reactor wake-up (a system call and a turn of the event loop).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body::{Body, Frame, SizeHint};
use llmauth_core::broker::connections::{Connection, may_accept, to_close};
use tokio::sync::{Notify, oneshot};

/// How often connections are checked while any is open.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Every open client connection.
pub(crate) struct Connections {
    cap: usize,
    epoch: Instant,
    open: Mutex<Open>,
    /// Wakes the checker when the first connection opens.
    first: Notify,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    entries: HashMap<u64, Entry>,
}

struct Entry {
    activity: Arc<Activity>,
    /// Taken (dropped) to tell the connection to close.
    close: Option<oneshot::Sender<()>>,
}

impl Open {
    /// The connections not already told to close.
    fn live(&self) -> impl Iterator<Item = &Entry> + Clone {
        self.entries.values().filter(|e| e.close.is_some())
    }
}

/// Whether a connection is busy, and since when it waits for a head.
pub(crate) struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `epoch` when it last became idle.
    idle_since: AtomicU64,
}

impl Connections {
    /// Holds at most `cap` connections (more only while one is being closed); starts the
    /// checker on this thread's runtime.
    pub(crate) fn start(cap: usize) -> Arc<Self> {
        let connections = Arc::new(Self {
            cap,
            epoch: Instant::now(),
            open: Mutex::new(Open::default()),
            first: Notify::new(),
        });
        tokio::spawn(check(Arc::clone(&connections)));
        connections
    }

    /// Whether a new connection may be served now: below the cap, or at it with a
    /// connection waiting for a head that can make room.
    pub(crate) fn may_accept(&self) -> bool {
        let open = self.lock();
        let live = open.live();
        let any_waiting = live
            .clone()
            .any(|e| e.activity.in_flight.load(Ordering::SeqCst) == 0);
        may_accept(live.count(), self.cap, any_waiting)
    }

    /// Registers a new connection, closing others first as core says, and returns its
    /// handle.
    pub(crate) fn register(self: &Arc<Self>) -> Registration {
        self.enforce(true);
        let activity = Arc::new(Activity {
            epoch: self.epoch,
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(millis_since(self.epoch)),
        });
        let (close, closed) = oneshot::channel();
        let (id, first) = {
            let mut open = self.lock();
            let id = open.next_id;
            open.next_id += 1;
            open.entries.insert(
                id,
                Entry {
                    activity: Arc::clone(&activity),
                    close: Some(close),
                },
            );
            (id, open.live().count() == 1)
        };
        if first {
            // Kept as a permit when the checker is not waiting yet.
            self.first.notify_one();
        }
        Registration {
            id,
            activity,
            closed,
            connections: Arc::clone(self),
        }
    }

    /// Closes the connections core picks (`incoming`: one is about to join them).
    fn enforce(&self, incoming: bool) {
        let now = millis_since(self.epoch);
        let mut open = self.lock();
        let (ids, facts): (Vec<u64>, Vec<Connection>) = open
            .entries
            .iter()
            .filter(|(_, entry)| entry.close.is_some())
            .map(|(id, entry)| (*id, entry.activity.state(now)))
            .unzip();
        for index in to_close(&facts, self.cap, incoming) {
            if let Some(entry) = ids.get(index).and_then(|id| open.entries.get_mut(id)) {
                // Dropping the sender wakes the connection's task, which drops it.
                entry.close = None;
            }
        }
    }

    /// Whether any connection is open (and not already told to close).
    fn any_open(&self) -> bool {
        self.lock().live().next().is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// While any connection is open, closes those core picks, once a second; sleeps
/// otherwise (until the runtime ends).
async fn check(connections: Arc<Connections>) {
    loop {
        if connections.any_open() {
            tokio::time::sleep(CHECK_EVERY).await;
            connections.enforce(false);
        } else {
            connections.first.notified().await;
        }
    }
}

impl Activity {
    fn state(&self, now: u64) -> Connection {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Connection::Busy;
        }
        let since = self.idle_since.load(Ordering::SeqCst);
        Connection::Waiting(Duration::from_millis(now.saturating_sub(since)))
    }

    /// A request head arrived: busy until the returned guard (kept by the response body)
    /// is dropped.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(self))
    }
}

/// A request in progress on a connection.
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .idle_since
            .store(millis_since(activity.epoch), Ordering::SeqCst);
        activity.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One connection's place among the open ones; dropping it frees the place.
pub(crate) struct Registration {
    id: u64,
    activity: Arc<Activity>,
    closed: oneshot::Receiver<()>,
    connections: Arc<Connections>,
}

impl Registration {
    /// The connection's activity, for its requests.
    pub(crate) fn activity(&self) -> Arc<Activity> {
        Arc::clone(&self.activity)
    }

    /// Resolves when core wants the connection closed.
    pub(crate) async fn closed(&mut self) {
        let _ = (&mut self.closed).await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.lock().entries.remove(&self.id);
    }
}

/// A response body that keeps its connection busy until it is finished (or dropped).
pub(crate) struct Tracked<B> {
    body: B,
    _busy: Busy,
}

impl<B> Tracked<B> {
    pub(crate) fn new(body: B, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether core told this connection to close.
    fn told_to_close(registration: &mut Registration) -> bool {
        matches!(
            registration.closed.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        )
    }

    #[test]
    fn at_the_cap_a_new_connection_closes_the_longest_waiting_one() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _inside = runtime.enter();
        let connections = Connections::start(2);
        let mut first = connections.register();
        std::thread::sleep(Duration::from_millis(5));
        let mut busy = connections.register();
        let request = busy.activity().begin();
        assert!(connections.may_accept(), "one is waiting: it can make room");
        let mut third = connections.register();
        assert!(told_to_close(&mut first), "the oldest waiting one goes");
        assert!(!told_to_close(&mut busy) && !told_to_close(&mut third));
        drop(first);
        drop(third);
        let fourth = connections.register();
        let _also = fourth.activity().begin();
        assert!(!connections.may_accept(), "every connection is busy");
        drop(request);
        assert!(
            connections.may_accept(),
            "a finished request leaves its connection waiting"
        );
        assert!(!told_to_close(&mut busy));
    }
}
