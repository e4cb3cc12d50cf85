//! Upstreams over libzmq CURVE on loopback: registration with a real listener, polling,
//! block and digest fetches, error replies, timeouts against a server that never answers,
//! back-off until a server comes up, and re-registration on retarget.

use crate::common::*;
use bitmark_peer::bus::BroadcastSink;
use bitmark_peer::clock::SystemClock;
use bitmark_peer::listener::ChainView;
use bitmark_peer::score::{Offence, ScoreBoard};
use bitmark_peer::testing::{FakeChain, FakePeers, FakePool, Fixture};
use bitmark_peer::transport::{CurveKeys, ListenerConfig, ListenerLimits, ZmqListener};
use bitmark_peer::upstream::{
    Backoff, Identity, LinkState, NoLiveness, Target, Upstream, UpstreamConfig, UpstreamEnv, ZmqDialer,
};
use bitmark_peer::wire::{packed_address, Push};
use bitmark_peer::{TransportError, UpstreamError};
use bitmark_record::BlockDigest;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Short timings, so that failures show within a test's patience.
fn quick() -> UpstreamConfig {
    UpstreamConfig {
        request_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(300),
        poll_interval: Duration::from_millis(200),
        backoff: Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(400) },
        queue_capacity: 16,
    }
}

/// Our node: keys, a chain of height 3, a peer table and a score table.
struct Node {
    context: zmq::Context,
    keys: CurveKeys,
    peers: Arc<FakePeers>,
    scores: Arc<ScoreBoard>,
}

impl Node {
    fn new() -> Node {
        Node {
            context: zmq::Context::new(),
            keys: CurveKeys::generate().unwrap(),
            peers: Arc::new(FakePeers::default()),
            scores: Arc::new(ScoreBoard::default()),
        }
    }

    fn upstream(&self, config: UpstreamConfig) -> Upstream {
        let listeners = packed_address::pack_all(&["127.0.0.1:12136".parse().unwrap()]);
        let env = UpstreamEnv {
            identity: Identity { public_key: self.keys.public.to_vec(), listeners },
            chain: Arc::new(FakeChain::new(CHAIN, 2)),
            peers: self.peers.clone(),
            liveness: Arc::new(NoLiveness),
            scores: Arc::clone(&self.scores),
            clock: Arc::new(SystemClock),
        };
        let dialer = ZmqDialer::for_upstream(&self.context, CHAIN, self.keys.clone(), &config);
        Upstream::start(config, dialer, env).unwrap()
    }
}

fn target(server: &Server) -> Target {
    Target { address: server.addr(), public_key: server.keys.public }
}

/// Wait until `condition` holds, for at most 10 s.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn registers_polls_and_fetches_over_curve() {
    let server = Server::on(loopback(false));
    let node = Node::new();
    let upstream = node.upstream(quick());
    upstream.retarget(target(&server)).unwrap();
    eventually("a poll", || upstream.status().remote_digest_of_local_height.is_some());

    // The listener stored our registration as sent.
    let stored = server.fixture.peers.peers();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].public_key, node.keys.public);
    assert_eq!(packed_address::unpack_all(&stored[0].listeners).len(), 1);

    let status = upstream.status();
    assert!(status.is_registered());
    assert_eq!(status.remote_height, Some(4));
    assert_eq!(status.local_height, Some(3));
    assert_eq!(status.remote_digest_of_local_height, Some(BlockDigest([3; 32])));
    assert!(status.active_within(Duration::from_secs(5), Instant::now()));

    assert_eq!(upstream.get_block_data(2).unwrap(), b"block-2");
    assert_eq!(upstream.remote_digest_of_height(4).unwrap(), BlockDigest([4; 32]));
    assert_eq!(upstream.remote_height().unwrap(), 4);
    // Remote `E` replies: "block not found" and any other text alike.
    assert!(matches!(upstream.get_block_data(5), Err(UpstreamError::BlockNotFound)));
    assert!(matches!(upstream.get_block_data(1), Err(UpstreamError::BlockNotFound)));
    assert!(matches!(upstream.remote_digest_of_height(99), Err(UpstreamError::BlockNotFound)));
    assert!(upstream.is_registered());
    assert_eq!(node.scores.standing(&server.keys.public, Instant::now()).points, 0.0);

    // Pushes reach the remote's pool.
    let queue = upstream.queue();
    assert!(queue.offer(Arc::new(Push::Transfer(b"T1".to_vec()))));
    eventually("the push", || !server.fixture.pool.submitted().is_empty());
    assert_eq!(server.fixture.pool.submitted(), [("transfer", b"T1".to_vec())]);
    upstream.close();
}

#[test]
fn the_peer_named_in_the_reply_reaches_our_table() {
    let server = Server::on(loopback(false));
    let packed = packed_address::pack_all(&["10.1.2.3:2136".parse().unwrap()]);
    use bitmark_peer::listener::PeerTable;
    server.fixture.peers.add_peer(&[7; 32], &packed, 1_700_000_000);
    let node = Node::new();
    let upstream = node.upstream(quick());
    upstream.retarget(target(&server)).unwrap();
    eventually("registration", || upstream.is_registered());
    let ours = node.peers.peers();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0].public_key, [7; 32]);
    assert_eq!(ours[0].listeners, packed);
    assert_eq!(ours[0].timestamp, 1_700_000_000);
}

/// A CURVE ROUTER that reads requests and answers only the functions in `answers` (`R` with
/// "invalid public key", `N` with 1, `H` with "block not found"), never anything else.
struct Silent {
    keys: CurveKeys,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Silent {
    fn start(context: &zmq::Context, answers: &'static [&'static [u8]]) -> Silent {
        let keys = CurveKeys::generate().unwrap();
        let router = context.socket(zmq::ROUTER).unwrap();
        router.set_curve_server(true).unwrap();
        router.set_curve_secretkey(&keys.secret).unwrap();
        router.set_linger(0).unwrap();
        router.set_rcvtimeo(20).unwrap();
        router.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = router.get_last_endpoint().unwrap().unwrap();
        let addr = endpoint.trim_start_matches("tcp://").parse().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                let Ok(frames) = router.recv_multipart(0) else { continue };
                let Some(delimiter) = frames.iter().position(Vec::is_empty) else { continue };
                let Some(function) = frames.get(delimiter + 2) else { continue };
                let answer: [&[u8]; 2] = match function.as_slice() {
                    b"R" => [b"E", b"invalid public key"],
                    b"N" => [b"N", &[0, 0, 0, 0, 0, 0, 0, 1]],
                    b"H" => [b"E", b"block not found"],
                    _ => continue,
                };
                if answers.contains(&function.as_slice()) {
                    let mut reply = frames[..=delimiter].to_vec();
                    reply.extend(answer.map(<[u8]>::to_vec));
                    router.send_multipart(reply, 0).unwrap();
                }
            }
        });
        Silent { keys, addr, stop, thread: Some(thread) }
    }

    fn target(&self) -> Target {
        Target { address: self.addr, public_key: self.keys.public }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

#[test]
fn a_server_that_never_answers_times_out_and_is_retried_with_back_off() {
    let node = Node::new();
    let silent = Silent::start(&node.context, &[]);
    let upstream = node.upstream(quick());
    upstream.retarget(silent.target()).unwrap();
    eventually(
        "three failed attempts",
        || matches!(upstream.status().state, LinkState::Connecting { failures, .. } if failures >= 3),
    );
    assert!(!upstream.is_registered());
    assert!(matches!(upstream.get_block_data(2), Err(UpstreamError::NotConnected)));
    // Unanswered registrations are not penalised: the peer never took us on.
    assert_eq!(node.scores.standing(&silent.keys.public, Instant::now()).points, 0.0);
    let started = Instant::now();
    upstream.close();
    assert!(started.elapsed() < Duration::from_secs(2), "close waits at most one request");
}

#[test]
fn a_call_that_times_out_drops_the_registration_and_is_penalised() {
    let node = Node::new();
    // Registers and answers polls, but never serves a block.
    let silent = Silent::start(&node.context, &[b"R", b"N", b"H"]);
    let upstream = node.upstream(quick());
    upstream.retarget(silent.target()).unwrap();
    eventually("a poll", || upstream.status().remote_height == Some(1));
    let started = Instant::now();
    let outcome = upstream.get_block_data(2);
    assert!(matches!(outcome, Err(UpstreamError::Transport(TransportError::Timeout))), "{outcome:?}");
    assert!(started.elapsed() >= Duration::from_millis(450), "{:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // (The caller's wait and the socket's end together; the thread reports the timeout.)
    eventually("the penalty", || {
        node.scores.standing(&silent.keys.public, Instant::now()).points > 0.9 * Offence::Timeout.points()
    });
    // The registration was dropped with the link; a fresh attempt registers again and answers.
    // (Asked until it does: right after registering, the fresh link can still be replaced once,
    // which answers this call `NotConnected`; seen one run in three on a loaded machine.)
    eventually("registered again", || upstream.is_registered());
    eventually("a height over the fresh link", || upstream.remote_height().is_ok_and(|h| h == 1));
}

#[test]
fn back_off_finds_a_server_that_comes_up_later() {
    let node = Node::new();
    // A free port, with nobody on it yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let server_keys = CurveKeys::generate().unwrap();
    let upstream = node.upstream(quick());
    upstream.retarget(Target { address: addr, public_key: server_keys.public }).unwrap();
    eventually(
        "two failed attempts",
        || matches!(upstream.status().state, LinkState::Connecting { failures, .. } if failures >= 2),
    );

    let fixture = Fixture::new(CHAIN, 3, FakePool::default());
    let config = ListenerConfig {
        chain: CHAIN,
        listen: vec![addr],
        secret_key: server_keys.secret,
        limits: ListenerLimits::default(),
    };
    let listener = ZmqListener::start(&zmq::Context::new(), config, fixture.handler.clone()).unwrap();
    let up = Instant::now();
    eventually("registration", || upstream.is_registered());
    // At most one capped delay (0.4 s) plus one attempt (0.3 s connect) later.
    assert!(up.elapsed() < Duration::from_secs(3), "{:?}", up.elapsed());
    assert_eq!(fixture.peers.peers().len(), 1);
    upstream.close();
    listener.shutdown();
}

#[test]
fn retarget_registers_with_the_new_peer() {
    let first = Server::on(loopback(false));
    let second = Server::on(loopback(false));
    let node = Node::new();
    let upstream = node.upstream(quick());
    upstream.retarget(target(&first)).unwrap();
    eventually("first registration", || upstream.status().remote_height.is_some());

    upstream.retarget(target(&second)).unwrap();
    eventually("second registration", || upstream.is_registered() && upstream.status().target == Some(target(&second)));
    assert!(upstream.is_connected_to(&second.keys.public));
    assert_eq!(second.fixture.peers.peers().len(), 1, "registered with the new target");
    assert_eq!(upstream.get_block_data(3).unwrap(), b"block-3");

    // And back: registration is sent again, not assumed.
    let before = first.fixture.peers.peers();
    std::thread::sleep(Duration::from_millis(1100)); // a newer timestamp
    upstream.retarget(target(&first)).unwrap();
    eventually("re-registration", || first.fixture.peers.peers() != before);
}

#[test]
fn two_nodes_register_with_each_other() {
    let a = Server::on(loopback(false));
    let b = Server::on(loopback(false));
    let upstream_of = |node: &Server| {
        let env = UpstreamEnv {
            identity: Identity {
                public_key: node.keys.public.to_vec(),
                listeners: packed_address::pack_all(&[node.addr()]),
            },
            chain: node.fixture.chain.clone() as Arc<dyn ChainView>,
            peers: node.fixture.peers.clone(),
            liveness: Arc::new(NoLiveness),
            scores: Arc::new(ScoreBoard::default()),
            clock: Arc::new(SystemClock),
        };
        let dialer = ZmqDialer::for_upstream(&node.context, CHAIN, node.keys.clone(), &quick());
        Upstream::start(quick(), dialer, env).unwrap()
    };
    let a_to_b = upstream_of(&a);
    let b_to_a = upstream_of(&b);
    a_to_b.retarget(target(&b)).unwrap();
    eventually("a registered with b", || a_to_b.is_registered());
    b_to_a.retarget(target(&a)).unwrap();
    eventually("b registered with a", || b_to_a.is_registered());
    // Each listener stored the other's registration.
    assert_eq!(b.fixture.peers.peers()[0].public_key, a.keys.public);
    assert_eq!(a.fixture.peers.peers()[0].public_key, b.keys.public);
}
