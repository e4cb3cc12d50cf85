//! Confirmation and rollback hooks, block selection, expiry and rebroadcast in virtual time.

use crate::common::*;
use bitmark_record::{Fault, Link, Transaction};
use bitmark_reservoir::{TransactionState, REBROADCAST_INTERVAL};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn a_stored_block_removes_its_records_groups_and_competing_spends(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let a = asset(&alice, "asset");
    r.cache_asset(&a).unwrap();
    let group: Vec<_> = (0..3).map(|n| issue(&key(40 + n), a.asset_id(), 0)).collect();
    let info = r.store_issues(&group).unwrap();
    let (_, issue_id) = f.confirmed_bitmark(&alice, &alice, "other");
    let held = transfer(issue_id, &alice, &account(&bob), None);
    let held_id = r.store_transfer(held).unwrap().tx_id;
    assert_eq!(r.counters(), (3, 1));

    // A block confirms the asset and ONE issue of the group, and a different transfer of the
    // link the held transfer spends.
    let competing = transfer(issue_id, &alice, &account(&carol), None);
    let asset_packed = packed(&Transaction::AssetData(a.clone()));
    let first_issue = packed(&Transaction::BitmarkIssue(group[0].clone()));
    f.confirm(&[asset_packed, first_issue, packed(&competing)]);
    assert_eq!(r.counters(), (0, 0));
    assert!(r.cached_asset(&a.asset_id()).is_none());
    assert_eq!(r.transaction_status(&info.tx_ids[0]).unwrap(), TransactionState::Confirmed);
    assert_eq!(r.transaction_status(&info.tx_ids[1]).unwrap(), TransactionState::Unknown);
    assert_eq!(r.transaction_status(&held_id).unwrap(), TransactionState::Unknown);
}

fn rollback_drops_undone_records_and_what_depended_on_them(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let base = f.height();
    let (asset_id, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm");
    // Held: a transfer of the confirmed issue, and a paid issue of the confirmed asset.
    let t = r.store_transfer(transfer(issue_id, &alice, &account(&bob), None)).unwrap();
    let more = r.store_issues(&issues(&alice, asset_id, 100, 2)).unwrap();
    // Held: a free issue of a cached asset, unaffected by the rollback.
    let c = asset(&carol, "cached");
    r.cache_asset(&c).unwrap();
    let free = r.store_issues(&[issue(&carol, c.asset_id(), 0)]).unwrap();
    assert_eq!(r.counters(), (1, 3));

    let undone = f.rollback_to(base);
    assert_eq!(undone.len(), 2);
    // The issue is gone from the chain, and the transfer spending it goes.
    assert_eq!(r.transaction_status(&issue_id).unwrap(), TransactionState::Unknown);
    assert_eq!(r.transaction_status(&t.tx_id).unwrap(), TransactionState::Unknown);
    // Its asset is cached again (bitmarkd drops it), so the issues of it that were
    // acknowledged stay as they were.
    assert!(r.cached_asset(&asset_id).is_some());
    assert_eq!(r.transaction_status(&more.tx_ids[0]).unwrap(), TransactionState::Verified);
    assert_eq!(r.transaction_status(&free.tx_ids[0]).unwrap(), TransactionState::Pending);
    assert_eq!(r.counters(), (1, 2));
}

fn selection_for_a_block(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob) = (key(1), key(2));
    assert_eq!(fault(r.fetch_verified(1999)), Fault::InvalidCount);
    assert_eq!(Fault::InvalidCount.to_string(), "invalid count");
    let (asset_id, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm");
    // A verified transfer, a verified paid group, a verified free group of a cached asset.
    let t = r.store_transfer(transfer(issue_id, &alice, &account(&bob), None)).unwrap();
    let paid = r.store_issues(&issues(&alice, asset_id, 100, 2)).unwrap();
    let c = asset(&bob, "cached");
    r.cache_asset(&c).unwrap();
    let free = r.store_issues(&[issue(&bob, c.asset_id(), 0), issue(&alice, c.asset_id(), 0)]).unwrap();
    let pending_free = r.fetch_verified(2000).unwrap();
    // The free group is not verified yet.
    assert_eq!(pending_free.tx_ids, [paid.tx_ids.clone(), vec![t.tx_id]].concat());
    let nonce = (0u64..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|n| {
            bitmark_record::pay::proof_meets(
                &bitmark_record::pay::proof_digest(&free.pay_id, &free.nonce.unwrap(), n),
                &free.difficulty.unwrap(),
            )
        })
        .unwrap();
    r.try_proof(&free.pay_id, &nonce).unwrap();
    let s = r.fetch_verified(9999).unwrap();
    let asset_tx = Link::of(&packed(&Transaction::AssetData(c.clone())));
    assert_eq!(s.tx_ids, [vec![asset_tx], free.tx_ids.clone(), paid.tx_ids.clone(), vec![t.tx_id]].concat());
    let expected: Vec<u8> = [
        packed(&Transaction::AssetData(c)),
        free.packed.clone(),
        paid.packed.clone(),
        packed(&transfer(issue_id, &alice, &account(&bob), None)),
    ]
    .concat();
    assert_eq!(s.packed, expected);
    r.disable();
    assert!(r.fetch_verified(9999).unwrap().tx_ids.is_empty());
    r.enable();
    assert_eq!(r.fetch_verified(9999).unwrap(), s);
}

fn pending_records_expire_verified_ones_are_rebroadcast(f: Fixture) {
    let r = &f.reservoir;
    let sent = Arc::new(Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let s = sent.clone();
    r.set_broadcaster(Arc::new(move |c: &str, p: &[u8]| s.lock().unwrap().push((c.to_string(), p.to_vec()))));
    let (alice, bob) = (key(1), key(2));
    let (asset_id, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm");
    let pending = r.store_transfer(transfer(issue_id, &alice, &account(&bob), None)).unwrap();
    let paid = r.store_issues(&issues(&alice, asset_id, 100, 2)).unwrap();
    let detail = bitmark_reservoir::PaymentDetail {
        currency: bitmark_record::Currency::Bitcoin,
        tx_id: "x".into(),
        amounts: [(payments(9).get(bitmark_record::Currency::Bitcoin).unwrap().to_string(), 20_000)].into(),
    };
    assert!(r.payment_detected(&paid.pay_id, detail).unwrap());
    // 44 minutes: nothing expires (sweeps every 5 minutes).
    for _ in 0..44 {
        f.clock.advance(Duration::from_secs(60));
        assert_eq!(r.run_due().unwrap().expired, 0);
    }
    assert_eq!(r.transaction_status(&pending.tx_id).unwrap(), TransactionState::Pending);
    // By the sweep after 45 minutes it is gone; the verified group stays.
    let mut expired = 0;
    for _ in 0..6 {
        f.clock.advance(Duration::from_secs(60));
        expired += r.run_due().unwrap().expired;
    }
    assert_eq!(expired, 1);
    assert_eq!(r.transaction_status(&pending.tx_id).unwrap(), TransactionState::Unknown);
    assert_eq!(r.transaction_status(&paid.tx_ids[0]).unwrap(), TransactionState::Verified);
    // The rebroadcast came at 33 min 45 s and carried only the verified group.
    assert!(REBROADCAST_INTERVAL == Duration::from_secs(33 * 60 + 45));
    assert_eq!(sent.lock().unwrap().clone(), vec![("issues".to_string(), paid.packed.clone())]);
    // And again one interval later.
    f.clock.advance(REBROADCAST_INTERVAL);
    r.run_due().unwrap();
    assert_eq!(sent.lock().unwrap().len(), 2);
    // Verified records never expire.
    f.clock.advance(Duration::from_secs(24 * 3600));
    r.run_due().unwrap();
    assert_eq!(r.transaction_status(&paid.tx_ids[1]).unwrap(), TransactionState::Verified);
}

fn grants_overdrawing_a_balance_together_are_not_selected_together(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let (_, issue_id) = f.confirmed_bitmark(&alice, &alice, "shares");
    f.confirm(&[packed(&share(issue_id, &alice, 100))]);
    // As in bitmarkd, each grant is checked against the confirmed balance only, so both are
    // accepted (the second's remaining wraps below zero, as bitmarkd's u64 does) ...
    let h = f.height();
    let first = r.store_grant(&grant(issue_id, 40, &alice, &bob, h + 10)).unwrap();
    let second = r.store_grant(&grant(issue_id, 61, &alice, &carol, h + 10)).unwrap();
    assert_eq!(first.remaining, 60);
    assert_eq!(second.remaining, 60u64.wrapping_sub(61));
    // ... but one block cannot carry both: the block store refuses it whole ...
    if f.backend == Backend::Store {
        let both = [first.packed.clone(), second.packed.clone()];
        let e = f.hooks().apply(&f.next_store_block(&f.miner, 9, &both)).unwrap_err();
        assert_eq!(e.fault(), Some(Fault::InsufficientShares));
        assert_eq!(f.height(), h);
    }
    // ... so only the first is selected, and once it is confirmed the rescan drops the second,
    // which 60 no longer covers.
    let selection = r.fetch_verified(2000).unwrap();
    assert_eq!(selection.tx_ids, vec![first.tx_id]);
    f.confirm(&split_records(&selection.packed));
    assert_eq!(r.transaction_status(&first.tx_id).unwrap(), TransactionState::Confirmed);
    assert_eq!(r.transaction_status(&second.tx_id).unwrap(), TransactionState::Unknown);
    let balances = r.share_balance(&account(&alice), &Link([0; 32]), 10).unwrap();
    assert_eq!((balances[0].confirmed, balances[0].spend), (60, 0));
}

on_each_backend! {
    grants_overdrawing_a_balance_together_are_not_selected_together: Fixture::auto;
    a_stored_block_removes_its_records_groups_and_competing_spends: Fixture::auto;
    rollback_drops_undone_records_and_what_depended_on_them: Fixture::auto;
    selection_for_a_block: Fixture::auto;
    pending_records_expire_verified_ones_are_rebroadcast: Fixture::paying_on;
}
