//! Transfers, shares, grants and swaps: acceptance, refusals, double spends, payments.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use bitmark_record::transaction::Payment;
use bitmark_record::{Currency, Fault, Link, PayId, Text, Transaction};
use bitmark_reservoir::{PaymentDetail, TransactionState, TransferOutcome};
use common::*;

fn transfer_of_a_confirmed_issue(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob) = (key(1), key(2));
    let (_, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm");
    let t = transfer(issue_id, &alice, &account(&bob), None);
    let info = r.store_transfer(t.clone()).unwrap();
    assert!(!info.duplicate);
    assert_eq!(info.issue_tx_id, issue_id);
    assert_eq!(info.tx_id, Link::of(&packed(&t)));
    assert_eq!(info.pay_id, PayId::new([packed(&t)]));
    // First transfer: issue block owner is also the last transfer block owner: one payment of
    // two fees per currency.
    assert_eq!(info.payments.len(), 2);
    for alt in &info.payments {
        assert_eq!(alt.len(), 1);
        assert_eq!(alt[0].amount, alt[0].currency.fee() * 2);
    }
    assert_eq!(r.transaction_status(&info.tx_id).unwrap(), TransactionState::Pending);
    // Same transfer again: duplicate with the stored payments; via peer intake a fault.
    let again = r.store_transfer(t.clone()).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.payments, info.payments);
    assert_eq!(fault(r.process_transfer(&packed(&t))), Fault::TransactionAlreadyExists);
    // Another transfer of the same link: double spend.
    let other = transfer(issue_id, &alice, &account(&key(3)), None);
    assert_eq!(fault(r.store_transfer(other)), Fault::DoubleTransferAttempt);
    assert_eq!(Fault::DoubleTransferAttempt.to_string(), "double transfer attempt");
    // Paid: verified. Its pay id is the SHA3-384 of the packed record.
    let btc = payments(9).get(Currency::Bitcoin).unwrap().to_string();
    let detail = PaymentDetail { currency: Currency::Bitcoin, tx_id: "p".into(), amounts: [(btc, 20_000)].into() };
    assert!(r.payment_detected(&info.pay_id, detail).unwrap());
    assert_eq!(r.transaction_status(&info.tx_id).unwrap(), TransactionState::Verified);
    assert_eq!(fault(r.store_transfer(t)), Fault::TransactionAlreadyExists);
}

fn transfer_refusals(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob) = (key(1), key(2));
    let (asset_id, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm");
    // Unconfirmed link.
    let unknown = transfer(Link::of(b"nothing"), &alice, &account(&bob), None);
    assert_eq!(fault(r.store_transfer(unknown)), Fault::LinkToInvalidOrUnconfirmedTransaction);
    assert_eq!(Fault::LinkToInvalidOrUnconfirmedTransaction.to_string(), "link to invalid or unconfirmed transaction");
    // A link of the wrong kind: a bitmark transfer cannot spend a block foundation.
    let foundation = f.append_block(&alice, 1, &[]).foundation_tx_id;
    let wrong_kind = transfer(foundation, &alice, &account(&bob), None);
    assert_eq!(fault(r.store_transfer(wrong_kind)), Fault::LinkToInvalidOrUnconfirmedTransaction);
    // Signed by someone who is not the owner.
    let forged = transfer(issue_id, &bob, &account(&bob), None);
    assert_eq!(fault(r.store_transfer(forged)), Fault::InvalidSignature);
    // Bad countersignature.
    let mut cs = countersigned(issue_id, &alice, &bob);
    if let Transaction::BitmarkTransferCountersigned(c) = &mut cs {
        c.countersignature[0] ^= 1;
    }
    assert_eq!(fault(r.store_transfer(cs)), Fault::InvalidSignature);
    // Not a transfer at all.
    let not = Transaction::BitmarkIssue(issue(&alice, asset_id, 99));
    assert_eq!(fault(r.submit_transfer(not.clone())), Fault::TransactionIsNotATransfer);
    assert_eq!(fault(r.process_transfer(&packed(&not))), Fault::TransactionIsNotATransfer);
    assert_eq!(fault(r.process_transfer(&[])), Fault::MissingParameters);
    assert_eq!(fault(r.process_transfer(&[0xff, 0xff])), Fault::NotTransactionPack);

    // Spent on the chain: the old owner can no longer transfer it.
    let t = countersigned(issue_id, &alice, &bob);
    f.confirm(&[packed(&t)]);
    let again = transfer(issue_id, &alice, &account(&key(3)), None);
    assert_eq!(fault(r.store_transfer(again)), Fault::DoubleTransferAttempt);
    // Resubmitting the confirmed transfer.
    assert_eq!(fault(r.store_transfer(t.clone())), Fault::TransactionAlreadyExists);
    // The new owner may transfer it on (auto-verified at once).
    let on = transfer(Link::of(&packed(&t)), &bob, &account(&alice), None);
    let info = r.store_transfer(on).unwrap();
    assert_eq!(r.transaction_status(&info.tx_id).unwrap(), TransactionState::Verified);
}

fn payments_follow_the_issue_and_last_transfer_blocks_and_escrow(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let (_, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm"); // block by miner paid at 9
                                                                   // Transfer confirmed in a block of another miner (paid at 5), carrying an escrow in BTC.
    let escrow_address =
        bitmark_record::currency::bitcoin::address(bitmark_record::currency::bitcoin::Version::Testnet, &[7; 20]);
    let escrow = Payment { currency: Currency::Bitcoin, address: Text::from(escrow_address.as_str()), amount: 5000 };
    let t1 = transfer(issue_id, &alice, &account(&bob), Some(escrow.clone()));
    f.confirm_by(&key(50), 5, &[packed(&t1)]);
    let t2 = transfer(Link::of(&packed(&t1)), &bob, &account(&carol), None);
    let info = r.store_transfer(t2).unwrap();
    // Only the escrow's currency, with issue fee, transfer fee, escrow.
    assert_eq!(info.payments.len(), 1);
    let alt = &info.payments[0];
    assert_eq!(alt.len(), 3);
    assert_eq!(alt[0].address.as_bytes(), payments(9).get(Currency::Bitcoin).unwrap().as_bytes());
    assert_eq!(alt[0].amount, 10_000);
    assert_eq!(alt[1].address.as_bytes(), payments(5).get(Currency::Bitcoin).unwrap().as_bytes());
    assert_eq!(alt[2], escrow);

    // Without escrow: both currencies, two payments each.
    let (_, issue2) = f.confirmed_bitmark(&alice, &alice, "bm2");
    let u1 = transfer(issue2, &alice, &account(&bob), None);
    f.confirm_by(&key(51), 6, &[packed(&u1)]);
    let info = r.store_transfer(transfer(Link::of(&packed(&u1)), &bob, &account(&carol), None)).unwrap();
    assert_eq!(info.payments.len(), 2);
    assert!(info.payments.iter().all(|a| a.len() == 2));
    // Paying only the issue block owner is not enough; paying both is.
    let ltc = |n: u8| payments(n).get(Currency::Litecoin).unwrap().to_string();
    let half = PaymentDetail { currency: Currency::Litecoin, tx_id: "a".into(), amounts: [(ltc(9), 100_000)].into() };
    assert!(!r.payment_detected(&info.pay_id, half).unwrap());
    let full = PaymentDetail {
        currency: Currency::Litecoin,
        tx_id: "b".into(),
        amounts: [(ltc(9), 100_000), (ltc(6), 100_000)].into(),
    };
    assert!(r.payment_detected(&info.pay_id, full).unwrap());
}

fn block_owner_transfers(f: Fixture) {
    let (alice, bob) = (key(1), key(2));
    let block = f.append_block(&alice, 1, &[]);
    let mut bot = Transaction::BlockOwnerTransfer(bitmark_record::transaction::BlockOwnerTransfer {
        link: block.foundation_tx_id,
        escrow: None,
        version: 1,
        payments: payments(2),
        owner: account(&bob),
        signature: vec![],
        countersignature: vec![],
    });
    sign(&mut bot, &alice);
    countersign(&mut bot, &bob);
    let info = f.reservoir.store_transfer(bot).unwrap();
    assert_eq!(f.reservoir.transaction_status(&info.tx_id).unwrap(), TransactionState::Verified);
}

fn shares_grants_and_swaps(f: Fixture) {
    let r = &f.reservoir;
    let (alice, bob) = (key(1), key(2));
    let (_, issue_a) = f.confirmed_bitmark(&alice, &alice, "share a");
    let (_, issue_b) = f.confirmed_bitmark(&bob, &bob, "share b");
    // Convert both bitmarks to shares; the share id is the issue's tx id.
    let sa = share(issue_a, &alice, 100);
    let sb = share(issue_b, &bob, 50);
    assert!(matches!(r.submit_transfer(sa.clone()).unwrap(), TransferOutcome::Transfer(_)));
    f.confirm(&[packed(&sa), packed(&sb)]);
    assert_eq!(r.counters(), (0, 0));
    let h = f.height();

    assert_eq!(fault(r.store_grant(&grant(issue_a, 10, &alice, &bob, h))), Fault::RecordHasExpired);
    assert_eq!(Fault::RecordHasExpired.to_string(), "record has expired");
    assert_eq!(fault(r.store_grant(&grant(issue_a, 101, &alice, &bob, h + 10))), Fault::InsufficientShares);
    assert_eq!(fault(r.store_grant(&grant(issue_a, 10, &bob, &alice, h + 10))), Fault::InsufficientShares);
    let mut zero = grant(issue_a, 1, &alice, &bob, h + 10);
    zero.quantity = 0;
    assert_eq!(fault(r.store_grant(&zero)), Fault::ShareQuantityTooSmall);
    let mut forged = grant(issue_a, 10, &alice, &bob, h + 10);
    forged.signature[0] ^= 1;
    assert_eq!(fault(r.store_grant(&forged)), Fault::InvalidSignature);

    let g1 = grant(issue_a, 30, &alice, &bob, h + 10);
    let info = r.store_grant(&g1).unwrap();
    assert_eq!(info.remaining, 70);
    // Auto-verified at once, so sending it again is "already exists" rather than a duplicate.
    assert_eq!(fault(r.store_grant(&g1)), Fault::TransactionAlreadyExists);
    let g2 = grant(issue_a, 20, &alice, &bob, h + 11);
    assert_eq!(r.store_grant(&g2).unwrap().remaining, 50);
    let balance = r.share_balance(&account(&alice), &Link([0; 32]), 10).unwrap();
    assert_eq!(balance.len(), 1);
    assert_eq!((balance[0].confirmed, balance[0].spend, balance[0].available), (100, 50, 50));

    let s = swap((issue_a, 5, &alice), (issue_b, 7, &bob), h + 10);
    let info = r.store_swap(&s).unwrap();
    assert_eq!((info.remaining_one, info.remaining_two), (45, 43));
    assert_eq!(
        fault(r.store_swap(&swap((issue_a, 5, &alice), (issue_b, 51, &bob), h + 10))),
        Fault::InsufficientShares
    );

    // Confirm the first grant: it leaves, the spend map is rebuilt from what is still held.
    f.confirm(&[packed(&Transaction::ShareGrant(g1))]);
    let balance = r.share_balance(&account(&alice), &Link([0; 32]), 10).unwrap();
    assert_eq!((balance[0].confirmed, balance[0].spend), (70, 25));
    // Bob now holds 30 of share a too.
    let bob_balances = r.share_balance(&account(&bob), &Link([0; 32]), 10).unwrap();
    assert_eq!(bob_balances.len(), 2);
}

on_each_backend! {
    transfer_of_a_confirmed_issue: Fixture::paying_on;
    transfer_refusals: Fixture::auto;
    payments_follow_the_issue_and_last_transfer_blocks_and_escrow: Fixture::paying_on;
    block_owner_transfers: Fixture::auto;
    shares_grants_and_swaps: Fixture::auto;
}
