//! Argon2d block-digest throughput: a reused 128 MiB working buffer ([`DigestHasher`]) against a
//! fresh allocation per digest (what calling the argon2 crate naively does). Run with
//! `cargo bench -p bitmark-record --bench argon2d`; criterion reports digests/s.

// Benchmark code, not product: a failed unwrap, expect, index or panic aborts the run
// (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// criterion_main! generates an undocumented `pub fn main`.
#![allow(missing_docs)]

use bitmark_record::blockdigest::{self, DigestHasher};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

/// A header-sized input whose nonce changes per iteration, like a miner's.
fn header(nonce: u64) -> [u8; 100] {
    let mut h = bitmark_record::genesis::TEST_HEADER.pack();
    for (slot, b) in h.iter_mut().skip(92).zip(nonce.to_le_bytes()) {
        *slot = b;
    }
    h
}

/// Argon2d with bitmarkd's parameters and a new 128 MiB allocation each time.
fn fresh_allocation(data: &[u8; 100]) -> [u8; 32] {
    let params =
        argon2::Params::new(blockdigest::MEMORY_KIB, blockdigest::ITERATIONS, blockdigest::PARALLELISM, Some(32))
            .expect("valid parameters");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2d, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(data, data, &mut out).expect("valid input");
    out
}

fn argon2d(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2d_block_digest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));

    let mut hasher = DigestHasher::new();
    let mut nonce = 0u64;
    group.bench_function("reused_buffer", |b| {
        b.iter(|| {
            nonce += 1;
            black_box(hasher.hash(&header(nonce)))
        })
    });
    group.bench_function("fresh_allocation", |b| {
        b.iter(|| {
            nonce += 1;
            black_box(fresh_allocation(&header(nonce)))
        })
    });
    group.finish();
}

criterion_group!(benches, argon2d);
criterion_main!(benches);
