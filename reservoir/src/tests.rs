//! Unit tests that reach inside: capacity limits (set by counters rather than by filling the
//! reservoir with tens of thousands of signed records) and the sled encoding.

use crate::persist::{decode_asset, decode_group, decode_orphan, encode_asset, encode_group, encode_orphan};
use crate::pool::{Group, GroupKind, Item, Orphan};
use crate::*;
use bitmark_record::currency::{bitcoin, litecoin};
use bitmark_record::transaction::{AssetData, BitmarkIssue, BitmarkTransferUnratified, Payment};
use bitmark_record::{Account, Chain, Currency, CurrencyMap, Fault, Link, PrivateKey, Text, Transaction};
use proptest::prelude::*;
use std::sync::Arc;

fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_ed25519_seed([seed; 32], true)
}

fn signed(mut tx: Transaction, k: &PrivateKey) -> Transaction {
    let sig = k.sign(&tx.signing_message().unwrap()).unwrap();
    tx.set_signature(sig.to_vec());
    tx
}

fn asset(k: &PrivateKey) -> AssetData {
    let tx = Transaction::AssetData(AssetData {
        name: Text::from("n"),
        fingerprint: Text::from("f"),
        metadata: Text::default(),
        registrant: k.account().unwrap(),
        signature: vec![],
    });
    let Transaction::AssetData(a) = signed(tx, k) else { unreachable!() };
    a
}

fn issue(k: &PrivateKey, a: &AssetData, nonce: u64) -> BitmarkIssue {
    let tx = Transaction::BitmarkIssue(BitmarkIssue {
        asset_id: a.asset_id(),
        owner: k.account().unwrap(),
        nonce,
        signature: vec![],
    });
    let Transaction::BitmarkIssue(i) = signed(tx, k) else { unreachable!() };
    i
}

fn payments() -> CurrencyMap {
    let mut m = CurrencyMap::new();
    m.insert(Currency::Bitcoin, bitcoin::address(bitcoin::Version::Testnet, &[1; 20]));
    m.insert(Currency::Litecoin, litecoin::address(litecoin::Version::Testnet, &[1; 20]));
    m
}

fn open(verifier: Arc<dyn PaymentVerifier>) -> (tempfile::TempDir, Arc<MemoryChain>, Reservoir) {
    let dir = tempfile::tempdir().unwrap();
    let chain = Arc::new(MemoryChain::new(Chain::Testing));
    let options = Options::for_chain(Chain::Testing).verifier(verifier);
    let (r, _) = Reservoir::open(dir.path(), Chain::Testing, chain.clone(), options).unwrap();
    (dir, chain, r)
}

#[test]
fn free_issue_capacity_is_strictly_above_20000() {
    let (_d, _c, r) = open(Arc::new(AutoVerify));
    let k = key(1);
    let a = asset(&k);
    r.cache_asset(&a).unwrap();
    r.lock().pending_free_count = MAXIMUM_PENDING_FREE_ISSUES - 1;
    r.store_issues(&[issue(&key(2), &a, 0)]).unwrap();
    let err = r.store_issues(&[issue(&key(3), &a, 0)]).unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BufferCapacityLimit));
    assert_eq!(err.to_string(), "buffer capacity limit");
}

#[test]
fn paid_issue_capacity_is_at_20000() {
    let (_d, chain, r) = open(Arc::new(RequirePayment));
    let k = key(1);
    let a = asset(&k);
    chain
        .append_block(
            &k.account().unwrap(),
            &payments(),
            &[Transaction::AssetData(a.clone()).pack_unverified().unwrap()],
        )
        .unwrap();
    r.lock().pending_paid_count = MAXIMUM_PENDING_PAID_ISSUES - 2;
    r.store_issues(&[issue(&k, &a, 1)]).unwrap();
    let err = r.store_issues(&[issue(&k, &a, 2)]).unwrap_err();
    assert_eq!(err.fault(), Some(Fault::BufferCapacityLimit));
}

#[test]
fn pending_transaction_capacity_is_160000() {
    let (_d, chain, r) = open(Arc::new(RequirePayment));
    let k = key(1);
    let a = asset(&k);
    let i = Transaction::BitmarkIssue(issue(&k, &a, 1)).pack_unverified().unwrap();
    let records = [Transaction::AssetData(a.clone()).pack_unverified().unwrap(), i.clone()];
    chain.append_block(&k.account().unwrap(), &payments(), &records).unwrap();
    let t = signed(
        Transaction::BitmarkTransferUnratified(BitmarkTransferUnratified {
            link: Link::of(&i),
            escrow: None,
            owner: key(2).account().unwrap(),
            signature: vec![],
        }),
        &k,
    );
    r.lock().pending_transactions = MAXIMUM_PENDING_TRANSACTIONS;
    assert_eq!(r.store_transfer(t.clone()).unwrap_err().fault(), Some(Fault::BufferCapacityLimit));
    r.lock().pending_transactions = MAXIMUM_PENDING_TRANSACTIONS - 1;
    assert!(!r.store_transfer(t).unwrap().duplicate);
}

fn sample_items() -> Vec<Item> {
    let k = key(9);
    let a = asset(&k);
    (0..3)
        .map(|n| {
            let tx = Transaction::BitmarkIssue(issue(&k, &a, n));
            let packed = tx.pack_unverified().unwrap();
            Item { tx_id: Link::of(&packed), tx, packed }
        })
        .collect()
}

proptest! {
    #[test]
    fn group_encoding_round_trips(
        kind in 0u8..3,
        verified: bool,
        seq: u64,
        expires_at: u64,
        nonce in proptest::collection::vec(any::<u8>(), 0..70),
        payments in proptest::collection::vec(proptest::collection::vec((any::<bool>(), "[a-zA-Z0-9]{0,40}", any::<u64>()), 0..3), 0..3),
        n_items in 1usize..4,
    ) {
        let kind = [GroupKind::Transaction, GroupKind::FreeIssues, GroupKind::PaidIssues][kind as usize];
        let payments: Vec<PaymentAlternative> = payments
            .into_iter()
            .map(|alt| alt.into_iter().map(|(btc, addr, amount)| Payment {
                currency: if btc { Currency::Bitcoin } else { Currency::Litecoin },
                address: Text::from(addr.as_str()),
                amount,
            }).collect())
            .collect();
        let items = sample_items().into_iter().take(n_items).collect();
        let g = Group { kind, verified, seq, items, payments, nonce, expires_at };
        let back = decode_group(&encode_group(&g), true).unwrap();
        prop_assert_eq!(back.kind, g.kind);
        prop_assert_eq!(back.verified, g.verified);
        prop_assert_eq!((back.seq, back.expires_at), (g.seq, g.expires_at));
        prop_assert_eq!(&back.nonce, &g.nonce);
        prop_assert_eq!(&back.payments, &g.payments);
        prop_assert_eq!(back.items.iter().map(|i| i.tx_id).collect::<Vec<_>>(), g.items.iter().map(|i| i.tx_id).collect::<Vec<_>>());
        // Every truncation is refused, never a panic.
        let bytes = encode_group(&g);
        for cut in 0..bytes.len() {
            prop_assert!(decode_group(&bytes[..cut], true).is_none());
        }
    }

    #[test]
    fn orphan_encoding_round_trips(received_at: u64, tx in "[a-f0-9]{0,64}", amounts in proptest::collection::btree_map("[a-zA-Z0-9]{1,40}", any::<u64>(), 0..4)) {
        let o = Orphan { detail: PaymentDetail { currency: Currency::Litecoin, tx_id: tx, amounts }, received_at };
        let back = decode_orphan(&encode_orphan(&o)).unwrap();
        prop_assert_eq!(back.detail, o.detail);
        prop_assert_eq!(back.received_at, o.received_at);
    }

    #[test]
    fn decoders_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_group(&bytes, true);
        let _ = decode_asset(&bytes, true);
        let _ = decode_orphan(&bytes);
    }
}

#[test]
fn asset_encoding_round_trips() {
    let k = key(4);
    let a = asset(&k);
    let packed = Transaction::AssetData(a.clone()).pack_unverified().unwrap();
    let c = crate::assets::CachedAsset {
        packed,
        record: a.clone(),
        state: crate::assets::AssetState::Expiring,
        refs: 3,
        deadline: Some(12345),
    };
    let (id, back) = decode_asset(&encode_asset(&c), true).unwrap();
    assert_eq!(id, a.asset_id());
    assert_eq!((back.state, back.deadline, back.refs), (c.state, c.deadline, 0));
    let _: Account = k.account().unwrap();
}

#[test]
fn background_thread_runs_and_stops() {
    let (_d, _c, r) = open(Arc::new(AutoVerify));
    let r = Arc::new(r);
    let handle = r.spawn_background(|e| panic!("periodic work failed: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(50));
    drop(handle); // joins
    assert_eq!(Arc::strong_count(&r), 1);
}
