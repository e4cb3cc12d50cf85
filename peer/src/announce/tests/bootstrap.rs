//! DNS bootstrap: the `nodes` setting (`none` works), lookups through the injected resolver,
//! the refresh schedule.

use super::*;
use crate::announce::bootstrap::{refresh_interval, Bootstrap, FixedRecords, Nodes, NotConfigured};
use crate::announce::AnnounceError;
use bitmark_record::Chain;
use std::collections::BTreeMap;

const FP: &str = "48137a7a76934cafe7635c9ac05339c20f4c00a724d7fa1dc0dc3875476ed004";

fn record(n: u8) -> String {
    format!("bitmark=v3 a=192.0.2.{n};[2001:db8::{n}] c=2136 r=2130 f={FP} p={}", hex::encode(key(n)))
}

fn fixed(domain: &str, texts: Vec<String>, ttl: Option<Duration>) -> Box<FixedRecords> {
    Box::new(FixedRecords { records: BTreeMap::from([(domain.to_string(), texts)]), ttl })
}

#[test]
fn the_nodes_setting() {
    assert_eq!("none".parse::<Nodes>().unwrap(), Nodes::None);
    assert_eq!("chain".parse::<Nodes>().unwrap(), Nodes::Chain);
    assert_eq!("nodes.example.org".parse::<Nodes>().unwrap(), Nodes::Domain("nodes.example.org".into()));
    let blank = "".parse::<Nodes>().unwrap_err();
    assert!(matches!(blank, AnnounceError::BlankNodes));
    assert_eq!(blank.to_string(), "nodes cannot be blank choose from: none, chain or sub.domain.tld");
    assert_eq!(Nodes::Chain.domain(Chain::Bitmark).as_deref(), Some("nodes.live.bitmark.com"));
    assert_eq!(Nodes::Chain.domain(Chain::Testing).as_deref(), Some("nodes.test.bitmark.com"));
    assert_eq!(Nodes::Chain.domain(Chain::Local).as_deref(), Some("nodes.localdomain"));
    assert_eq!(Nodes::None.domain(Chain::Bitmark), None);
    // `none` means no bootstrap at all (bitmarkd refuses to start).
    assert!(Bootstrap::new(&Nodes::None, Chain::Bitmark, Box::new(NotConfigured)).is_none());
}

#[test]
fn records_become_peers() {
    let (clock, announcer) = announcer(TableLimits::default());
    let texts =
        vec![record(1), "bitmark=v3 junk".into(), format!("  {}  ", record(2)), record(3).replace("c=2136", "c=0")];
    let mut bootstrap =
        Bootstrap::new(&Nodes::Domain("nodes.test".into()), Chain::Local, fixed("nodes.test", texts, None)).unwrap();
    assert_eq!(bootstrap.domain(), "nodes.test");
    assert!(bootstrap.is_due(clock.wall()));
    assert_eq!(bootstrap.run(&announcer, clock.wall()).unwrap(), 2);
    let peer = announcer.peer(&key(1)).unwrap();
    let v4: SocketAddr = "192.0.2.1:2136".parse().unwrap();
    let v6: SocketAddr = "[2001:db8::1]:2136".parse().unwrap();
    assert_eq!(peer.listeners, pack_all(&[v4, v6]));
    assert_eq!(peer.timestamp, clock.wall());
    assert!(announcer.peer(&key(2)).is_some());
    assert_eq!(announcer.peer_count(), 3);
    // Next lookup an hour later (no TTL known).
    assert_eq!(bootstrap.next_due(), Some(clock.wall() + Duration::from_secs(3600)));
    assert!(!bootstrap.is_due(clock.wall() + Duration::from_secs(3599)));
    assert!(bootstrap.is_due(clock.wall() + Duration::from_secs(3600)));
}

#[test]
fn our_own_record_is_not_a_peer() {
    let (clock, announcer) = announcer(TableLimits::default());
    let own = format!("bitmark=v3 a=192.0.2.9 c=2136 r=2130 f={FP} p={}", hex::encode(OWN));
    let mut bootstrap =
        Bootstrap::new(&Nodes::Chain, Chain::Local, fixed("nodes.localdomain", vec![own], None)).unwrap();
    assert_eq!(bootstrap.run(&announcer, clock.wall()).unwrap(), 1);
    assert_eq!(announcer.peer_count(), 1);
    assert_eq!(announcer.peer(&OWN).unwrap().listeners, announcer.own_listeners());
}

#[test]
fn failures_retry_after_five_minutes() {
    let (clock, announcer) = announcer(TableLimits::default());
    let mut bootstrap = Bootstrap::new(&Nodes::Chain, Chain::Bitmark, Box::new(NotConfigured)).unwrap();
    assert!(matches!(bootstrap.run(&announcer, clock.wall()), Err(AnnounceError::NoResolver)));
    assert_eq!(bootstrap.next_due(), Some(clock.wall() + minutes(5)));
    let mut unknown = Bootstrap::new(&Nodes::Chain, Chain::Bitmark, fixed("elsewhere", vec![], None)).unwrap();
    assert!(matches!(unknown.run(&announcer, clock.wall()), Err(AnnounceError::DnsLookup(_))));
    // No records at all is a successful lookup.
    let mut empty =
        Bootstrap::new(&Nodes::Chain, Chain::Bitmark, fixed("nodes.live.bitmark.com", vec![], None)).unwrap();
    assert_eq!(empty.run(&announcer, clock.wall()).unwrap(), 0);
}

#[test]
fn refresh_follows_the_ttl_within_bounds() {
    assert_eq!(refresh_interval(None), Duration::from_secs(3600));
    assert_eq!(refresh_interval(Some(Duration::ZERO)), Duration::from_secs(3600));
    assert_eq!(refresh_interval(Some(Duration::from_secs(300))), Duration::from_secs(300));
    assert_eq!(refresh_interval(Some(Duration::from_secs(3599))), Duration::from_secs(3599));
    assert_eq!(refresh_interval(Some(Duration::from_secs(3600))), Duration::from_secs(3600));
    assert_eq!(refresh_interval(Some(Duration::from_secs(86_400))), Duration::from_secs(3600));
    assert_eq!(refresh_interval(Some(Duration::from_secs(5))), Duration::from_secs(60));
    let (clock, announcer) = announcer(TableLimits::default());
    let mut bootstrap = Bootstrap::new(
        &Nodes::Chain,
        Chain::Local,
        fixed("nodes.localdomain", vec![record(1)], Some(Duration::from_secs(300))),
    )
    .unwrap();
    bootstrap.run(&announcer, clock.wall()).unwrap();
    assert_eq!(bootstrap.next_due(), Some(clock.wall() + Duration::from_secs(300)));
}
