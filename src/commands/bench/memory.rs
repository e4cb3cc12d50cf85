//! `bitmark-node bench memory`: the peak resident memory (`VmHWM`) of real `bitmark-node run`
//! processes, read from `/proc/<pid>/status` before they are stopped:
//!
//! * **sync**: a node syncing a generated `blocks`-block local chain from another node over
//!   loopback, with full verification. Its reference is the Argon2d working set, 128 MiB per
//!   digest thread (every core), which a node verifying blocks cannot do without; the figure
//!   to watch is what the node needs beyond it. That reference is computed from Argon2d's
//!   memory parameter, not measured, and the report says so (`argon2dReference`).
//! * **pending**: a standalone node holding `pending` free issues in its reservoir (20 000 is
//!   bitmarkd's bound), pushed over CURVE in groups of 100, one owner each. Its reference is
//!   the same process idle, just after it started.
//!
//! The sync part also reports what the synced chain takes on disk per block against the raw
//! block bytes (sled's space amplification). Either part is skipped when its count is 0. The
//! chain comes from the generated-chain cache (`testchain --cache`): building a 500-block chain
//! the first time costs an Argon2d digest per block (about 3 minutes), so this belongs to
//! `make bench`.

use super::super::child_node::{ChildNode, Memory};
use super::super::testchain;
use super::{push, wait_until_held, ARGON2D_BYTES};
use crate::error::{NodeError, Result};
use crate::workload;
use bitmark_peer::wire::Push;
use bitmark_record::{Chain, Link};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The owners of the pending part's records are `workload::owner(SALT, i)`.
const SALT: u64 = 0x3e30;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Height of the chain the syncing node fetches (0: skip).
    pub blocks: u64,
    /// Free issues the other node holds (0: skip).
    pub pending: usize,
    /// The syncing node fast-syncs instead of verifying every block.
    pub fast_sync: bool,
}

fn memory_json(m: Memory) -> Value {
    json!({"peakBytes": m.peak, "rssBytes": m.rss})
}

/// `run` arguments for a local-chain node in `dir` on free loopback ports, then `extra`.
pub(super) fn node_args(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> =
        ["--chain", "local", "--listen", "127.0.0.1:0", "--status", "127.0.0.1:0", "--data-dir"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.push(dir.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Run the parts asked for. The report: `sync` (`blocks`, `buildSeconds`, `syncSeconds`,
/// `digestThreads`, `argon2dBytes` and `argon2dReference` (how it was computed), `idle`,
/// `syncing` and `serving` memory) and `pending`
/// (`issues`, `idle`, `holding`, `bytesPerIssue`), memory as `peakBytes` and `rssBytes`.
pub fn run(options: Options) -> Result<Value> {
    let dir = tempfile::Builder::new()
        .prefix("bitmark-bench-memory-")
        .tempdir()
        .map_err(|e| NodeError::io("temporary directory", e))?;
    let mut report = serde_json::Map::new();
    if options.blocks > 1 {
        report.insert("sync".into(), sync(dir.path(), options.blocks, options.fast_sync)?);
    }
    if options.pending > 0 {
        report.insert("pending".into(), pending(dir.path(), options.pending)?);
    }
    Ok(Value::Object(report))
}

fn sync(root: &Path, blocks: u64, fast_sync: bool) -> Result<Value> {
    let (a_dir, b_dir) = (root.join("serving"), root.join("syncing"));
    let options = testchain::Options { chain: Chain::Local, blocks, seed: 1, txs_per_block: 8 };
    let built = testchain::run_cached(&a_dir, options, Some(&testchain::default_cache_dir()))?;
    let mut a = ChildNode::start(node_args(&a_dir, &["--standalone"]), &root.join("serving.log"))?;
    let connect = a.connect_arg().ok_or_else(|| NodeError::Io("no listener on the serving node".into()))?;
    let mut extra = vec!["--connect", connect.as_str(), "--min-clients", "1", "--sync-interval", "1s"];
    if fast_sync {
        extra.push("--fast-sync");
    }
    let mut b = ChildNode::start(node_args(&b_dir, &extra), &root.join("syncing.log"))?;
    let idle = b.memory()?;
    let started = Instant::now();
    // Generous: an Argon2d digest per block, on a machine that may be busy.
    let limit = Duration::from_secs(60 + 5 * blocks);
    b.wait_for(limit, |s| s["height"].as_u64() == Some(blocks))?;
    let seconds = started.elapsed().as_secs_f64();
    let (syncing, serving) = (b.memory()?, a.memory()?);
    b.stop();
    a.stop();
    let disk = disk_usage(&b_dir, blocks)?;
    let threads = bitmark_storage::digest_pool::default_threads() as u64;
    Ok(json!({
        "blocks": blocks,
        "fastSync": fast_sync,
        "buildSeconds": built.get("seconds"),
        "syncSeconds": seconds,
        "digestThreads": threads,
        "argon2dBytes": threads * ARGON2D_BYTES,
        "argon2dReference": "computed: digest threads x 128 MiB (Argon2d's memory parameter), not measured",
        "idle": memory_json(idle),
        "syncing": memory_json(syncing),
        "serving": memory_json(serving),
        "disk": disk,
    }))
}

/// What the synced chain takes on disk against its raw block bytes (sled's space
/// amplification): `rawBytes` (every packed block, genesis included), `fileBytes` (the
/// database directory's file lengths), `allocatedBytes` (blocks the file system gave them),
/// and each per block and as a ratio to the raw bytes. Read after the node stopped.
pub(super) fn disk_usage(data_dir: &Path, blocks: u64) -> Result<Value> {
    let path = bitmark_storage::database_path(data_dir, Chain::Local);
    let (mut file_bytes, mut allocated) = (0u64, 0u64);
    let mut dirs = vec![path.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| NodeError::io(dir.display(), e))? {
            let entry = entry.map_err(|e| NodeError::io(dir.display(), e))?;
            let meta = entry.metadata().map_err(|e| NodeError::io(entry.path().display(), e))?;
            if meta.is_dir() {
                dirs.push(entry.path());
            } else {
                use std::os::unix::fs::MetadataExt;
                file_bytes += meta.len();
                allocated += meta.blocks() * 512;
            }
        }
    }
    let store = crate::node::datadir::open_at(&path, Chain::Local, bitmark_storage::StoreOptions::default())?;
    let mut raw = 0u64;
    for number in 1..=store.height() {
        let block = store.block(number).map_err(|e| crate::node::datadir::Databases::of_store(&store).chain(e))?;
        raw += block.map_or(0, |b| b.len() as u64);
    }
    let per = |bytes: u64| bytes as f64 / blocks.max(1) as f64;
    let ratio = |bytes: u64| if raw > 0 { bytes as f64 / raw as f64 } else { 0.0 };
    Ok(json!({
        "rawBytes": raw,
        "fileBytes": file_bytes,
        "allocatedBytes": allocated,
        "rawBytesPerBlock": per(raw),
        "fileBytesPerBlock": per(file_bytes),
        "allocatedBytesPerBlock": per(allocated),
        "fileOverRaw": ratio(file_bytes),
        "allocatedOverRaw": ratio(allocated),
    }))
}

fn pending(root: &Path, issues: usize) -> Result<Value> {
    let dir = root.join("holding");
    let mut node = ChildNode::start(node_args(&dir, &["--standalone"]), &root.join("holding.log"))?;
    let idle = node.memory()?;
    let bad = |e: bitmark_record::Fault| NodeError::Input(format!("bench memory: {e}"));
    let (asset_id, asset) = workload::asset(&workload::owner(SALT, 0), "bench memory").map_err(bad)?;
    let mut client = node.client(Chain::Local)?;
    push(&mut client, Push::Assets(asset))?;
    let mut owner = 1u64;
    for group in 0..issues.div_ceil(bitmark_reservoir::MAXIMUM_ISSUES) {
        let count = (issues - group * bitmark_reservoir::MAXIMUM_ISSUES).min(bitmark_reservoir::MAXIMUM_ISSUES);
        let records = (0..count)
            .map(|_| {
                owner += 1;
                workload::issue(asset_id, &workload::owner(SALT, owner), 0)
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(bad)?;
        push(&mut client, Push::Issues(records.concat()))?;
        // One group at a time: the listener drops pushes beyond its queue.
        if let Some(first) = records.first() {
            wait_until_held(&node, &Link::of(first))?;
        }
    }
    node.wait_for(Duration::from_secs(60), |s| {
        s.pointer("/reservoir/pending").and_then(Value::as_u64) == Some(issues as u64)
    })?;
    let holding = node.memory()?;
    node.stop();
    Ok(json!({
        "issues": issues,
        "idle": memory_json(idle),
        "holding": memory_json(holding),
        "bytesPerIssue": holding.rss.saturating_sub(idle.rss) as f64 / issues as f64,
    }))
}

/// A human summary of a [`run`] report.
pub fn summary(report: &Value) -> String {
    let mib = |v: Option<&Value>| v.and_then(Value::as_f64).unwrap_or(0.0) / (1 << 20) as f64;
    let mut out = String::from("peak resident memory (VmHWM) of real node processes");
    let sync = &report["sync"];
    if sync.is_object() {
        out += &format!(
            "\n  syncing {} blocks{}    {:>8.1} MiB peak ({:.0} s; idle before: {:.1} MiB)\
             \n  Argon2d working set  {:>8.1} MiB (computed, not measured: {} digest threads x 128 MiB)\
             \n  beyond Argon2d       {:>8.1} MiB\
             \n  serving node         {:>8.1} MiB peak",
            sync["blocks"],
            if sync.get("fastSync") == Some(&Value::Bool(true)) { " (fast sync)" } else { "" },
            mib(sync.pointer("/syncing/peakBytes")),
            sync["syncSeconds"].as_f64().unwrap_or(0.0),
            mib(sync.pointer("/idle/peakBytes")),
            mib(sync.get("argon2dBytes")),
            sync["digestThreads"],
            mib(sync.pointer("/syncing/peakBytes")) - mib(sync.get("argon2dBytes")),
            mib(sync.pointer("/serving/peakBytes")),
        );
        let disk = &sync["disk"];
        let f = |key: &str| disk[key].as_f64().unwrap_or(0.0);
        out += &format!(
            "\n  on disk per block    {:>8.0} bytes in files, {:.0} allocated; raw block {:.0} bytes \
             (x{:.1} files, x{:.1} allocated)",
            f("fileBytesPerBlock"),
            f("allocatedBytesPerBlock"),
            f("rawBytesPerBlock"),
            f("fileOverRaw"),
            f("allocatedOverRaw"),
        );
    }
    let pending = &report["pending"];
    if pending.is_object() {
        out += &format!(
            "\n  holding {} pending issues {:>8.1} MiB peak, {:.1} MiB resident (idle: {:.1} MiB; {:.0} bytes per issue)",
            pending["issues"],
            mib(pending.pointer("/holding/peakBytes")),
            mib(pending.pointer("/holding/rssBytes")),
            mib(pending.pointer("/idle/rssBytes")),
            pending["bytesPerIssue"].as_f64().unwrap_or(0.0),
        );
    }
    out
}
