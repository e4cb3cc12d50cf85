//! The sync benchmark (`bitmark-node bench sync` wraps [`sync`]): a generated test chain synced
//! by a fresh node from in-memory peers, with full verification, three ways measured in one
//! run:
//!
//! * **pipeline**: the connector as configured here: every peer fetched from, a window of 64
//!   blocks, digests on a pool of `threads`;
//! * **bitmarkd's shape**: one peer, one block in flight (window 1), one digest thread: fetch,
//!   digest, store, next;
//! * **the Argon2d limit**: `threads` digest threads hashing headers flat out, which no sync
//!   with full verification can beat (blocks/s = threads / seconds per digest).
//!
//! Peers are in memory (no network latency), so the figures measure the node, not the links.

use super::chains::{self, Blocks};
use super::network::Sim;
use crate::connector::{ConnectorConfig, Digester, Mode};
use bitmark_record::header::PackedHeader;
use bitmark_storage::DigestPool;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncBenchOptions {
    /// Height of the test chain (genesis is block 1).
    pub blocks: u64,
    /// Peers holding it.
    pub peers: usize,
    /// Digest threads of the pipeline and of the Argon2d measurement.
    pub threads: usize,
    /// Seed of the test chain.
    pub seed: u64,
    /// Records per block besides the foundation.
    pub txs_per_block: usize,
}

impl Default for SyncBenchOptions {
    fn default() -> SyncBenchOptions {
        SyncBenchOptions {
            blocks: 60,
            peers: 3,
            threads: bitmark_storage::digest_pool::default_threads(),
            seed: 1,
            txs_per_block: 8,
        }
    }
}

/// One sync, timed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// Blocks stored.
    pub blocks: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Blocks per second.
    pub blocks_per_second: f64,
}

impl Measurement {
    fn new(blocks: u64, elapsed: Duration) -> Measurement {
        let seconds = elapsed.as_secs_f64();
        Measurement { blocks, seconds, blocks_per_second: if seconds > 0.0 { blocks as f64 / seconds } else { 0.0 } }
    }
}

/// The Argon2d ceiling.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Argon2dLimit {
    /// Digest threads.
    pub threads: usize,
    /// Seconds one thread takes per digest.
    pub seconds_per_digest: f64,
    /// `threads / seconds_per_digest`.
    pub blocks_per_second: f64,
}

/// The benchmark's result.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncBenchReport {
    /// Height of the test chain.
    pub height: u64,
    /// Peers.
    pub peers: usize,
    /// Digest threads.
    pub threads: usize,
    /// Seconds spent generating the chain (one Argon2d per block on one thread).
    pub build_seconds: f64,
    /// The pipeline.
    pub pipeline: Measurement,
    /// One peer, one block in flight, one digest thread.
    pub bitmarkd_shape: Measurement,
    /// The Argon2d ceiling with `threads`.
    pub argon2d: Argon2dLimit,
    /// `pipeline / bitmarkd_shape`.
    pub speedup: f64,
}

/// Run the benchmark.
pub fn sync(options: SyncBenchOptions) -> Result<SyncBenchReport, String> {
    let threads = options.threads.max(1);
    let peers = options.peers.max(1);
    let built = Instant::now();
    let chain = chains::build(options.seed, options.txs_per_block, options.blocks.max(2)).map_err(|e| e.to_string())?;
    let build_seconds = built.elapsed().as_secs_f64();

    let pool = Arc::new(DigestPool::new(threads));
    let argon2d = argon2d_limit(&pool, &chain, threads);
    let pipeline = ConnectorConfig { minimum_clients: peers, fetch_peers: peers, ..ConnectorConfig::default() };
    let pipeline = timed_sync(&chain, peers, pipeline, pool)?;

    let single = Arc::new(DigestPool::new(1));
    warm(&single, &chain, 1);
    let bitmarkd =
        ConnectorConfig { minimum_clients: 1, fetch_peers: 1, fetch_window: 1, ..ConnectorConfig::default() };
    let bitmarkd_shape = timed_sync(&chain, 1, bitmarkd, single)?;

    let speedup = if bitmarkd_shape.blocks_per_second > 0.0 {
        pipeline.blocks_per_second / bitmarkd_shape.blocks_per_second
    } else {
        0.0
    };
    Ok(SyncBenchReport {
        height: chain.len() as u64 + 1,
        peers,
        threads,
        build_seconds,
        pipeline,
        bitmarkd_shape,
        argon2d,
        speedup,
    })
}

fn headers(chain: &Blocks, count: usize) -> Vec<PackedHeader> {
    chain.iter().cycle().take(count).filter_map(|(b, _)| b.get(..100).and_then(|h| h.try_into().ok())).collect()
}

/// Give every worker its 128 MiB before anything is timed.
fn warm(pool: &DigestPool, chain: &Blocks, threads: usize) {
    pool.digests(&headers(chain, threads));
}

/// Hash `4 × threads` headers on warmed workers.
fn argon2d_limit(pool: &DigestPool, chain: &Blocks, threads: usize) -> Argon2dLimit {
    warm(pool, chain, threads);
    let sample = headers(chain, 4 * threads);
    let started = Instant::now();
    pool.digests(&sample);
    let elapsed = started.elapsed().as_secs_f64();
    let per_digest = if sample.is_empty() { 0.0 } else { elapsed * threads as f64 / sample.len() as f64 };
    Argon2dLimit {
        threads,
        seconds_per_digest: per_digest,
        blocks_per_second: if per_digest > 0.0 { threads as f64 / per_digest } else { 0.0 },
    }
}

/// A fresh node syncs `chain` from `peers` peers; the wall-clock time from its first tick to
/// the last block stored.
fn timed_sync(
    chain: &Blocks,
    peers: usize,
    config: ConnectorConfig,
    pool: Arc<DigestPool>,
) -> Result<Measurement, String> {
    let digester: Arc<dyn Digester> = pool;
    let mut sim = Sim::new(digester, 1);
    let sources: Vec<usize> =
        (0..peers).map(|_| sim.add_node(chain)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
    let node = sim.add_node(&[]).map_err(|e| e.to_string())?;
    sim.start_connector(node, config, &sources)?;
    let height = chain.len() as u64 + 1;
    let started = Instant::now();
    let reached = sim.run_until(Duration::from_secs(24 * 3600), |s| s.height(node) >= height);
    let elapsed = started.elapsed();
    if !reached || sim.tip(node) != chain.last().map(|b| b.1).unwrap_or_default() {
        return Err(format!("sync did not complete: height {} of {height}", sim.height(node)));
    }
    debug_assert!(sim.mode(node) != Mode::Stopped);
    Ok(Measurement::new(height - 1, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_sync_reports_all_three_figures() {
        let r = sync(SyncBenchOptions { blocks: 6, peers: 2, threads: 2, seed: 3, txs_per_block: 2 }).unwrap();
        assert_eq!((r.height, r.peers, r.threads, r.pipeline.blocks, r.bitmarkd_shape.blocks), (6, 2, 2, 5, 5));
        assert!(r.argon2d.seconds_per_digest > 0.0 && r.pipeline.blocks_per_second > 0.0);
        let json = serde_json::to_value(r).unwrap();
        assert!(json["bitmarkdShape"]["blocksPerSecond"].is_number());
    }

    /// The figures for the report: `cargo test --release -p bitmark-peer bench_sync_figures --
    /// --ignored --nocapture` (a 60-block chain, 3 peers, every core).
    #[test]
    #[ignore = "takes a minute; run by hand"]
    fn bench_sync_figures() {
        let r = sync(SyncBenchOptions::default()).unwrap();
        println!("{}", serde_json::to_string_pretty(&r).unwrap());
    }
}
