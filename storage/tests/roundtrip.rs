//! Generated chains: apply, check, roll back, re-apply.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use bitmark_storage::{CheckOptions, Pool, PoolRead};
use common::*;

#[test]
fn generated_chain_applies_checks_and_is_deterministic() {
    let a = generated(7, 12, 5);
    assert_eq!(a.height(), 5);
    let report = a.check(&CheckOptions { recompute_digests: true, threads: 2 }).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.height, 5);
    assert_eq!(report.digest, a.tip().digest);
    // Every kind of record shows up in a chain this long.
    for pool in [Pool::Assets, Pool::Transactions, Pool::OwnerData, Pool::Shares, Pool::ShareQuantity] {
        assert!(a.pools().count(pool).unwrap() > 0, "{pool} is empty");
    }
    let mut tags = std::collections::BTreeSet::new();
    for n in 2..=5 {
        let block = a.block(n).unwrap().unwrap();
        let parsed =
            bitmark_record::block::PackedBlock::parse(&block, bitmark_record::Chain::Local, u64::MAX / 4).unwrap();
        tags.extend(parsed.records.iter().map(|r| r.transaction.tag()));
    }
    eprintln!("record kinds in the generated chain: {tags:?}");
    assert!(tags.len() >= 7, "{tags:?}");
    let b = generated(7, 12, 5);
    assert_eq!(a.pools().dump().unwrap(), b.pools().dump().unwrap(), "same seed, same chain");
    let c = generated(8, 12, 3);
    assert_ne!(a.block(2).unwrap(), c.block(2).unwrap());
}

#[test]
fn rollback_then_reapply_restores_every_pool() {
    let full = generated(11, 12, 7);
    let blocks = blocks_of(&full);
    let after_full = comparable(&full);

    let prefix = store();
    for (block, digest) in &blocks[..2] {
        prefix.apply_with_digest(block, *digest).unwrap();
    }
    assert_eq!(prefix.height(), 3);

    let mut undone = Vec::new();
    let removed = full.rollback_to(3, |b| undone.push((b.number, b.records.len()))).unwrap();
    assert_eq!(removed, 4);
    assert_eq!(undone.iter().map(|u| u.0).collect::<Vec<_>>(), vec![7, 6, 5, 4]);
    assert!(undone.iter().all(|u| u.1 == 13));
    assert_eq!(full.height(), 3);
    assert_eq!(full.tip(), prefix.tip());
    assert_eq!(comparable(&full), comparable(&prefix), "rolled back == applied only that far");
    let report = full.check(&CheckOptions { recompute_digests: false, threads: 1 }).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(full.pools().block(4).unwrap().is_none());

    for (block, digest) in &blocks[2..] {
        full.apply_with_digest(block, *digest).unwrap();
    }
    assert_eq!(full.height(), 7);
    assert_eq!(comparable(&full), after_full, "re-applied == never rolled back");
    let report = full.check(&CheckOptions { recompute_digests: false, threads: 1 }).unwrap();
    assert!(report.ok(), "{:?}", report.problems);

    // Down to genesis and back.
    assert_eq!(full.rollback_to(0, |_| ()).unwrap(), 6);
    assert_eq!(full.height(), 1);
    assert_eq!(full.tip(), store().tip());
    for pool in Pool::ALL {
        if pool != Pool::OwnerNextCount {
            assert_eq!(full.pools().count(pool).unwrap(), 0, "{pool}");
        }
    }
    for (block, digest) in &blocks {
        full.apply_with_digest(block, *digest).unwrap();
    }
    assert_eq!(comparable(&full), after_full);
}

#[test]
fn apply_many_and_fast_sync_store_the_same_chain() {
    let source = generated(3, 6, 6);
    let blocks = blocks_of(&source);
    let packed: Vec<&[u8]> = blocks.iter().map(|(b, _)| b.as_slice()).collect();

    let many = store();
    let outcome = many.apply_many(&packed, &bitmark_storage::DigestPool::new(2));
    assert!(outcome.failed.is_none(), "{:?}", outcome.failed);
    assert_eq!(outcome.applied.len(), 5);
    assert_eq!(many.pools().dump().unwrap(), source.pools().dump().unwrap());

    let fast = store();
    for pair in packed.windows(2) {
        fast.apply_fast(pair[0], pair[1]).unwrap();
    }
    assert_eq!(fast.height(), 5);
    fast.apply(packed[packed.len() - 1]).unwrap();
    assert_eq!(fast.pools().dump().unwrap(), source.pools().dump().unwrap());
    for n in 0..=6 {
        assert_eq!(fast.digest_for(n).unwrap(), source.digest_for(n).unwrap());
    }
}

#[test]
fn reopening_validates_and_restores_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain");
    let blocks = blocks_of(&generated(5, 6, 4));
    let tip = {
        let db = bitmark_storage::ChainDb::open(&path, &Default::default()).unwrap();
        let s = bitmark_storage::BlockStore::open(db, bitmark_record::Chain::Local, Default::default()).unwrap();
        for (b, d) in &blocks {
            s.apply_with_digest(b, *d).unwrap();
        }
        s.tip()
    };
    let db = bitmark_storage::ChainDb::open(&path, &Default::default()).unwrap();
    let s = bitmark_storage::BlockStore::open(db, bitmark_record::Chain::Local, Default::default()).unwrap();
    assert_eq!(s.tip(), tip);
    assert!(s.pools().has_block(4).unwrap());
}
