//! The peer table: bitmarkd's add/random/update/expire rules, static peers, plausibility, bounds.

use super::*;
use crate::announce::peers::{AddOutcome, Origin, PeerBook, Refusal, DEFAULT_MAX_PEERS};
use crate::announce::plausible::Implausible;
use crate::announce::rebalance::targets;
use crate::listener::PeerTable;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::collections::BTreeSet;

fn book() -> PeerBook {
    PeerBook::new(OWN, listeners(200), at(T0), DEFAULT_MAX_PEERS)
}

/// bitmarkd `receptor_test.go` TestAdd and the 7-minute rule at its boundary.
#[test]
fn add_and_the_seven_minute_rule() {
    let mut book = book();
    let now = at(T0);
    assert_eq!(book.add(&key(1), &listeners(1), T0, now), AddOutcome::Added);
    assert!(book.is_changed());
    // The same timestamp again, or anything less than 7 minutes newer: not updated.
    assert_eq!(book.add(&key(1), &listeners(1), T0, now), AddOutcome::Refused(Refusal::TooSoon));
    let later = at(T0 + 1800);
    assert_eq!(book.add(&key(1), &listeners(2), T0 + 419, later), AddOutcome::Refused(Refusal::TooSoon));
    assert_eq!(book.get(&key(1)).unwrap().listeners, listeners(1));
    // Older is "less than 7 minutes newer" too.
    assert_eq!(book.add(&key(1), &listeners(2), T0 - 60, later), AddOutcome::Refused(Refusal::TooSoon));
    // Exactly 7 minutes newer: updated, with the new listeners; not a change of membership.
    assert!(book.take_changed());
    assert_eq!(book.add(&key(1), &listeners(2), T0 + 420, later), AddOutcome::Updated);
    let entry = book.get(&key(1)).unwrap();
    assert_eq!((entry.listeners, entry.timestamp, entry.origin), (listeners(2), at(T0 + 420), Origin::Learned));
    assert!(!book.is_changed());
    assert_eq!(book.stats().added, 1);
    assert_eq!(book.stats().updated, 1);
    assert_eq!(book.stats().refused, 3);
}

#[test]
fn expired_announcements_are_refused_at_exactly_55_minutes() {
    let mut book = book();
    let now = at(T0 + 10_000);
    // Stamped exactly 55 minutes ago: still alive.
    assert_eq!(book.add(&key(1), &listeners(1), T0 + 10_000 - 3300, now), AddOutcome::Added);
    // One second more: expired.
    assert_eq!(book.add(&key(2), &listeners(2), T0 + 10_000 - 3301, now), AddOutcome::Refused(Refusal::Expired));
    // With a sub-second "now", exactly 55 minutes in whole seconds is already past (Go compares
    // with nanoseconds).
    let now = now + Duration::from_millis(500);
    assert_eq!(book.add(&key(3), &listeners(3), T0 + 10_000 - 3300, now), AddOutcome::Refused(Refusal::Expired));
    // bitmarkd receptor_test: a timestamp 60 minutes old is refused; Go-negative ones too.
    assert_eq!(book.add(&key(4), &listeners(4), T0 + 10_000 - 3600, now), AddOutcome::Refused(Refusal::Expired));
    assert_eq!(book.add(&key(5), &listeners(5), u64::MAX, now), AddOutcome::Refused(Refusal::Expired));
    assert_eq!(book.add(&key(6), &listeners(6), 0, now), AddOutcome::Refused(Refusal::Expired));
}

#[test]
fn future_timestamps_are_clamped_to_now() {
    let mut book = book();
    let now = at(T0) + Duration::from_millis(750);
    assert_eq!(book.add(&key(1), &listeners(1), T0 + 1_000_000, now), AddOutcome::Added);
    assert_eq!(book.get(&key(1)).unwrap().timestamp, now);
    // The `R` reply carries whole seconds.
    assert_eq!(book.random(&key(9), &mut StdRng::seed_from_u64(1)).unwrap().timestamp, T0);
    // A replay of the same future announcement 7 minutes later counts as "now" again: updated.
    let later = now + minutes(7);
    assert_eq!(book.add(&key(1), &listeners(1), T0 + 1_000_000, later), AddOutcome::Updated);
    assert_eq!(book.get(&key(1)).unwrap().timestamp, later);
}

#[test]
fn expire_at_exactly_55_minutes_and_update_time_keeps_peers() {
    let mut book = book();
    book.add(&key(1), &listeners(1), T0, at(T0));
    book.add(&key(2), &listeners(2), T0, at(T0));
    book.add(&key(3), &listeners(3), T0 + 60, at(T0 + 60));
    book.take_changed();
    // bitmarkd's UpdateTime: the upstream polled key 2 at T0 + 50 min.
    assert!(book.update_time(&key(2), at(T0) + minutes(50)));
    assert!(!book.update_time(&key(9), at(T0)));
    assert!(!book.update_time(b"short", at(T0)));
    assert!(book.expire(at(T0) + minutes(55)).is_empty());
    assert!(!book.is_changed());
    let gone = book.expire(at(T0) + minutes(55) + Duration::from_nanos(1));
    assert_eq!(gone, [(key(1), listeners(1))]);
    assert!(book.take_changed());
    let gone = book.expire(at(T0 + 60) + minutes(55) + Duration::from_secs(1));
    assert_eq!(gone, [(key(3), listeners(3))]);
    // Never ourselves; key 2 lives 55 minutes from its update.
    assert!(book.expire(at(T0) + minutes(105)).is_empty());
    assert_eq!(book.expire(at(T0) + minutes(106)), [(key(2), listeners(2))]);
    assert_eq!(book.len(), 1);
    assert_eq!(book.stats().expired, 3);
    assert!(book.contains(&OWN));
}

#[test]
fn expired_entries_are_released_in_key_order() {
    let mut book = book();
    for n in [9, 3, 7] {
        book.add(&key(n), &listeners(n), T0 + u64::from(n), at(T0 + 10));
    }
    let gone: Vec<[u8; 32]> = book.expire(at(T0 + 4000)).into_iter().map(|(k, _)| k).collect();
    assert_eq!(gone, [key(3), key(7), key(9)]);
}

/// bitmarkd receptor_test TestRandom, and our guarantee: never ourselves or the requester, and
/// an answer whenever one exists.
#[test]
fn random_never_returns_self_or_the_requester() {
    let mut book = book();
    let mut rng = StdRng::seed_from_u64(7);
    assert_eq!(book.random(&key(1), &mut rng), None);
    book.add(&key(1), &listeners(1), T0, at(T0));
    // Only ourselves and the requester: nothing to give (bitmarkd: InvalidPublicKey).
    assert_eq!(book.random(&key(1), &mut rng), None);
    assert_eq!(book.random(&OWN, &mut rng).map(|e| e.public_key), Some(key(1).to_vec()));
    book.add(&key(2), &listeners(2), T0, at(T0));
    book.add(&key(0xf0), &listeners(3), T0, at(T0));
    let mut seen = BTreeSet::new();
    for _ in 0..300 {
        let entry = book.random(&key(1), &mut rng).unwrap();
        assert_ne!(entry.public_key, OWN.to_vec());
        assert_ne!(entry.public_key, key(1).to_vec());
        seen.insert(entry.public_key);
    }
    assert_eq!(seen, BTreeSet::from([key(2).to_vec(), key(0xf0).to_vec()]));
    // An unknown requester excludes nothing but us.
    let all: BTreeSet<Vec<u8>> = (0..300).map(|_| book.random(&key(9), &mut rng).unwrap().public_key).collect();
    assert_eq!(all.len(), 3);
    // With the system RNG through the listener's trait.
    let (_, announcer) = announcer(TableLimits::default());
    assert!(announcer.add_peer(&key(1), &listeners(1), T0));
    assert!(announcer.add_peer(&key(2), &listeners(2), T0));
    for _ in 0..100 {
        assert_eq!(announcer.random_peer(&key(1)).unwrap().public_key, key(2).to_vec());
    }
}

#[test]
fn implausible_announcements_are_refused() {
    let mut book = book();
    let now = at(T0);
    let refused = |r| AddOutcome::Refused(Refusal::Implausible(r));
    assert_eq!(book.add(&OWN, &listeners(1), T0, now), refused(Implausible::OwnKey));
    assert_eq!(book.add(&[1; 31], &listeners(1), T0, now), refused(Implausible::KeyLength));
    assert_eq!(book.add(&[1; 33], &listeners(1), T0, now), refused(Implausible::KeyLength));
    assert_eq!(book.add(&key(1), &[], T0, now), refused(Implausible::Listeners));
    assert_eq!(book.add(&key(1), &listeners(1)[..18], T0, now), refused(Implausible::Listeners));
    assert_eq!(book.add(&key(1), &[0x13, 0xff], T0, now), refused(Implausible::Listeners));
    assert_eq!(book.len(), 1);
    // Our own entry is untouched by anyone announcing our key.
    assert_eq!(book.get(&OWN).unwrap().listeners, listeners(200));
    // The 7-byte IPv4 form is stored in the 19-byte form.
    assert_eq!(book.add(&key(1), &[7, 0x08, 0x58, 192, 0, 2, 1], T0, now), AddOutcome::Added);
    assert_eq!(book.get(&key(1)).unwrap().listeners, listeners(1));
}

#[test]
fn static_peers_are_pinned() {
    let mut book = book();
    book.add(&key(1), &listeners(1), T0, at(T0));
    assert_eq!(book.add_static(&OWN, &listeners(2), at(T0)), Err(Implausible::OwnKey));
    assert_eq!(book.add_static(&key(2), &[], at(T0)), Err(Implausible::Listeners));
    book.add_static(&key(2), &listeners(2), at(T0)).unwrap();
    // A learned entry becomes static with the configured listeners.
    book.add_static(&key(1), &listeners(11), at(T0)).unwrap();
    assert_eq!(book.get(&key(1)).unwrap().origin, Origin::Static);
    // Announcements refresh the time (7-minute rule still applies) but not the listeners.
    assert_eq!(book.add(&key(2), &listeners(99), T0 + 60, at(T0 + 60)), AddOutcome::Refused(Refusal::TooSoon));
    assert_eq!(book.add(&key(2), &listeners(99), T0 + 420, at(T0 + 420)), AddOutcome::Updated);
    let entry = book.get(&key(2)).unwrap();
    assert_eq!((entry.listeners, entry.timestamp), (listeners(2), at(T0 + 420)));
    // Never expired.
    assert!(book.expire(at(T0 + 100_000)).is_empty());
    assert_eq!(book.len(), 3);
    // Handed out by random like anyone else.
    let mut rng = StdRng::seed_from_u64(3);
    assert!(book.random(&key(1), &mut rng).is_some_and(|e| e.public_key == key(2).to_vec()));
}

#[test]
fn a_flood_of_random_keys_stays_bounded() {
    let limit = 100;
    let mut book = PeerBook::new(OWN, listeners(200), at(T0), limit);
    book.add_static(&key(1), &listeners(1), at(T0)).unwrap();
    let mut rng = StdRng::seed_from_u64(42);
    let mut newest = Vec::new();
    for i in 0..20_000u64 {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        let now = at(T0 + i / 10);
        assert_eq!(book.add(&k, &listeners((i % 250) as u8 + 1), T0 + i / 10, now), AddOutcome::Added);
        // Ties in time are evicted in key order, so only count on the last 9 seconds' keys.
        if i >= 20_000 - 90 {
            newest.push(k);
        }
        assert!(book.len() <= limit);
    }
    assert_eq!(book.len(), limit);
    assert!(book.contains(&OWN) && book.contains(&key(1)));
    // The newest entries survived.
    assert!(newest.iter().all(|k| book.contains(k)));
    assert_eq!(book.stats().evicted, 20_000 - 98);
    // A new key older than everything evictable is refused, not swapped in.
    assert_eq!(book.add(&key(2), &listeners(2), T0, at(T0 + 2000)), AddOutcome::Refused(Refusal::Full));
}

#[test]
fn rebalance_names_the_keys_at_bitmarkds_positions() {
    let mut rng = StdRng::seed_from_u64(5);
    for count in 1..=20usize {
        let mut book = book();
        while book.len() < count {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            book.add(&k, &listeners(book.len() as u8), T0, at(T0));
        }
        let sorted: Vec<[u8; 32]> = book.records().into_iter().map(|r| r.public_key).collect();
        let own = sorted.iter().position(|k| *k == OWN).unwrap();
        let expected: Vec<_> = targets(own, count).into_iter().map(|(slot, i)| (slot, sorted[i])).collect();
        let got: Vec<_> = book.rebalance().into_iter().map(|t| (t.slot, t.public_key)).collect();
        assert_eq!(got, expected, "count {count}");
        assert!(got.iter().all(|(_, k)| *k != OWN));
        assert_eq!(got.is_empty(), count == 1);
    }
}

#[test]
fn the_r_reply_through_the_listener() {
    use crate::listener::{Handler, NoRelay};
    use crate::testing::{FakeChain, FakePool};
    use crate::transport::{PeerInfo, Service};
    use crate::wire::{Reply, Request};
    use bitmark_record::{Chain, Fault};
    let (_, announcer) = announcer(TableLimits::default());
    let announcer = Arc::new(announcer);
    let handler = Handler::new(
        "zero",
        Arc::new(FakeChain::new(Chain::Local, 1)),
        Arc::new(FakePool::default()),
        announcer.clone(),
        Arc::new(NoRelay),
    );
    let register = |k: [u8; 32], n: u8| Request::Register {
        chain: Chain::Local,
        public_key: k.to_vec(),
        listeners: listeners(n),
        timestamp: T0,
    };
    // Alone with us: bitmarkd's InvalidPublicKey.
    assert_eq!(handler.handle(&PeerInfo::default(), register(key(1), 1)), Reply::from(Fault::InvalidPublicKey));
    assert_eq!(
        handler.handle(&PeerInfo::default(), register(key(2), 2)),
        Reply::Registered { chain: Chain::Local, public_key: key(1).to_vec(), listeners: listeners(1), timestamp: T0 }
    );
    assert_eq!(announcer.peer_count(), 3);
    // Our own key in an `R` is not stored, and never named back.
    handler.handle(&PeerInfo::default(), register(OWN, 3));
    assert_eq!(announcer.peer(&OWN).unwrap().listeners, announcer.own_listeners());
}

#[test]
fn the_default_bound_holds_through_the_listeners_trait() {
    let (_, announcer) = announcer(TableLimits::default());
    let mut rng = StdRng::seed_from_u64(9);
    for i in 0..(DEFAULT_MAX_PEERS as u64 + 2_500) {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        assert!(announcer.add_peer(&k, &listeners(1), T0 - 3000 + i / 8));
    }
    assert_eq!(announcer.peer_count(), DEFAULT_MAX_PEERS);
    assert_eq!(announcer.peer_stats().evicted, 2_501);
    assert!(announcer.peer(&OWN).is_some());
    assert!(announcer.random_peer(&OWN).is_some());
}
