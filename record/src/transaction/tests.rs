//! Property tests: every record type, signed, packs → unpacks → packs to the same bytes; JSON
//! round-trips; the unpacker is total.

use super::*;
use crate::asset_id::AssetId;
use crate::currency::{bitcoin, litecoin, CurrencyMap};
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;

/// A key pair and its account on the chosen network.
#[derive(Clone, Debug)]
struct Key {
    signing: SigningKey,
    account: Account,
}

fn key(testnet: bool) -> impl Strategy<Value = Key> {
    any::<[u8; 32]>().prop_map(move |seed| {
        let signing = SigningKey::from_bytes(&seed);
        let account = Account::ed25519(signing.verifying_key().to_bytes(), testnet);
        Key { signing, account }
    })
}

fn link() -> impl Strategy<Value = Link> {
    any::<[u8; 32]>().prop_map(Link)
}

/// A valid address of `currency` for the network, with any hash and any accepted version.
fn address(currency: Currency, testnet: bool) -> impl Strategy<Value = String> {
    (any::<[u8; 20]>(), any::<prop::sample::Index>()).prop_map(move |(hash, pick)| match currency {
        Currency::Litecoin => {
            let versions: Vec<_> = litecoin::Version::ALL.iter().filter(|v| v.is_testnet() == testnet).collect();
            litecoin::address(*versions[pick.index(versions.len())], &hash)
        }
        _ => {
            let versions: Vec<_> = bitcoin::Version::ALL.iter().filter(|v| v.is_testnet() == testnet).collect();
            bitcoin::address(*versions[pick.index(versions.len())], &hash)
        }
    })
}

fn payable() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::PAYABLE.to_vec())
}

fn payments(testnet: bool) -> impl Strategy<Value = CurrencyMap> {
    (address(Currency::Bitcoin, testnet), address(Currency::Litecoin, testnet)).prop_map(|(btc, ltc)| {
        let mut m = CurrencyMap::new();
        m.insert(Currency::Bitcoin, btc);
        m.insert(Currency::Litecoin, ltc);
        m
    })
}

fn escrow(testnet: bool) -> impl Strategy<Value = Option<Payment>> {
    prop::option::of(payable().prop_flat_map(move |currency| {
        (address(currency, testnet), any::<u64>()).prop_map(move |(address, amount)| Payment {
            currency,
            address: address.into(),
            amount,
        })
    }))
}

/// A record string of at most `max` runes; with `raw`, possibly not UTF-8 at all.
fn text(min: usize, max: usize, raw: bool) -> BoxedStrategy<Text> {
    let utf8 =
        prop::collection::vec(any::<char>(), min..=max).prop_map(|cs| Text::from(cs.into_iter().collect::<String>()));
    if raw {
        prop_oneof![utf8, prop::collection::vec(any::<u8>(), min..=max).prop_map(Text::from)].boxed()
    } else {
        utf8.boxed()
    }
}

/// Metadata: NUL-separated non-empty keys and values.
fn metadata() -> impl Strategy<Value = Text> {
    prop::collection::vec(("[a-z]{1,8}", "[^\u{0}]{1,20}"), 0..4).prop_map(|pairs| {
        let parts: Vec<String> = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
        Text::from(parts.join("\u{0}"))
    })
}

/// A record with empty signatures, the key that signs it and the key that countersigns it.
fn unsigned_record(raw: bool) -> impl Strategy<Value = (Transaction, Key, Key)> {
    any::<bool>().prop_flat_map(move |testnet| {
        (0..10usize, key(testnet), key(testnet), any::<u64>(), any::<u64>(), link(), link(), escrow(testnet))
            .prop_flat_map(move |(kind, signer, other, n1, n2, l1, l2, escrow)| {
                let s = signer.account.clone();
                let o = other.account.clone();
                let q1 = n1.max(1);
                let q2 = n2.max(1);
                let tx: BoxedStrategy<Transaction> = match kind {
                    0 => (payable(), any::<prop::sample::Index>())
                        .prop_flat_map(move |(c, _)| address(c, testnet).prop_map(move |a| (c, a)))
                        .prop_map(move |(currency, a)| {
                            BaseData {
                                currency,
                                payment_address: a.into(),
                                owner: s.clone(),
                                nonce: n1,
                                signature: vec![],
                            }
                            .into()
                        })
                        .boxed(),
                    1 => (text(0, 64, raw), text(1, 80, raw), metadata())
                        .prop_map(move |(name, fingerprint, metadata)| {
                            AssetData { name, fingerprint, metadata, registrant: s.clone(), signature: vec![] }.into()
                        })
                        .boxed(),
                    2 => (any::<[u8; 32]>(), any::<[u8; 32]>())
                        .prop_map(move |(a, b)| {
                            let mut id = [0u8; 64];
                            id[..32].copy_from_slice(&a);
                            id[32..].copy_from_slice(&b);
                            BitmarkIssue { asset_id: AssetId(id), owner: s.clone(), nonce: n1, signature: vec![] }
                                .into()
                        })
                        .boxed(),
                    3 => any::<bool>()
                        .prop_map(move |destroy| {
                            let owner = if destroy { Account::ed25519([0; 32], testnet) } else { o.clone() };
                            BitmarkTransferUnratified { link: l1, escrow: escrow.clone(), owner, signature: vec![] }
                                .into()
                        })
                        .boxed(),
                    4 => Just(
                        BitmarkTransferCountersigned {
                            link: l1,
                            escrow,
                            owner: o,
                            signature: vec![],
                            countersignature: vec![],
                        }
                        .into(),
                    )
                    .boxed(),
                    5 => payments(testnet)
                        .prop_map(move |payments| {
                            BlockFoundation {
                                version: FOUNDATION_VERSION,
                                payments,
                                owner: s.clone(),
                                nonce: n1,
                                signature: vec![],
                            }
                            .into()
                        })
                        .boxed(),
                    6 => payments(testnet)
                        .prop_map(move |payments| {
                            BlockOwnerTransfer {
                                link: l1,
                                escrow: escrow.clone(),
                                version: FOUNDATION_VERSION,
                                payments,
                                owner: o.clone(),
                                signature: vec![],
                                countersignature: vec![],
                            }
                            .into()
                        })
                        .boxed(),
                    7 => Just(BitmarkShare { link: l1, quantity: q1, signature: vec![] }.into()).boxed(),
                    8 => Just(
                        ShareGrant {
                            share_id: l1,
                            quantity: q1,
                            owner: s,
                            recipient: o,
                            before_block: n2,
                            signature: vec![],
                            countersignature: vec![],
                        }
                        .into(),
                    )
                    .boxed(),
                    _ => {
                        let mut two = l2;
                        if two == l1 {
                            two.0[0] ^= 1;
                        }
                        Just(
                            ShareSwap {
                                share_id_one: l1,
                                quantity_one: q1,
                                owner_one: s,
                                share_id_two: two,
                                quantity_two: q2,
                                owner_two: o,
                                before_block: n2,
                                signature: vec![],
                                countersignature: vec![],
                            }
                            .into(),
                        )
                        .boxed()
                    }
                };
                (tx, Just(signer), Just(other))
            })
    })
}

/// Sign a record as its signer and, where it has one, its countersigner (the other key).
fn sign(mut tx: Transaction, signer: &Key, other: &Key) -> Transaction {
    let message = tx.signing_message().unwrap();
    tx.set_signature(signer.signing.sign(&message).to_bytes().to_vec());
    if let Ok(message) = tx.countersigning_message() {
        tx.set_countersignature(other.signing.sign(&message).to_bytes().to_vec()).unwrap();
    }
    tx
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pack_unpack_pack((tx, signer, other) in unsigned_record(true)) {
        let tx = sign(tx, &signer, &other);
        let packed = tx.pack(&signer.account).unwrap();
        prop_assert_eq!(tx.pack_unverified().unwrap(), packed.clone());
        let testnet = signer.account.is_testnet();
        let (back, n) = Transaction::unpack(&packed, testnet).unwrap();
        prop_assert_eq!(n, packed.len());
        prop_assert_eq!(&back, &tx);
        prop_assert_eq!(back.pack(&signer.account).unwrap(), packed.clone());
        prop_assert_eq!(back.tx_id().unwrap(), Transaction::tx_id_of(&packed));
        // Every strict prefix fails.
        for len in 0..packed.len() {
            prop_assert!(Transaction::unpack(&packed[..len], testnet).is_err());
        }
    }

    #[test]
    fn json_round_trip((tx, signer, other) in unsigned_record(false)) {
        let tx = sign(tx, &signer, &other);
        let json = tx.to_json();
        prop_assert_eq!(Transaction::from_json(tx.record_name(), &json).unwrap(), tx);
    }

    #[test]
    fn unpack_arbitrary_bytes_is_total(bytes in prop::collection::vec(any::<u8>(), 0..400), testnet in any::<bool>()) {
        if let Ok((_, n)) = Transaction::unpack(&bytes, testnet) {
            prop_assert!(n <= bytes.len());
        }
    }

    #[test]
    fn unpack_corrupted_record_is_total(
        (tx, signer, other) in unsigned_record(true),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut packed = sign(tx, &signer, &other).pack(&signer.account).unwrap();
        for (at, byte) in edits {
            let i = at.index(packed.len());
            packed[i] = byte;
        }
        let len = cut.index(packed.len() + 1);
        for testnet in [false, true] {
            if let Ok((_, n)) = Transaction::unpack(&packed[..len], testnet) {
                prop_assert!(n <= len);
            }
        }
    }
}

#[test]
fn unknown_tags_are_not_records() {
    for packed in [&[][..], &[0x00], &[0x0b, 0x00], &[0x80], &[0xff; 9]] {
        assert_eq!(Transaction::unpack(packed, true).err(), Some(Fault::NotTransactionPack));
    }
}

#[test]
fn asset_name_length_failure_is_ignored() {
    // Tag 2, then a name length of 16384 (past the clip): bitmarkd treats it as an empty name and
    // reads the fingerprint length from the same bytes, which then fails as too long.
    assert_eq!(Transaction::unpack(&[0x02, 0x80, 0x80, 0x01], true).err(), Some(Fault::NotTransactionPack));
}

#[test]
fn escrow_flag_must_be_zero_or_one() {
    let mut packed = vec![0x04, 0x20];
    packed.extend_from_slice(&[7; 32]);
    packed.push(0x02);
    assert_eq!(Transaction::unpack(&packed, true).err(), Some(Fault::NotTransactionPack));
    // A missing escrow flag is a truncation.
    packed.pop();
    assert_eq!(Transaction::unpack(&packed, true).err(), Some(Fault::NotTransactionPack));
}

#[test]
fn tags_and_names() {
    for tag in Tag::ALL {
        assert_eq!(Tag::from_code(tag.code()), Some(tag));
        assert_eq!(Tag::from_record_name(tag.record_name()), Some(tag));
    }
    assert_eq!(Tag::BitmarkShare.record_name(), "ShareBalance");
    assert_eq!(Tag::from_code(0), None);
    assert_eq!(Tag::from_code(11), None);
}

#[test]
fn json_faults() {
    use serde_json::json;
    let owner = Account::ed25519([1; 32], true).to_base58();
    assert_eq!(Transaction::from_json("Nope", &json!({})).err(), Some(Fault::UnexpectedTransactionRecord));
    assert_eq!(Transaction::from_json("BitmarkIssue", &json!([])).err(), Some(Fault::UnmarshalTextFailed));
    assert_eq!(Transaction::from_json("BitmarkIssue", &json!({})).err(), Some(Fault::InvalidOwnerOrRegistrant));
    assert_eq!(
        Transaction::from_json("BitmarkIssue", &json!({"owner": owner, "nonce": 5})).err(),
        Some(Fault::UnmarshalTextFailed)
    );
    assert_eq!(
        Transaction::from_json("BitmarkIssue", &json!({"owner": owner, "assetId": "00"})).err(),
        Some(Fault::NotLink)
    );
    assert_eq!(
        Transaction::from_json("ShareBalance", &json!({"link": "abcd", "quantity": "1"})).err(),
        Some(Fault::NotLink)
    );
    // Go matches field names case-insensitively and reads `,string` integers.
    let tx = Transaction::from_json("BitmarkIssue", &json!({"OWNER": owner, "Nonce": "42"})).unwrap();
    let Transaction::BitmarkIssue(issue) = tx else { panic!("not an issue") };
    assert_eq!(issue.nonce, 42);
}

#[test]
fn payment_address_may_run_past_the_map() {
    // bitmarkd's TestPackBlockFoundation record with the map length cut from 72 to 71: the
    // Litecoin address then ends one byte past the map, which Go's slice capacity allows, so
    // the map still decodes; the owner length is then read from the address's last byte ('6' =
    // 54 bytes), whose first byte 0x21 names algorithm 2.
    let mut packed = hex::decode(concat!(
        "06014801226d6970634262466739674d69436838314b6a3874717164676f5a7562315a4a52666e02226d6d434b",
        "5a5337746f4536395167584e73314a5a636a57364c466a384c6655627a36211355b2988817f7eaec37741b8244",
        "7163caaa5a9db2b6f0ce722626338e5e3fd7f7f8acd1910140afd0b119d01ddbcee33f878a30c801a8873ed7d7",
        "eaf27b2f7720c99615476e299e4b84d65757011771ea72a42fb24a75e50265e3002bda900afb9dcc40d9b103"
    ))
    .unwrap();
    assert!(Transaction::unpack(&packed, true).is_ok());
    packed[2] = 0x47;
    assert_eq!(Transaction::unpack(&packed, true).err(), Some(Fault::InvalidKeyType));
}
