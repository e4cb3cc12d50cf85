//! A minimal HTTP/1.x server for `/status` and `/metrics`: one thread, one connection at a
//! time, `GET` (and `HEAD`) only, `Connection: close`.
//!
//! Why not `tiny_http`: it starts a thread per waiting connection with no upper bound, and a
//! status port must not be a way to make the node spawn threads. Here everything is bounded:
//! one thread, a request head of at most [`MAX_HEAD`] bytes that must arrive within
//! [`IO_TIMEOUT`], and further connections wait in the kernel's backlog. The answers are small
//! and built in microseconds, so serving them one at a time costs nothing.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{debug, info, warn};

const TARGET: &str = "node::http";

/// Largest request head read (request line and headers). A status client sends a few hundred
/// bytes; anything larger is refused with 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// How long a client has to send its request, and we to write the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the accept loop looks at its stop flag when idle; bounds shutdown latency.
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Response {
    /// 200 with a JSON body.
    pub fn json(value: &serde_json::Value) -> Response {
        Response { status: 200, content_type: "application/json", body: format!("{value}\n") }
    }

    /// 200 with Prometheus text.
    pub fn prometheus(body: String) -> Response {
        Response { status: 200, content_type: super::metrics::CONTENT_TYPE, body }
    }

    /// An error status with its reason as a plain-text body.
    pub fn error(status: u16) -> Response {
        Response { status, content_type: "text/plain; charset=utf-8", body: format!("{}\n", reason(status)) }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Error",
    }
}

/// Answers a `GET` of a path (without the query string).
pub type Routes = Arc<dyn Fn(&str) -> Response + Send + Sync>;

/// The running server. Dropping it stops it.
pub struct HttpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Bind `addr` (port 0 picks a free port) and serve `routes` on a thread.
    pub fn start(addr: SocketAddr, routes: Routes) -> std::io::Result<HttpServer> {
        HttpServer::serve(TcpListener::bind(addr)?, routes)
    }

    /// Serve `routes` on a thread from `listener`, bound beforehand (so that a node can fail on
    /// a taken port before it starts anything else).
    pub fn serve(listener: TcpListener, routes: Routes) -> std::io::Result<HttpServer> {
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("status-http".into()).spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        if let Err(e) = serve(stream, &*routes) {
                            debug!(target: TARGET, %peer, error = %e, "status request failed");
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(ACCEPT_POLL),
                    Err(e) => {
                        warn!(target: TARGET, error = %e, "accept failed");
                        std::thread::sleep(ACCEPT_POLL);
                    }
                }
            }
        })?;
        info!(target: TARGET, %addr, "status server listening");
        Ok(HttpServer { addr, stop, thread: Some(thread) })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop and wait for the thread (at most one request's [`IO_TIMEOUT`]s).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!(target: TARGET, "status thread panicked");
            }
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Read one request head, answer it, close.
fn serve(mut stream: TcpStream, routes: &dyn Fn(&str) -> Response) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (response, head_only) = match read_head(&mut stream)? {
        Head::Complete(head) => answer(&head, routes),
        Head::TooLarge => (Response::error(431), false),
        Head::Closed => return Ok(()),
    };
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(response.body.as_bytes());
    }
    stream.write_all(&out)?;
    stream.flush()
}

enum Head {
    Complete(String),
    TooLarge,
    Closed,
}

/// Read until the blank line that ends the head.
fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(if buf.is_empty() {
                Head::Closed
            } else {
                Head::Complete(String::from_utf8_lossy(&buf).into())
            });
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Ok(Head::Complete(String::from_utf8_lossy(&buf).into()));
        }
        if buf.len() > MAX_HEAD {
            return Ok(Head::TooLarge);
        }
    }
}

/// The response to a request head, and whether only the head is to be sent (`HEAD`).
fn answer(head: &str, routes: &dyn Fn(&str) -> Response) -> (Response, bool) {
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return (Response::error(400), false);
    };
    let path = target.split(['?', '#']).next().unwrap_or_default();
    match method {
        "GET" => (routes(path), false),
        "HEAD" => (routes(path), true),
        _ => (Response::error(405), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(request).unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn serves_routes_and_refuses_the_rest() {
        let routes: Routes = Arc::new(|path: &str| match path {
            "/hello" => Response::json(&serde_json::json!({"hi": 1})),
            _ => Response::error(404),
        });
        let server = HttpServer::start("127.0.0.1:0".parse().unwrap(), routes).unwrap();
        let addr = server.local_addr();
        let ok = get(addr, b"GET /hello?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: application/json\r\n") && ok.ends_with("\r\n\r\n{\"hi\":1}\n"), "{ok}");
        let head = get(addr, b"HEAD /hello HTTP/1.0\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"), "{head}");
        assert!(get(addr, b"GET /nope HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404 Not Found"));
        assert!(get(addr, b"POST /hello HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(get(addr, b"\r\n\r\n").starts_with("HTTP/1.1 400"));
        // Exactly one byte too many, all of which the server reads before refusing.
        let mut huge = b"GET /hello HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD + 1, b'a');
        assert!(get(addr, &huge).starts_with("HTTP/1.1 431"));
        // A client that connects and says nothing holds the server for IO_TIMEOUT at most.
        let silent = TcpStream::connect(addr).unwrap();
        assert!(get(addr, b"GET /hello HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
        drop(silent);
        server.stop();
        assert!(TcpStream::connect(addr).is_err(), "stopped");
    }
}
