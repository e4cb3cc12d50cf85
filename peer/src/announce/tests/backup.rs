//! `peers.json`: a fixture written by hand from `docs/protocol.md#peer-table-backup`, bitmarkd's
//! validity rules, our per-entry tolerance, and the round trip through a file.

use super::*;
use crate::announce::backup::{self, decode, decode_entry, encode, encode_entry, EntryError, StoredPeer};
use crate::announce::peers::{Origin, PeerRecord};
use crate::announce::AnnounceError;
use bitmark_record::Fault;

/// Entry 1, by hand (spaces are for reading and are removed): `20` (varint 32) ‖ key 01..20 ‖
/// `13` (varint 19) ‖ 127.0.0.1:2136 as a mapped 19-byte record ‖ varint 1 700 000 000
/// (0x6553f100 → 7-bit groups 00 62 4f 2a 06 → `80 e2 cf aa 06`).
const ENTRY_1: &str = "20 \
    0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20 \
    13 \
    13 0858 00000000000000000000ffff 7f000001 \
    80e2cfaa06";

/// Entry 2: key aa×32, `26` = 38 bytes of listeners ([::1]:2136 then 192.0.2.7:12136 =
/// port 0x2f68), time 1 700 000 100 (`e4 e2 cf aa 06`).
const ENTRY_2: &str = "20 \
    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \
    26 \
    13 0858 00000000000000000000000000000001 \
    13 2f68 00000000000000000000ffff c0000207 \
    e4e2cfaa06";

fn entry_1() -> StoredPeer {
    StoredPeer {
        public_key: (1..=32).collect(),
        listeners: pack_all(&["127.0.0.1:2136".parse().unwrap()]),
        timestamp: 1_700_000_000,
    }
}

fn entry_2() -> StoredPeer {
    StoredPeer {
        public_key: vec![0xaa; 32],
        listeners: pack_all(&["[::1]:2136".parse().unwrap(), "192.0.2.7:12136".parse().unwrap()]),
        timestamp: 1_700_000_100,
    }
}

#[test]
fn the_hand_written_fixture() {
    let clean = |s: &str| s.split_whitespace().collect::<String>();
    let (one, two) = (clean(ENTRY_1), clean(ENTRY_2));
    assert_eq!(encode_entry(&entry_1()), one);
    assert_eq!(encode_entry(&entry_2()), two);
    assert_eq!(decode_entry(&one), Ok(entry_1()));
    assert_eq!(decode_entry(&two.to_uppercase()), Ok(entry_2()));
    let file = format!("[\"{one}\",\"{two}\"]\n");
    let decoded = decode(&file).unwrap();
    assert_eq!(decoded.entries, [entry_1(), entry_2()]);
    assert!(decoded.skipped.is_empty());

    // Restored at T0 + 10 min, both are fresh enough; their listeners are valid.
    let (_, announcer) = announcer(TableLimits::default());
    let report = announcer.restore_decoded(decoded, at(T0) + minutes(10));
    assert_eq!((report.added, report.refused), (2, 0));
    // And written back byte for byte (with ourselves, sorted by key: 01.., 80.., aa..).
    let text = encode(&announcer.peers()).unwrap();
    let own =
        encode_entry(&StoredPeer { public_key: OWN.to_vec(), listeners: announcer.own_listeners(), timestamp: T0 });
    assert_eq!(text, format!("[\"{one}\",\"{own}\",\"{two}\"]\n"));
}

/// bitmarkd's `UnmarshalText` checks, entry by entry; where bitmarkd would panic (a field
/// running past the end) we refuse with that field's fault.
#[test]
fn entry_validity_rules() {
    let key = "20".to_string() + &"11".repeat(32);
    let listeners = |n: usize| format!("{:02x}{}", n, "00".repeat(n));
    let ts = "05";
    let cases: Vec<(String, Result<(), EntryError>)> = vec![
        (format!("{key}{}{ts}", listeners(19)), Ok(())),
        (format!("{key}{}{ts}", listeners(20)), Ok(())),
        (format!("{key}{}{ts}", listeners(56)), Ok(())),
        (format!("{key}{}{ts}ffff", listeners(19)), Ok(())),
        (format!("{key}{}{ts}", listeners(18)), Err(EntryError::Fault(Fault::InvalidIpAddress))),
        (format!("{key}{}{ts}", listeners(57)), Err(EntryError::Fault(Fault::InvalidIpAddress))),
        (format!("{key}{}", listeners(19)), Err(EntryError::Fault(Fault::InvalidTimestamp))),
        (format!("{key}{}80", listeners(19)), Err(EntryError::Fault(Fault::InvalidTimestamp))),
        (format!("{key}13{}", "00".repeat(10)), Err(EntryError::Fault(Fault::InvalidIpAddress))),
        (key.clone(), Err(EntryError::Fault(Fault::InvalidIpAddress))),
        (format!("1f{}{}{ts}", "11".repeat(31), listeners(19)), Err(EntryError::Fault(Fault::NotPublicKey))),
        (format!("21{}{}{ts}", "11".repeat(33), listeners(19)), Err(EntryError::Fault(Fault::NotPublicKey))),
        (format!("20{}", "11".repeat(20)), Err(EntryError::Fault(Fault::NotPublicKey))),
        ("00".to_string(), Err(EntryError::Fault(Fault::NotPublicKey))),
        (String::new(), Err(EntryError::Fault(Fault::NotPublicKey))),
        // A two-byte varint 32 (non-canonical) is still 32, as in Go.
        (format!("a000{}{}{ts}", "11".repeat(32), listeners(19)), Ok(())),
        (format!("{key}{}{ts}0", listeners(19)), Err(EntryError::Hex)),
        (format!("{key}{}{ts}zz", listeners(19)), Err(EntryError::Hex)),
    ];
    for (text, expected) in cases {
        assert_eq!(decode_entry(&text).map(|_| ()), expected, "{text}");
    }
}

#[test]
fn one_bad_entry_does_not_lose_the_file() {
    let clean = |s: &str| s.split_whitespace().collect::<String>();
    let (one, two) = (clean(ENTRY_1), clean(ENTRY_2));
    let file = format!("[\"{one}\", 7, \"nothex\", \"20\", \"{two}\"] trailing garbage, as Go's decoder ignores");
    let decoded = decode(&file).unwrap();
    assert_eq!(decoded.entries, [entry_1(), entry_2()]);
    assert_eq!(
        decoded.skipped,
        [(1, EntryError::NotText), (2, EntryError::Hex), (3, EntryError::Fault(Fault::NotPublicKey))]
    );
    assert_eq!(decode("null\n").unwrap().entries, []);
    assert_eq!(decode("[]").unwrap().entries, []);
    assert!(matches!(decode("{}"), Err(AnnounceError::BackupNotAList)));
    assert!(matches!(decode("[\"ab\""), Err(AnnounceError::BackupJson(_))));
    assert!(matches!(decode(""), Err(AnnounceError::BackupJson(_))));
}

#[test]
fn bytes_that_are_not_utf8() {
    let clean = |s: &str| s.split_whitespace().collect::<String>();
    let one = clean(ENTRY_1);
    // Invalid UTF-8 after the first value is ignored, as any trailing garbage.
    let file = [format!("[\"{one}\"]").as_bytes(), b"\xff\xfe"].concat();
    assert_eq!(backup::decode_bytes(&file).unwrap().entries, [entry_1()]);
    // Inside it, it is malformed JSON; a file with it is refused whole, not a panic or an I/O error.
    assert!(matches!(backup::decode_bytes(b"[\"\xff\"]"), Err(AnnounceError::BackupJson(_))));
    let path = scratch("latin1.json");
    std::fs::write(&path, b"[\"\xe9\"]").unwrap();
    assert!(matches!(backup::read(&path), Err(AnnounceError::BackupJson(_))));
    // The announcer restores from bytes as from the file.
    let (_, announcer) = announcer(TableLimits::default());
    let report = announcer.restore_bytes(&file, at(T0) + minutes(10)).unwrap();
    assert_eq!((report.added, report.refused), (1, 0));
}

#[test]
fn what_gets_written() {
    let record = |n: u8, listeners: Vec<u8>| PeerRecord {
        public_key: key(n),
        listeners,
        timestamp: at(T0),
        origin: Origin::Learned,
    };
    // Two entries or fewer: nothing (bitmarkd leaves the old file alone).
    assert_eq!(encode(&[record(1, super::listeners(1)), record(2, super::listeners(2))]), None);
    // No listeners, or more than bitmarkd reads back: left out. Nothing left: `null`.
    let three = pack_all(&[addr(1), addr(2), addr(3)]);
    assert_eq!(encode(&[record(1, vec![]), record(2, three.clone()), record(3, vec![])]), Some("null\n".into()));
    let text = encode(&[record(1, vec![]), record(2, super::listeners(2)), record(3, three)]).unwrap();
    assert_eq!(decode(&text).unwrap().entries.len(), 1);
}

#[test]
fn round_trip_through_a_file_and_the_55_minute_rule() {
    let (clock, announcer) = announcer(TableLimits::default());
    for n in 1..=5 {
        assert!(crate::listener::PeerTable::add_peer(&announcer, &key(n), &listeners(n), T0 - 60 * u64::from(n)));
    }
    let path = scratch("peers.json");
    assert!(announcer.backup(&path).unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // A node restarted 50 minutes later gets back those stamped within 55 minutes: keys 1..=5
    // are 1..5 minutes old at T0, so 51..55 minutes old now; all alive. Ourselves is refused.
    clock.advance(minutes(50));
    let (_, restored) = super::announcer(TableLimits::default());
    let report = restored.restore_decoded(backup::read(&path).unwrap().unwrap(), clock.wall());
    assert_eq!((report.added, report.refused), (5, 1));
    let keys = |a: &Announcer| a.peers().into_iter().map(|r| (r.public_key, r.listeners)).collect::<Vec<_>>();
    assert_eq!(keys(&restored), keys(&announcer));
    // One second later the oldest is gone.
    let (_, late) = super::announcer(TableLimits::default());
    let report = late.restore_decoded(backup::read(&path).unwrap().unwrap(), clock.wall() + Duration::from_secs(1));
    assert_eq!(report.added, 4);
    // No file: nothing to restore, no error.
    let missing = scratch("missing.json");
    assert_eq!(late.restore(&missing).unwrap(), Default::default());
    // Too few entries: no file written, an old one is kept.
    let (_, lonely) = super::announcer(TableLimits::default());
    assert!(!lonely.backup(&path).unwrap());
    assert!(backup::read(&path).unwrap().is_some());
}

proptest::proptest! {
    #[test]
    fn entries_round_trip(
        public_key in proptest::collection::vec(proptest::prelude::any::<u8>(), 32),
        listeners in proptest::collection::vec(proptest::prelude::any::<u8>(), 19..=56),
        timestamp in proptest::prelude::any::<u64>(),
    ) {
        let peer = StoredPeer { public_key, listeners, timestamp };
        proptest::prop_assert_eq!(decode_entry(&encode_entry(&peer)), Ok(peer));
    }

    #[test]
    fn decoding_is_total(text in "[0-9a-fA-F]{0,200}", junk in "\\PC{0,40}") {
        let _ = decode_entry(&text);
        let _ = decode_entry(&junk);
        let _ = decode(&format!("[\"{text}\",{junk}"));
        let _ = decode(&junk);
    }
}
