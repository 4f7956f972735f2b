//! The proxy's sockets: a tokio TCP stream seen through futures-io (what futures-rustls
//! reads and writes), and hyper's I/O traits over a futures-io stream (TLS over it).
//!
//! tokio registers a socket with the worker's reactor once (edge-triggered) and keeps its
//! readiness: a read that fills less than the buffer clears it, so a drained socket is
//! not asked again until the reactor sees more data.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead as _, AsyncWrite as _, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream registered with this thread's reactor, seen through futures-io (what
/// futures-rustls reads and writes).
pub(crate) struct Socket {
    io: TcpStream,
}

impl Socket {
    pub(crate) fn new(io: TcpStream) -> Self {
        Self { io }
    }

    /// Disables Nagle's algorithm: small writes (SSE events, headers) leave at once.
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        self.io.set_nodelay(true)
    }
}

impl futures_lite::AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(buf);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl futures_lite::AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match ready!(Pin::new(&mut self.io).poll_shutdown(cx)) {
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
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
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
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
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
