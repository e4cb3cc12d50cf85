//! `bitmark-node testnet`: a whole local network on loopback in one command. It builds a test
//! chain into node 0's data directory, starts K `bitmark-node run` child processes peered over
//! CURVE (node 0 standalone, node i connecting to every node before it), shows each node's
//! height while the others sync, and reports how long the network took to agree on node 0's tip.
//! Then it issues a bitmark through the last node's client RPC and waits until every node has it
//! confirmed in a block of node 0's producer ([`RPC_LIMIT`]).
//!
//! The children never outlive the command unless `--keep` asks for it: a guard stops them on
//! every return path (SIGTERM, then SIGKILL after a grace period), SIGINT/SIGTERM to the command
//! ends the wait early through the same guard, and each child asks the kernel to kill it if the
//! command itself dies (`PR_SET_PDEATHSIG`), which covers even SIGKILL.

use super::child_node::{get_json, read_ready, run_command, signal, terminate, STOP_GRACE};
use super::links::Router;
use super::testchain;
use crate::error::{NodeError, Result};
use crate::progress;
use bitmark_record::Chain;
use indicatif::{MultiProgress, ProgressBar};
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Between two rounds of `/status` polls.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// The followers' connector round (`--sync-interval`), instead of bitmarkd's 15 s: on loopback
/// a round costs nothing, and the first election comes two rounds after start.
const SYNC_INTERVAL: &str = "2s";

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Number of nodes (at least 1).
    pub nodes: usize,
    /// Height of the test chain node 0 starts with (genesis is block 1).
    pub blocks: u64,
    /// Where the nodes' data directories go (`node0`, `node1`...); a fresh temporary directory
    /// when absent.
    pub dir: Option<PathBuf>,
    /// Node i listens on `base_port + 2i` and reports status on `base_port + 2i + 1`; free
    /// ports when absent.
    pub base_port: Option<u16>,
    /// Leave the nodes (and the directory) in place at the end.
    pub keep: bool,
    /// Give up (exit 1) if the nodes have not converged by then.
    pub timeout: Duration,
    /// Emulated links between the nodes (a relay per connection, with the round trip between
    /// the two nodes' regions); none: they dial each other directly.
    pub regions: Option<bitmark_netem::regions::Regions>,
}

/// Run the network and return the summary: `{"converged","nodes","blocks","height","digest",
/// "buildSeconds","seconds","blocksPerSecond","dir"}` (+ `"running"` with `--keep`). The summary
/// carries `"ok": false` when the nodes did not converge, which makes the CLI exit 1.
pub fn run(options: &Options) -> Result<Value> {
    if options.nodes == 0 {
        return Err(NodeError::Input("--nodes must be at least 1".into()));
    }
    if options.blocks < 1 {
        return Err(NodeError::Input("--blocks must be at least 1 (the genesis block)".into()));
    }
    let workspace = Workspace::new(options)?;
    let root = workspace.path().to_path_buf();
    let build = testchain::run(
        &node_dir(&root, 0),
        testchain::Options { chain: Chain::Local, blocks: options.blocks, seed: 1, txs_per_block: 8 },
    )?;

    // From here on a signal ends the wait instead of the process, so the guard can stop the
    // children (which run in their own process group and so do not see a terminal's Ctrl-C).
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))
            .map_err(|e| NodeError::io("signal handlers", e))?;
    }

    let mut fleet = Fleet { nodes: Vec::new(), keep: false };
    let mut router = options.regions.map(Router::new).transpose()?;
    for i in 0..options.nodes {
        let node = fleet.start(&root, i, options, router.as_mut())?;
        fleet.nodes.push(node);
        if interrupted.load(Ordering::Relaxed) {
            return Err(NodeError::Io("interrupted".into()));
        }
    }
    // Checked above: at least one node was started.
    let Some(first) = fleet.nodes.first() else {
        return Err(NodeError::Input("--nodes must be at least 1".into()));
    };
    let target = (first.ready.get("height").and_then(Value::as_u64).unwrap_or(0), str_of(first.ready.get("digest")));
    let started = Instant::now();
    let mut display = Display::new(options.nodes, target.0);
    let converged = loop {
        let statuses = fleet.poll()?;
        display.show(&statuses);
        // Converged: every node has node 0's tip and has left resynchronisation, so it takes
        // pushes and answers as a synced peer would.
        let synced = |s: &Status| s.height == target.0 && s.digest == target.1 && s.mode == "normal";
        if statuses.iter().all(|s| s.as_ref().is_some_and(synced)) {
            break true;
        }
        if interrupted.load(Ordering::Relaxed) {
            return Err(NodeError::Io("interrupted".into()));
        }
        if started.elapsed() > options.timeout {
            break false;
        }
        std::thread::sleep(POLL_EVERY);
    };
    let seconds = started.elapsed().as_secs_f64();
    let synced = (options.nodes as u64 - 1) * target.0.saturating_sub(1);
    let mut summary = json!({
        "converged": converged,
        "nodes": options.nodes,
        "blocks": build.get("blocks"),
        "height": target.0,
        "digest": target.1,
        "buildSeconds": build.get("seconds"),
        "seconds": round(seconds, 1000.0),
        // Blocks fetched and verified by the followers together, per second of the wait.
        "blocksPerSecond": round(synced as f64 / seconds.max(1e-9), 100.0),
        "dir": root.display().to_string(),
    });
    // `summary` is the object json! built above; these add to it.
    let mut set = |key: &str, value: Value| {
        if let Some(map) = summary.as_object_mut() {
            map.insert(key.into(), value);
        }
    };
    if let Some(router) = &router {
        set("links", router.describe());
    }
    if !converged {
        set("ok", Value::Bool(false));
        set("timeoutSeconds", json!(options.timeout.as_secs()));
    } else {
        let round_trip = rpc_round_trip(&mut fleet, &interrupted);
        if round_trip.get("error").is_some() {
            set("ok", Value::Bool(false));
        }
        set("rpc", round_trip);
    }
    if options.keep {
        set(
            "running",
            fleet
                .nodes
                .iter()
                .map(|n| json!({"pid": n.child.id(), "status": n.ready.get("status"), "listening": n.ready.get("listening"), "publicKey": n.ready.get("publicKey"), "dataDir": n.ready.get("dataDir")}))
                .collect(),
        );
        fleet.keep = true;
        workspace.keep();
    } else {
        fleet.stop();
    }
    Ok(summary)
}

/// How long the RPC round trip may take once the nodes have converged.
const RPC_LIMIT: Duration = Duration::from_secs(60);

/// After convergence: register an asset and issue a bitmark through the last node's client
/// RPC (`Bitmarks.Create`, then `Bitmarks.Proof`), and wait until every node says it is
/// confirmed (`/transaction/<id>`): the record travels to node 0 over the upstreams, node 0's
/// producer puts it in a block, and the followers sync the block. The report, or `{"error"}`.
fn rpc_round_trip(fleet: &mut Fleet, interrupted: &AtomicBool) -> Value {
    let started = Instant::now();
    match try_round_trip(fleet, interrupted) {
        Ok(mut report) => {
            if let Some(map) = report.as_object_mut() {
                map.insert("seconds".into(), json!(round(started.elapsed().as_secs_f64(), 1000.0)));
            }
            report
        }
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn try_round_trip(fleet: &mut Fleet, interrupted: &AtomicBool) -> Result<Value> {
    let last = fleet.nodes.len().saturating_sub(1);
    let fail = |what: &str, e: String| NodeError::Io(format!("RPC on node {last}: {what}: {e}"));
    let node = fleet.nodes.last().ok_or_else(|| fail("node", "none running".into()))?;
    let addr: SocketAddr = node
        .ready
        .pointer("/rpc/listening/0")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| fail("address", "none reported".into()))?;
    let data = PathBuf::from(str_of(node.ready.get("dataDir")));
    let certificate = bitmark_rpc::Certificate::load(&data.join("rpc.crt"), &data.join("rpc.key"))
        .map_err(|e| fail("certificate", e.to_string()))?;
    let mut client = bitmark_rpc::client::Client::connect(addr, certificate.certificate_der(), Duration::from_secs(20))
        .map_err(|e| fail("connect", e))?;
    let owner = crate::workload::owner(0x7e57, std::process::id().into());
    let bad = |e: bitmark_record::Fault| fail("record", e.to_string());
    let (asset_id, asset) = crate::workload::asset(&owner, &format!("testnet {}", std::process::id())).map_err(bad)?;
    let issue = crate::workload::issue(asset_id, &owner, 0).map_err(bad)?;
    let json_of = |packed: &[u8]| bitmark_record::Transaction::unpack(packed, true).map(|(tx, _)| tx.to_json());
    let created = client
        .call(
            "Bitmarks.Create",
            json!({"assets": [json_of(&asset).map_err(bad)?], "issues": [json_of(&issue).map_err(bad)?]}),
        )
        .map_err(|e| fail("Bitmarks.Create", e))?;
    let pay_nonce = bitmark_record::PayNonce::from_hex(&str_of(created.get("payNonce"))).map_err(bad)?;
    let proof = crate::workload::proof(Chain::Local, &[&issue], &pay_nonce);
    let nonce = hex::encode(proof.get(48..).unwrap_or_default());
    let proved = client
        .call("Bitmarks.Proof", json!({"payId": created.get("payId"), "nonce": nonce}))
        .map_err(|e| fail("Bitmarks.Proof", e))?;
    let tx_id = bitmark_record::Link::of(&issue).raw_hex();
    eprintln!(
        "rpc: node {last} took asset {} and issue {tx_id} ({}); waiting for every node to confirm it",
        asset_id.to_hex().get(..16).unwrap_or_default(),
        str_of(proved.get("status"))
    );
    let deadline = Instant::now() + RPC_LIMIT;
    loop {
        let states: Vec<Value> = fleet
            .nodes
            .iter()
            .map(|n| n.status_addr().and_then(|a| get_json(a, &format!("/transaction/{tx_id}"))).unwrap_or(Value::Null))
            .collect();
        let confirmed = states.iter().filter(|s| s["status"] == "Confirmed").count();
        if confirmed == fleet.nodes.len() {
            let status =
                client.call("Transaction.Status", json!({"txId": tx_id})).map_err(|e| fail("Transaction.Status", e))?;
            return Ok(json!({
                "node": last,
                "txId": tx_id,
                "status": status.get("status"),
                "blockNumber": states.first().map_or(Value::Null, |s| s["blockNumber"].clone()),
                "confirmedOn": confirmed,
            }));
        }
        if interrupted.load(Ordering::Relaxed) || Instant::now() > deadline {
            return Err(fail(
                "confirmation",
                format!("{confirmed} of {} nodes confirmed {tx_id} in time", fleet.nodes.len()),
            ));
        }
        std::thread::sleep(POLL_EVERY);
    }
}

fn round(x: f64, scale: f64) -> f64 {
    (x * scale).round() / scale
}

fn str_of(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

fn node_dir(root: &Path, i: usize) -> PathBuf {
    root.join(format!("node{i}"))
}

/// The directory holding the nodes' data directories: the one given, or a temporary one that
/// is deleted when this is dropped unless [`Workspace::keep`] was called.
enum Workspace {
    Given(PathBuf),
    Temporary(tempfile::TempDir),
}

impl Workspace {
    fn new(options: &Options) -> Result<Workspace> {
        match &options.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| NodeError::io(dir.display(), e))?;
                Ok(Workspace::Given(dir.clone()))
            }
            None => Ok(Workspace::Temporary(
                tempfile::Builder::new()
                    .prefix("bitmark-testnet-")
                    .tempdir()
                    .map_err(|e| NodeError::io("temporary directory", e))?,
            )),
        }
    }

    fn path(&self) -> &Path {
        match self {
            Workspace::Given(dir) => dir,
            Workspace::Temporary(tmp) => tmp.path(),
        }
    }

    fn keep(self) {
        if let Workspace::Temporary(tmp) = self {
            let _ = tmp.keep();
        }
    }
}

/// One child node and the report it printed when it came up.
struct Node {
    child: Child,
    ready: Value,
    log: PathBuf,
}

impl Node {
    fn status_addr(&self) -> Option<SocketAddr> {
        self.ready.get("status")?.as_str()?.parse().ok()
    }
}

/// What a node's `/status` said that matters here.
struct Status {
    height: u64,
    digest: String,
    mode: String,
}

/// The running children; dropping it stops them unless `keep` is set.
struct Fleet {
    nodes: Vec<Node>,
    keep: bool,
}

impl Fleet {
    /// Start node `i`, peered with every node already running (through `router`'s links if
    /// any), and wait for its ready line.
    fn start(&self, root: &Path, i: usize, options: &Options, mut router: Option<&mut Router>) -> Result<Node> {
        let dir = node_dir(root, i);
        std::fs::create_dir_all(&dir).map_err(|e| NodeError::io(dir.display(), e))?;
        let log = dir.join("node.log");
        let port = |offset: u16| match options.base_port {
            Some(base) => format!("127.0.0.1:{}", u32::from(base) + 2 * i as u32 + u32::from(offset)),
            None => "127.0.0.1:0".to_string(),
        };
        let mut command = run_command(["--chain", "local", "--data-dir"], &log, options.keep)?;
        command.arg(&dir);
        command.args(["--listen", &port(0), "--status", &port(1)]);
        if i == 0 {
            // Node 0 makes a block of whatever its reservoir verifies (the RPC round trip below).
            command.args(["--standalone", "--produce-blocks", "1"]);
        } else {
            for (j, peer) in self.nodes.iter().enumerate() {
                let key = str_of(peer.ready.get("publicKey"));
                let mut addr =
                    peer.ready.pointer("/listening/0").and_then(Value::as_str).unwrap_or_default().to_string();
                if let (Some(router), Ok(listener)) = (router.as_deref_mut(), addr.parse()) {
                    addr = router.route(i, j, listener)?.to_string();
                }
                command.args(["--connect", &format!("{key}@{addr}")]);
            }
            command.args(["--min-clients", "1", "--sync-interval", SYNC_INTERVAL]);
        }
        if i + 1 == options.nodes {
            command.args(["--rpc", "127.0.0.1:0"]);
        }
        let mut child = command.spawn().map_err(|e| NodeError::io("starting a node", e))?;
        let ready = match read_ready(&mut child) {
            Ok(ready) => ready,
            Err(e) => {
                terminate(&mut child);
                return Err(NodeError::Io(format!("node {i}: {e} (log: {})", log.display())));
            }
        };
        Ok(Node { child, ready, log })
    }

    /// Every node's status (None for one that did not answer this time); an error if a node
    /// has exited.
    fn poll(&mut self) -> Result<Vec<Option<Status>>> {
        let mut statuses = Vec::with_capacity(self.nodes.len());
        for (i, node) in self.nodes.iter_mut().enumerate() {
            if let Ok(Some(exit)) = node.child.try_wait() {
                return Err(NodeError::Io(format!("node {i} exited ({exit}); log: {}", node.log.display())));
            }
            statuses.push(node.status_addr().and_then(status_of));
        }
        Ok(statuses)
    }

    /// SIGTERM every node, then wait for them all (SIGKILL for any still there after the grace).
    fn stop(&mut self) {
        for node in &self.nodes {
            signal(&node.child, libc::SIGTERM);
        }
        let deadline = Instant::now() + STOP_GRACE;
        for node in &mut self.nodes {
            while node.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
        self.nodes.clear();
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if !self.keep {
            self.stop();
        }
    }
}

/// `GET /status` on a node, or None if it did not answer in time.
fn status_of(addr: SocketAddr) -> Option<Status> {
    let v = get_json(addr, "/status")?;
    Some(Status { height: v.get("height")?.as_u64()?, digest: str_of(v.get("digest")), mode: str_of(v.get("mode")) })
}

/// Live heights on stderr: one progress bar per node on a terminal ([`crate::progress`]),
/// otherwise a line whenever a node's height or mode changes.
struct Display {
    target: u64,
    bars: Option<(MultiProgress, Vec<ProgressBar>)>,
    last: Vec<Option<(u64, String)>>,
}

impl Display {
    fn new(nodes: usize, target: u64) -> Display {
        let bars = progress::visible().then(|| progress::bars(nodes, target, |i| format!("node {i}")));
        Display { target, bars, last: vec![None; nodes] }
    }

    fn show(&mut self, statuses: &[Option<Status>]) {
        if let Some((_, bars)) = &self.bars {
            for (bar, s) in bars.iter().zip(statuses) {
                match s {
                    Some(s) => {
                        bar.set_position(s.height.min(self.target));
                        bar.set_message(s.mode.clone());
                    }
                    None => bar.set_message("(no answer)"),
                }
            }
            return;
        }
        let mut err = std::io::stderr().lock();
        for (last, (i, s)) in self.last.iter_mut().zip(statuses.iter().enumerate()) {
            let now = s.as_ref().map(|s| (s.height, s.mode.clone()));
            if let (Some((height, mode)), true) = (&now, now != *last) {
                let _ = writeln!(err, "node {i:>2} {height:>5}/{} {mode}", self.target);
                *last = now;
            }
        }
        let _ = err.flush();
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some((multi, bars)) = self.bars.take() {
            for bar in bars {
                bar.finish();
            }
            let _ = multi.clear();
        }
    }
}
