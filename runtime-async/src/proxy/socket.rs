//! A TCP stream that remembers when the socket last said "would block".
//!
//! hyper polls a connection's read side every time its task runs — for a response
//! ready to write, a body frame, a pool signal — and `async-io` answers each poll with
//! a `recv` attempt. Under load that is several failed `recv` system calls per request.
//! This stream reads optimistically until the socket reports `WouldBlock`, and from then
//! on asks `async-io` for readiness (no system call) until the reactor has seen the socket
//! become readable. The same goes for writes.
//!
//! (It does not treat a short read as "empty" to save the `WouldBlock` read: a `recv`
//! call is also when the kernel sends a pending window update, and skipping it stalled
//! bulk transfers on delayed ACKs — measured 10–40 ms stalls per read on loopback.)

use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use smol::Async;

/// A non-blocking TCP stream with readiness tracking (see the module docs).
pub(crate) struct Socket {
    io: Async<TcpStream>,
    read_blocked: bool,
    write_blocked: bool,
}

impl Socket {
    pub(crate) fn new(io: Async<TcpStream>) -> Self {
        Self {
            io,
            read_blocked: false,
            write_blocked: false,
        }
    }

    /// Disables Nagle's algorithm: small writes (SSE events, headers) leave at once.
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        self.io.get_ref().set_nodelay(true)
    }
}

impl futures_lite::AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.read_blocked {
                ready!(self.io.poll_readable(cx))?;
                self.read_blocked = false;
            }
            match self.io.get_ref().read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.read_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }
}

impl futures_lite::AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.write_blocked {
                ready!(self.io.poll_writable(cx))?;
                self.write_blocked = false;
            }
            match self.io.get_ref().write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            if self.write_blocked {
                ready!(self.io.poll_writable(cx))?;
                self.write_blocked = false;
            }
            match self.io.get_ref().write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.write_blocked = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the socket; there is no buffer to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.io.get_ref().shutdown(Shutdown::Write) {
            // Already closed by the peer: nothing left to shut down.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            result => result,
        })
    }
}

/// hyper's I/O traits for a futures-io stream (`Socket`, or TLS over it).
///
/// hyper hands out uninitialised read buffers, and filling one safely means zeroing all
/// of it first (8 KiB or more per read). Reading into a per-thread scratch buffer, zeroed
/// once, and copying only the bytes read is cheaper and needs no unsafe code.
pub(crate) struct HyperIo<T>(T);

/// Largest single read: a TLS record's plaintext.
const SCRATCH: usize = 16 * 1024;

thread_local! {
    static SCRATCH_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; SCRATCH]);
}

impl<T> HyperIo<T> {
    pub(crate) fn new(io: T) -> Self {
        Self(io)
    }

    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T: futures_lite::AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        SCRATCH_BUFFER.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let want = buf.remaining().min(scratch.len());
            let n = ready!(Pin::new(&mut self.0).poll_read(cx, &mut scratch[..want]))?;
            buf.put_slice(&scratch[..n]);
            Poll::Ready(Ok(()))
        })
    }
}

impl<T: futures_lite::AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};

    #[test]
    fn reads_and_writes_across_would_block() {
        smol::block_on(async {
            let listener = Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
            let addr = listener.get_ref().local_addr().unwrap();
            let client = Async::<TcpStream>::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let mut client = Socket::new(client);
            let mut server = Socket::new(server);
            // Both ends on this thread, as in the proxy (one thread drives tasks and
            // the reactor). Nothing to read at first: the first poll sees WouldBlock.
            let big = vec![7u8; 1024 * 1024];
            let reader = async {
                let mut got = vec![0u8; 5];
                server.read_exact(&mut got).await.unwrap();
                let mut rest = Vec::new();
                server.read_to_end(&mut rest).await.unwrap();
                (got, rest.len())
            };
            let writer = async {
                smol::Timer::after(std::time::Duration::from_millis(50)).await;
                client.write_all(b"hello").await.unwrap();
                client.write_all(&big).await.unwrap();
                client.close().await.unwrap();
            };
            let ((got, rest), ()) = futures_lite::future::zip(reader, writer).await;
            assert_eq!(got, b"hello");
            assert_eq!(rest, big.len());
        });
    }
}
