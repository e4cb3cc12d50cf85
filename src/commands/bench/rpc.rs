//! `bitmark-node bench rpc`: bitmarkd's client RPC of a real node process over TLS, each figure
//! beside a reference measured in the same run:
//!
//! * `Node.Info` requests/s from `clients` TLS clients (one request in flight each, as Go's
//!   client) beside a bare tokio + rustls echo server answering the same clients with a reply
//!   of the same size, using the node's own certificate (ECDSA P-521), in alternating rounds;
//! * `Bitmarks.Create` issues/s (free issues in groups of `batch`, from `threads` clients)
//!   beside `bench reservoir`'s issues/s for the same records straight into a reservoir.
//!
//! The node runs with `--rpc-unlimited` (no rate limits: bitmarkd's 200 requests/s per service
//! would be all that is measured); everything else is the node as it runs.

use crate::commands::child_node::ChildNode;
use crate::commands::testchain;
use crate::error::{NodeError, Result};
use crate::workload;
use bitmark_record::{Chain, Transaction};
use bitmark_rpc::bench::{client_config, hammer, send_all, Echo, Load};
use bitmark_rpc::Certificate;
use serde_json::{json, Value};
use std::time::Duration;

/// The owners of the benchmark's records.
const SALT: u64 = 0x59c;

/// `Node.Info` rounds per server.
const ROUNDS: u32 = 4;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Concurrent `Node.Info` clients.
    pub clients: usize,
    /// Seconds of `Node.Info` load per server.
    pub seconds: u64,
    /// Free issues submitted with `Bitmarks.Create` (at most 20 000).
    pub issues: usize,
    /// Issues per request (1 to 100).
    pub batch: usize,
    /// Submitting clients, and the reference's threads.
    pub threads: usize,
}

fn bench_error(e: impl std::fmt::Display) -> NodeError {
    NodeError::Input(format!("bench rpc: {e}"))
}

fn load_json(load: Load) -> Value {
    json!({"requests": load.requests, "seconds": load.elapsed.as_secs_f64(), "requestsPerSecond": load.per_second()})
}

/// Run the benchmark. The report: `clients`, `nodeInfo` and `echo` (`requests`, `seconds`,
/// `requestsPerSecond`), `ratio` (node over echo); `create` (`issues`, `batch`, `threads`,
/// `seconds`, `perSecond`), `reservoir` (`perSecond` of `bench reservoir`) and `createRatio`.
pub fn run(options: Options) -> Result<Value> {
    let Options { clients, seconds, issues, batch, threads } = options;
    if !(1..=bitmark_reservoir::MAXIMUM_ISSUES).contains(&batch) || issues == 0 {
        return Err(bench_error(format!(
            "--batch must be 1 to {}, --issues at least 1",
            bitmark_reservoir::MAXIMUM_ISSUES
        )));
    }
    let dir = tempfile::Builder::new()
        .prefix("bitmark-bench-rpc-")
        .tempdir()
        .map_err(|e| NodeError::io("temporary directory", e))?;
    let data = dir.path().join("node");
    testchain::run(&data, testchain::Options { chain: Chain::Local, blocks: 2, seed: 1, txs_per_block: 2 })?;
    let data_text = data.display().to_string();
    let node = ChildNode::start(
        [
            "--chain",
            "local",
            "--data-dir",
            &data_text,
            "--listen",
            "127.0.0.1:0",
            "--rpc",
            "127.0.0.1:0",
            "--standalone",
            "--rpc-unlimited",
        ],
        &dir.path().join("node.log"),
    )?;
    let addr = node.ready["rpc"]["listening"][0]
        .as_str()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| bench_error("the node reported no RPC address"))?;
    let certificate = Certificate::load(&data.join("rpc.crt"), &data.join("rpc.key")).map_err(bench_error)?;
    let config = client_config(certificate.certificate_der()).map_err(bench_error)?;

    // Node.Info beside the echo, with a reply of the node's own size.
    let info = |_: usize, n: u64| format!("{{\"method\":\"Node.Info\",\"params\":[{{}}],\"id\":{n}}}\n").into_bytes();
    let (_, sample) = send_all(addr, &config, vec![vec![info(0, 0)]]).map_err(bench_error)?;
    let reply = sample.first().cloned().unwrap_or_default().into_bytes();
    let echo = Echo::start(&certificate, reply, 2).map_err(bench_error)?;
    // Alternating rounds, so that load from elsewhere on the machine falls on both alike.
    let round = Duration::from_secs_f64(seconds.max(1) as f64 / ROUNDS as f64);
    let mut ours = Load { requests: 0, elapsed: Duration::ZERO };
    let mut theirs = ours;
    for _ in 0..ROUNDS {
        let n = hammer(addr, &config, clients, round, &info).map_err(bench_error)?;
        let e = hammer(echo.addr, &config, clients, round, &info).map_err(bench_error)?;
        ours = Load { requests: ours.requests + n.requests, elapsed: ours.elapsed + n.elapsed };
        theirs = Load { requests: theirs.requests + e.requests, elapsed: theirs.elapsed + e.elapsed };
    }
    echo.stop();

    // Bitmarks.Create: the asset, then the issues in groups from `threads` clients.
    let bad = |e: bitmark_record::Fault| bench_error(e);
    let (asset_id, asset) = workload::asset(&workload::owner(SALT, 0), "bench rpc").map_err(bad)?;
    let record = |packed: &[u8]| Transaction::unpack(packed, true).map(|(tx, _)| tx.to_json()).map_err(bad);
    let request = |assets: Vec<Value>, issues: Vec<Value>| {
        format!("{}\n", json!({"method": "Bitmarks.Create", "params": [{"assets": assets, "issues": issues}], "id": 1}))
            .into_bytes()
    };
    let (_, first) =
        send_all(addr, &config, vec![vec![request(vec![record(&asset)?], Vec::new())]]).map_err(bench_error)?;
    check_replies(&first)?;
    let mut groups = Vec::new();
    for chunk in (0..issues).collect::<Vec<_>>().chunks(batch) {
        let records = chunk
            .iter()
            .map(|i| {
                workload::issue(asset_id, &workload::owner(SALT, *i as u64 + 1), 0)
                    .map_err(bad)
                    .and_then(|p| record(&p))
            })
            .collect::<Result<Vec<_>>>()?;
        groups.push(request(Vec::new(), records));
    }
    let threads = threads.max(1);
    let mut per_client = vec![Vec::new(); threads];
    for (i, group) in groups.into_iter().enumerate() {
        if let Some(list) = per_client.get_mut(i % threads) {
            list.push(group);
        }
    }
    let (elapsed, replies) = send_all(addr, &config, per_client).map_err(bench_error)?;
    check_replies(&replies)?;
    node.stop();

    let reference = super::reservoir::run(super::reservoir::Options { items: issues, batch, threads })?;
    let reservoir_rate = reference["reservoir"]["perSecond"].as_f64().unwrap_or(0.0);
    let create_rate = issues as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
    Ok(json!({
        "clients": clients,
        "nodeInfo": load_json(ours),
        "echo": load_json(theirs),
        "ratio": ours.per_second() / theirs.per_second().max(f64::EPSILON),
        "create": {"issues": issues, "batch": batch, "threads": threads, "seconds": elapsed.as_secs_f64(), "perSecond": create_rate},
        "reservoir": {"perSecond": reservoir_rate},
        "createRatio": create_rate / reservoir_rate.max(f64::EPSILON),
    }))
}

/// Every reply must be a success.
fn check_replies(replies: &[String]) -> Result<()> {
    for line in replies {
        let reply: Value = serde_json::from_str(line).map_err(bench_error)?;
        if !reply["error"].is_null() {
            return Err(bench_error(format!("a request was refused: {line}")));
        }
    }
    Ok(())
}

/// A human summary of a [`run`] report.
pub fn summary(report: &Value) -> String {
    let f = |path: &[&str]| path.iter().fold(report, |v, k| &v[*k]).as_f64().unwrap_or(0.0);
    format!(
        "rpc: {} TLS clients sending Node.Info\n  \
         node              {:>10.0} requests/s\n  \
         tokio+rustls echo {:>10.0} requests/s\n  \
         ratio             {:>10.2}\n\
         Bitmarks.Create: {} free issues in groups of {} from {} clients\n  \
         over RPC          {:>10.0} issues/s\n  \
         bench reservoir   {:>10.0} issues/s\n  \
         ratio             {:>10.2}",
        f(&["clients"]),
        f(&["nodeInfo", "requestsPerSecond"]),
        f(&["echo", "requestsPerSecond"]),
        f(&["ratio"]),
        f(&["create", "issues"]),
        f(&["create", "batch"]),
        f(&["create", "threads"]),
        f(&["create", "perSecond"]),
        f(&["reservoir", "perSecond"]),
        f(&["createRatio"]),
    )
}
