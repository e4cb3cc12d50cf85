//! Blocks per second of `apply_many` with one digest thread and with every core, and the raw
//! Argon2d rate, so the parallel speed-up can be read off one run.

// Benchmark code, not product: a failed unwrap, expect, index or panic aborts the run
// (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// criterion_main! generates an undocumented `pub fn main`.
#![allow(missing_docs)]

use bitmark_record::blockdigest::DigestHasher;
use bitmark_record::{genesis, Chain};
use bitmark_storage::digest_pool::default_threads;
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::{BlockStore, ChainDb, DigestPool, StoreOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::time::Duration;

/// Blocks per measured `apply_many` call.
const BLOCKS: u64 = 8;

fn store() -> BlockStore {
    BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    let source = store();
    TestChain::new(TestChainConfig { seed: 1, txs_per_block: 20, ..Default::default() })
        .extend(&source, BLOCKS + 1, |_| ())
        .unwrap();
    let blocks: Vec<Vec<u8>> = (2..=source.height()).map(|n| source.block(n).unwrap().unwrap()).collect();
    let refs: Vec<&[u8]> = blocks.iter().map(Vec::as_slice).collect();

    let mut group = c.benchmark_group("apply_many");
    group.sample_size(10).measurement_time(Duration::from_secs(20)).throughput(Throughput::Elements(BLOCKS));
    let mut threads = vec![1, default_threads()];
    threads.dedup();
    for n in threads {
        let pool = DigestPool::new(n);
        group.bench_function(format!("threads={n}"), |b| {
            b.iter(|| {
                let s = store();
                let outcome = s.apply_many(&refs, &pool);
                assert!(outcome.failed.is_none());
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("argon2d");
    group.sample_size(10).throughput(Throughput::Elements(1));
    let header = genesis::header(Chain::Testing).pack();
    let mut hasher = DigestHasher::new();
    group.bench_function("one header", |b| b.iter(|| hasher.hash(&header)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
