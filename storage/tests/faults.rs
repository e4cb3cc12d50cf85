//! Every validation failure of `apply`, with bitmarkd's fault text, and no change to the pools.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use bitmark_record::assemble::{pack_block, sign_record};
use bitmark_record::header::{self, BlockHeader};
use bitmark_record::transaction::{
    AssetData, BitmarkIssue, BitmarkShare, BitmarkTransferUnratified, BlockFoundation, BlockOwnerTransfer, ShareGrant,
    FOUNDATION_VERSION,
};
use bitmark_record::{Account, AssetId, Difficulty, Link, PrivateKey};
use bitmark_storage::testchain::{test_accounts, test_payments, TestAccount};
use bitmark_storage::{BlockStore, PoolRead};
use common::store;

const T0: u64 = 1_600_000_000;

struct Fixture {
    store: BlockStore,
    keys: Vec<TestAccount>,
    asset: AssetId,
    /// Issue owned by account 0, transferred to account 1 in block 3 (so spent).
    issue_spent: Link,
    /// Issue still owned by account 0.
    issue_live: Link,
    /// Transfer of `issue_spent` to account 1 (live).
    transfer: Link,
    /// Foundation tx id of block 2 (owned by account 0).
    foundation2: Link,
    /// Share id (issue) of 100 shares held by account 0.
    share_id: Link,
}

fn acct(k: &[TestAccount], i: usize) -> Account {
    k[i].account.clone()
}

fn foundation(k: &[TestAccount], who: usize, nonce: u64) -> Vec<u8> {
    let f = BlockFoundation {
        version: FOUNDATION_VERSION,
        payments: test_payments(who),
        owner: acct(k, who),
        nonce,
        signature: vec![],
    };
    sign_record(f.into(), &k[who].key, None).unwrap()
}

fn issue(k: &[TestAccount], who: usize, asset: AssetId, nonce: u64) -> Vec<u8> {
    let r = BitmarkIssue { asset_id: asset, owner: acct(k, who), nonce, signature: vec![] };
    sign_record(r.into(), &k[who].key, None).unwrap()
}

fn transfer(k: &[TestAccount], link: Link, from: &PrivateKey, to: usize) -> Vec<u8> {
    let r = BitmarkTransferUnratified { link, escrow: None, owner: acct(k, to), signature: vec![] };
    sign_record(r.into(), from, None).unwrap()
}

fn asset(k: &[TestAccount], who: usize, fingerprint: &str) -> (Vec<u8>, AssetId) {
    let r = AssetData {
        name: "a".into(),
        fingerprint: fingerprint.into(),
        metadata: "".into(),
        registrant: acct(k, who),
        signature: vec![],
    };
    let id = r.asset_id();
    (sign_record(r.into(), &k[who].key, None).unwrap(), id)
}

/// Block `number` on the store's tip with these records after a foundation of account 0.
fn block_with(store: &BlockStore, keys: &[TestAccount], records: Vec<Vec<u8>>) -> Vec<u8> {
    let tip = store.tip();
    let mut all = vec![foundation(keys, 0, tip.height + 1)];
    if records.is_empty() {
        // Blocks need two records at least.
        all.push(asset(keys, 3, &format!("filler {}", tip.height)).0);
    }
    all.extend(records);
    pack_block(tip.height + 1, tip.digest, T0 + 120 * tip.height, Difficulty::ONE, &all).unwrap()
}

fn fixture() -> Fixture {
    let store = store();
    let keys = test_accounts(99);
    let (asset_rec, asset) = asset(&keys, 0, "fixture asset");
    let spent = issue(&keys, 0, asset, 1);
    let live = issue(&keys, 0, asset, 2);
    let shared = issue(&keys, 0, asset, 3);
    let (issue_spent, issue_live, share_id) = (Link::of(&spent), Link::of(&live), Link::of(&shared));
    let b2 = block_with(&store, &keys, vec![asset_rec, spent, live, shared]);
    let applied = store.apply(&b2).unwrap();
    let foundation2 = header::foundation_tx_id(2, &applied.digest);
    let t = transfer(&keys, issue_spent, &keys[0].key, 1);
    let share = BitmarkShare { link: share_id, quantity: 100, signature: vec![] };
    let share = sign_record(share.into(), &keys[0].key, None).unwrap();
    let b3 = block_with(&store, &keys, vec![t.clone(), share]);
    store.apply(&b3).unwrap();
    Fixture { store, keys, asset, issue_spent, issue_live, transfer: Link::of(&t), foundation2, share_id }
}

/// Apply `block`, expect `text`, and check nothing changed.
fn refused(f: &Fixture, block: &[u8], text: &str) {
    let before = f.store.pools().dump().unwrap();
    let tip = f.store.tip();
    let err = f.store.apply(block).expect_err(text);
    assert_eq!(err.to_string(), text);
    assert!(err.fault().is_some());
    assert_eq!(f.store.pools().dump().unwrap(), before, "{text}: pools changed");
    assert_eq!(f.store.tip(), tip);
}

/// The fixture's next block with its header edited.
fn edited(f: &Fixture, records: Vec<Vec<u8>>, edit: impl FnOnce(&mut BlockHeader)) -> Vec<u8> {
    let block = block_with(&f.store, &f.keys, records);
    let (mut h, _, rest) = header::extract(&block, 0, header::DigestSource::Skip, u64::MAX / 4).unwrap();
    edit(&mut h);
    [h.pack().as_slice(), rest].concat()
}

#[test]
fn header_faults() {
    let f = fixture();
    let k = &f.keys;
    refused(&f, &[0u8; 99], "invalid block header size");
    refused(&f, &edited(&f, vec![], |h| h.number = 9), "height out of sequence");
    refused(&f, &edited(&f, vec![], |h| h.version = 0), "invalid block header version");
    refused(&f, &edited(&f, vec![], |h| h.version = 4), "block version must not decrease");
    refused(&f, &edited(&f, vec![], |h| h.transaction_count = 1), "transaction count out of range");
    refused(&f, &edited(&f, vec![], |h| h.timestamp = u64::MAX / 2), "invalid block header timestamp");
    refused(&f, &edited(&f, vec![], |h| h.timestamp = T0 + 240 - 601), "invalid block header timestamp");
    refused(&f, &edited(&f, vec![], |h| h.previous_block.0[0] ^= 1), "previous block digest does not match");
    refused(&f, &edited(&f, vec![], |h| h.merkle_root.0[0] ^= 1), "merkle root does not match");
    // Difficulty exponent 0xc0: Go panics decoding the bits.
    let mut bad_bits = block_with(&f.store, k, vec![]);
    bad_bits[91] = 0xc0;
    refused(&f, &bad_bits, "invalid block header difficulty");
    // Extra bytes after the last record, and a record cut short.
    let mut trailing = block_with(&f.store, k, vec![]);
    trailing.push(0);
    refused(&f, &trailing, "transaction count out of range");
    let short = block_with(&f.store, k, vec![]);
    refused(&f, &short[..short.len() - 3], "not transaction pack");
    // Backwards in time within 10 minutes is fine.
    f.store.apply(&edited(&f, vec![], |h| h.timestamp = T0 + 240 - 600)).unwrap();
}

#[test]
fn record_faults() {
    let f = fixture();
    let k = &f.keys;
    let (again, _) = asset(k, 0, "fixture asset");
    refused(&f, &block_with(&f.store, k, vec![again]), "transaction already exists");
    refused(&f, &block_with(&f.store, k, vec![issue(k, 0, f.asset, 2)]), "transaction already exists");
    refused(&f, &block_with(&f.store, k, vec![issue(k, 0, AssetId([7; 64]), 1)]), "asset not found");
    refused(
        &f,
        &block_with(&f.store, k, vec![transfer(k, Link([5; 32]), &k[0].key, 1)]),
        "link to invalid or unconfirmed transaction",
    );
    refused(&f, &block_with(&f.store, k, vec![transfer(k, f.issue_live, &k[1].key, 2)]), "invalid signature");
    refused(&f, &block_with(&f.store, k, vec![transfer(k, f.issue_spent, &k[0].key, 2)]), "double transfer attempt");
    // Two spends of one link in one block (bitmarkd would record two owners).
    let twice = vec![transfer(k, f.transfer, &k[1].key, 2), transfer(k, f.transfer, &k[1].key, 3)];
    refused(&f, &block_with(&f.store, k, twice), "double transfer attempt");
    // A transfer whose link is a share record: bitmarkd panics in OwnerOf.
    let share_tx = f.store.pools().owned_items(&k[0].account, 0, 100).unwrap();
    let share_tx = share_tx.iter().map(|(_, t)| *t).find(|t| *t != f.issue_live && *t != f.foundation2).unwrap();
    refused(
        &f,
        &block_with(&f.store, k, vec![transfer(k, share_tx, &k[0].key, 1)]),
        "link to invalid or unconfirmed transaction",
    );
    // Only assets become shares.
    let s = BitmarkShare { link: f.foundation2, quantity: 5, signature: vec![] };
    let s = sign_record(s.into(), &k[0].key, None).unwrap();
    refused(&f, &block_with(&f.store, k, vec![s]), "can only convert assets to shares");
    // Grants: balance checked against the committed chain.
    let grant = |q: u64| {
        let g = ShareGrant {
            share_id: f.share_id,
            quantity: q,
            owner: acct(k, 0),
            recipient: acct(k, 1),
            before_block: 100,
            signature: vec![],
            countersignature: vec![],
        };
        sign_record(g.into(), &k[0].key, Some(&k[1].key)).unwrap()
    };
    refused(&f, &block_with(&f.store, k, vec![grant(101)]), "insufficient shares");
    refused(&f, &block_with(&f.store, k, vec![grant(60), grant(50)]), "insufficient shares");
    // Block ownership: unknown link, and a transfer of a block by a non-owner.
    let bot = |link: Link, from: &PrivateKey| {
        let r = BlockOwnerTransfer {
            link,
            escrow: None,
            version: FOUNDATION_VERSION,
            payments: test_payments(2),
            owner: acct(k, 2),
            signature: vec![],
            countersignature: vec![],
        };
        sign_record(r.into(), from, Some(&k[2].key)).unwrap()
    };
    refused(&f, &block_with(&f.store, k, vec![bot(Link([3; 32]), &k[0].key)]), "invalid owner or registrant");
    refused(&f, &block_with(&f.store, k, vec![bot(f.foundation2, &k[1].key)]), "invalid signature");
    // Block owner records.
    let (a, _) = asset(k, 0, "no owner");
    let tip = f.store.tip();
    let no_owner = pack_block(tip.height + 1, tip.digest, T0 + 360, Difficulty::ONE, &[a.clone(), a]).unwrap();
    refused(&f, &no_owner, "missing block owner");
    let two = block_with(&f.store, k, vec![foundation(k, 1, 77)]);
    refused(&f, &two, "unexpected transaction record");

    // And the good versions of the same records are accepted.
    let good = vec![grant(60), bot(f.foundation2, &k[0].key), transfer(k, f.transfer, &k[1].key, 2)];
    f.store.apply(&block_with(&f.store, k, good)).unwrap();
    assert_eq!(f.store.pools().share_balance(&acct(k, 1), &f.share_id).unwrap(), Some(60));
    assert_eq!(f.store.pools().share_balance(&acct(k, 0), &f.share_id).unwrap(), Some(40));
    assert_eq!(f.store.pools().block_owner_payment(2).unwrap(), Some(test_payments(2).pack(true).unwrap()));
    let report = f.store.check(&Default::default()).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

#[test]
fn fast_sync_takes_the_digest_from_the_next_block() {
    let f = fixture();
    let k = &f.keys;
    let b4 = block_with(&f.store, k, vec![]);
    // A next block whose previousBlock is garbage: fast sync trusts it, so block 4 is stored
    // under that digest and no Argon2d or linkage check runs.
    let tip = f.store.tip();
    let fake = bitmark_record::BlockDigest([9; 32]);
    let next = pack_block(tip.height + 2, fake, T0 + 600, Difficulty::ONE, &[foundation(k, 0, 5), foundation(k, 1, 5)])
        .unwrap();
    let applied = f.store.apply_fast(&b4, &next).unwrap();
    assert_eq!(applied.digest, fake);
    assert_eq!(f.store.digest_for(4).unwrap(), fake);
    // The next block's number must be this one's + 1 (or equal: a fork replacement).
    let other = block_with(&f.store, k, vec![]);
    let far = edited(&f, vec![], |h| h.number += 2);
    assert_eq!(f.store.apply_fast(&other, &far).unwrap_err().to_string(), "height out of sequence");
}
