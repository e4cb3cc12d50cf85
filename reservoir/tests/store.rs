//! The reservoir against the real block store: blocks built from its own selection, validated
//! and stored by `BlockStore::apply`, rolled back by `BlockStore::rollback_to`, with
//! `ChainHooks` telling the reservoir each time. Chain `local` (no proof of work); each stored
//! block costs one Argon2d digest, so the blocks are few.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use bitmark_record::header::compute_header_hash;
use bitmark_record::pay::{proof_digest, proof_meets};
use bitmark_record::{Chain, Fault, Link, Transaction};
use bitmark_reservoir::{
    ChainHooks, IssueInfo, Options, Owned, Reservoir, ReservoirError, TrackingStatus, TransactionState,
};
use bitmark_storage::testchain::DEFAULT_START_TIME;
use bitmark_storage::DigestPool;
use common::*;
use std::sync::Arc;

/// A client nonce proving a free issue group.
fn prove(f: &Fixture, info: &IssueInfo) {
    let nonce = (0u64..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|n| proof_meets(&proof_digest(&info.pay_id, &info.nonce.unwrap(), n), &info.difficulty.unwrap()))
        .unwrap();
    assert_eq!(f.reservoir.try_proof(&info.pay_id, &nonce).unwrap(), TrackingStatus::Accepted);
}

/// Store the next block holding the reservoir's whole selection (after the foundation), through
/// the hooks; returns the records it held.
fn mine_selection(f: &Fixture) -> Vec<Vec<u8>> {
    let selection = f.reservoir.fetch_verified(2000).unwrap();
    let records = split_records(&selection.packed);
    assert_eq!(records.iter().map(|r| Link::of(r)).collect::<Vec<_>>(), selection.tx_ids);
    let block = f.next_store_block(&f.miner, 9, &records);
    let applied = f.hooks().apply(&block).unwrap();
    assert_eq!(applied.transactions, records.len() + 1);
    records
}

fn status(f: &Fixture, tx_id: &Link) -> TransactionState {
    f.reservoir.transaction_status(tx_id).unwrap()
}

#[test]
fn confirm_spend_and_roll_back_on_the_real_store() {
    let mut f = Fixture::auto(Backend::Store);
    let r = f.reservoir.clone();
    let (alice, bob, carol) = (key(1), key(2), key(3));

    // An asset, a free group of three issues proven by work, and a second asset whose free
    // issue stays unproven (so it is never selected).
    let a = asset(&alice, "on the real store");
    r.cache_asset(&a).unwrap();
    let owners = [key(30), key(31), key(32)];
    let free = r.store_issues(&owners.iter().map(|k| issue(k, a.asset_id(), 0)).collect::<Vec<_>>()).unwrap();
    prove(&f, &free);
    let waiting = asset(&carol, "waits for a proof");
    r.cache_asset(&waiting).unwrap();
    let unproven = r.store_issues(&[issue(&carol, waiting.asset_id(), 0)]).unwrap();

    // Block 2: the selection (asset first, then its issues) is stored; all of it is confirmed
    // and gone from the reservoir, the asset from the cache; the unproven group stays.
    let block2 = mine_selection(&f);
    assert_eq!(block2.len(), 4);
    assert_eq!(block2[0], packed(&Transaction::AssetData(a.clone())));
    assert_eq!(f.height(), 2);
    for id in &free.tx_ids {
        assert_eq!(status(&f, id), TransactionState::Confirmed);
    }
    assert_eq!(f.state.asset_block(&a.asset_id()).unwrap(), Some(2));
    assert!(r.cached_asset(&a.asset_id()).is_none());
    assert_eq!(r.held(), vec![(unproven.tx_ids[0], TransactionState::Pending)]);
    let [i30, i31, i32] = [free.tx_ids[0], free.tx_ids[1], free.tx_ids[2]];
    assert!(f.state.currently_owns(&account(&owners[0]), &i30).unwrap());
    assert_eq!(f.state.owner_data(&i30).unwrap().unwrap().owned, Owned::Asset(a.asset_id()));

    // Spending what block 2 confirmed: a transfer of issue `i30` (its owner signs, the store says
    // they own it), a share conversion of issue `i31`, paid issues of the now confirmed asset
    // (auto-verified; the block owner is paid). A second spend of `i30` is refused with
    // bitmarkd's text, and so is a transfer signed by someone who does not own the link.
    let t30 = transfer(i30, &owners[0], &account(&bob), None);
    let t30_info = r.store_transfer(t30.clone()).unwrap();
    assert_eq!(t30_info.issue_tx_id, i30);
    assert_eq!(status(&f, &t30_info.tx_id), TransactionState::Verified);
    let double = r.store_transfer(transfer(i30, &owners[0], &account(&carol), None)).unwrap_err();
    assert_eq!(double.to_string(), "double transfer attempt");
    assert_eq!(double.fault(), Some(Fault::DoubleTransferAttempt));
    assert_eq!(fault(r.store_transfer(transfer(i32, &bob, &account(&bob), None))), Fault::InvalidSignature);
    let s31 = share(i31, &owners[1], 100);
    let s31_id = r.store_transfer(s31).unwrap().tx_id;
    let paid = r.store_issues(&issues(&alice, a.asset_id(), 1, 2)).unwrap();
    assert_eq!(paid.payments.len(), 2, "BTC and LTC of block 2's owner");
    assert_eq!(r.counters(), (1, 4));

    // Block 3 stores them; then the new owner passes the bitmark on, and the share owner grants
    // shares, both held; the old owner's second spend is now refused by the chain.
    let block3 = mine_selection(&f);
    assert_eq!(block3.len(), 4);
    assert_eq!(f.height(), 3);
    for id in [t30_info.tx_id, s31_id, paid.tx_ids[0], paid.tx_ids[1]] {
        assert_eq!(status(&f, &id), TransactionState::Confirmed);
    }
    assert_eq!(r.counters(), (1, 0));
    assert!(f.state.currently_owns(&account(&bob), &t30_info.tx_id).unwrap());
    assert!(!f.state.currently_owns(&account(&owners[0]), &i30).unwrap());
    let again = r.store_transfer(transfer(i30, &owners[0], &account(&carol), None)).unwrap_err();
    assert_eq!(again.to_string(), "double transfer attempt");
    let onward = r.store_transfer(transfer(t30_info.tx_id, &bob, &account(&carol), None)).unwrap();
    let g = grant(i31, 40, &owners[1], &carol, 10);
    let granted = r.store_grant(&g).unwrap();
    assert_eq!(granted.remaining, 60);
    let balances = r.share_balance(&account(&owners[1]), &Link([0; 32]), 10).unwrap();
    assert_eq!(balances.len(), 1);
    assert_eq!((balances[0].confirmed, balances[0].spend, balances[0].available), (100, 40, 60));
    // A grant the confirmed balance does not cover is refused.
    assert_eq!(fault(r.store_grant(&grant(i31, 101, &owners[1], &carol, 10))), Fault::InsufficientShares);
    let held_before_rollback = r.held();
    assert_eq!(held_before_rollback.len(), 3);

    // Roll block 3 back: its records are undone (and, as in bitmarkd, not returned to the
    // reservoir), so the onward transfer and the grant, which depended on them, are dropped.
    // The unproven free issue is untouched, and `i30` can be spent by its owner again.
    let undone = f.rollback_to(2);
    assert_eq!(undone, block3.iter().map(|r| Link::of(r)).collect::<Vec<_>>());
    assert_eq!(f.height(), 2);
    assert_eq!(status(&f, &t30_info.tx_id), TransactionState::Unknown);
    assert_eq!(status(&f, &paid.tx_ids[0]), TransactionState::Unknown);
    assert_eq!(status(&f, &onward.tx_id), TransactionState::Unknown);
    assert_eq!(r.share_balance(&account(&owners[1]), &Link([0; 32]), 10).unwrap(), vec![]);
    assert_eq!(r.held(), vec![(unproven.tx_ids[0], TransactionState::Pending)]);
    assert!(f.state.currently_owns(&account(&owners[0]), &i30).unwrap());
    let respent = r.store_transfer(transfer(i30, &owners[0], &account(&carol), None)).unwrap();
    assert_eq!(status(&f, &respent.tx_id), TransactionState::Verified);
    assert!(!r.fetch_verified(2000).unwrap().tx_ids.is_empty(), "selection is enabled again");

    // A reservoir reopened now holds the same and finds nothing to drop.
    let held = r.held();
    let stats = r.stats();
    drop(r);
    let report = f.reopen();
    assert_eq!((report.groups, report.expired, report.invalidated, report.corrupt), (2, 0, 0, 0));
    assert_eq!(f.reservoir.held(), held);
    assert_eq!(f.reservoir.stats(), stats);

    // Roll block 2 back too: the free issues and their asset are undone; the transfer spending
    // `i30` goes with them. Reopened again: still consistent.
    let undone = f.rollback_to(1);
    assert_eq!(undone.len(), 4);
    assert_eq!(f.state.asset_block(&a.asset_id()).unwrap(), None);
    assert_eq!(status(&f, &i30), TransactionState::Unknown);
    assert_eq!(status(&f, &respent.tx_id), TransactionState::Unknown);
    assert_eq!(f.reservoir.held(), vec![(unproven.tx_ids[0], TransactionState::Pending)]);
    let report = f.reopen();
    assert_eq!((report.groups, report.invalidated), (1, 0));
    assert_eq!(f.reservoir.held(), vec![(unproven.tx_ids[0], TransactionState::Pending)]);
}

#[test]
fn a_refused_block_changes_nothing() {
    let f = Fixture::auto(Backend::Store);
    let r = &f.reservoir;
    let k = key(1);
    let (_, issue_id) = f.confirmed_bitmark(&k, &k, "refusals");
    let held = r.store_transfer(transfer(issue_id, &k, &account(&key(2)), None)).unwrap();

    // An issue of an asset nobody registered: the store refuses the block with bitmarkd's
    // fault, the chain and the reservoir stay as they were, selection is enabled again.
    let stray = packed(&Transaction::BitmarkIssue(issue(&k, asset(&k, "unknown").asset_id(), 1)));
    let block = f.next_store_block(&f.miner, 9, &[stray]);
    let e = f.hooks().apply(&block).unwrap_err();
    assert!(matches!(e, ReservoirError::Storage(_)), "{e:?}");
    assert_eq!(e.fault(), Some(Fault::AssetNotFound));
    assert_eq!(e.to_string(), "asset not found");
    assert_eq!(f.height(), 2);
    assert_eq!(r.held(), vec![(held.tx_id, TransactionState::Verified)]);
    assert_eq!(r.fetch_verified(2000).unwrap().tx_ids, vec![held.tx_id]);

    // Hooks refuse a reservoir of another chain.
    let dir = tempfile::tempdir().unwrap();
    let (other, _) =
        Reservoir::open(dir.path(), Chain::Testing, f.state.clone(), Options::for_chain(Chain::Testing)).unwrap();
    let e = ChainHooks::new(f.store().clone(), Arc::new(other)).unwrap_err();
    assert_eq!(e.fault(), Some(Fault::InvalidChain));
}

#[test]
fn apply_many_tells_the_reservoir_once_for_every_stored_block() {
    let f = Fixture::auto(Backend::Store);
    let r = &f.reservoir;
    let (k, bob) = (key(1), key(2));
    let a = asset(&k, "many");
    let first_issue = issue(&k, a.asset_id(), 0);
    let second_issue = issue(&bob, a.asset_id(), 0);
    r.cache_asset(&a).unwrap();
    let one = r.store_issues(std::slice::from_ref(&first_issue)).unwrap();
    let two = r.store_issues(std::slice::from_ref(&second_issue)).unwrap();
    assert_eq!(r.counters(), (2, 0));

    // Block 2 confirms the asset and the first issue, block 3 the second issue; block 4 does
    // not link to block 3 and is refused.
    let tip = f.store().tip();
    let b2 = block_on(
        2,
        tip.digest,
        DEFAULT_START_TIME,
        &f.miner,
        9,
        &[packed(&Transaction::AssetData(a.clone())), packed(&Transaction::BitmarkIssue(first_issue))],
    );
    let d2 = compute_header_hash(&b2).unwrap();
    let b3 =
        block_on(3, d2, DEFAULT_START_TIME + 120, &f.miner, 9, &[packed(&Transaction::BitmarkIssue(second_issue))]);
    let b4 = block_on(4, d2, DEFAULT_START_TIME + 240, &f.miner, 9, &[]);
    let outcome = f.hooks().apply_many(&[&b2, &b3, &b4], &DigestPool::new(2)).unwrap();
    assert_eq!(outcome.applied.iter().map(|a| a.number).collect::<Vec<_>>(), vec![2, 3]);
    let (index, e) = outcome.failed.unwrap();
    assert_eq!((index, e.fault()), (2, Some(Fault::PreviousBlockDigestDoesNotMatch)));
    assert_eq!(r.counters(), (0, 0));
    assert!(r.cached_asset(&a.asset_id()).is_none());
    assert_eq!(status(&f, &one.tx_ids[0]), TransactionState::Confirmed);
    assert_eq!(status(&f, &two.tx_ids[0]), TransactionState::Confirmed);
}
