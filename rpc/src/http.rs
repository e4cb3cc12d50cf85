//! An HTTP/1.1 server on hyper, plain or over TLS, for the node's status routes and
//! bitmarkd's HTTPS API.
//!
//! Bounds: at most `maximum_connections` at once (more are closed on accept); the TLS
//! handshake within [`crate::listener::HANDSHAKE_TIMEOUT`]; a request head within
//! [`HttpLimits::head_timeout`] of the connection going idle (hyper's header read timeout),
//! at most [`HttpLimits::head_bytes`]; the body within [`HttpLimits::body_timeout`] and at
//! most [`HttpLimits::body_bytes`] (413 beyond); a connection lives at most
//! [`HttpLimits::connection_lifetime`]. A slow client holds one connection slot and one task,
//! never a thread, so others are answered meanwhile.

use crate::listener::{accept_loop, HANDSHAKE_TIMEOUT};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info};

const TARGET: &str = "rpc::http";

pub use http::Method;

/// Run `work` on the runtime's blocking pool; `None` if it panicked.
pub async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

/// An HTTP server's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once.
    pub maximum_connections: usize,
    /// Largest request head.
    pub head_bytes: usize,
    /// Largest request body.
    pub body_bytes: usize,
    /// A request head must arrive within this.
    pub head_timeout: Duration,
    /// A request body must arrive within this.
    pub body_timeout: Duration,
    /// A connection is closed after this, whatever it is doing.
    pub connection_lifetime: Duration,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            maximum_connections: 64,
            head_bytes: 8 * 1024,
            body_bytes: 4 << 20,
            head_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(60),
        }
    }
}

/// A request as the routes see it: the body already read.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// `GET`, `POST`...
    pub method: http::Method,
    /// The path, without the query.
    pub path: String,
    /// The query string (without `?`).
    pub query: String,
    /// The client.
    pub peer: SocketAddr,
    /// The body.
    pub body: Bytes,
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `X-Content-Type-Options: nosniff` (bitmarkd's HTTPS API sets it).
    pub nosniff: bool,
    /// The body.
    pub body: Vec<u8>,
}

/// A future answer.
pub type Answer = Pin<Box<dyn Future<Output = HttpResponse> + Send>>;

/// The routes of a server.
pub type Router = Arc<dyn Fn(HttpRequest) -> Answer + Send + Sync>;

/// Serve `router` on `listener` (over TLS when `tls` is given) until `stop`.
pub async fn serve_http(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: HttpLimits,
    stop: watch::Receiver<bool>,
) {
    if let Ok(addr) = listener.local_addr() {
        info!(target: TARGET, %addr, tls = tls.is_some(), "HTTP server listening");
    }
    accept_loop(listener, limits.maximum_connections, stop, move |stream, peer| {
        let (tls, router) = (tls.clone(), Arc::clone(&router));
        async move {
            let served = match tls {
                None => timeout(limits.connection_lifetime, connection(stream, peer, router, limits)).await,
                Some(acceptor) => match timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => timeout(limits.connection_lifetime, connection(tls, peer, router, limits)).await,
                    _ => {
                        debug!(target: TARGET, %peer, "TLS handshake failed or timed out");
                        return;
                    }
                },
            };
            if served.is_err() {
                debug!(target: TARGET, %peer, "connection lifetime reached; closed");
            }
        }
    })
    .await;
}

async fn connection<S>(stream: S, peer: SocketAddr, router: Router, limits: HttpLimits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request: http::Request<Incoming>| {
        let router = Arc::clone(&router);
        async move { Ok::<_, Infallible>(respond(request, peer, &router, limits).await) }
    });
    let result = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.head_timeout)
        .max_buf_size(limits.head_bytes.max(8192))
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = result {
        debug!(target: TARGET, %peer, error = %e, "HTTP connection ended");
    }
}

async fn respond(
    request: http::Request<Incoming>,
    peer: SocketAddr,
    router: &Router,
    limits: HttpLimits,
) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match timeout(limits.body_timeout, Limited::new(body, limits.body_bytes).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => return to_hyper(error(413)),
        Err(_) => return to_hyper(error(408)),
    };
    let request = HttpRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        peer,
        body,
    };
    to_hyper(router(request).await)
}

fn to_hyper(response: HttpResponse) -> http::Response<Full<Bytes>> {
    let mut builder =
        http::Response::builder().status(response.status).header(http::header::CONTENT_TYPE, response.content_type);
    if response.nosniff {
        builder = builder.header("X-Content-Type-Options", "nosniff");
    }
    builder.body(Full::new(Bytes::from(response.body))).unwrap_or_else(|_| {
        let mut fallback = http::Response::new(Full::new(Bytes::new()));
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

/// The reason phrase of a status.
pub fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
}

/// An error status with its reason as a plain-text body.
pub fn error(status: u16) -> HttpResponse {
    HttpResponse {
        status,
        content_type: "text/plain; charset=utf-8",
        nosniff: false,
        body: format!("{}\n", reason(status)).into_bytes(),
    }
}
