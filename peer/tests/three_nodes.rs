//! The pieces joined, over the in-memory network and over real CURVE sockets on loopback, on
//! one manual clock: each node has an
//! `Announcer` as its listener's peer table and upstreams' liveness, and a `Bus` as its
//! listener's relay with its upstreams' push queues subscribed. The rebalance names the peer to
//! connect to, the upstream registers and learns a peer from the `R` reply, its polls keep the
//! peer fresh in the table, and items sent on one node's bus are pushed to the next node, which
//! relays what is new to the node after it.
//!
//! ```text
//!   A ──upstream──► B ──upstream──► C
//! ```

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_peer::announce::{Action, Announcer, ConnectorCommand, TableLimits};
use bitmark_peer::bus::{Bus, Sent};
use bitmark_peer::clock::{Clock, ManualClock};
use bitmark_peer::listener::{Handler, PeerTable};
use bitmark_peer::score::ScoreBoard;
use bitmark_peer::testing::{FakeChain, FakePool};
use bitmark_peer::transport::{CurveKeys, ListenerConfig, ListenerLimits, MemoryNetwork, ZmqListener};
use bitmark_peer::upstream::{Identity, MemoryDialer, Target, Upstream, UpstreamConfig, UpstreamEnv, ZmqDialer};
use bitmark_peer::wire::packed_address::{pack_all, unpack_all};
use bitmark_peer::wire::Push;
use bitmark_record::Chain;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

const CHAIN: Chain = Chain::Local;

/// Start of virtual time.
const T0: u64 = 1_700_000_000;

/// How the nodes reach each other.
#[derive(Clone)]
enum Net {
    /// The in-memory network: fake addresses, no keys needed.
    Memory(MemoryNetwork),
    /// libzmq with CURVE on 127.0.0.1.
    Zmq(zmq::Context),
}

impl Net {
    /// Where node `n` listens, and its key pair.
    fn place(&self, n: u8) -> (SocketAddr, CurveKeys) {
        match self {
            Net::Memory(_) => {
                let key = [n << 4; 32];
                (SocketAddr::from(([10, 0, 0, n], 22136)), CurveKeys { public: key, secret: key })
            }
            Net::Zmq(_) => {
                // A free port: bind, read it, release it for the listener.
                let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
                (SocketAddr::from(([127, 0, 0, 1], port)), CurveKeys::generate().unwrap())
            }
        }
    }
}

/// One node: its announcer, bus and pool, serving its handler at `addr`.
struct Node {
    name: &'static str,
    key: [u8; 32],
    keys: CurveKeys,
    addr: SocketAddr,
    announcer: Arc<Announcer>,
    bus: Bus,
    pool: Arc<FakePool>,
    net: Net,
    _listener: Option<ZmqListener>,
    clock: Arc<ManualClock>,
}

impl Node {
    fn new(name: &'static str, n: u8, net: &Net, clock: &Arc<ManualClock>) -> Node {
        let (addr, keys) = net.place(n);
        let key = keys.public;
        let announcer = Arc::new(Announcer::new(key, &[addr], TableLimits::default(), clock.clone()));
        let bus = Bus::new();
        let pool = Arc::new(FakePool::default());
        let handler = Handler::new(
            "zero",
            Arc::new(FakeChain::new(CHAIN, 3)),
            pool.clone(),
            announcer.clone(),
            Arc::new(bus.clone()),
        );
        let listener = match net {
            Net::Memory(network) => {
                network.listen(addr, CHAIN, Arc::new(handler));
                None
            }
            Net::Zmq(context) => {
                let config = ListenerConfig {
                    chain: CHAIN,
                    listen: vec![addr],
                    secret_key: keys.secret,
                    limits: ListenerLimits::default(),
                };
                Some(ZmqListener::start(context, config, Arc::new(handler)).unwrap())
            }
        };
        Node {
            name,
            key,
            keys,
            addr,
            announcer,
            bus,
            pool,
            net: net.clone(),
            _listener: listener,
            clock: clock.clone(),
        }
    }

    /// An upstream of this node: registers as this node, tells its announcer about the peers
    /// it hears of and polls, and pushes what this node's bus sends.
    fn upstream(&self) -> Upstream {
        let env = UpstreamEnv {
            identity: Identity { public_key: self.key.to_vec(), listeners: self.announcer.own_listeners() },
            chain: Arc::new(FakeChain::new(CHAIN, 3)),
            peers: self.announcer.clone(),
            liveness: self.announcer.clone(),
            scores: Arc::new(ScoreBoard::default()),
            clock: self.clock.clone(),
        };
        let config = UpstreamConfig::default();
        let upstream = match &self.net {
            Net::Memory(network) => Upstream::start(config, MemoryDialer::new(network, CHAIN, self.name), env),
            Net::Zmq(context) => {
                let dialer = ZmqDialer::for_upstream(context, CHAIN, self.keys.clone(), &config);
                Upstream::start(config, dialer, env)
            }
        }
        .unwrap();
        upstream.subscribe(&self.bus);
        upstream
    }

    /// The connector's part, reduced to what this test needs: the first target of the start-up
    /// rebalance, at its first listener address.
    fn rebalance_target(&self) -> Target {
        let actions = self.announcer.tick(self.clock.wall());
        let target = actions
            .iter()
            .find_map(|action| match action {
                Action::Connector(ConnectorCommand::Connect(target)) => Some(target.clone()),
                _ => None,
            })
            .expect("the rebalance names a peer");
        let address = *unpack_all(&target.listeners).first().expect("a listener");
        Target { address, public_key: target.public_key }
    }
}

/// Wait (in real time: the upstreams run on threads) until `condition` holds.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn announce_upstream_bus_and_listener_work_together_in_memory() {
    three_nodes(Net::Memory(MemoryNetwork::new()));
}

#[test]
fn announce_upstream_bus_and_listener_work_together_over_curve() {
    three_nodes(Net::Zmq(zmq::Context::new()));
}

fn three_nodes(net: Net) {
    let clock = Arc::new(ManualClock::at_unix(T0));
    let a = Node::new("a", 0xa, &net, &clock);
    let b = Node::new("b", 0xb, &net, &clock);
    let c = Node::new("c", 0xc, &net, &clock);

    // Bootstrap (DNS or peers.json in a node): A knows B, heard of 10 minutes ago; B knows C.
    let b_listeners = b.announcer.own_listeners();
    assert!(a.announcer.add_peer_at(&b.key, &b_listeners, T0 - 600, clock.wall()).relay());
    assert!(b.announcer.add_peer(&c.key, &c.announcer.own_listeners(), T0));

    // B's rebalance points its upstream at C; it registers (C stores B, and names nobody).
    let b_to_c = b.upstream();
    let target = b.rebalance_target();
    assert_eq!(target, Target { address: c.addr, public_key: c.key });
    b_to_c.retarget(target).unwrap();
    eventually("B registered with C", || b_to_c.is_registered());
    assert_eq!(c.announcer.peer(&b.key).map(|p| p.listeners), Some(b_listeners.clone()));

    // A's upstream registers with B: B stores A and names C, which A's table learns.
    let a_to_b = a.upstream();
    let target = a.rebalance_target();
    assert_eq!(target, Target { address: b.addr, public_key: b.key });
    a_to_b.retarget(target).unwrap();
    eventually("A polled B", || a_to_b.status().local_height.is_some());
    assert!(b.announcer.peer(&a.key).is_some());
    let learned = a.announcer.peer(&c.key).expect("A learned C from B's R reply");
    assert_eq!(learned.listeners, c.announcer.own_listeners());
    assert_eq!(learned.timestamp, UNIX_EPOCH + Duration::from_secs(T0));
    // A's poll of B answered: B is stamped now in A's table (bitmarkd's updatetime).
    assert_eq!(a.announcer.peer(&b.key).unwrap().timestamp, clock.wall());
    assert_eq!(a_to_b.status().remote_height, Some(4));

    // Items sent on A's bus reach B through A's upstream; B accepts them and relays them on its
    // bus, so its upstream pushes them on to C. The peer D is new to B, so B relays it.
    let d_key = [0xd0; 32];
    let d_listeners = pack_all(&[SocketAddr::from(([10, 0, 0, 0xd], 22136))]);
    let announcement = Push::Peer { public_key: d_key.to_vec(), listeners: d_listeners.clone(), timestamp: T0 };
    let transfer = Push::Transfer(b"a transfer".to_vec());
    assert_eq!(a.bus.send(announcement.clone()), Sent::Queued { delivered: 1, dropped: 0 });
    assert_eq!(a.bus.send(transfer.clone()), Sent::Queued { delivered: 1, dropped: 0 });
    eventually("B took the transfer", || !b.pool.submitted().is_empty());
    assert_eq!(b.pool.submitted(), [("transfer", b"a transfer".to_vec())]);
    eventually("C heard of D through B", || c.announcer.peer(&d_key).is_some());
    assert!(b.announcer.peer(&d_key).is_some());
    assert_eq!(c.announcer.peer(&d_key).unwrap().listeners, d_listeners);
    eventually("C took the transfer", || !c.pool.submitted().is_empty());
    assert_eq!(c.pool.submitted(), [("transfer", b"a transfer".to_vec())]);

    // The bus's dedup: the same announcement again is dropped on A before any upstream.
    assert_eq!(a.bus.send(announcement), Sent::Duplicate);
    // Nothing was dropped on the way.
    for queue in [a_to_b.queue(), b_to_c.queue()] {
        let stats = queue.stats();
        assert_eq!((stats.queued, stats.dropped, stats.displaced, stats.discarded), (2, 0, 0, 0));
    }
    assert_eq!(b.bus.stats().duplicates, 0);

    // Closed upstreams leave their buses.
    assert_eq!((a.bus.stats().consumers, b.bus.stats().consumers), (1, 1));
    a_to_b.close();
    b_to_c.close();
    assert_eq!((a.bus.stats().consumers, b.bus.stats().consumers), (0, 0));
}
