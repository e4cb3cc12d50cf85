//! The one tokio runtime that serves everything HTTP and TLS in the node: the client RPC, the
//! HTTPS API and the status routes. The node is otherwise synchronous (sled, Argon2d, libzmq);
//! every handler reaches it through `spawn_blocking`.

use crate::http::{serve_http, HttpLimits, Router};
use crate::listener::{serve_rpc, RpcLimits};
use crate::server::Rpc;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Worker threads of the runtime: the handlers only parse, format and wait; the work runs on
/// the blocking pool.
const WORKERS: usize = 2;

/// The running servers.
pub struct WebRuntime {
    runtime: tokio::runtime::Runtime,
    stop: watch::Sender<bool>,
}

impl WebRuntime {
    /// Start the runtime (no servers yet).
    pub fn new() -> std::io::Result<WebRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .max_blocking_threads(64)
            .thread_name("web")
            .enable_all()
            .build()?;
        let (stop, _) = watch::channel(false);
        Ok(WebRuntime { runtime, stop })
    }

    fn listener(&self, socket: std::net::TcpListener) -> std::io::Result<tokio::net::TcpListener> {
        socket.set_nonblocking(true)?;
        let _guard = self.runtime.enter();
        tokio::net::TcpListener::from_std(socket)
    }

    /// Serve `router` over HTTP (or HTTPS with `tls`) on `socket`, bound beforehand; the bound
    /// address.
    pub fn spawn_http(
        &self,
        socket: std::net::TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        router: Router,
        limits: HttpLimits,
    ) -> std::io::Result<SocketAddr> {
        let listener = self.listener(socket)?;
        let addr = listener.local_addr()?;
        let tls = tls.map(TlsAcceptor::from);
        self.runtime.spawn(serve_http(listener, tls, router, limits, self.stop.subscribe()));
        Ok(addr)
    }

    /// Serve the client RPC over TLS on `socket`; the bound address.
    pub fn spawn_rpc(
        &self,
        socket: std::net::TcpListener,
        tls: Arc<rustls::ServerConfig>,
        rpc: Arc<Rpc>,
        limits: RpcLimits,
    ) -> std::io::Result<SocketAddr> {
        let listener = self.listener(socket)?;
        let addr = listener.local_addr()?;
        self.runtime.spawn(serve_rpc(listener, TlsAcceptor::from(tls), rpc, limits, self.stop.subscribe()));
        Ok(addr)
    }

    /// Stop accepting, and give connections under way `grace` to finish.
    pub fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        self.runtime.shutdown_timeout(grace);
    }
}
