//! Issues accepted per second — 100-issue submissions of one owner, every signature checked,
//! every group written to sled and flushed before the call returns — beside the raw Ed25519
//! verify rate measured in the same run, and the signature checks of such a submission with
//! the owner's key decoded per signature and once.
//!
//! `cargo bench -p bitmark-reservoir --bench issues`

// Benchmark code, not product: a failed unwrap, expect, index or panic aborts the run
// (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// criterion_main! generates an undocumented `pub fn main`.
#![allow(missing_docs)]

use bitmark_record::currency::{bitcoin, litecoin};
use bitmark_record::transaction::{AssetData, BitmarkIssue};
use bitmark_record::{Chain, Currency, CurrencyMap, PrivateKey, Text, Transaction};
use bitmark_reservoir::{AutoVerify, MemoryChain, Options, Reservoir};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const GROUP: usize = 100;

fn signed(mut tx: Transaction, k: &PrivateKey) -> Transaction {
    let sig = k.sign(&tx.signing_message().unwrap()).unwrap();
    tx.set_signature(sig.to_vec());
    tx
}

/// A reservoir whose chain has one confirmed asset (so issues can be paid; auto-verify makes
/// them verified at once, so no pending limit is reached however long the bench runs).
fn setup(durable: bool) -> (tempfile::TempDir, Reservoir, PrivateKey, AssetData) {
    let k = PrivateKey::from_ed25519_seed([1; 32], true);
    let Transaction::AssetData(asset) = signed(
        Transaction::AssetData(AssetData {
            name: Text::from("bench"),
            fingerprint: Text::from("bench fingerprint"),
            metadata: Text::default(),
            registrant: k.account().unwrap(),
            signature: vec![],
        }),
        &k,
    ) else {
        unreachable!()
    };
    let mut map = CurrencyMap::new();
    map.insert(Currency::Bitcoin, bitcoin::address(bitcoin::Version::Testnet, &[1; 20]));
    map.insert(Currency::Litecoin, litecoin::address(litecoin::Version::Testnet, &[1; 20]));
    let chain = Arc::new(MemoryChain::new(Chain::Testing));
    chain
        .append_block(&k.account().unwrap(), &map, &[Transaction::AssetData(asset.clone()).pack_unverified().unwrap()])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::for_chain(Chain::Testing).verifier(Arc::new(AutoVerify));
    options.durable = durable;
    let (r, _) = Reservoir::open(dir.path(), Chain::Testing, chain, options).unwrap();
    (dir, r, k, asset)
}

/// 100 fresh signed issues (signing is not measured).
fn issues(k: &PrivateKey, asset: &AssetData, next: &AtomicU64) -> Vec<BitmarkIssue> {
    (0..GROUP)
        .map(|_| {
            let nonce = next.fetch_add(1, Ordering::Relaxed);
            let tx = Transaction::BitmarkIssue(BitmarkIssue {
                asset_id: asset.asset_id(),
                owner: k.account().unwrap(),
                nonce,
                signature: vec![],
            });
            let Transaction::BitmarkIssue(i) = signed(tx, k) else { unreachable!() };
            i
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("issues");
    g.throughput(Throughput::Elements(GROUP as u64));
    g.measurement_time(Duration::from_secs(8));
    g.sample_size(30);
    for (name, durable) in [("store_100_durable", true), ("store_100_no_fsync", false)] {
        let (_dir, r, k, asset) = setup(durable);
        let next = AtomicU64::new(1);
        g.bench_function(name, |b| {
            b.iter_batched(
                || issues(&k, &asset, &next),
                |batch| {
                    let info = r.store_issues(&batch).unwrap();
                    assert!(!info.duplicate);
                },
                BatchSize::PerIteration,
            )
        });
    }
    // The raw verify rate, 100 verifies per iteration for a like-for-like figure.
    let key = SigningKey::from_bytes(&[3; 32]);
    let vk = key.verifying_key();
    let messages: Vec<Vec<u8>> =
        (0..GROUP as u32).map(|n| [b"bitmark issue ".as_slice(), &n.to_le_bytes(), &[0x55; 100]].concat()).collect();
    let sigs: Vec<_> = messages.iter().map(|m| key.sign(m)).collect();
    g.bench_function("ed25519_verify_100", |b| {
        b.iter(|| {
            for (m, s) in messages.iter().zip(&sigs) {
                vk.verify(m, s).unwrap();
            }
        })
    });
    // The record-level check of a submission of one owner: each key decoded per signature
    // (`Account::check_signature`), and once per submission (`SignatureChecker`).
    let account = bitmark_record::Account::ed25519(vk.to_bytes(), true);
    let sig_bytes: Vec<Vec<u8>> = sigs.iter().map(|s| s.to_bytes().to_vec()).collect();
    g.bench_function("check_signature_100_one_owner", |b| {
        b.iter(|| {
            for (m, s) in messages.iter().zip(&sig_bytes) {
                account.check_signature(m, s).unwrap();
            }
        })
    });
    g.bench_function("signature_checker_100_one_owner", |b| {
        b.iter(|| {
            let mut checker = bitmark_record::SignatureChecker::default();
            for (m, s) in messages.iter().zip(&sig_bytes) {
                checker.check(&account, m, s).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
