//! Two nodes over the in-memory network, each with a real announcer and bus: registration in
//! both directions, then a `peer` announcement relayed from one node to the other's upstreams
//! under the 7-minute rule and the bus dedup.

use super::*;
use crate::announce::{Action, Announcer};
use crate::bus::{Bus, Subscriber};
use crate::listener::Handler;
use crate::testing::{FakeChain, FakePool};
use crate::transport::{MemoryNetwork, Transport};
use crate::wire::{Push, Reply, Request};
use bitmark_record::{Chain, Fault};

const CHAIN: Chain = Chain::Local;

struct Node {
    announcer: Arc<Announcer>,
    bus: Bus,
    /// Stands for the node's upstreams: what it would push to other nodes.
    upstream: Subscriber,
    addr: SocketAddr,
}

fn node(network: &MemoryNetwork, clock: &Arc<ManualClock>, own: [u8; 32], n: u8) -> Node {
    let addr = SocketAddr::from(([10, 0, 0, n], 22136));
    let announcer = Arc::new(Announcer::new(own, &[addr], TableLimits::default(), clock.clone()));
    let bus = Bus::new();
    let upstream = bus.subscribe(format!("upstreams of {n}"), 16);
    let handler = Handler::new(
        "zero",
        Arc::new(FakeChain::new(CHAIN, 1)),
        Arc::new(FakePool::default()),
        announcer.clone(),
        Arc::new(bus.clone()),
    );
    network.listen(addr, CHAIN, Arc::new(handler));
    Node { announcer, bus, upstream, addr }
}

fn register(from: &Node, to: &Node, network: &MemoryNetwork, now: u64) -> Reply {
    let mut client = network.connect(to.addr, CHAIN, "client");
    let request = Request::Register {
        chain: CHAIN,
        public_key: from.announcer.own_key().to_vec(),
        listeners: from.announcer.own_listeners(),
        timestamp: now,
    };
    client.request(&request).unwrap()
}

/// Run `node`'s announcer at `now`, putting its broadcasts on its bus, and push whatever its
/// upstream queue holds to `to`.
fn tick_and_push(node: &Node, to: &Node, network: &MemoryNetwork, now: SystemTime) {
    for action in node.announcer.tick(now) {
        if let Action::Broadcast(push) = action {
            node.bus.send(push);
        }
    }
    let mut client = network.connect(to.addr, CHAIN, "upstream");
    while let Some(item) = node.upstream.try_recv() {
        let reply = client.request(&Request::Push((*item).clone())).unwrap();
        assert_eq!(reply, Reply::Ack(item.command().to_vec()));
    }
}

#[test]
fn two_nodes_register_and_relay_an_announcement() {
    let network = MemoryNetwork::new();
    let clock = Arc::new(ManualClock::at_unix(T0));
    let a = node(&network, &clock, key(0xa0), 1);
    let b = node(&network, &clock, key(0xb0), 2);
    let c = node(&network, &clock, key(0xc0), 3);

    // B registers with A: A knows nobody else yet.
    assert_eq!(register(&b, &a, &network, T0), Reply::from(Fault::InvalidPublicKey));
    // A registers with B: B names nobody but A, so it fails too; C registers with A and hears of B.
    assert_eq!(register(&a, &b, &network, T0), Reply::from(Fault::InvalidPublicKey));
    let reply = register(&c, &a, &network, T0);
    assert_eq!(
        reply,
        Reply::Registered {
            chain: CHAIN,
            public_key: key(0xb0).to_vec(),
            listeners: b.announcer.own_listeners(),
            timestamp: T0
        }
    );
    assert_eq!(a.announcer.peer_count(), 3);
    // Registrations are not relayed.
    assert!(a.upstream.is_empty());

    // B's first tick (start-up rebalance) and its pass at 2 minutes: it announces itself to A.
    // A registered it at T0, so a stamp of T0 + 2 min is not 7 minutes newer: not relayed.
    b.announcer.tick(clock.wall());
    clock.advance(minutes(2));
    tick_and_push(&b, &a, &network, clock.wall());
    assert!(a.upstream.is_empty());

    // B's next pass at 13 minutes is: A updates B and relays the announcement to its upstreams.
    clock.advance(minutes(11));
    tick_and_push(&b, &a, &network, clock.wall());
    let relayed = a.upstream.try_recv().expect("A relays B's announcement");
    assert_eq!(
        *relayed,
        Push::Peer { public_key: key(0xb0).to_vec(), listeners: b.announcer.own_listeners(), timestamp: T0 + 13 * 60 }
    );
    assert_eq!(a.announcer.peer(&key(0xb0)).unwrap().timestamp, at(T0 + 13 * 60));
    // The same announcement arriving again (from another path) is neither stored nor relayed.
    let mut client = network.connect(a.addr, CHAIN, "d");
    client.request(&Request::Push((*relayed).clone())).unwrap();
    assert!(a.upstream.is_empty());
    assert_eq!(a.bus.stats().duplicates, 0);
    // Had A's table said yes, the bus would still have dropped the repeat.
    a.bus.send((*relayed).clone());
    assert_eq!(a.bus.stats().duplicates, 1);
}
