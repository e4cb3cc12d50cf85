//! Assets, issues and proofs: every acceptance and refusal with bitmarkd's fault text.

use crate::common::*;
use bitmark_record::pay::{pay_nonce_height, proof_digest, proof_meets, scaled_difficulty};
use bitmark_record::{Currency, Fault, PayId, PayNonce, PrivateKey, Transaction};
use bitmark_reservoir::{PaymentDetail, TrackingStatus, TransactionState, ASSET_CHECK_INTERVAL};
use std::time::Duration;

/// Search a client nonce meeting the group's difficulty with `pay_nonce`.
fn find_nonce(pay_id: &PayId, pay_nonce: &PayNonce, count: usize) -> Vec<u8> {
    let difficulty = scaled_difficulty(count, CHAIN);
    (0u64..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|n| proof_meets(&proof_digest(pay_id, pay_nonce, n), &difficulty))
        .unwrap()
}

fn asset_cache_accepts_extends_and_refuses(f: Fixture) {
    let r = &f.reservoir;
    let k = key(1);
    let a = asset(&k, "fingerprint one");
    let first = r.cache_asset(&a).unwrap();
    assert_eq!(first.asset_id, a.asset_id());
    assert_eq!(first.packed, Some(packed(&Transaction::AssetData(a.clone()))));
    // Same asset again: already seen, nothing to broadcast.
    assert_eq!(r.cache_asset(&a).unwrap().packed, None);
    assert!(r.asset_exists(&a.asset_id()).unwrap());
    // Same fingerprint (so same id), different data.
    let mut other = asset(&key(2), "fingerprint one");
    assert_eq!(fault(r.cache_asset(&other)), Fault::AssetsAlreadyRegistered);
    assert_eq!(Fault::AssetsAlreadyRegistered.to_string(), "assets already registered");
    // Bad signature.
    other.signature[0] ^= 1;
    assert_eq!(fault(r.cache_asset(&other)), Fault::InvalidSignature);
    // Confirmed assets are reported but not cached.
    let b = asset(&k, "confirmed");
    f.confirm(&[packed(&Transaction::AssetData(b.clone()))]);
    let out = r.cache_asset(&b).unwrap();
    assert_eq!(out.packed, None);
    assert!(r.cached_asset(&b.asset_id()).is_none());
    assert!(r.asset_exists(&b.asset_id()).unwrap());
}

#[test]
fn assets_expire_in_two_phases_unless_a_free_issue_holds_them() {
    let f = Fixture::new();
    let r = &f.reservoir;
    let k = key(1);
    let lonely = asset(&k, "lonely");
    let held = asset(&k, "held");
    let dropped = asset(&k, "pending issue expires");
    for a in [&lonely, &held, &dropped] {
        r.cache_asset(a).unwrap();
    }
    // A verified free issue holds its asset; a pending one only until it expires (45 min).
    let info = r.store_issues(&[issue(&k, held.asset_id(), 0)]).unwrap();
    let nonce = find_nonce(&info.pay_id, &info.nonce.unwrap(), 1);
    assert_eq!(r.try_proof(&info.pay_id, &nonce).unwrap(), TrackingStatus::Accepted);
    r.store_issues(&[issue(&k, dropped.asset_id(), 0)]).unwrap();
    let step = |d: Duration| {
        f.clock.advance(d);
        r.run_due().unwrap();
    };
    let phase = Duration::from_secs(67 * 60 + 30) + ASSET_CHECK_INTERVAL;
    // First phase over: expiring, still cached.
    step(phase);
    assert!(r.cached_asset(&lonely.asset_id()).is_some());
    assert_eq!(r.stats().pending, 0);
    // Second phase over: gone, except the one a verified free issue holds.
    step(phase);
    assert!(r.cached_asset(&lonely.asset_id()).is_none());
    assert!(r.cached_asset(&dropped.asset_id()).is_none());
    assert!(r.cached_asset(&held.asset_id()).is_some());
    step(phase);
    step(phase);
    assert!(r.cached_asset(&held.asset_id()).is_some());
    // Once its issue leaves the reservoir (here: a block confirms the issue), both phases
    // start again (bitmarkd never releases it).
    f.confirm(std::slice::from_ref(&info.packed));
    step(phase);
    assert!(r.cached_asset(&held.asset_id()).is_some());
    step(phase);
    assert!(r.cached_asset(&held.asset_id()).is_none());
    // Re-sending an asset extends its first phase.
    r.cache_asset(&lonely).unwrap();
    step(Duration::from_secs(60 * 60));
    r.cache_asset(&lonely).unwrap();
    step(Duration::from_secs(60 * 60));
    step(Duration::from_secs(60 * 60));
    assert!(r.cached_asset(&lonely.asset_id()).is_some());
}

#[test]
fn issue_submission_limits_and_faults() {
    let f = Fixture::new();
    let r = &f.reservoir;
    let k = key(1);
    let a = asset(&k, "asset");
    r.cache_asset(&a).unwrap();
    let id = a.asset_id();

    assert_eq!(fault(r.store_issues(&issues(&k, id, 0, 101))), Fault::TooManyItemsToProcess);
    assert_eq!(fault(r.store_issues(&[])), Fault::MissingParameters);
    assert_eq!(Fault::TooManyItemsToProcess.to_string(), "too many items to process");
    assert_eq!(Fault::MissingParameters.to_string(), "missing parameters");

    let live = PrivateKey::from_ed25519_seed([3; 32], false);
    let mut wrong = Transaction::BitmarkIssue(bitmark_record::transaction::BitmarkIssue {
        asset_id: id,
        owner: live.account().unwrap(),
        nonce: 0,
        signature: vec![],
    });
    sign(&mut wrong, &live);
    let Transaction::BitmarkIssue(wrong) = wrong else { unreachable!() };
    assert_eq!(fault(r.store_issues(&[wrong])), Fault::WrongNetworkForPublicKey);

    let mut bad = issue(&k, id, 0);
    bad.signature[3] ^= 0x10;
    assert_eq!(fault(r.store_issues(&[bad])), Fault::InvalidSignature);

    let unknown = asset(&k, "never cached").asset_id();
    assert_eq!(fault(r.store_issues(&[issue(&k, unknown, 0)])), Fault::AssetNotFound);
    assert_eq!(Fault::AssetNotFound.to_string(), "asset not found");

    // A free group; the same issues again are a duplicate with the same terms.
    let group: Vec<_> = (0..3).map(|n| issue(&key(10 + n), id, 0)).collect();
    let info = r.store_issues(&group).unwrap();
    assert!(!info.duplicate);
    assert!(info.nonce.is_some() && info.difficulty.is_some() && info.payments.is_empty());
    assert_eq!(info.tx_ids.len(), 3);
    let again = r.store_issues(&group).unwrap();
    assert!(again.duplicate);
    assert_eq!(again.pay_id, info.pay_id);
    assert_eq!(again.nonce, info.nonce);
    // Overlapping group: one issue already pending under another pay id.
    assert_eq!(fault(r.store_issues(&group[..2])), Fault::TransactionAlreadyExists);
    assert_eq!(Fault::TransactionAlreadyExists.to_string(), "transaction already exists");
    // Peer intake: a duplicate is "transaction already exists".
    let payload: Vec<u8> = group.iter().flat_map(|i| packed(&Transaction::BitmarkIssue(i.clone()))).collect();
    assert_eq!(fault(r.process_issues(&payload)), Fault::TransactionAlreadyExists);
    assert_eq!(fault(r.process_issues(&[])), Fault::MissingParameters);
    assert_eq!(fault(r.process_issues(&packed(&Transaction::AssetData(a.clone())))), Fault::TransactionIsNotAnIssue);
    assert_eq!(r.counters(), (3, 0));
}

#[test]
fn a_hundred_issues_in_one_group() {
    let f = Fixture::new();
    let k = key(1);
    let a = asset(&k, "hundred");
    f.reservoir.cache_asset(&a).unwrap();
    let group: Vec<_> = (0..100u8).map(|n| issue(&key(n.wrapping_add(20)), a.asset_id(), 0)).collect();
    let info = f.reservoir.store_issues(&group).unwrap();
    assert_eq!(info.difficulty.unwrap(), scaled_difficulty(100, CHAIN));
    assert_eq!(f.reservoir.stats().pending_free_issues, 100);
}

fn paid_issues_need_one_confirmed_asset_and_pay_fee_times_count(f: Fixture) {
    let r = &f.reservoir;
    let k = key(1);
    // Cached only: paid issues need a confirmed asset.
    let cached = asset(&k, "cached");
    r.cache_asset(&cached).unwrap();
    assert_eq!(fault(r.store_issues(&issues(&k, cached.asset_id(), 1, 2))), Fault::AssetNotFound);
    // Confirmed in block 2 by a miner paid at addresses 9.
    let a = asset(&k, "confirmed");
    f.confirm(&[packed(&Transaction::AssetData(a.clone()))]);
    // Two different assets: not allowed for paid issues.
    let mixed = vec![issue(&k, a.asset_id(), 1), issue(&k, cached.asset_id(), 1)];
    assert_eq!(fault(r.store_issues(&mixed)), Fault::AssetNotFound);

    let group = issues(&k, a.asset_id(), 1, 4);
    let info = r.store_issues(&group).unwrap();
    assert!(info.nonce.is_none() && info.difficulty.is_none());
    let map = payments(9);
    assert_eq!(info.payments.len(), 2);
    for (alt, (currency, address)) in info.payments.iter().zip(map.iter()) {
        assert_eq!(alt.len(), 1);
        assert_eq!(alt[0].currency, currency);
        assert_eq!(alt[0].address.as_bytes(), address.as_bytes());
        assert_eq!(alt[0].amount, currency.fee() * 4);
    }
    assert_eq!(r.transaction_status(&info.tx_ids[0]).unwrap(), TransactionState::Pending);
    // Duplicate returns the stored payments.
    assert_eq!(r.store_issues(&group).unwrap().payments, info.payments);
    // Underpaid, then paid: verified.
    let btc = map.get(Currency::Bitcoin).unwrap().to_string();
    let under =
        PaymentDetail { currency: Currency::Bitcoin, tx_id: "x".into(), amounts: [(btc.clone(), 39_999)].into() };
    assert!(!r.payment_detected(&info.pay_id, under).unwrap());
    let paid = PaymentDetail { currency: Currency::Bitcoin, tx_id: "y".into(), amounts: [(btc, 40_000)].into() };
    assert!(r.payment_detected(&info.pay_id, paid.clone()).unwrap());
    assert_eq!(r.transaction_status(&info.tx_ids[3]).unwrap(), TransactionState::Verified);
    // Now verified: the same issues again are "transaction already exists".
    assert_eq!(fault(r.store_issues(&group)), Fault::TransactionAlreadyExists);

    // A payment that arrives first is kept and verifies the issues on arrival.
    let later = issues(&k, a.asset_id(), 10, 1);
    let pay_id = PayId::new([packed(&Transaction::BitmarkIssue(later[0].clone()))]);
    let ltc = map.get(Currency::Litecoin).unwrap().to_string();
    let early = PaymentDetail { currency: Currency::Litecoin, tx_id: "z".into(), amounts: [(ltc, 100_000)].into() };
    assert!(!r.payment_detected(&pay_id, early).unwrap());
    // The underpayment above was kept as an orphan too (as bitmarkd does).
    assert_eq!(r.stats().orphan_payments, 2);
    let info = r.store_issues(&later).unwrap();
    assert_eq!(info.pay_id, pay_id);
    assert_eq!(r.transaction_status(&info.tx_ids[0]).unwrap(), TransactionState::Verified);
    assert_eq!(r.stats().orphan_payments, 1);
    // Orphan payments expire with the reservoir timeout (bitmarkd keeps them forever).
    f.clock.advance(bitmark_reservoir::RESERVOIR_TIMEOUT);
    r.expire_now().unwrap();
    assert_eq!(r.stats().orphan_payments, 0);
}

fn paid_issues_are_verified_at_once_with_auto_verify(f: Fixture) {
    let k = key(1);
    let a = asset(&k, "auto");
    f.confirm(&[packed(&Transaction::AssetData(a.clone()))]);
    let info = f.reservoir.store_issues(&issues(&k, a.asset_id(), 1, 5)).unwrap();
    assert_eq!(f.reservoir.counters(), (0, 5));
    assert_eq!(f.reservoir.transaction_status(&info.tx_ids[4]).unwrap(), TransactionState::Verified);
    // Genesis-block assets cannot be issued for a fee: only block > 1 counts, which MemoryChain
    // never produces for assets, so the confirmed-in-block-2 asset above is the minimum.
}

fn issues_already_confirmed_are_refused(f: Fixture) {
    let k = key(1);
    let (asset_id, _) = f.confirmed_bitmark(&k, &k, "bm");
    assert_eq!(fault(f.reservoir.store_issues(&[issue(&k, asset_id, 7)])), Fault::TransactionAlreadyExists);
}

#[test]
fn proof_of_work_verifies_free_issues() {
    let f = Fixture::new();
    let r = &f.reservoir;
    let k = key(1);
    let a = asset(&k, "proof");
    r.cache_asset(&a).unwrap();
    let group: Vec<_> = (0..3).map(|n| issue(&key(30 + n), a.asset_id(), 0)).collect();
    let info = r.store_issues(&group).unwrap();
    // At genesis height the pay nonce is the testing genesis digest's first 8 bytes.
    assert_eq!(info.nonce.unwrap().to_hex(), "8ae68bb87c4a926b");
    assert_eq!(r.try_proof(&PayId([7; 48]), b"whatever").unwrap(), TrackingStatus::NotFound);
    let difficulty = scaled_difficulty(3, CHAIN);
    let bad = (0u64..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|n| !proof_meets(&proof_digest(&info.pay_id, &info.nonce.unwrap(), n), &difficulty))
        .unwrap();
    assert_eq!(r.try_proof(&info.pay_id, &bad).unwrap(), TrackingStatus::Invalid);
    // Peer intake: nonce length 8..64, anything but Accepted is "pay id already used".
    let mut short = info.pay_id.0.to_vec();
    short.extend_from_slice(&[0; 7]);
    assert_eq!(fault(r.process_proof(&short)), Fault::InvalidNonce);
    let mut long = info.pay_id.0.to_vec();
    long.extend_from_slice(&[0; 65]);
    assert_eq!(fault(r.process_proof(&long)), Fault::InvalidNonce);
    assert_eq!(fault(r.process_proof(&[&info.pay_id.0[..], &bad].concat())), Fault::PayIdAlreadyUsed);
    assert_eq!(Fault::PayIdAlreadyUsed.to_string(), "pay id already used");

    // A longer nonce (bitmarkd would keep only 8 bytes of it).
    let difficulty_nonce = {
        let mut n: Vec<u8> = vec![0xab; 20];
        let mut i = 0u64;
        loop {
            n[..8].copy_from_slice(&i.to_le_bytes());
            if proof_meets(&proof_digest(&info.pay_id, &info.nonce.unwrap(), &n), &difficulty) {
                break n;
            }
            i += 1;
        }
    };
    r.process_proof(&[&info.pay_id.0[..], &difficulty_nonce].concat()).unwrap();
    for id in &info.tx_ids {
        assert_eq!(r.transaction_status(id).unwrap(), TransactionState::Verified);
    }
    assert_eq!(r.try_proof(&info.pay_id, &difficulty_nonce).unwrap(), TrackingStatus::NotFound);
    // Rebroadcast carries the whole nonce.
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = sent.clone();
    r.set_broadcaster(std::sync::Arc::new(move |c: &str, p: &[u8]| {
        s.lock().unwrap().push((c.to_string(), p.to_vec()))
    }));
    assert_eq!(r.rebroadcast(), 3);
    let sent = sent.lock().unwrap();
    assert_eq!(sent[0].0, "assets");
    assert_eq!(sent[1].0, "issues");
    assert_eq!(sent[2], ("proof".to_string(), [&info.pay_id.0[..], &difficulty_nonce].concat()));
}

#[test]
fn proof_may_use_any_of_the_last_six_pay_nonces() {
    let f = Fixture::new();
    let k = key(1);
    f.memory().append_empty_blocks(&account(&k), &payments(1), 1000).unwrap();
    let height = f.height();
    let r = &f.reservoir;
    let a = asset(&k, "late proof");
    r.cache_asset(&a).unwrap();
    let info = r.store_issues(&[issue(&k, a.asset_id(), 0)]).unwrap();
    let rounded = pay_nonce_height(height);
    let nonce_of = |h: u64| {
        use bitmark_reservoir::ConfirmedState;
        PayNonce::from_block(h, CHAIN, |n| f.memory().block_digest(n).unwrap())
    };
    assert_eq!(info.nonce.unwrap(), nonce_of(rounded));
    // The sixth-newest pay nonce still works; the seventh does not.
    let too_old = find_nonce(&info.pay_id, &nonce_of(rounded - 6 * 128), 1);
    if !proof_meets(&proof_digest(&info.pay_id, &nonce_of(rounded - 5 * 128), &too_old), &scaled_difficulty(1, CHAIN)) {
        assert_eq!(r.try_proof(&info.pay_id, &too_old).unwrap(), TrackingStatus::Invalid);
    }
    let sixth = find_nonce(&info.pay_id, &nonce_of(rounded - 5 * 128), 1);
    assert_eq!(r.try_proof(&info.pay_id, &sixth).unwrap(), TrackingStatus::Accepted);
}

on_each_backend! {
    asset_cache_accepts_extends_and_refuses: Fixture::auto;
    paid_issues_need_one_confirmed_asset_and_pay_fee_times_count: Fixture::paying_on;
    paid_issues_are_verified_at_once_with_auto_verify: Fixture::auto;
    issues_already_confirmed_are_refused: Fixture::auto;
}

/// The fault of a submission is the first failing issue's, in bitmarkd's per-issue order,
/// however the signatures are checked: one bad signature among a hundred issues of one owner
/// is `invalid signature`, an unknown asset before it wins, and nothing is stored either way.
#[test]
fn one_bad_signature_among_a_hundred_refuses_the_group_with_bitmarkds_fault() {
    let f = Fixture::new();
    let r = &f.reservoir;
    let k = key(1);
    let a = asset(&k, "hundred, one forged");
    f.confirm(&[packed(&Transaction::AssetData(a.clone()))]);
    let mut group = issues(&k, a.asset_id(), 1, 100);
    group[57].signature[5] ^= 0x20;
    assert_eq!(fault(r.store_issues(&group)), Fault::InvalidSignature);
    assert_eq!(Fault::InvalidSignature.to_string(), "invalid signature");
    // Owners all different: the same.
    let mut mixed: Vec<_> = (0..100u8).map(|n| issue(&key(n.wrapping_add(20)), a.asset_id(), 1)).collect();
    mixed[99].signature[60] ^= 0x01;
    assert_eq!(fault(r.store_issues(&mixed)), Fault::InvalidSignature);
    // An earlier issue of an unknown asset is reported instead; a later one is not.
    let unknown = asset(&k, "never cached").asset_id();
    let mut first_unknown = group.clone();
    first_unknown[10] = issue(&k, unknown, 1000);
    assert_eq!(fault(r.store_issues(&first_unknown)), Fault::AssetNotFound);
    let mut later_unknown = group.clone();
    later_unknown[90] = issue(&k, unknown, 1000);
    assert_eq!(fault(r.store_issues(&later_unknown)), Fault::InvalidSignature);
    assert_eq!(r.counters(), (0, 0), "nothing of a refused group is held");
    // Mended, the same group is accepted (paid and auto-verified).
    group[57] = issue(&k, a.asset_id(), 58);
    assert_eq!(r.store_issues(&group).unwrap().tx_ids.len(), 100);
    assert_eq!(r.counters(), (0, 100));
}

/// A signature whose R carries a small-order component satisfies Ed25519's cofactored equation
/// (`[8]([s]B - R - [k]A) = 0`, what a cofactored batch verification checks; ed25519-dalek's
/// batch accepts it whenever its random coefficient cancels the component) but not the
/// cofactorless one bitmarkd's Go verification checks (`[s]B - [k]A = R`). Such an issue must be refused with
/// bitmarkd's `invalid signature`: accepting it would hold and relay an issue every bitmarkd node
/// refuses (and a block holding it would be refused by them).
#[test]
fn a_signature_only_a_cofactored_check_accepts_is_refused() {
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use curve25519_dalek::traits::IsIdentity;
    use curve25519_dalek::Scalar;
    use sha2::{Digest, Sha512};

    let f = Fixture::new();
    let r = &f.reservoir;
    let seed = [7u8; 32];
    let k = PrivateKey::from_ed25519_seed(seed, true);
    let a = asset(&k, "torsion");
    f.confirm(&[packed(&Transaction::AssetData(a.clone()))]);
    let mut tx = Transaction::BitmarkIssue(bitmark_record::transaction::BitmarkIssue {
        asset_id: a.asset_id(),
        owner: account(&k),
        nonce: 1,
        signature: vec![],
    });
    let message = tx.signing_message().unwrap();
    let secret = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = secret.verifying_key();
    // The point of order 2, (0, -1).
    let mut minus_one = [0xff; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let torsion = CompressedEdwardsY(minus_one).decompress().unwrap();
    assert!(torsion.is_small_order() && !torsion.is_identity());
    let nonce = Scalar::from(0x5eed_u64);
    let big_r = (B * nonce + torsion).compress();
    let challenge = Scalar::from_hash(
        Sha512::new().chain_update(big_r.as_bytes()).chain_update(public.as_bytes()).chain_update(&message),
    );
    let s = nonce + challenge * secret.to_scalar();
    // The cofactored equation holds, the cofactorless one does not.
    let a_point = CompressedEdwardsY(public.to_bytes()).decompress().unwrap();
    let residue = B * s - big_r.decompress().unwrap() - a_point * challenge;
    assert!(residue.mul_by_cofactor().is_identity() && !residue.is_identity());
    let signature = [big_r.to_bytes(), s.to_bytes()].concat();
    tx.set_signature(signature.clone());
    assert!(public.verify_strict(&message, &ed25519_dalek::Signature::from_slice(&signature).unwrap()).is_err());
    let Transaction::BitmarkIssue(forged) = tx else { unreachable!() };
    // Alone, and among honest issues.
    assert_eq!(fault(r.store_issues(std::slice::from_ref(&forged))), Fault::InvalidSignature);
    let mut group = issues(&k, a.asset_id(), 100, 50);
    group[20] = forged;
    assert_eq!(fault(r.store_issues(&group)), Fault::InvalidSignature);
    assert_eq!(r.counters(), (0, 0));
}
