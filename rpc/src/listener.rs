//! The client RPC listener (rpc/listeners/rpc.go): TLS connections carrying Go's
//! `net/rpc/jsonrpc` stream, answered in order, one task per connection on the tokio runtime.
//!
//! Bounds (bitmarkd has only the first): at most `maximum_connections` at once (more are
//! closed on accept, as bitmarkd does); a TLS handshake must finish within
//! [`HANDSHAKE_TIMEOUT`]; a request, from its first byte, must be complete within
//! [`REQUEST_TIMEOUT`] and at most [`RpcLimits::request_bytes`] long; a connection idle for
//! [`IDLE_TIMEOUT`] is closed; a reply must be taken within [`WRITE_TIMEOUT`]. Anything that
//! is not TLS fails the handshake and is closed. None of this touches another connection.

use crate::codec::{self, Framer};
use crate::server::Rpc;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

const TARGET: &str = "rpc::listener";

/// A TLS handshake must finish within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request must be complete this long after its first byte.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no request under way is closed after this.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A reply must be written within this.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Connections served at once (bitmarkd's `maximum_connections`).
    pub maximum_connections: usize,
    /// Largest request, in bytes. `Node.BlockDecode` carries a whole block in base64, the
    /// largest request bitmarkd's clients send.
    pub request_bytes: usize,
}

impl Default for RpcLimits {
    fn default() -> RpcLimits {
        RpcLimits { maximum_connections: 100, request_bytes: 4 << 20 }
    }
}

/// Accept connections on `listener` until `stop` turns true, handing each (within
/// `maximum_connections`) to `serve` on a task of its own. A connection over the bound is
/// closed at once.
pub async fn accept_loop<F, Fut>(listener: TcpListener, maximum: usize, mut stop: watch::Receiver<bool>, serve: F)
where
    F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(maximum.max(1)));
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => match Arc::clone(&slots).try_acquire_owned() {
                Ok(permit) => {
                    let _ = stream.set_nodelay(true);
                    let work = serve(stream, peer);
                    tokio::spawn(async move {
                        work.await;
                        drop(permit);
                    });
                }
                Err(_) => debug!(target: TARGET, %peer, "connection limit reached; closed"),
            },
            Err(e) => {
                warn!(target: TARGET, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// Serve the client RPC on `listener` until `stop`.
pub async fn serve_rpc(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    rpc: Arc<Rpc>,
    limits: RpcLimits,
    stop: watch::Receiver<bool>,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(target: TARGET, %addr, "client RPC listening");
    }
    accept_loop(listener, limits.maximum_connections, stop, move |stream, peer| {
        let (acceptor, rpc) = (acceptor.clone(), Arc::clone(&rpc));
        async move {
            rpc.connection_opened();
            match timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    if let Err(why) = serve_stream(tls, &rpc, limits.request_bytes).await {
                        debug!(target: TARGET, %peer, why, "connection closed");
                    }
                }
                Ok(Err(e)) => debug!(target: TARGET, %peer, error = %e, "TLS handshake failed"),
                Err(_) => debug!(target: TARGET, %peer, "TLS handshake timed out"),
            }
            rpc.connection_closed();
        }
    })
    .await;
}

/// Read requests from `stream` and answer each in order until the client closes, sends
/// something that is not a request, or breaks a bound. The reason is returned.
pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    rpc: &Arc<Rpc>,
    request_bytes: usize,
) -> Result<(), String> {
    let mut framer = Framer::new(request_bytes);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut request_started: Option<Instant> = None;
    loop {
        match framer.next_object() {
            Ok(Some(bytes)) => {
                request_started = None;
                let request = codec::parse_request(&bytes).map_err(|e| e.to_string())?;
                let outcome = rpc.call(&request).await;
                let reply = codec::reply(&request.id, &outcome);
                timeout(WRITE_TIMEOUT, stream.write_all(&reply))
                    .await
                    .map_err(|_| "write timed out".to_string())?
                    .map_err(|e| e.to_string())?;
                continue;
            }
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        if framer.has_partial() && request_started.is_none() {
            request_started = Some(Instant::now());
        }
        let wait = match request_started {
            Some(at) => (at + REQUEST_TIMEOUT).saturating_duration_since(Instant::now()),
            None => IDLE_TIMEOUT,
        };
        let n = match timeout(wait, stream.read(&mut chunk)).await {
            Err(_) => return Err("timed out".into()),
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(0)) => return Ok(()),
            Ok(Ok(n)) => n,
        };
        framer.extend(chunk.get(..n).unwrap_or_default());
    }
}
