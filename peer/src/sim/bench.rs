//! The sync benchmark (`bitmark-node bench sync` wraps [`sync`]): a generated test chain synced
//! by a fresh node from in-memory peers, with full verification, three ways measured in one
//! run:
//!
//! * **pipeline**: the connector as configured here: every peer fetched from, a window of 64
//!   blocks, digests on a pool of `threads`;
//! * **bitmarkd's shape**: one peer, one block in flight (window 1), one digest thread: fetch,
//!   digest, store, next;
//! * **the Argon2d limit**: `threads` digest threads hashing headers flat out, which no sync
//!   with full verification can beat (blocks/s = threads / seconds per digest). It is sampled
//!   before the syncs and again after them, `limit_rounds` rounds each (a round: one digest
//!   on every thread at once), and reported as the mean of every round with its spread: a
//!   single sample on a shared machine can be off by a tenth either way, enough to make a sync
//!   look faster than its own ceiling.
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
    /// Rounds of the Argon2d limit before the syncs, and again after (each: one digest per
    /// thread).
    pub limit_rounds: usize,
}

impl Default for SyncBenchOptions {
    fn default() -> SyncBenchOptions {
        SyncBenchOptions {
            blocks: 60,
            peers: 3,
            threads: bitmark_storage::digest_pool::default_threads(),
            seed: 1,
            txs_per_block: 8,
            limit_rounds: 8,
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

/// The Argon2d ceiling, from every round before and after the syncs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Argon2dLimit {
    /// Digest threads.
    pub threads: usize,
    /// Seconds one thread takes per digest (mean over every round).
    pub seconds_per_digest: f64,
    /// `threads / seconds_per_digest`.
    pub blocks_per_second: f64,
    /// The rounds before the syncs.
    pub before: LimitSamples,
    /// The rounds after the syncs.
    pub after: LimitSamples,
    /// Slowest round, blocks per second.
    pub min_blocks_per_second: f64,
    /// Fastest round, blocks per second.
    pub max_blocks_per_second: f64,
    /// Standard deviation of the rounds' rates over their mean.
    pub relative_spread: f64,
}

/// One side's rounds of the Argon2d limit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitSamples {
    /// Rounds timed.
    pub rounds: usize,
    /// Digests hashed in them.
    pub digests: usize,
    /// Blocks per second over all of them.
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
    let rounds = options.limit_rounds.max(1);
    warm(&pool, &chain, threads);
    let before = limit_rounds(&pool, &chain, threads, rounds);
    let pipeline = ConnectorConfig { minimum_clients: peers, fetch_peers: peers, ..ConnectorConfig::default() };
    let pipeline = timed_sync(&chain, peers, pipeline, Arc::clone(&pool))?;

    let single = Arc::new(DigestPool::new(1));
    warm(&single, &chain, 1);
    let bitmarkd =
        ConnectorConfig { minimum_clients: 1, fetch_peers: 1, fetch_window: 1, ..ConnectorConfig::default() };
    let bitmarkd_shape = timed_sync(&chain, 1, bitmarkd, single)?;
    let after = limit_rounds(&pool, &chain, threads, rounds);
    let argon2d = argon2d_limit(threads, &before, &after);

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

/// Time `rounds` rounds of `threads` digests on the (warm) pool: each round's blocks per
/// second.
fn limit_rounds(pool: &DigestPool, chain: &Blocks, threads: usize, rounds: usize) -> Vec<f64> {
    let round = headers(chain, threads);
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            pool.digests(&round);
            let seconds = started.elapsed().as_secs_f64();
            if seconds > 0.0 {
                round.len() as f64 / seconds
            } else {
                0.0
            }
        })
        .collect()
}

/// The limit from the rounds before and after the syncs: the mean rate of every round, its
/// extremes and its relative standard deviation.
fn argon2d_limit(threads: usize, before: &[f64], after: &[f64]) -> Argon2dLimit {
    let mean = |rates: &[f64]| if rates.is_empty() { 0.0 } else { rates.iter().sum::<f64>() / rates.len() as f64 };
    let side = |rates: &[f64]| LimitSamples {
        rounds: rates.len(),
        digests: rates.len() * threads,
        blocks_per_second: mean(rates),
    };
    let all: Vec<f64> = before.iter().chain(after).copied().collect();
    let blocks_per_second = mean(&all);
    let variance = all.iter().map(|r| (r - blocks_per_second).powi(2)).sum::<f64>() / all.len().max(1) as f64;
    Argon2dLimit {
        threads,
        seconds_per_digest: if blocks_per_second > 0.0 { threads as f64 / blocks_per_second } else { 0.0 },
        blocks_per_second,
        before: side(before),
        after: side(after),
        min_blocks_per_second: all.iter().copied().fold(f64::INFINITY, f64::min).min(blocks_per_second),
        max_blocks_per_second: all.iter().copied().fold(0.0, f64::max),
        relative_spread: if blocks_per_second > 0.0 { variance.sqrt() / blocks_per_second } else { 0.0 },
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
        let options = SyncBenchOptions { blocks: 6, peers: 2, threads: 2, seed: 3, txs_per_block: 2, limit_rounds: 2 };
        let r = sync(options).unwrap();
        assert_eq!((r.height, r.peers, r.threads, r.pipeline.blocks, r.bitmarkd_shape.blocks), (6, 2, 2, 5, 5));
        assert!(r.argon2d.seconds_per_digest > 0.0 && r.pipeline.blocks_per_second > 0.0);
        // The limit, sampled on both sides of the syncs, with its spread.
        let limit = r.argon2d;
        assert_eq!((limit.before.rounds, limit.before.digests, limit.after.rounds, limit.after.digests), (2, 4, 2, 4));
        assert!(limit.min_blocks_per_second <= limit.blocks_per_second);
        assert!(limit.blocks_per_second <= limit.max_blocks_per_second);
        assert!(limit.relative_spread >= 0.0 && limit.relative_spread < 1.0, "{limit:?}");
        let json = serde_json::to_value(r).unwrap();
        assert!(json["bitmarkdShape"]["blocksPerSecond"].is_number());
        assert!(json["argon2d"]["after"]["blocksPerSecond"].is_number());
    }

    #[test]
    fn the_limit_is_the_mean_of_every_round_with_its_spread() {
        let limit = argon2d_limit(2, &[6.0, 8.0], &[5.0, 9.0]);
        assert_eq!((limit.blocks_per_second, limit.seconds_per_digest), (7.0, 2.0 / 7.0));
        assert_eq!((limit.before.blocks_per_second, limit.after.blocks_per_second), (7.0, 7.0));
        assert_eq!((limit.min_blocks_per_second, limit.max_blocks_per_second), (5.0, 9.0));
        // Deviations 1, 1, 2, 2: variance 2.5.
        assert!((limit.relative_spread - 2.5f64.sqrt() / 7.0).abs() < 1e-12);
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
