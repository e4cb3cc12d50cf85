//! `bitmark-node bench scale`: sync at scale over real sockets and emulated links. Real
//! `bitmark-node run` processes: `peers` standalone nodes serve a generated chain of thousands
//! of blocks, and a fresh node syncs it from all of them, directly over loopback and through
//! `bitmark-netem` relays adding each round-trip time asked for. Three modes per round trip:
//!
//! * **full**: the connector's pipeline with full verification (every block's Argon2d digest,
//!   on a pool of every core);
//! * **fast**: bitmarkd's fast sync (digests taken from the next block's header and sampled,
//!   the last 1 000 blocks fully verified);
//! * **bitmarkd**: bitmarkd's shape (`run --bitmarkd-shape`): one peer, one block in flight,
//!   one digest thread, full verification.
//!
//! References measured in the same run: for fast sync, the store's own apply rate without
//! digests (the same blocks, digests known, stored one commit per block with the node's
//! durability, no network); for full verification, the Argon2d limit (every core hashing
//! headers flat out, before and after the syncs). The speed-up of each mode is over bitmarkd's
//! shape at the same round trip.
//!
//! Full verification costs an Argon2d digest per block (about 0.35 s of a core), so syncing a
//! 5 000-block chain fully takes a quarter of an hour per run on two cores, bitmarkd's shape
//! half an hour or more. `--tail N` times the full-verification modes on the last `N` blocks
//! only: the syncing node starts from the chain's first blocks already stored (from the
//! generated-chain cache, not timed), so the chain's size, the database's and the links are
//! those of the whole run while the digest-bound part is shorter. Fast sync always syncs the
//! whole chain from genesis, as its shape depends on the distance to the tip.
//!
//! Rates are steady-state: blocks stored after the first one over the time from the first to
//! the last (the election before the first block, a few sync intervals, is reported apart as
//! `firstBlockSeconds`).

use super::super::child_node::{ChildNode, Memory};
use super::super::testchain;
use super::memory::{disk_usage, node_args};
use crate::error::{NodeError, Result};
use bitmark_netem::{Link, Netem, Shape};
use bitmark_peer::connector::config::FAST_SYNC_PIVOT_BLOCKS;
use bitmark_record::header::{PackedHeader, HEADER_SIZE};
use bitmark_record::Chain;
use bitmark_storage::chain_cache::Block;
use bitmark_storage::{DigestPool, Durability};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often the syncing node's height is read.
const POLL: Duration = Duration::from_millis(25);

/// How a node syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The pipeline with full verification.
    Full,
    /// bitmarkd's fast sync.
    Fast,
    /// bitmarkd's shape: one peer, one block in flight, one digest thread.
    Bitmarkd,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Fast => "fast",
            Mode::Bitmarkd => "bitmarkd",
        }
    }

    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::Full => &[],
            Mode::Fast => &["--fast-sync"],
            Mode::Bitmarkd => &["--bitmarkd-shape"],
        }
    }
}

/// What to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Height of the chain (genesis is block 1).
    pub blocks: u64,
    /// Serving nodes.
    pub peers: usize,
    /// Round trips of the emulated links; zero: the nodes dial each other directly.
    pub rtts: Vec<Duration>,
    /// The modes, in this order at every round trip.
    pub modes: Vec<Mode>,
    /// Blocks synced by the full-verification modes (0: the whole chain).
    pub tail: u64,
}

/// Run every mode at every round trip and report `chain`, `reference` (the store's apply
/// rate), `argon2d` (the limit before and after the syncs), `runs` (one per round trip and
/// mode, each with its `ratio` to its reference and its `speedup` over bitmarkd's shape at the
/// same round trip).
pub fn run(options: &Options) -> Result<Value> {
    let root = tempfile::Builder::new()
        .prefix("bitmark-bench-scale-")
        .tempdir()
        .map_err(|e| NodeError::io("temporary directory", e))?;
    let root = root.path();
    let blocks = chain(options.blocks)?;
    let height = blocks.len() as u64 + 1;
    let reference = store_rate(&root.join("reference"), &blocks)?;
    let threads = bitmark_storage::digest_pool::default_threads();
    let pool = DigestPool::new(threads);
    let before = argon2d_rate(&pool, &blocks, threads);

    let mut sources = Vec::with_capacity(options.peers.max(1));
    for i in 0..options.peers.max(1) {
        let dir = root.join(format!("source{i}"));
        store(&dir, &blocks, Durability::Background)?;
        sources.push(ChildNode::start(node_args(&dir, &["--standalone"]), &root.join(format!("source{i}.log")))?);
    }
    let config = root.join("syncing.toml");
    // Only the links given: a peer learnt from the network would bypass the emulated ones.
    std::fs::write(&config, "[peering]\ndynamic_connections = false\n")
        .map_err(|e| NodeError::io(config.display(), e))?;

    let netem = Netem::new().map_err(|e| NodeError::io("link emulator", e))?;
    let mut runs = Vec::new();
    for rtt in &options.rtts {
        for mode in &options.modes {
            let start = match mode {
                Mode::Full | Mode::Bitmarkd if options.tail > 0 => height.saturating_sub(options.tail).max(1),
                Mode::Full | Mode::Bitmarkd | Mode::Fast => 1,
            };
            let links = links(&netem, &sources, *rtt)?;
            let run = Run { root, config: &config, blocks: &blocks, start, mode: *mode, rtt: *rtt };
            runs.push(run.measure(&sources, &links)?);
        }
    }
    for source in sources {
        source.stop();
    }
    let after = argon2d_rate(&pool, &blocks, threads);
    let limit = (before + after) / 2.0;
    let runs: Vec<Value> = runs.iter().map(|r| r.to_json(&runs, reference.rate, limit)).collect();
    Ok(json!({
        "chain": {
            "height": height,
            "rawBytes": blocks.iter().map(|b| b.0.len() as u64).sum::<u64>(),
        },
        "peers": options.peers.max(1),
        "tail": options.tail,
        "reference": {
            "blocks": blocks.len(),
            "seconds": reference.seconds,
            "blocksPerSecond": reference.rate,
            "what": "the store applying the same blocks, digests known, one flushed commit each, no network",
        },
        "argon2d": {"threads": threads, "before": before, "after": after, "blocksPerSecond": limit},
        "runs": runs,
    }))
}

/// The generated chain of `height` blocks (the one `bench memory` syncs), from the cache.
fn chain(height: u64) -> Result<Vec<Block>> {
    let options = testchain::Options { chain: Chain::Local, blocks: height.max(2), seed: 1, txs_per_block: 8 };
    let bar = crate::progress::bar(options.blocks, "blocks");
    let blocks = testchain::cached_blocks(&testchain::default_cache_dir(), options, &bar)?;
    bar.finish_and_clear();
    Ok(blocks)
}

/// `blocks` stored in a fresh data directory `dir` with `durability`, made durable.
fn store(dir: &Path, blocks: &[Block], durability: Durability) -> Result<()> {
    testchain::seal(&testchain::store_blocks_with(dir, blocks, durability, |_| ())?)
}

/// A rate: `seconds` for the work, `rate` per second.
#[derive(Clone, Copy, Debug)]
struct Rate {
    seconds: f64,
    rate: f64,
}

fn per_second(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The store's own apply rate: `blocks` into a fresh store in `dir` with the node's
/// durability (a flush per commit), digests known, no network.
fn store_rate(dir: &Path, blocks: &[Block]) -> Result<Rate> {
    let started = Instant::now();
    store(dir, blocks, Durability::FlushEachCommit)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Rate { seconds, rate: per_second(blocks.len() as u64, seconds) })
}

/// Blocks per second of `threads` threads hashing headers flat out: four rounds of a digest
/// per thread, after one to give each its memory.
fn argon2d_rate(pool: &DigestPool, blocks: &[Block], threads: usize) -> f64 {
    let headers: Vec<PackedHeader> = blocks
        .iter()
        .cycle()
        .take(threads.max(1))
        .filter_map(|(b, _)| b.get(..HEADER_SIZE).and_then(|h| h.try_into().ok()))
        .collect();
    pool.digests(&headers);
    let started = Instant::now();
    for _ in 0..4 {
        pool.digests(&headers);
    }
    per_second(4 * headers.len() as u64, started.elapsed().as_secs_f64())
}

/// What the syncing node dials for each source: its listener (`rtt` zero) or a relay to it.
/// The relays are dropped with the returned links, after the run.
fn links(netem: &Netem, sources: &[ChildNode], rtt: Duration) -> Result<Vec<(String, Option<Link>)>> {
    sources
        .iter()
        .map(|source| {
            let (Some(addr), Some(key)) = (source.peer_addr(), source.ready.get("publicKey").and_then(Value::as_str))
            else {
                return Err(NodeError::Io(format!("no listener in the ready line {}", source.ready)));
            };
            if rtt.is_zero() {
                return Ok((format!("{key}@{addr}"), None));
            }
            let link = netem.link(addr, Shape::rtt(rtt)).map_err(|e| NodeError::io("emulated link", e))?;
            Ok((format!("{key}@{}", link.addr()), Some(link)))
        })
        .collect()
}

/// One sync to measure.
struct Run<'a> {
    root: &'a Path,
    config: &'a Path,
    blocks: &'a [Block],
    /// The height the syncing node starts from (its first blocks stored beforehand).
    start: u64,
    mode: Mode,
    rtt: Duration,
}

/// One sync, measured.
#[derive(Clone, Debug)]
struct Measured {
    mode: Mode,
    rtt: Duration,
    start: u64,
    height: u64,
    /// From the node's start to its first new block.
    first_block: f64,
    /// The first new block's height and the seconds from it to the last.
    first_height: u64,
    steady: f64,
    /// Fast sync: seconds from the first new block to the fast-sync pivot.
    to_pivot: Option<(u64, f64)>,
    memory: Memory,
    disk: Option<Value>,
    relayed: u64,
}

impl Run<'_> {
    fn measure(&self, sources: &[ChildNode], links: &[(String, Option<Link>)]) -> Result<Measured> {
        let name = format!("{}-{}ms", self.mode.name(), self.rtt.as_millis());
        let dir = self.root.join(&name);
        let prefix = usize::try_from(self.start.saturating_sub(1)).unwrap_or(usize::MAX).min(self.blocks.len());
        if let Some(first) = self.blocks.get(..prefix).filter(|b| !b.is_empty()) {
            store(&dir, first, Durability::Background)?;
        }
        let peers = sources.len().to_string();
        let config = self.config.display().to_string();
        let mut extra = vec!["--config", config.as_str(), "--min-clients", peers.as_str(), "--sync-interval", "1s"];
        for (connect, _) in links {
            extra.extend(["--connect", connect.as_str()]);
        }
        extra.extend(self.mode.flags());
        let height = self.blocks.len() as u64 + 1;
        // Fast sync has a fast phase only on a chain longer than the blocks it verifies fully.
        let pivot =
            (self.mode == Mode::Fast && height > FAST_SYNC_PIVOT_BLOCKS + 1).then(|| height - FAST_SYNC_PIVOT_BLOCKS);
        eprintln!("bench scale: {} from height {} to {height}", name, self.start);
        let mut node = ChildNode::start(node_args(&dir, &extra), &self.root.join(format!("{name}.log")))?;
        let started = Instant::now();
        // Generous: a digest per block on one busy core, and a round trip per block.
        let synced = height - self.start;
        let limit = Duration::from_secs(120) + (Duration::from_secs(2) + self.rtt * 2) * synced as u32;
        let (mut first, mut at_pivot, mut memory) = (None, None, node.memory()?);
        loop {
            let now = Instant::now();
            let current = node.get("/status").and_then(|s| s.get("height").and_then(Value::as_u64)).unwrap_or(0);
            if current > self.start && first.is_none() {
                first = Some((current, now));
            }
            if pivot.is_some_and(|p| current >= p) && at_pivot.is_none() {
                at_pivot = Some((current, now));
            }
            if current >= height {
                break;
            }
            if started.elapsed() > limit {
                return Err(NodeError::Io(format!(
                    "bench scale {name}: height {current} of {height} after {limit:?} (log: {})",
                    node.log.display()
                )));
            }
            memory = node.memory()?;
            std::thread::sleep(POLL);
        }
        let done = Instant::now();
        memory = node.memory().unwrap_or(memory);
        node.stop();
        let (first_height, first_at) = first.unwrap_or((height, done));
        let disk = if self.start == 1 { Some(disk_usage(&dir, height - 1)?) } else { None };
        let _ = std::fs::remove_dir_all(&dir);
        Ok(Measured {
            mode: self.mode,
            rtt: self.rtt,
            start: self.start,
            height,
            first_block: first_at.duration_since(started).as_secs_f64(),
            first_height,
            steady: done.duration_since(first_at).as_secs_f64(),
            to_pivot: at_pivot.map(|(h, at)| (h, at.duration_since(first_at).as_secs_f64())),
            memory,
            disk,
            relayed: links.iter().filter_map(|(_, l)| l.as_ref()).map(|l| l.stats().bytes_down).sum(),
        })
    }
}

impl Measured {
    /// Blocks per second after the first new block (from the node's start when the poll saw
    /// no block between the first and the last: a sync of a few blocks).
    fn rate(&self) -> f64 {
        if self.height > self.first_height && self.steady > 0.0 {
            per_second(self.height - self.first_height, self.steady)
        } else {
            per_second(self.height - self.start, self.first_block + self.steady)
        }
    }

    /// Fast sync: blocks per second from the first new block to the pivot.
    fn fast_phase_rate(&self) -> Option<f64> {
        self.to_pivot.map(|(h, seconds)| per_second(h.saturating_sub(self.first_height), seconds))
    }

    fn to_json(&self, all: &[Measured], store_rate: f64, argon2d: f64) -> Value {
        let of = |value: f64, reference: f64| if reference > 0.0 { value / reference } else { 0.0 };
        let bitmarkd = all.iter().find(|m| m.mode == Mode::Bitmarkd && m.rtt == self.rtt).map(Measured::rate);
        let (ratio, reference) = match self.mode {
            Mode::Fast => (of(self.fast_phase_rate().unwrap_or(0.0), store_rate), "store apply rate (fast phase)"),
            Mode::Full | Mode::Bitmarkd => (of(self.rate(), argon2d), "Argon2d limit"),
        };
        json!({
            "mode": self.mode.name(),
            "rttMs": self.rtt.as_millis() as u64,
            "from": self.start,
            "to": self.height,
            "firstBlockSeconds": self.first_block,
            "seconds": self.steady,
            "blocksPerSecond": self.rate(),
            "fastPhase": self.to_pivot.map(|(h, s)| json!({"toHeight": h, "seconds": s, "blocksPerSecond": self.fast_phase_rate()})),
            "ratio": ratio,
            "ratioTo": reference,
            "speedupOverBitmarkd": bitmarkd.map(|b| of(self.rate(), b)),
            "peakBytes": self.memory.peak,
            "disk": self.disk,
            "relayedBytes": self.relayed,
        })
    }
}

/// A human summary of a [`run`] report: the at-scale table in Markdown.
pub fn summary(report: &Value) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let mut out = format!(
        "sync of a {}-block chain from {} peers; store apply rate {:.1} blocks/s; Argon2d limit {:.2} blocks/s ({} threads)\n\n\
         | mode | RTT | blocks | blocks/s | reference | ratio | speed-up over bitmarkd's shape | peak RSS |\n\
         |---|---|---|---|---|---|---|---|\n",
        report.pointer("/chain/height").map_or(0.0, f),
        report["peers"],
        report.pointer("/reference/blocksPerSecond").map_or(0.0, f),
        report.pointer("/argon2d/blocksPerSecond").map_or(0.0, f),
        report.pointer("/argon2d/threads").unwrap_or(&Value::Null),
    );
    for run in report["runs"].as_array().map_or(&[][..], Vec::as_slice) {
        let fast = run["fastPhase"].is_object();
        out += &format!(
            "| {} | {} ms | {}..{} | {:.2}{} | {} | {:.2} | {} | {:.1} MiB |\n",
            run["mode"].as_str().unwrap_or("?"),
            run["rttMs"],
            run["from"],
            run["to"],
            f(&run["blocksPerSecond"]),
            if fast {
                format!(" (fast phase {:.1})", run.pointer("/fastPhase/blocksPerSecond").map_or(0.0, f))
            } else {
                String::new()
            },
            run["ratioTo"].as_str().unwrap_or("?"),
            f(&run["ratio"]),
            run["speedupOverBitmarkd"].as_f64().map_or("-".into(), |s| format!("{s:.2}x")),
            f(&run["peakBytes"]) / (1 << 20) as f64,
        );
    }
    out
}
