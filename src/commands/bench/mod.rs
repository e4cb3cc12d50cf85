//! `bitmark-node bench`: every figure beside a reference measured in the same run on the same
//! machine, and their ratio, so that a figure means something on any machine.
//!
//! * `bench sync` ([`sync`]): a generated test chain synced by a fresh node from in-memory
//!   peers with full verification — the connector's pipeline, bitmarkd's shape (one peer, one
//!   block in flight, one digest thread) and the Argon2d limit, measured in one run.
//! * `bench listener` ([`listener`]): `N` requests per second against the real listener beside
//!   a bare CURVE echo server; with `--capture` ([`listener_capture`]), the listener without and
//!   with a capture recording every exchange to a file.
//! * `bench reservoir` ([`reservoir`]): issues per second into a real sled-backed reservoir
//!   beside raw Ed25519 verifications per second of the same records.
//! * `bench memory` ([`memory`]): peak resident memory of real node processes syncing a chain
//!   and holding 20 000 pending issues.
//! * `bench soak` ([`soak`]): a real node under a steady stream of pushes; its resident memory
//!   over time and whether it stays flat after warm-up.
//! * `bench rpc` ([`rpc`]): `Node.Info` requests/s over TLS beside a bare tokio + rustls echo,
//!   and `Bitmarks.Create` issues/s beside `bench reservoir`.
//! * `bench scale` ([`scale`]): real nodes syncing a chain of thousands of blocks over loopback
//!   and emulated links, in three modes, beside the store's apply rate and the Argon2d limit.
//! * `bench table` ([`table`]): the JSON reports of the others as one Markdown table.

pub mod memory;
pub mod reservoir;
pub mod rpc;
pub mod scale;
pub mod soak;
pub mod table;

use super::child_node::ChildNode;
use crate::error::{NodeError, Result};
#[cfg(feature = "bench")]
use bitmark_capture::writer::{Capture, CaptureOptions, NodeSnapshot};
#[cfg(feature = "bench")]
use bitmark_peer::bench::Measurement;
#[cfg(feature = "bench")]
use bitmark_peer::sim::bench::SyncBenchOptions;
use bitmark_peer::transport::{Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::Link;
#[cfg(feature = "bench")]
use serde_json::json;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Argon2d's memory per digest with bitmarkd's parameters (128 MiB): what each digest thread,
/// and a producer's hasher, keep resident.
pub const ARGON2D_BYTES: u64 = 128 << 20;

/// Push `push` to a node and check its acknowledgement (`[cmd]["A"]`, sent before processing).
fn push(client: &mut ZmqClient, push: Push) -> Result<()> {
    let command = push.command().to_vec();
    match client.request(&Request::Push(push))? {
        Reply::Ack(c) if c == command => Ok(()),
        other => Err(NodeError::Io(format!("push not acknowledged: {other:?}"))),
    }
}

/// Wait (up to 30 s) until the node holds or has confirmed transaction `tx_id`, as its
/// `GET /transaction/<tx id>` says.
fn wait_until_held(node: &ChildNode, tx_id: &Link) -> Result<()> {
    let path = format!("/transaction/{}", tx_id.raw_hex());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if node.get(&path).is_some_and(|v| v.get("status").is_none_or(|s| s != "Unknown")) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(NodeError::Io(format!("{} never held (log: {})", tx_id.raw_hex(), node.log.display())));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run the sync benchmark with `blocks` blocks (genesis included), `peers` peers and
/// `threads` digest threads (default: every core). The report is `SyncBenchReport` as JSON.
#[cfg(feature = "bench")]
pub fn sync(blocks: u64, peers: usize, threads: Option<usize>) -> Result<Value> {
    let defaults = SyncBenchOptions::default();
    let options = SyncBenchOptions { blocks, peers, threads: threads.unwrap_or(defaults.threads), ..defaults };
    let report = bitmark_peer::bench::sync(options).map_err(|e| NodeError::Input(format!("bench sync: {e}")))?;
    let mut value = serde_json::to_value(report).map_err(|e| NodeError::Input(e.to_string()))?;
    // How close each sync came to the ceiling no full verification can beat: against the
    // limit's mean, and the range against its fastest and slowest rounds (a ratio above 1 within
    // that range is the limit's noise, not a sync beating it).
    let limit = report.argon2d;
    if let Some(map) = value.as_object_mut() {
        let of = |rate: f64, limit: f64| if limit > 0.0 { rate / limit } else { 0.0 };
        let range = |rate: f64| json!([of(rate, limit.max_blocks_per_second), of(rate, limit.min_blocks_per_second)]);
        let (pipeline, bitmarkd) = (report.pipeline.blocks_per_second, report.bitmarkd_shape.blocks_per_second);
        map.insert(
            "ofArgon2dLimit".into(),
            json!({
                "pipeline": of(pipeline, limit.blocks_per_second),
                "bitmarkdShape": of(bitmarkd, limit.blocks_per_second),
                "pipelineRange": range(pipeline),
                "bitmarkdShapeRange": range(bitmarkd),
            }),
        );
    }
    Ok(value)
}

/// A human summary of a [`sync`] report.
pub fn sync_summary(report: &Value) -> String {
    let f = |path: &[&str]| path.iter().fold(report, |v, k| &v[*k]).as_f64().unwrap_or(0.0);
    let range = |key: &str| {
        let r = report.pointer(&format!("/ofArgon2dLimit/{key}"));
        let at = |i: usize| r.and_then(|r| r.get(i)).and_then(Value::as_f64).unwrap_or(0.0) * 100.0;
        (at(0), at(1))
    };
    let (low, high) = range("pipelineRange");
    format!(
        "sync of {} blocks from {} peers, {} digest threads\n  \
         pipeline        {:>8.2} blocks/s ({:.2} s)\n  \
         bitmarkd shape  {:>8.2} blocks/s ({:.2} s)\n  \
         Argon2d limit   {:>8.2} blocks/s ({:.3} s per digest per thread; rounds {:.2}..{:.2}, \
         spread {:.1}%, {:.2} before and {:.2} after the syncs over {} + {} digests)\n  \
         speedup         {:>8.2}x; pipeline at {:.0}% of the Argon2d limit ({:.0}..{:.0}% of its rounds)",
        f(&["height"]),
        f(&["peers"]),
        f(&["threads"]),
        f(&["pipeline", "blocksPerSecond"]),
        f(&["pipeline", "seconds"]),
        f(&["bitmarkdShape", "blocksPerSecond"]),
        f(&["bitmarkdShape", "seconds"]),
        f(&["argon2d", "blocksPerSecond"]),
        f(&["argon2d", "secondsPerDigest"]),
        f(&["argon2d", "minBlocksPerSecond"]),
        f(&["argon2d", "maxBlocksPerSecond"]),
        100.0 * f(&["argon2d", "relativeSpread"]),
        f(&["argon2d", "before", "blocksPerSecond"]),
        f(&["argon2d", "after", "blocksPerSecond"]),
        f(&["argon2d", "before", "digests"]),
        f(&["argon2d", "after", "digests"]),
        f(&["speedup"]),
        100.0 * f(&["ofArgon2dLimit", "pipeline"]),
        low,
        high,
    )
}

/// Run the listener benchmark: `clients` concurrent CURVE clients for `seconds` per server.
/// The report: `clients`, `listener` and `echo` (`requests`, `seconds`, `requestsPerSecond`)
/// and `ratio` (listener over echo).
#[cfg(feature = "bench")]
pub fn listener(clients: usize, seconds: u64) -> Result<Value> {
    let report = bitmark_peer::bench::listener(clients.max(1), Duration::from_secs(seconds.max(1)))?;
    Ok(json!({
        "clients": report.clients,
        "listener": measurement(report.listener),
        "echo": measurement(report.echo),
        "ratio": report.ratio(),
    }))
}

/// What capturing costs the listener: `clients` concurrent CURVE clients for `seconds` per
/// listener, one without a tap and one recording every exchange to a temporary file through
/// the node's recorder (bounded channel, writer thread, default bounds). `ratio` is captured
/// over plain requests/s; `capture` says what was written and dropped.
#[cfg(feature = "bench")]
pub fn listener_capture(clients: usize, seconds: u64) -> Result<Value> {
    let dir = tempfile::tempdir().map_err(|e| NodeError::io("temporary directory", e))?;
    let path = dir.path().join("bench-capture.jsonl");
    let snapshot = || NodeSnapshot {
        chain: bitmark_record::Chain::Testing,
        node_key: [0; 32],
        height: 4,
        digest: String::new(),
        normal: true,
    };
    let capture = Capture::start(CaptureOptions::new(path.clone(), crate::node::daemon::VERSION), Box::new(snapshot))?;
    let outcome =
        bitmark_peer::bench::listener_tapped(clients.max(1), Duration::from_secs(seconds.max(1)), capture.tap());
    let stats = capture.close();
    let report = outcome?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(json!({
        "clients": report.clients,
        "plain": measurement(report.plain),
        "captured": measurement(report.tapped),
        "ratio": report.ratio(),
        "capture": {"records": stats.records, "dropped": stats.dropped, "bytes": bytes},
    }))
}

#[cfg(feature = "bench")]
fn measurement(m: Measurement) -> Value {
    json!({"requests": m.requests, "seconds": m.elapsed.as_secs_f64(), "requestsPerSecond": m.per_second()})
}

/// A human summary of a [`listener`] report.
pub fn listener_summary(report: &Value) -> String {
    let f = |path: &[&str]| path.iter().fold(report, |v, k| &v[*k]).as_f64().unwrap_or(0.0);
    format!(
        "listener: {} concurrent CURVE REQ clients sending N\n  \
         listener + handler {:>10.0} requests/s ({:.2} s)\n  \
         bare CURVE echo    {:>10.0} requests/s ({:.2} s)\n  \
         ratio              {:>10.2}",
        f(&["clients"]),
        f(&["listener", "requestsPerSecond"]),
        f(&["listener", "seconds"]),
        f(&["echo", "requestsPerSecond"]),
        f(&["echo", "seconds"]),
        f(&["ratio"]),
    )
}

#[cfg(not(feature = "bench"))]
pub use without_simulation::{listener, listener_capture, sync};

/// `bench sync` and `bench listener` run on the peer crate's simulation and fakes, which the
/// product binary leaves out; without the `bench` feature they say how to get them.
#[cfg(not(feature = "bench"))]
mod without_simulation {
    use crate::error::{NodeError, Result};
    use serde_json::Value;

    fn unavailable(bench: &str) -> NodeError {
        NodeError::Input(format!(
            "bench {bench} runs on the peer simulation and fakes, which this binary was built without: \
             build it with `cargo build --release --features bench` (as `make bench` does)"
        ))
    }

    /// See the `bench` build's `sync`.
    pub fn sync(_blocks: u64, _peers: usize, _threads: Option<usize>) -> Result<Value> {
        Err(unavailable("sync"))
    }

    /// See the `bench` build's `listener`.
    pub fn listener(_clients: usize, _seconds: u64) -> Result<Value> {
        Err(unavailable("listener"))
    }

    /// See the `bench` build's `listener_capture`.
    pub fn listener_capture(_clients: usize, _seconds: u64) -> Result<Value> {
        Err(unavailable("listener --capture"))
    }
}
