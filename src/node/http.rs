//! The status routes (`/status`, `/metrics`, `/transaction/<id>`) as served over HTTP by the
//! node's one tokio runtime ([`bitmark_rpc::runtime::WebRuntime`], hyper): `GET` and `HEAD`
//! only.
//!
//! The routes themselves are synchronous functions of a path ([`Routes`]); they read sled and
//! may flush the reservoir, so each call runs on the runtime's blocking pool, never on a
//! worker. Everything is bounded ([`status_limits`]): a client that sends its request slowly
//! holds one connection slot and one task until its head deadline, and other clients are
//! answered meanwhile.

use bitmark_rpc::http::{self, Answer, HttpLimits, HttpRequest, HttpResponse, Router};
use std::sync::Arc;
use std::time::Duration;

/// Largest request head read. A status client sends a few hundred bytes.
pub const MAX_HEAD: usize = 8 * 1024;

/// How long a client has to send its request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// Status connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 32;

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
        Response { status, content_type: "text/plain; charset=utf-8", body: format!("{}\n", http::reason(status)) }
    }
}

/// Answers a `GET` of a path (without the query string).
pub type Routes = Arc<dyn Fn(&str) -> Response + Send + Sync>;

/// The bounds of the status server: small heads, no bodies, short-lived connections.
pub fn status_limits() -> HttpLimits {
    HttpLimits {
        maximum_connections: MAX_CONNECTIONS,
        head_bytes: MAX_HEAD,
        body_bytes: 0,
        head_timeout: HEAD_TIMEOUT,
        body_timeout: HEAD_TIMEOUT,
        connection_lifetime: Duration::from_secs(30),
    }
}

/// `routes` as a router for the runtime: `GET`/`HEAD` answered on the blocking pool, 405 for
/// other methods.
pub fn router(routes: Routes) -> Router {
    Arc::new(move |request: HttpRequest| -> Answer {
        let routes = Arc::clone(&routes);
        Box::pin(async move {
            let response = if request.method == http::Method::GET || request.method == http::Method::HEAD {
                let path = request.path;
                http::run_blocking(move || routes(&path)).await.unwrap_or_else(|| Response::error(500))
            } else {
                Response::error(405)
            };
            HttpResponse {
                status: response.status,
                content_type: response.content_type,
                nosniff: false,
                body: response.body.into_bytes(),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_rpc::runtime::WebRuntime;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};

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
        let runtime = WebRuntime::new().unwrap();
        let socket = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = runtime.spawn_http(socket, None, router(routes), status_limits()).unwrap();
        let ok = get(addr, b"GET /hello?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("content-type: application/json\r\n") && ok.ends_with("\r\n\r\n{\"hi\":1}\n"), "{ok}");
        let head = get(addr, b"HEAD /hello HTTP/1.0\r\n\r\n");
        assert!(head.starts_with("HTTP/1.0 200 OK") && head.ends_with("\r\n\r\n"), "{head}");
        assert!(get(addr, b"GET /nope HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404 Not Found"));
        assert!(get(addr, b"POST /hello HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 405"));
        assert!(get(addr, b"\r\n\r\n").is_empty() || get(addr, b"\r\n\r\n").starts_with("HTTP/1.1 400"));
        let mut huge = b"GET /hello HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD * 2, b'a');
        let refused = get(addr, &huge);
        assert!(refused.is_empty() || refused.starts_with("HTTP/1.1 431"), "{refused}");
        // A client that connects and says nothing does not hold anyone else up.
        let silent = TcpStream::connect(addr).unwrap();
        assert!(get(addr, b"GET /hello HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200"));
        drop(silent);
        runtime.stop(Duration::from_secs(1));
        assert!(TcpStream::connect(addr).is_err(), "stopped");
    }
}
