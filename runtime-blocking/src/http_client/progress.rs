//! How far a request got before it failed: whether the server ever accepted the
//! connection, and whether the connection was ready to carry the request.
//!
//! ureq counts the TLS handshake as part of connecting, so a server that accepts the
//! connection and then says nothing would be reported as "timed out connecting" — and a
//! handshake that never finished as a request that may have been sent. Markers in the
//! connector chain record each stage instead; a request served by a pooled connection
//! passes no connector and counts as ready.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use ureq::unversioned::transport::{
    ConnectProxyConnector, ConnectionDetails, Connector, RustlsConnector, TcpConnector, Transport,
};

/// The stage a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    /// A new connection was being opened (name resolution, TCP, an HTTP proxy).
    Connecting,
    /// The server accepted the connection; TLS was not set up yet.
    Accepted,
    /// The connection was ready for the request (or a pooled one was used).
    Ready,
}

/// The stage of the request in flight, shared with the markers in the connector chain.
#[derive(Clone, Debug, Default)]
pub(super) struct Progress(Arc<AtomicU8>);

const READY: u8 = 0;
const CONNECTING: u8 = 1;
const ACCEPTED: u8 = 2;

impl Progress {
    /// Starts a request: until a connector runs, it is served by a pooled connection.
    pub(super) fn start(&self) {
        self.0.store(READY, Ordering::SeqCst);
    }

    /// The stage the request reached.
    pub(super) fn stage(&self) -> Stage {
        match self.0.load(Ordering::SeqCst) {
            CONNECTING => Stage::Connecting,
            ACCEPTED => Stage::Accepted,
            _ => Stage::Ready,
        }
    }

    /// ureq's own connector chain (HTTP `CONNECT` proxies, TCP, rustls) with a marker
    /// before, between and after.
    pub(super) fn connector(&self) -> impl Connector {
        ().chain(self.mark(CONNECTING))
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector::default())
            .chain(self.mark(ACCEPTED))
            .chain(RustlsConnector::default())
            .chain(self.mark(READY))
    }

    fn mark(&self, stage: u8) -> Mark {
        Mark {
            progress: self.clone(),
            stage,
        }
    }
}

/// A connector that passes the connection on and records the stage it reached.
#[derive(Debug)]
struct Mark {
    progress: Progress,
    stage: u8,
}

impl<In: Transport> Connector<In> for Mark {
    type Out = In;

    fn connect(
        &self,
        _details: &ConnectionDetails<'_>,
        chained: Option<In>,
    ) -> Result<Option<In>, ureq::Error> {
        // The first marker runs before any connection exists; the later ones only once
        // the connector before them produced one.
        if chained.is_some() || self.stage == CONNECTING {
            self.progress.0.store(self.stage, Ordering::SeqCst);
        }
        Ok(chained)
    }
}
