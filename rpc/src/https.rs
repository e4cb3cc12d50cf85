//! bitmarkd's HTTPS API (rpc/listeners/https.go, rpc/handler/handler.go):
//!
//! * `POST /bitmarkd/rpc`: one JSON-RPC request in the body, its reply line in the answer;
//! * `GET /bitmarkd/details`: `Node.Info` with peer counts, the local and remote heights;
//! * `GET /bitmarkd/connections`: our outgoing peer connections;
//! * `GET /bitmarkd/peers?public_key=HEX&count=N`: the peer table from a key on (1..100,
//!   default 10);
//!
//! the three `GET`s only for clients in the path's CIDR allow list (`allow.details`,
//! `allow.connections`, `allow.peers`; none: denied). Errors are bitmarkd's JSON bodies,
//! `{"code":404,"error":"not found"}`, `method not allowed`, `forbidden`, `Too Many
//! Requests` (more requests at once than `maximum_connections`).

use crate::backend::Backend;
use crate::codec;
use crate::gojson;
use crate::http::{Answer, HttpRequest, HttpResponse, Router};
use crate::server::Rpc;
use crate::service::node::{address_text, hashrate, mode_name};
use ipnet::IpNet;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Default and largest `count` of `/bitmarkd/peers`.
const DEFAULT_PEERS: usize = 10;
const MAXIMUM_PEERS: usize = 100;

/// The HTTPS API's state.
pub struct Https {
    rpc: Arc<Rpc>,
    allow: HashMap<String, Vec<IpNet>>,
    maximum: u64,
    in_flight: AtomicU64,
}

/// Counts a request in flight for its lifetime.
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn json_response(status: u16, body: &Value) -> HttpResponse {
    HttpResponse { status, content_type: "application/json", nosniff: true, body: gojson::to_string(body).into_bytes() }
}

/// bitmarkd's JSON error body.
fn error(status: u16, message: &str) -> HttpResponse {
    json_response(status, &json!({"code": status, "error": message}))
}

/// A time as Go's `time.Time` JSON (RFC 3339 with nanoseconds, trailing zeros dropped), UTC.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (days, secs) = ((since.as_secs() / 86_400) as i64, since.as_secs() % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let nanos = since.subsec_nanos();
    let fraction = if nanos == 0 { String::new() } else { format!(".{nanos:09}").trim_end_matches('0').to_string() };
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{fraction}Z", secs / 3600, (secs / 60) % 60, secs % 60)
}

impl Https {
    /// The API over `rpc`, with the allow lists (`details`, `connections`, `peers` → CIDRs)
    /// and at most `maximum` requests at once.
    pub fn new(rpc: Arc<Rpc>, allow: HashMap<String, Vec<IpNet>>, maximum: u64) -> Arc<Https> {
        Arc::new(Https { rpc, allow, maximum: maximum.max(1), in_flight: AtomicU64::new(0) })
    }

    /// The routes, for [`crate::http::serve_http`].
    pub fn router(self: &Arc<Self>) -> Router {
        let this = Arc::clone(self);
        Arc::new(move |request: HttpRequest| -> Answer {
            let this = Arc::clone(&this);
            Box::pin(async move { this.answer(request).await })
        })
    }

    fn allowed(&self, api: &str, request: &HttpRequest) -> bool {
        let ip = request.peer.ip().to_canonical();
        self.allow.get(api).is_some_and(|nets| nets.iter().any(|n| n.contains(&ip)))
    }

    fn enter(&self) -> Option<InFlight<'_>> {
        if self.in_flight.fetch_add(1, Ordering::Relaxed) >= self.maximum {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(InFlight(&self.in_flight))
    }

    async fn answer(&self, request: HttpRequest) -> HttpResponse {
        let (method, api) = match request.path.as_str() {
            "/bitmarkd/rpc" => (http::Method::POST, "rpc"),
            "/bitmarkd/details" => (http::Method::GET, "details"),
            "/bitmarkd/connections" => (http::Method::GET, "connections"),
            "/bitmarkd/peers" => (http::Method::GET, "peers"),
            _ => return error(404, "not found"),
        };
        if request.method != method {
            return error(405, "method not allowed");
        }
        if api != "rpc" && !self.allowed(api, &request) {
            tracing::warn!(target: "rpc::https", peer = %request.peer, api, "access denied");
            return error(403, "forbidden");
        }
        let Some(_slot) = self.enter() else { return error(429, "Too Many Requests") };
        match api {
            "rpc" => self.rpc_call(&request.body).await,
            "details" => self.details().await,
            "connections" => {
                let backend = Arc::clone(self.rpc.backend());
                let list = tokio::task::spawn_blocking(move || backend.connections()).await.unwrap_or_default();
                let list: Vec<Value> = list.iter().map(|c| json!({"address": c.address, "server": c.server})).collect();
                json_response(200, &json!({"connectedTo": list}))
            }
            _ => self.peers(&request.query).await,
        }
    }

    /// One request from the body; a body that is not a request gets bitmarkd's 500 text
    /// (after its 200 status line, as bitmarkd writes the header first).
    async fn rpc_call(&self, body: &[u8]) -> HttpResponse {
        let internal = br#"{"code":500,"error":"internal server error"}"#;
        let mut framer = codec::Framer::new(body.len().max(1));
        framer.extend(body);
        let request = match framer.next_object() {
            Ok(Some(bytes)) => codec::parse_request(&bytes).ok(),
            _ => None,
        };
        let Some(request) = request else {
            return HttpResponse {
                status: 200,
                content_type: "application/json",
                nosniff: true,
                body: internal.to_vec(),
            };
        };
        let outcome = self.rpc.call(&request).await;
        let mut out = codec::reply(&request.id, &outcome);
        // Go's ServeRequest returns the read error too, and the handler appends its 500 body.
        if let Err(text) = &outcome {
            if ["rpc: ", "jsonrpc: ", "json: "].iter().any(|p| text.starts_with(p)) {
                out.extend_from_slice(internal);
            }
        }
        HttpResponse { status: 200, content_type: "application/json", nosniff: true, body: out }
    }

    async fn details(&self) -> HttpResponse {
        let Ok(info) = self.rpc.node_info().await else {
            return error(500, "internal server error");
        };
        let mut m = Map::new();
        m.insert("chain".into(), json!(info.chain.name()));
        m.insert("mode".into(), json!(mode_name(info.normal)));
        m.insert(
            "block".into(),
            json!({"count": {"local": info.height, "remote": info.remote_height}, "hash": info.digest.display_hex()}),
        );
        m.insert("rpcs".into(), json!(self.in_flight.load(Ordering::Relaxed)));
        m.insert("peers".into(), json!({"incoming": info.incoming, "outgoing": info.outgoing}));
        m.insert("transactionCounters".into(), json!({"pending": info.pending, "verified": info.verified}));
        m.insert("difficulty".into(), json!(info.difficulty));
        let rate = hashrate(info.difficulty);
        if rate != 0.0 {
            m.insert("hashrate".into(), json!(rate));
        }
        m.insert("version".into(), json!(self.rpc.options.version));
        m.insert("uptime".into(), json!(gojson::go_duration(self.rpc.started.elapsed())));
        m.insert("publicKey".into(), json!(hex::encode(info.public_key)));
        json_response(200, &Value::Object(m))
    }

    async fn peers(&self, query: &str) -> HttpResponse {
        let param = |name: &str| {
            query.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let start = param("public_key").and_then(|k| hex::decode(k).ok()).filter(|k| k.len() == 32).unwrap_or_default();
        let count = param("count")
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|c| (1..=MAXIMUM_PEERS).contains(c))
            .unwrap_or(DEFAULT_PEERS);
        let backend: Arc<dyn Backend> = Arc::clone(self.rpc.backend());
        let peers = tokio::task::spawn_blocking(move || backend.peers_after(&start, count)).await.unwrap_or_default();
        let list: Vec<Value> = peers
            .iter()
            .map(|p| {
                json!({
                    "publicKey": hex::encode(&p.public_key),
                    "listeners": p.listeners.iter().map(address_text).collect::<Vec<_>>(),
                    "timestamp": rfc3339(p.timestamp),
                })
            })
            .collect();
        json_response(200, &Value::Array(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_are_written_as_go_does() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000)), "2023-11-14T22:13:20.12Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
    }
}
