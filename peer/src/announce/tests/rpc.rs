//! The RPC table: bitmarkd's `rpc_test.go` cases, its update rule, our checks and bound.

use super::*;
use crate::announce::peers::{AddOutcome, Refusal};
use crate::announce::plausible::Implausible;
use crate::announce::rpcs::RpcBook;
use crate::listener::PeerTable;
use bitmark_record::Fault;

fn rpc_addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 2130))
}

/// bitmarkd `announce/rpc/rpc_test.go`, case by case.
#[test]
fn bitmarkd_rpc_cases() {
    let now = at(T0);
    let mut book = RpcBook::new(1000);
    book.set_own(key(0x55), &[rpc_addr(1)], now).unwrap();
    let (page, next) = book.fetch(0, 10).unwrap();
    assert_eq!((page.len(), next), (1, 1));
    assert_eq!(page[0].fingerprint, key(0x55));
    assert_eq!(page[0].addresses, [rpc_addr(1)]);
    assert_eq!(book.set_own(key(0x56), &[], now), Err(Fault::AlreadyInitialised));
    // A 32-byte fingerprint: taken.
    assert_eq!(book.add(&key(1), &pack_all(&[rpc_addr(2)]), T0, now), AddOutcome::Added);
    // Timestamp 0: expired.
    assert_eq!(book.add(&key(2), &pack_all(&[rpc_addr(3)]), 0, now), AddOutcome::Refused(Refusal::Expired));
    // 30 bytes: refused.
    assert_eq!(
        book.add(&[3; 30], &pack_all(&[rpc_addr(3)]), T0, now),
        AddOutcome::Refused(Refusal::Implausible(Implausible::KeyLength))
    );
    // 200 bytes of addresses: refused.
    assert_eq!(
        book.add(&key(4), &[0; 200], T0, now),
        AddOutcome::Refused(Refusal::Implausible(Implausible::Listeners))
    );
    assert_eq!(book.fetch(5, 10).unwrap(), (Vec::new(), 0));
    assert_eq!(book.fetch(0, 0), Err(Fault::InvalidCount));
    assert_eq!(book.fetch(1, 10).unwrap().1, 2);
    assert_eq!(book.len(), 2);
}

#[test]
fn expiry_at_exactly_55_minutes_spares_our_own() {
    let mut book = RpcBook::new(1000);
    book.set_own(key(0x55), &[rpc_addr(1)], at(T0)).unwrap();
    book.add(&key(1), &pack_all(&[rpc_addr(2)]), T0, at(T0));
    book.add(&key(2), &pack_all(&[rpc_addr(3)]), T0 + 1, at(T0 + 1));
    assert_eq!(book.expire(at(T0) + minutes(55)), 0);
    assert_eq!(book.expire(at(T0) + minutes(55) + Duration::from_nanos(1)), 1);
    assert_eq!(book.records().iter().map(|r| r.fingerprint).collect::<Vec<_>>(), [key(0x55), key(2)]);
    assert_eq!(book.expire(at(T0 + 100_000)), 1);
    assert_eq!(book.len(), 1);
}

/// An update replaces the addresses and stamps the entry with *our* time whatever it says; it is
/// relayed only if the previous time was more than 7 minutes ago.
#[test]
fn updates_follow_bitmarkd() {
    let mut book = RpcBook::new(1000);
    book.add(&key(1), &pack_all(&[rpc_addr(1)]), T0, at(T0));
    // 7 minutes exactly: refreshed, not relayed.
    assert_eq!(
        book.add(&key(1), &pack_all(&[rpc_addr(2)]), T0 - 100, at(T0) + minutes(7)),
        AddOutcome::Refused(Refusal::TooSoon)
    );
    let record = book.records()[0].clone();
    assert_eq!((record.listeners, record.timestamp), (pack_all(&[rpc_addr(2)]), at(T0) + minutes(7)));
    // More than 7 minutes after that refresh: relayed.
    let later = at(T0) + minutes(14) + Duration::from_secs(1);
    assert_eq!(book.add(&key(1), &pack_all(&[rpc_addr(3)]), T0, later), AddOutcome::Updated);
    assert_eq!(book.records()[0].timestamp, later);
    // Ours: an update carrying an expired timestamp is refused and refreshes nothing.
    let much_later = later + minutes(30);
    assert_eq!(
        book.add(&key(1), &pack_all(&[rpc_addr(4)]), T0 - 3600, much_later),
        AddOutcome::Refused(Refusal::Expired)
    );
    assert_eq!(book.records()[0].timestamp, later);
}

#[test]
fn our_checks() {
    let mut book = RpcBook::new(1000);
    // Before our entry is set any 32 bytes pass, all zeros included.
    assert_eq!(book.add(&[0; 32], &pack_all(&[rpc_addr(1)]), T0, at(T0)), AddOutcome::Added);
    book.set_own(key(0x55), &[rpc_addr(9)], at(T0)).unwrap();
    let refused = |r| AddOutcome::Refused(Refusal::Implausible(r));
    assert_eq!(book.add(&key(0x55), &pack_all(&[rpc_addr(1)]), T0, at(T0)), refused(Implausible::OwnKey));
    assert_eq!(book.add(&key(1), &[], T0, at(T0)), refused(Implausible::Listeners));
    assert_eq!(book.add(&key(1), &[0x13, 0, 1], T0, at(T0)), refused(Implausible::Listeners));
    // Our entry kept its addresses.
    assert_eq!(book.fetch(1, 1).unwrap().0[0].addresses, [rpc_addr(9)]);
}

#[test]
fn set_own_takes_over_a_learned_entry() {
    let mut book = RpcBook::new(1000);
    book.add(&key(0x55), &pack_all(&[rpc_addr(1)]), T0, at(T0));
    book.set_own(key(0x55), &[rpc_addr(2)], at(T0)).unwrap();
    assert_eq!(book.len(), 1);
    assert!(book.records()[0].local);
    assert_eq!(book.own(), Some((key(0x55), pack_all(&[rpc_addr(2)]))));
    assert_eq!(book.expire(at(T0 + 100_000)), 0);
}

#[test]
fn a_flood_stays_bounded_and_keeps_ours() {
    let mut book = RpcBook::new(20);
    book.set_own(key(0xff), &[rpc_addr(1)], at(T0)).unwrap();
    for i in 0..5_000u32 {
        let mut f = [0u8; 32];
        f[..4].copy_from_slice(&i.to_be_bytes());
        let now = at(T0 + u64::from(i));
        assert_eq!(book.add(&f, &pack_all(&[rpc_addr(2)]), T0 + u64::from(i), now), AddOutcome::Added);
        assert!(book.len() <= 20);
    }
    assert!(book.records().iter().any(|r| r.local));
    // The survivors are the newest 19.
    let mut times: Vec<u64> =
        book.records().iter().filter(|r| !r.local).map(|r| crate::clock::unix_secs(r.timestamp)).collect();
    times.sort_unstable();
    assert_eq!(times, (T0 + 4981..T0 + 5000).collect::<Vec<_>>());
    // Older than everything: refused.
    assert_eq!(
        book.add(&key(1), &pack_all(&[rpc_addr(2)]), T0 + 4000, at(T0 + 5000)),
        AddOutcome::Refused(Refusal::Full)
    );
}

#[test]
fn through_the_listeners_trait() {
    let (_, announcer) = announcer(TableLimits::default());
    announcer.set_rpc(key(0x55), &[rpc_addr(1)]).unwrap();
    assert!(announcer.add_rpc(&key(1), &pack_all(&[rpc_addr(2)]), T0));
    assert!(!announcer.add_rpc(&key(1), &pack_all(&[rpc_addr(2)]), T0));
    assert!(!announcer.add_rpc(&key(0x55), &pack_all(&[rpc_addr(2)]), T0));
    assert_eq!(announcer.fetch_rpcs(0, 10).unwrap().0.len(), 2);
    assert_eq!(announcer.rpcs().len(), 2);
}
