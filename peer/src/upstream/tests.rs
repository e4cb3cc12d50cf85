//! The session's state machine over the in-memory network, in virtual time: registration,
//! polling, back-off, loss and re-registration, retargeting, calls, pushes and penalties.
//! (The same over libzmq CURVE sockets is in `peer/tests/it/upstream.rs`.)

use super::UpstreamError;
use super::*;
use crate::bus::{BroadcastSink, Bus, Sent};
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::listener::{Handler, PeerTable};
use crate::score::{Offence, ScoreBoard, ScoreConfig};
use crate::testing::{FakeChain, FakePeers, FakePool, Fixture, GENESIS};
use crate::transport::{MemoryNetwork, PeerInfo, Service};
use crate::wire::{Push, Reply, Request};
use bitmark_record::{BlockDigest, Chain};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHAIN: Chain = Chain::Local;
const OUR_KEY: [u8; 32] = [0xaa; 32];
const SECOND: Duration = Duration::from_secs(1);

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, n], 22136))
}

fn target(n: u8) -> Target {
    Target { address: addr(n), public_key: [n; 32] }
}

/// Our side: a chain of height 3, a peer table, a score table, a clock, a liveness log.
struct Local {
    clock: Arc<ManualClock>,
    peers: Arc<FakePeers>,
    scores: Arc<ScoreBoard>,
    responded: Arc<Mutex<Vec<Vec<u8>>>>,
    network: MemoryNetwork,
}

impl Local {
    fn new() -> Local {
        Local {
            clock: Arc::new(ManualClock::at_unix(1_700_000_000)),
            peers: Arc::new(FakePeers::default()),
            scores: Arc::new(ScoreBoard::new(ScoreConfig::default())),
            responded: Arc::new(Mutex::new(Vec::new())),
            network: MemoryNetwork::new(),
        }
    }

    fn env(&self) -> UpstreamEnv {
        let responded = Arc::clone(&self.responded);
        UpstreamEnv {
            identity: Identity { public_key: OUR_KEY.to_vec(), listeners: b"our listeners".to_vec() },
            chain: Arc::new(FakeChain::new(CHAIN, 2)),
            peers: self.peers.clone(),
            liveness: Arc::new(move |key: &[u8]| responded.lock().unwrap().push(key.to_vec())),
            scores: Arc::clone(&self.scores),
            clock: self.clock.clone(),
        }
    }

    fn session(&self) -> Session<MemoryDialer> {
        let dialer = MemoryDialer::new(&self.network, CHAIN, "us");
        Session::new("upstream@test", UpstreamConfig::default(), dialer, self.env()).with_jitter(Jitter::seeded(5))
    }

    /// A remote node (a handler over a fixture with 3 blocks: height 4) at `addr(n)`.
    fn remote(&self, n: u8) -> Fixture {
        let fixture = Fixture::new(CHAIN, 3, FakePool::default());
        self.network.listen(addr(n), CHAIN, fixture.handler.clone());
        fixture
    }

    /// A remote at `addr(n)` answering with `answer` where it gives `Some`, else as `fixture`.
    fn scripted(&self, n: u8, answer: impl Fn(&Request) -> Option<Reply> + Send + Sync + 'static) -> Fixture {
        let fixture = Fixture::new(CHAIN, 3, FakePool::default());
        let service = Scripted { handler: fixture.handler.clone(), answer: Box::new(answer) };
        self.network.listen(addr(n), CHAIN, Arc::new(service));
        fixture
    }

    /// Move time to the next due step and run it.
    fn step(&self, session: &mut Session<MemoryDialer>) -> Instant {
        let due = session.next_due().expect("something is due");
        self.clock.advance_to(due);
        session.run_due();
        due
    }

    fn points(&self, n: u8) -> f64 {
        self.scores.standing(&[n; 32], self.clock.instant()).points
    }
}

type Answer = Box<dyn Fn(&Request) -> Option<Reply> + Send + Sync>;

struct Scripted {
    handler: Arc<Handler>,
    answer: Answer,
}

impl Service for Scripted {
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply {
        (self.answer)(&request).unwrap_or_else(|| self.handler.handle(peer, request))
    }
}

/// A push nobody acts on (bitmarkd's old heartbeat), acknowledged all the same.
fn heart() -> Push {
    Push::Other { command: b"heart".to_vec(), params: vec![] }
}

fn registered(session: &Session<MemoryDialer>) -> bool {
    session.is_registered()
}

#[test]
fn registers_at_once_then_polls_every_30_s() {
    let local = Local::new();
    let remote = local.remote(1);
    let mut session = local.session();
    assert_eq!(session.next_due(), None, "idle until targeted");
    let t0 = local.clock.instant();
    session.retarget(target(1));
    assert_eq!(session.next_due(), Some(t0));

    session.run_due();
    assert!(registered(&session));
    // The remote stored us; it knew nobody else, so answered "invalid public key", which
    // still registers.
    let stored = remote.peers.peers();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].public_key, OUR_KEY);
    assert_eq!(stored[0].listeners, b"our listeners");
    assert_eq!(stored[0].timestamp, 1_700_000_000);
    assert!(local.peers.peers().is_empty());

    // The first poll is due at once.
    assert_eq!(session.next_due(), Some(t0));
    session.run_due();
    let status = session.status();
    assert_eq!(status.remote_height, Some(4));
    assert_eq!(status.local_height, Some(3));
    assert_eq!(status.remote_digest_of_local_height, Some(BlockDigest([3; 32])));
    assert_eq!(status.last_response, Some(t0));
    assert_eq!(status.target, Some(target(1)));
    assert_eq!(*local.responded.lock().unwrap(), [vec![1u8; 32]]);

    assert_eq!(session.next_due(), Some(t0 + 30 * SECOND));
    local.clock.advance(29 * SECOND);
    session.run_due();
    assert_eq!(local.responded.lock().unwrap().len(), 1, "not yet");
    assert_eq!(local.step(&mut session), t0 + 30 * SECOND);
    assert_eq!(local.responded.lock().unwrap().len(), 2);
    assert!(session.status().active_within(Duration::from_secs(60), local.clock.instant()));
    assert!(!session.status().active_within(Duration::from_secs(60), local.clock.instant() + 60 * SECOND));
    assert_eq!(session.status().score, 0.0);
}

#[test]
fn the_peer_named_in_the_r_reply_goes_to_our_table() {
    let local = Local::new();
    let remote = local.remote(1);
    remote.peers.add_peer(&[7; 32], b"seven", 1_699_999_000);
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    assert!(registered(&session));
    let ours = local.peers.peers();
    assert_eq!(ours.len(), 1);
    assert_eq!((ours[0].public_key.as_slice(), ours[0].listeners.as_slice()), (&[7u8; 32][..], &b"seven"[..]));
    assert_eq!(ours[0].timestamp, 1_699_999_000);
}

#[test]
fn backs_off_exponentially_until_the_peer_comes_up() {
    let local = Local::new();
    let mut session = local.session();
    session.retarget(target(1));
    let mut delays = Vec::new();
    let mut last = local.step(&mut session);
    for _ in 0..10 {
        assert!(!registered(&session));
        let LinkState::Connecting { next_attempt, failures } = session.state() else {
            panic!("connecting: {:?}", session.state());
        };
        let delay = next_attempt - last;
        let ceiling = UpstreamConfig::default().backoff.ceiling(failures);
        assert!(delay >= ceiling / 2 && delay <= ceiling, "{failures}: {delay:?}");
        delays.push(delay);
        last = local.step(&mut session);
    }
    // 1-2 s, 2-4 s ... capped at 150-300 s; never a storm, never bitmarkd's fixed 2 min.
    assert!(delays[0] <= 2 * SECOND);
    assert!(delays[9] >= Duration::from_secs(150) && delays[9] <= Duration::from_secs(300));
    // An unreachable peer is not misbehaving.
    assert_eq!(local.points(1), 0.0);

    // It comes up: the next attempt registers.
    let remote = local.remote(1);
    local.step(&mut session);
    assert!(registered(&session));
    assert_eq!(remote.peers.peers().len(), 1);
}

#[test]
fn a_lost_link_drops_the_registration_and_registers_again() {
    let local = Local::new();
    let remote = local.remote(1);
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    session.run_due();
    assert_eq!(session.status().remote_height, Some(4));

    local.network.remove(addr(1));
    local.step(&mut session);
    assert!(!registered(&session), "{:?}", session.state());
    assert_eq!(local.points(1), Offence::Timeout.points());
    assert!(matches!(session.get_block_data(2), Err(UpstreamError::NotConnected)));

    // Back, with a fresh table (it restarted): we register again.
    let restarted = local.remote(1);
    drop(remote);
    local.step(&mut session);
    assert!(registered(&session));
    assert_eq!(restarted.peers.peers().len(), 1);
    assert_eq!(session.get_block_data(2).unwrap(), b"block-2");
}

#[test]
fn retarget_resets_everything_and_registers_with_the_new_peer() {
    let local = Local::new();
    let first = local.remote(1);
    let second = local.remote(2);
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    session.run_due();
    assert!(session.status().remote_height.is_some());

    let t = local.clock.instant();
    session.retarget(target(2));
    let status = session.status();
    assert_eq!(status.target, Some(target(2)));
    assert_eq!(status.state, LinkState::Connecting { failures: 0, next_attempt: t });
    assert_eq!((status.remote_height, status.remote_digest_of_local_height, status.last_response), (None, None, None));
    assert!(matches!(session.remote_height(), Err(UpstreamError::NotConnected)));

    session.run_due();
    assert!(registered(&session));
    assert_eq!(first.peers.peers().len(), 1);
    assert_eq!(second.peers.peers().len(), 1, "registered with the new target");

    // Release: idle, nothing due, nothing known.
    session.release();
    assert_eq!(session.state(), LinkState::Idle);
    assert_eq!(session.next_due(), None);
    assert_eq!(session.status().target, None);
    // Never ourselves.
    session.retarget(target(1));
    session.retarget(Target { address: addr(9), public_key: OUR_KEY });
    assert_eq!((session.state(), session.target()), (LinkState::Idle, None));
    session.close();
    assert!(matches!(session.get_block_data(2), Err(UpstreamError::Closed)));
    session.retarget(target(1));
    assert_eq!(session.state(), LinkState::Closed);
}

#[test]
fn connector_calls() {
    let local = Local::new();
    local.remote(1);
    let mut session = local.session();
    assert!(matches!(session.get_block_data(2), Err(UpstreamError::NotConnected)));
    session.retarget(target(1));
    assert!(matches!(session.remote_digest_of_height(2), Err(UpstreamError::NotConnected)));
    session.run_due();

    assert_eq!(session.get_block_data(3).unwrap(), b"block-3");
    assert!(matches!(session.get_block_data(9), Err(UpstreamError::BlockNotFound)));
    assert!(matches!(session.get_block_data(1), Err(UpstreamError::BlockNotFound)));
    assert_eq!(session.remote_digest_of_height(4).unwrap(), BlockDigest([4; 32]));
    assert_eq!(session.remote_digest_of_height(0).unwrap(), GENESIS);
    assert!(matches!(session.remote_digest_of_height(5), Err(UpstreamError::BlockNotFound)));
    assert_eq!(session.remote_height().unwrap(), 4);
    // "Not found" is not an offence.
    assert_eq!(local.points(1), 0.0);
}

#[test]
fn any_error_reply_to_b_or_h_is_block_not_found() {
    let local = Local::new();
    local.scripted(1, |request| match request {
        Request::Block(_) | Request::Digest(7) => Some(Reply::Error("database on fire".into())),
        _ => None,
    });
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    assert!(matches!(session.get_block_data(2), Err(UpstreamError::BlockNotFound)));
    assert!(matches!(session.remote_digest_of_height(7), Err(UpstreamError::BlockNotFound)));
    assert!(registered(&session));
}

#[test]
fn pushes_reach_the_remote_while_registered() {
    let local = Local::new();
    let remote = local.remote(1);
    let mut session = local.session();
    let item = Push::Transfer(b"T".to_vec());
    assert!(matches!(session.push(&item), Err(UpstreamError::NotConnected)));
    session.retarget(target(1));
    session.run_due();
    session.push(&item).unwrap();
    // Frames go out verbatim: the legacy second frame of `issues`, a command nobody acts on.
    session.push(&Push::Other { command: b"issues".to_vec(), params: vec![b"I".to_vec(), vec![0]] }).unwrap();
    session.push(&heart()).unwrap();
    let kinds: Vec<_> = remote.pool.submitted().into_iter().collect();
    assert_eq!(kinds, [("transfer", b"T".to_vec()), ("issues", b"I".to_vec())]);
}

#[test]
fn malformed_replies_are_penalised_until_the_peer_is_banned() {
    let local = Local::new();
    // Answers R with an N reply: not a registration.
    local.scripted(1, |request| matches!(request, Request::Register { .. }).then_some(Reply::Height(1)));
    let mut session = local.session();
    session.retarget(target(1));
    for k in 1..=4 {
        local.step(&mut session);
        assert!(matches!(session.state(), LinkState::Connecting { failures, .. } if failures == k));
        let points = local.points(1);
        let most = Offence::MalformedReply.points() * f64::from(k);
        assert!(points <= most && points > 0.95 * most, "{points} after {k}");
    }
    let t = local.step(&mut session);
    let until = t + ScoreConfig::default().ban_duration;
    assert_eq!(session.state(), LinkState::Banned { until });
    assert!(matches!(session.get_block_data(2), Err(UpstreamError::Banned { until: u }) if u == until));

    // Not dialled during the ban. After it, attempts resume; on probation (half the threshold)
    // it takes only two or three more malformed replies to ban it again, for twice as long.
    assert_eq!(session.next_due(), Some(until));
    local.step(&mut session);
    assert!(matches!(session.state(), LinkState::Connecting { failures: 0, .. }));
    let mut attempts = 0;
    while !matches!(session.state(), LinkState::Banned { .. }) {
        attempts += 1;
        let t = local.step(&mut session);
        assert!(attempts <= 3, "not banned again");
        if let LinkState::Banned { until } = session.state() {
            assert_eq!(until, t + 2 * ScoreConfig::default().ban_duration);
        }
    }
}

#[test]
fn a_peer_of_another_chain_is_banned_at_once() {
    let local = Local::new();
    // It runs `testing`: our `local` chain frame is refused with `invalid chain`.
    let remote = Fixture::new(Chain::Testing, 3, FakePool::default());
    local.network.listen(addr(1), Chain::Testing, remote.handler.clone());
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    assert!(matches!(session.state(), LinkState::Banned { .. }), "{:?}", session.state());
    assert!(remote.peers.peers().is_empty());

    // One whose R reply names another chain, likewise.
    local.scripted(2, |request| {
        matches!(request, Request::Register { .. }).then(|| Reply::Registered {
            chain: Chain::Bitmark,
            public_key: vec![9; 32],
            listeners: vec![],
            timestamp: 1,
        })
    });
    session.retarget(target(2));
    session.run_due();
    assert!(matches!(session.state(), LinkState::Banned { .. }));
    assert!(local.peers.peers().is_empty(), "nothing learnt from it");

    // A banned key is not dialled when targeted again.
    session.retarget(target(1));
    session.run_due();
    assert!(matches!(session.state(), LinkState::Banned { .. }));
}

/// A peer without a block at our height 3, answering `N` with `heights(k)` on its k-th `N`,
/// polled twice (register, then the poll's `N` and `H 3`).
fn polled_without_block_3(heights: impl Fn(u64) -> u64 + Send + Sync + 'static) -> (Local, Session<MemoryDialer>) {
    let local = Local::new();
    let asked = std::sync::atomic::AtomicU64::new(0);
    local.scripted(1, move |request| match request {
        Request::Height => Some(Reply::Height(heights(asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst)))),
        Request::Digest(3) => Some(Reply::Error("block not found".into())),
        _ => None,
    });
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    session.run_due();
    assert_eq!(session.status().remote_digest_of_local_height, None);
    (local, session)
}

#[test]
fn a_peer_that_came_down_between_n_and_h_is_not_blamed() {
    // Claims 100 at the poll's `N`, rolls back to 2 (switching branches) before the `H 3`.
    let (local, _session) = polled_without_block_3(|k| if k == 0 { 100 } else { 2 });
    assert_eq!(local.points(1), 0.0);
}

#[test]
fn a_height_the_peer_cannot_back_up_is_a_lie() {
    // Claims height 100, but has no block at our height 3.
    let (local, mut session) = polled_without_block_3(|_| 100);
    let status = session.status();
    assert_eq!((status.remote_height, status.local_height), (Some(100), Some(3)));
    assert_eq!(local.points(1), Offence::LyingAboutChain.points());
    local.step(&mut session);
    local.step(&mut session);
    assert!(matches!(session.state(), LinkState::Banned { .. }));
}

#[test]
fn a_peer_behind_us_has_no_digest_of_our_height_and_that_is_fine() {
    let (local, _session) = polled_without_block_3(|_| 2);
    assert_eq!(local.points(1), 0.0);
}

#[test]
fn an_error_reply_to_n_or_a_push_is_malformed() {
    let local = Local::new();
    local.scripted(1, |request| match request {
        Request::Height | Request::Push(_) => Some(Reply::Error("nope".into())),
        _ => None,
    });
    let mut session = local.session();
    session.retarget(target(1));
    session.run_due();
    assert!(matches!(session.remote_height(), Err(UpstreamError::Remote(text)) if text == "nope"));
    assert!(matches!(session.push(&Push::Block(vec![1])), Err(UpstreamError::Remote(_))));
    assert_eq!(local.points(1), 2.0 * Offence::MalformedReply.points());
    assert!(registered(&session), "a bad answer is not a lost link");
}

#[test]
fn the_threaded_upstream_over_memory() {
    let local = Local::new();
    let remote = local.remote(1);
    let mut env = local.env();
    env.clock = Arc::new(SystemClock);
    let dialer = MemoryDialer::new(&local.network, CHAIN, "us");
    let upstream = Upstream::start(UpstreamConfig::default(), dialer, env).unwrap();
    let bus = Bus::new();
    upstream.subscribe(&bus);
    assert_eq!(bus.stats().consumers, 1);
    let queue = upstream.queue();
    assert!(!queue.offer(Arc::new(Push::Transfer(b"early".to_vec()))), "not registered");
    assert_eq!(bus.send(Push::Transfer(b"early too".to_vec())), Sent::Queued { delivered: 0, dropped: 1 });
    assert_eq!(queue.stats().discarded, 2);
    assert!(matches!(upstream.get_block_data(2), Err(UpstreamError::NotConnected)));
    let ourselves = Target { address: addr(9), public_key: OUR_KEY };
    assert!(matches!(upstream.retarget(ourselves), Err(UpstreamError::ConnectingToSelf)));
    upstream.retarget(target(1)).unwrap();
    let deadline = Instant::now() + 10 * SECOND;
    while upstream.status().remote_digest_of_local_height.is_none() {
        assert!(Instant::now() < deadline, "{:?}", upstream.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(upstream.is_registered());
    assert!(upstream.is_connected_to(&[1; 32]));
    assert!(!upstream.is_connected_to(&[2; 32]));
    assert_eq!(upstream.get_block_data(4).unwrap(), b"block-4");
    assert_eq!(upstream.remote_digest_of_height(2).unwrap(), BlockDigest([2; 32]));
    assert_eq!(upstream.remote_height().unwrap(), 4);
    assert_eq!(bus.send(Push::Transfer(b"T".to_vec())), Sent::Queued { delivered: 1, dropped: 0 });
    while remote.pool.submitted().is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(remote.pool.submitted(), [("transfer", b"T".to_vec())]);
    upstream.release().unwrap();
    while upstream.status().state != LinkState::Idle {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    upstream.close();
    // Closing the upstream unsubscribed it (only the queue handle above keeps it alive).
    drop(queue);
    assert_eq!(bus.stats().consumers, 0);
}

#[test]
fn a_penalty_shows_in_the_status_at_once() {
    let local = Local::new();
    local.remote(1);
    let mut env = local.env();
    env.clock = Arc::new(SystemClock);
    let dialer = MemoryDialer::new(&local.network, CHAIN, "us");
    let upstream = Upstream::start(UpstreamConfig::default(), dialer, env).unwrap();
    upstream.retarget(target(1)).unwrap();
    let deadline = Instant::now() + 10 * SECOND;
    while upstream.status().remote_digest_of_local_height.is_none() {
        assert!(Instant::now() < deadline, "{:?}", upstream.status());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(upstream.status().score, 0.0);
    // The connector penalises the peer; the upstream's thread sleeps until its next poll, 30 s
    // away, yet the status shows the points now.
    local.scores.report(&[1; 32], Offence::InvalidBlock, Instant::now());
    let score = upstream.status().score;
    assert!(score > 0.9 * Offence::InvalidBlock.points(), "{score}");
    upstream.close();
}

#[test]
fn default_timings_are_consistent() {
    let config = UpstreamConfig::default();
    // The connector's voters must have answered within 60 s (`activeTime`): two polls fit.
    assert!(config.poll_interval * 2 <= Duration::from_secs(60));
    assert!(config.connect_timeout <= config.request_timeout);
    assert!(config.backoff.initial < config.backoff.max);
    // A dead peer is retried no more often than bitmarkd's fixed 2 minutes, in the end.
    assert!(config.backoff.max / 2 >= Duration::from_secs(120));
    assert_eq!(config.queue_capacity, 1000);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Up(u8),
        Down(u8),
        Retarget(u8),
        Release,
        Advance(u64),
        RunDue,
        Fetch(u64),
        Push,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u8..4).prop_map(Op::Up),
            (1u8..4).prop_map(Op::Down),
            (1u8..4).prop_map(Op::Retarget),
            Just(Op::Release),
            (0u64..400).prop_map(Op::Advance),
            Just(Op::RunDue),
            Just(Op::RunDue),
            (0u64..6).prop_map(Op::Fetch),
            Just(Op::Push),
        ]
    }

    proptest! {
        /// Whatever the network does and whatever is asked, the state machine stays coherent:
        /// registered means targeted, something is due exactly when there is a target, a retry is
        /// never further away than the back-off cap, and calls only succeed when registered.
        #[test]
        fn the_state_machine_stays_coherent(ops in proptest::collection::vec(op(), 1..60)) {
            let local = Local::new();
            let mut session = local.session();
            let max = UpstreamConfig::default().backoff.max;
            for op in ops {
                match op {
                    Op::Up(n) => { local.remote(n); }
                    Op::Down(n) => local.network.remove(addr(n)),
                    Op::Retarget(n) => session.retarget(target(n)),
                    Op::Release => session.release(),
                    Op::Advance(secs) => local.clock.advance(Duration::from_secs(secs)),
                    Op::RunDue => session.run_due(),
                    Op::Fetch(n) => {
                        let was = session.is_registered();
                        let outcome = session.get_block_data(n);
                        prop_assert!(was || matches!(outcome, Err(UpstreamError::NotConnected)));
                    }
                    Op::Push => {
                        let was = session.is_registered();
                        let outcome = session.push(&heart());
                        prop_assert!(was || matches!(outcome, Err(UpstreamError::NotConnected)));
                    }
                }
                let status = session.status();
                let now = local.clock.instant();
                prop_assert_eq!(status.target.is_some(), session.next_due().is_some());
                if status.is_registered() {
                    prop_assert!(status.target.is_some());
                }
                if let LinkState::Connecting { next_attempt, .. } = status.state {
                    prop_assert!(next_attempt.saturating_duration_since(now) <= max);
                }
                // Nobody here misbehaves: only timeouts from vanished servers are penalised.
                let banned = matches!(status.state, LinkState::Banned { .. });
                prop_assert!(!banned);
            }
        }
    }
}
