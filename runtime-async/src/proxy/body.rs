//! The one body type the proxy sends both ways: hyper's streaming `Incoming` passed
//! through frame by frame (never collected), or a small body held in memory (errors the
//! proxy answers itself, and request bodies kept for the one retry after a 401).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use llmauth_core::broker::rules::wait_for_body;

/// Errors of a proxied body.
pub(crate) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// A request or response body on its way through the proxy.
pub(crate) enum ProxyBody {
    /// Streamed as it arrives, with the idle timeout between frames.
    Stream(Idle<Incoming>),
    /// Streamed, with its first read already made ([`ProxyBody::prime`]): its frame, or
    /// its error, still to be passed on.
    Primed(Option<Result<Frame<Bytes>, BodyError>>, Idle<Incoming>),
    /// Held in memory (`None` once sent, or empty).
    Full(Option<Bytes>),
}

impl ProxyBody {
    /// A body held in memory.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// No body.
    pub(crate) fn empty() -> Self {
        Self::Full(None)
    }

    /// `incoming` streamed through, failing after `limit` without a frame.
    pub(crate) fn stream(incoming: Incoming, limit: Duration) -> Self {
        Self::Stream(Idle::new(incoming, limit))
    }

    /// When core says so ([`wait_for_body`]: a small body of announced size), waits for its first
    /// frame, so that hyper writes the response head and body in one system call. Without
    /// it, the head goes out alone: hyper's client reads a body only once it is asked for,
    /// so at the head the body is never ready yet, and the server flushes the head, waits
    /// one task hop and writes the body. A failed first read is passed on as the body's
    /// first frame, as it would have been.
    pub(crate) async fn prime(self) -> Self {
        let Self::Stream(mut idle) = self else {
            return self;
        };
        if !wait_for_body(idle.size_hint().exact()) {
            return Self::Stream(idle);
        }
        let first = std::future::poll_fn(|cx| Pin::new(&mut idle).poll_frame(cx)).await;
        Self::Primed(first, idle)
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Self::Stream(idle) => Pin::new(idle).poll_frame(cx),
            Self::Primed(first, idle) => match first.take() {
                Some(first) => Poll::Ready(Some(first)),
                None => Pin::new(idle).poll_frame(cx),
            },
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Stream(idle) => idle.inner.is_end_stream(),
            Self::Primed(first, idle) => first.is_none() && idle.inner.is_end_stream(),
            Self::Full(bytes) => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Stream(idle) => idle.inner.size_hint(),
            Self::Primed(first, idle) => {
                let held = first
                    .as_ref()
                    .and_then(|first| first.as_ref().ok())
                    .and_then(Frame::data_ref)
                    .map_or(0, |data| data.len() as u64);
                let rest = idle.inner.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower().saturating_add(held));
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper.saturating_add(held));
                }
                hint
            }
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
        }
    }
}

/// The upstream went silent for longer than the idle limit.
#[derive(Debug, thiserror::Error)]
#[error("no data for {0} s")]
pub(crate) struct IdleTimeout(u64);

/// A body that fails when no frame arrives for `limit` (SPEC §7: an idle timeout between
/// bytes, no total timeout — generations may stream for many minutes).
///
/// A frame costs one clock read; the timer is re-armed only when it fires, from the time
/// of the last frame, so streaming does not touch the timer wheel per frame.
pub(crate) struct Idle<B> {
    inner: B,
    limit: Duration,
    last: Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<B> Idle<B> {
    pub(crate) fn new(inner: B, limit: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            limit,
            last: now,
            timer: Box::pin(tokio::time::sleep_until((now + limit).into())),
        }
    }
}

impl<B> Body for Idle<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BodyError>,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.last = Instant::now();
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        loop {
            if this.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let deadline = this.last + this.limit;
            if Instant::now() >= deadline {
                return Poll::Ready(Some(Err(IdleTimeout(this.limit.as_secs()).into())));
            }
            this.timer.as_mut().reset(deadline.into());
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt as _, StreamBody};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn a_silent_body_times_out_and_a_busy_one_does_not() {
        runtime().block_on(async {
            let (sender, mut receiver) =
                tokio::sync::mpsc::unbounded_channel::<Result<Frame<Bytes>, BodyError>>();
            let frames = futures_lite::stream::poll_fn(move |cx| receiver.poll_recv(cx));
            let mut idle = Idle::new(
                StreamBody::new(Box::pin(frames)),
                Duration::from_millis(150),
            );
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(80)).await;
                sender
                    .send(Ok(Frame::data(Bytes::from_static(b"x"))))
                    .unwrap();
                let frame = idle.frame().await.unwrap().unwrap();
                assert_eq!(frame.into_data().unwrap(), "x");
            }
            let started = Instant::now();
            let error = idle.frame().await.unwrap().unwrap_err();
            assert!(error.to_string().contains("no data"));
            assert!(started.elapsed() >= Duration::from_millis(140));
        });
    }

    #[test]
    fn full_bodies_report_their_size() {
        let body = ProxyBody::full("hello");
        assert_eq!(body.size_hint().exact(), Some(5));
        assert!(!body.is_end_stream());
        assert!(ProxyBody::empty().is_end_stream());
        let collected = runtime().block_on(body.collect()).unwrap().to_bytes();
        assert_eq!(collected, "hello");
    }
}
