//! The state machine over fake chains and peers (cheap digests, so chains can be long): the
//! bitmarkd decisions, the pipeline's failure handling, the watchdog and the real-time driver.

use super::fakes::{FakeChain, FakeDigester, FakePeer, Misdeeds};
use super::*;
use rand::SeedableRng;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Penalties reported, in order.
#[derive(Default)]
struct Scores(Mutex<Vec<(u8, Misbehaviour)>>);

impl Scoring for Scores {
    fn report(&self, key: &PeerKey, what: Misbehaviour) {
        self.0.lock().unwrap().push((key[0], what));
    }
}

impl Scores {
    fn of(&self, id: u8) -> Vec<Misbehaviour> {
        self.0.lock().unwrap().iter().filter(|(k, _)| *k == id).map(|(_, m)| *m).collect()
    }
}

/// Reconnect requests and rolled-back blocks.
#[derive(Default)]
struct Seen {
    reconnects: AtomicUsize,
    undone: Mutex<Vec<u64>>,
}

impl Events for Seen {
    fn reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::SeqCst);
    }
    fn rolled_back(&self, block: RolledBack) {
        self.undone.lock().unwrap().push(block.number);
    }
}

/// Hands out the fake peers by key.
struct Factory(HashMap<PeerKey, Arc<FakePeer>>);

impl PeerFactory for Factory {
    fn connect(&mut self, _address: SocketAddr, key: PeerKey) -> Result<Remote, RemoteError> {
        self.0.get(&key).map(|p| Arc::clone(p) as Remote).ok_or(RemoteError::Unavailable)
    }
}

/// A node over a fake chain, with static clients to fake peers, in virtual time.
struct Net {
    local: Arc<FakeChain>,
    peers: Vec<Arc<FakePeer>>,
    connector: Connector,
    scores: Arc<Scores>,
    seen: Arc<Seen>,
    digester: Arc<FakeDigester>,
    now: Instant,
}

fn small() -> ConnectorConfig {
    ConnectorConfig { minimum_clients: 3, fetch_blocks_per_cycle: 50, ..ConnectorConfig::default() }
}

impl Net {
    /// Peer `i` gets key `[i + 1; 32]`.
    fn new(local: FakeChain, chains: Vec<Arc<FakeChain>>, config: ConnectorConfig) -> Net {
        Net::with_rng(local, chains, config, Box::new(rand::rngs::StdRng::seed_from_u64(7)))
    }

    /// [`Net::new`] with the connector's random choices from `rng`.
    fn with_rng(
        local: FakeChain,
        chains: Vec<Arc<FakeChain>>,
        config: ConnectorConfig,
        rng: Box<dyn rand::RngCore + Send>,
    ) -> Net {
        let local = Arc::new(local);
        let peers: Vec<Arc<FakePeer>> =
            chains.into_iter().enumerate().map(|(i, c)| Arc::new(FakePeer::keyed([i as u8 + 1; 32], c))).collect();
        let statics: Vec<(SocketAddr, PeerKey)> =
            peers.iter().map(|p| ("127.0.0.1:2136".parse().unwrap(), p.key())).collect();
        let factory = Factory(peers.iter().map(|p| (p.key(), Arc::clone(p))).collect());
        let clients = Clients::new([0; 32], &statics, true, false, 25, Box::new(factory)).unwrap();
        let (scores, seen, digester) =
            (Arc::new(Scores::default()), Arc::new(Seen::default()), Arc::new(FakeDigester::default()));
        let parts = Parts {
            chain: local.clone(),
            digester: digester.clone(),
            clients,
            scoring: scores.clone(),
            events: seen.clone(),
            mode: ModeHandle::new(),
            rng,
        };
        Net { local, peers, connector: Connector::new(config, parts), scores, seen, digester, now: Instant::now() }
    }

    fn peer(&self, id: u8) -> &FakePeer {
        &self.peers[usize::from(id) - 1]
    }

    /// One 15-s tick: the peers poll (as upstreams do every 30 s; here every tick), then the
    /// machine runs until it waits.
    fn tick(&mut self) {
        self.now += Duration::from_secs(15);
        let h = self.local.height();
        for p in &self.peers {
            p.poll(h, self.now);
        }
        while self.connector.process(self.now) == Pause::Again {}
    }

    fn run(&mut self, ticks: usize) {
        for _ in 0..ticks {
            self.tick();
        }
    }

    fn mode(&self) -> Mode {
        self.connector.mode().get()
    }
}

fn shared(c: FakeChain) -> Arc<FakeChain> {
    Arc::new(c)
}

#[test]
fn fresh_node_syncs_from_several_peers_with_full_verification() {
    let chain = shared(FakeChain::build(1, 400, 400, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 5], small());
    net.run(4);
    assert_eq!(net.local.height(), 400);
    assert_eq!(net.local.tip(), chain.tip());
    assert_eq!(net.mode(), Mode::Normal);
    assert!(matches!(net.connector.state(), State::Sampling { .. }));
    assert_eq!(net.digester.computed.load(Ordering::SeqCst), 399, "one digest per block");
    let busy = net.peers.iter().filter(|p| p.served() > 0).count();
    assert!(busy >= 2, "fetched from {busy} peers");
    let p = net.connector.progress().get();
    assert_eq!((p.height, p.target, p.done, p.total, p.clients), (400, 400, 399, 399, 5));
}

#[test]
fn connecting_waits_for_minimum_clients_and_asks_for_more() {
    let chain = shared(FakeChain::build(1, 20, 20, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 2], small());
    net.run(3);
    assert_eq!(net.connector.state(), &State::Connecting);
    assert_eq!(net.mode(), Mode::Resynchronise);
    assert_eq!(net.seen.reconnects.load(Ordering::SeqCst), 3);
    assert_eq!(net.local.height(), 1);
}

#[test]
fn tallest_member_of_the_winning_group_is_the_source() {
    // All agree on our height (genesis); the first voters are short. bitmarkd would elect
    // peer 1 at height 5 and stop there.
    let short = shared(FakeChain::build(1, 60, 5, 0));
    let tall = shared(FakeChain::build(1, 60, 60, 0));
    let mut net = Net::new(FakeChain::new(1), vec![short.clone(), short, tall.clone()], small());
    net.run(3);
    assert_eq!(net.local.height(), 60);
    assert_eq!(net.local.tip(), tall.tip());
}

/// Node on branch 2, every peer on branch 3, same height: bitmarkd's comparison decides.
fn equal_height_fork(ours: u8, theirs: u8) -> (Net, Arc<FakeChain>, FakeChain) {
    let their_chain = shared(FakeChain::build(1, 30, 40, theirs));
    let net = Net::new(FakeChain::build(1, 30, 40, ours), vec![their_chain.clone(); 3], small());
    (net, their_chain, FakeChain::build(1, 30, 40, ours))
}

#[test]
fn equal_height_fork_is_resolved_by_bitmarkd_digest_comparison() {
    for (ours, theirs) in [(2u8, 3u8), (3, 2), (4, 9), (9, 4)] {
        let (mut net, their_chain, our_original) = equal_height_fork(ours, theirs);
        let switch = their_chain.tip().smaller_than(&our_original.tip());
        net.run(3);
        assert_eq!(net.local.height(), 40);
        let expected = if switch { their_chain.tip() } else { our_original.tip() };
        assert_eq!(net.local.tip(), expected, "ours {ours} theirs {theirs} switch {switch}");
        let undone = net.seen.undone.lock().unwrap().clone();
        assert_eq!(undone.len(), if switch { 10 } else { 0 });
        // Either way the node ends in step: bitmarkd's isSameChain or "remote not better".
        if switch {
            assert_eq!(net.mode(), Mode::Normal);
        }
    }
}

#[test]
fn fork_deeper_than_protection_is_refused_and_the_watchdog_fires() {
    // Common block 30, our tip 100 (70 above it), theirs 120.
    let theirs = shared(FakeChain::build(1, 30, 120, 3));
    let mut net = Net::new(FakeChain::build(1, 30, 100, 2), vec![theirs; 3], small());
    let before = net.local.tip();
    net.run(12);
    assert_eq!((net.local.height(), net.local.tip()), (100, before), "nothing rolled back");
    assert!(net.seen.undone.lock().unwrap().is_empty());
    assert!(net.connector.progress().get().stalls >= 1, "watchdog noticed");
    assert_eq!(net.mode(), Mode::Resynchronise);
}

#[test]
fn fork_within_protection_is_followed() {
    let theirs = shared(FakeChain::build(1, 80, 120, 3));
    let mut net = Net::new(FakeChain::build(1, 80, 100, 2), vec![theirs.clone(); 3], small());
    net.run(3);
    assert_eq!((net.local.height(), net.local.tip()), (120, theirs.tip()));
    assert_eq!(net.seen.undone.lock().unwrap().len(), 20);
}

#[test]
fn peer_lying_about_its_height_is_penalised_and_left_out() {
    let chain = shared(FakeChain::build(1, 80, 80, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 4], small());
    // The liar is the tallest member of the winning group, so it is the source.
    net.peer(2).set(Misdeeds { claimed_height: Some(10_000), ..Misdeeds::default() });
    net.run(4);
    assert_eq!((net.local.height(), net.local.tip()), (80, chain.tip()));
    assert_eq!(net.scores.of(2), [Misbehaviour::LyingAboutChain]);
    assert_eq!(net.mode(), Mode::Normal, "in step once the liar is left out");
    assert!(net.connector.excluded().iter().any(|(k, _)| k[0] == 2));
}

#[test]
fn peer_that_came_down_since_its_claim_is_not_penalised() {
    let chain = shared(FakeChain::build(1, 80, 80, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 4], small());
    // Its last poll said 10 000 (it was on a longer branch); it has rolled back since, as a
    // bitmarkd node does before fetching the branch it switches to, and a fresh `N` says so.
    net.peer(2).set(Misdeeds { stale_claim: Some(10_000), ..Misdeeds::default() });
    net.run(4);
    assert_eq!((net.local.height(), net.local.tip()), (80, chain.tip()));
    assert!(net.scores.of(2).is_empty(), "{:?}", net.scores.of(2));
}

#[test]
fn forged_blocks_are_refetched_and_their_senders_penalised() {
    let chain = shared(FakeChain::build(1, 120, 120, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 5], small());
    let all: BTreeSet<u64> = (2..=120).collect();
    net.peer(3).set(Misdeeds { corrupt: all.clone(), ..Misdeeds::default() });
    net.peer(4).set(Misdeeds { substitute: all, ..Misdeeds::default() });
    net.run(6);
    assert_eq!((net.local.height(), net.local.tip()), (120, chain.tip()));
    assert_eq!(net.scores.of(3), [Misbehaviour::InvalidBlock]);
    assert_eq!(net.scores.of(4), [Misbehaviour::LyingAboutChain]);
    assert!(net.scores.of(1).is_empty() && net.scores.of(2).is_empty() && net.scores.of(5).is_empty());
    assert_eq!(net.mode(), Mode::Normal);
}

#[test]
fn forged_last_block_is_caught_by_the_tip_check() {
    let chain = shared(FakeChain::build(1, 30, 30, 0));
    let mut net = Net::new(FakeChain::build(1, 28, 28, 0), vec![chain.clone(); 4], small());
    // Peer 1 is the source (first of equals) and gets block 29; peer 2 gets block 30.
    net.peer(2).set(Misdeeds { substitute: [30].into(), ..Misdeeds::default() });
    net.run(3);
    assert_eq!((net.local.height(), net.local.tip()), (30, chain.tip()));
    assert_eq!(net.scores.of(2), [Misbehaviour::LyingAboutChain]);
}

#[test]
fn peer_that_stops_answering_mid_sync_is_replaced() {
    let chain = shared(FakeChain::build(1, 300, 300, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 4], small());
    // The source dies after 20 blocks; the pass goes on with the others, then a new election.
    net.peer(1).set(Misdeeds { dies_after_blocks: Some(20), ..Misdeeds::default() });
    net.run(8);
    assert_eq!((net.local.height(), net.local.tip()), (300, chain.tip()));
    assert_eq!(net.mode(), Mode::Normal);
    assert!(net.scores.0.lock().unwrap().is_empty(), "timeouts are the upstream's to score");
}

#[test]
fn sampling_follows_new_blocks_and_keeps_normal_mode() {
    let chain = shared(FakeChain::build(1, 50, 50, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 3], small());
    net.run(3);
    assert_eq!((net.local.height(), net.mode()), (50, Mode::Normal));
    for n in 51..=53 {
        chain.push(super::fakes::fake_block(n, chain.tip(), 0, &[]));
    }
    net.run(2);
    assert_eq!((net.local.height(), net.local.tip()), (53, chain.tip()));
    assert_eq!(net.mode(), Mode::Normal, "catching up from Sampling keeps the mode");
}

#[test]
fn failed_elections_in_sampling_lead_to_fork_detect_then_rebuild() {
    let chain = shared(FakeChain::build(1, 10, 10, 0));
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 3], small());
    // Connecting; synced (the peers' digests of our old height are stale); in step.
    net.run(3);
    assert!(matches!(net.connector.state(), State::Sampling { samples: 0 }));
    // The peers stay registered but fall silent: no vote is active any more.
    let t = net.now;
    for _ in 0..8 {
        net.now += Duration::from_secs(15);
        while net.connector.process(net.now) == Pause::Again {}
    }
    assert!(net.now - t > Duration::from_secs(60));
    assert!(
        matches!(net.connector.state(), State::Sampling { samples } if *samples <= 6),
        "{:?}",
        net.connector.state()
    );
    assert_eq!(net.mode(), Mode::Normal);
}

#[test]
fn fast_sync_uses_next_blocks_digest_and_verifies_the_last_blocks() {
    let chain = shared(FakeChain::build(1, 600, 600, 0));
    let config = ConnectorConfig { fast_sync: true, fast_sync_pivot_blocks: 100, ..small() };
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 3], config);
    net.run(4);
    assert_eq!((net.local.height(), net.local.tip()), (600, chain.tip()));
    let digests = net.digester.computed.load(Ordering::SeqCst);
    // Blocks 500..=600 fully verified, plus one sample per 100 fast blocks and per pass.
    assert!((101..140).contains(&digests), "{digests} digests");
}

#[test]
fn fast_sync_forgery_rolls_back_to_the_last_good_sample_only() {
    let chain = shared(FakeChain::build(1, 600, 600, 0));
    let config = ConnectorConfig { fast_sync: true, fast_sync_pivot_blocks: 100, fetch_peers: 1, ..small() };
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 3], config);
    // The source forges the previousBlock of every block from 2: fast sync stores those as
    // the digests of the blocks before, and the first sample catches it.
    net.peer(1).set(Misdeeds { forge_previous: (2..=600).collect(), ..Misdeeds::default() });
    net.run(6);
    assert_eq!((net.local.height(), net.local.tip()), (600, chain.tip()));
    let undone = net.seen.undone.lock().unwrap().clone();
    // At most the spans of the samples under way when the failure is seen, and one more.
    let bound = (super::pass::SAMPLES_UNDER_WAY + 1) * 100;
    assert!(!undone.is_empty() && undone.len() <= bound, "rolled back {} blocks", undone.len());
    assert_eq!(net.scores.of(1), [Misbehaviour::InvalidBlock]);
    // Fast sync stays off for the rest of the catch-up: every block is then digested.
    assert!(net.digester.computed.load(Ordering::SeqCst) >= 599);
}

/// Which fast-synced block each sample checks is the injected generator's choice (a node
/// injects the operating system's, so no peer can predict it): the first block since the last
/// sample under a generator that always says 0, the last one under one that always says 49.
/// Passes are 50 blocks here, one sample each.
#[test]
fn fast_sync_samples_are_the_injected_generators_choice() {
    let lowest = [2, 52, 102];
    let highest = [51, 101, 151];
    for (says, sampled, not_sampled) in [(0, lowest, highest), (49, highest, lowest)] {
        let chain = shared(FakeChain::build(1, 600, 600, 0));
        let config = ConnectorConfig { fast_sync: true, fast_sync_pivot_blocks: 100, fetch_peers: 1, ..small() };
        let rng = Box::new(rand::rngs::mock::StepRng::new(says, 0));
        let mut net = Net::with_rng(FakeChain::new(1), vec![chain.clone(); 3], config, rng);
        net.run(4);
        assert_eq!((net.local.height(), net.local.tip()), (600, chain.tip()));
        let asked: BTreeSet<u64> = net.peers.iter().flat_map(|p| p.digests_asked()).collect();
        assert!(sampled.iter().all(|h| asked.contains(h)), "generator says {says}: asked {asked:?}");
        assert!(not_sampled.iter().all(|h| !asked.contains(h)), "generator says {says}: asked {asked:?}");
    }
}

/// A catch-up of many passes runs on the same few threads: the fetchers' threads are kept
/// from pass to pass (at most twice the peers fetched from), and digests are computed on the
/// digester's, none started per pass.
#[test]
fn fetch_passes_reuse_their_threads() {
    let chain = shared(FakeChain::build(1, 1_000, 1_000, 0));
    let config = ConnectorConfig { fetch_peers: 3, ..small() };
    let mut net = Net::new(FakeChain::new(1), vec![chain.clone(); 3], config);
    net.run(4);
    assert_eq!((net.local.height(), net.local.tip()), (1_000, chain.tip()));
    let threads: HashSet<std::thread::ThreadId> = net.peers.iter().flat_map(|p| p.fetch_threads()).collect();
    assert!(threads.len() <= 6, "{} threads fetched 20 passes", threads.len());
}

/// The connector's own queue for announce's commands is bounded: with its thread busy (here
/// held inside the state machine), a sender gets [`COMMAND_QUEUE`] commands in and then waits.
#[test]
fn the_command_queue_is_bounded() {
    let gate = Arc::new(Gate {
        chain: shared(FakeChain::new(1)),
        open: Mutex::new(false),
        opened: std::sync::Condvar::new(),
        entered: std::sync::atomic::AtomicBool::new(false),
    });
    let statics: Vec<(SocketAddr, PeerKey)> = Vec::new();
    let clients = Clients::new([0; 32], &statics, true, false, 25, Box::new(Factory(HashMap::new()))).unwrap();
    let parts = Parts {
        chain: gate.clone(),
        digester: Arc::new(FakeDigester::default()),
        clients,
        scoring: Arc::new(NoScoring),
        events: Arc::new(NoEvents),
        mode: ModeHandle::new(),
        rng: Box::new(rand::rngs::StdRng::seed_from_u64(1)),
    };
    let config = ConnectorConfig { cycle_interval_ms: 100, ..small() };
    let handle = spawn(Connector::new(config, parts)).unwrap();
    // Dropped first, should an assertion fail: the connector's thread must be let go before
    // the handle joins it.
    let _release = Released(Arc::clone(&gate));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gate.entered.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(gate.entered.load(Ordering::SeqCst), "the connector's thread is held");
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (commands, sent) = (handle.commands(), Arc::clone(&sent));
        std::thread::spawn(move || {
            for i in 0..100u8 {
                if !commands.send(Command::Release { public_key: [i; 32] }) {
                    return;
                }
                sent.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while sent.load(Ordering::SeqCst) < COMMAND_QUEUE && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Give the sender time to queue more, were there room.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(sent.load(Ordering::SeqCst), COMMAND_QUEUE);
    gate.release();
    sender.join().unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), 100, "all taken once the connector moves again");
    handle.stop();
}

/// A chain whose height cannot be read until released: holds the connector's thread.
struct Gate {
    chain: Arc<FakeChain>,
    open: Mutex<bool>,
    opened: std::sync::Condvar,
    entered: std::sync::atomic::AtomicBool,
}

impl Gate {
    fn release(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

/// Releases the gate when dropped.
struct Released(Arc<Gate>);

impl Drop for Released {
    fn drop(&mut self) {
        self.0.release();
    }
}

impl LocalChain for Gate {
    fn height(&self) -> u64 {
        self.entered.store(true, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        self.chain.height()
    }
    fn digest(&self, n: u64) -> Result<bitmark_record::BlockDigest, ChainError> {
        self.chain.digest(n)
    }
    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, ChainError> {
        self.chain.block(n)
    }
    fn apply(&self, block: &[u8], digest: bitmark_record::BlockDigest) -> Result<(), ChainError> {
        self.chain.apply(block, digest)
    }
    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<bitmark_record::BlockDigest, ChainError> {
        self.chain.apply_fast(block, next)
    }
    fn rollback_to(&self, height: u64) -> Result<Vec<RolledBack>, ChainError> {
        self.chain.rollback_to(height)
    }
}

#[test]
fn spawned_connector_syncs_in_real_time_and_stops() {
    let chain = shared(FakeChain::build(1, 30, 30, 0));
    let config = ConnectorConfig { cycle_interval_ms: 1000, ..small() };
    let net = Net::new(FakeChain::new(1), vec![chain.clone(); 3], config);
    let (local, peers) = (net.local.clone(), net.peers.clone());
    let now = Instant::now();
    for p in &peers {
        p.poll(1, now);
    }
    let handle = spawn(net.connector).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while handle.progress().get().state != "Sampling" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        for p in &peers {
            p.poll(local.height(), Instant::now());
        }
    }
    assert_eq!(local.height(), 30);
    assert!(handle.mode().is_normal());
    assert!(handle.commands().send(Command::Release { public_key: [1; 32] }));
    let connector = handle.stop().unwrap();
    assert_eq!(connector.clients().counts(), (3, 0));
}

#[test]
fn stopping_ends_a_fetch_pass_promptly() {
    let chain = shared(FakeChain::build(1, 2_000, 2_000, 0));
    let config = ConnectorConfig { cycle_interval_ms: 1000, minimum_clients: 1, ..ConnectorConfig::default() };
    let net = Net::new(FakeChain::new(1), vec![chain], config);
    net.peer(1).set(Misdeeds { slow: Some(Duration::from_millis(5)), ..Misdeeds::default() });
    net.peer(1).poll(1, Instant::now());
    let local = net.local.clone();
    let handle = spawn(net.connector).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while local.height() < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(handle.state(), "FetchBlocks", "mid-pass");
    let asked = Instant::now();
    handle.stop();
    assert!(asked.elapsed() < Duration::from_secs(1), "stopped in {:?}", asked.elapsed());
    assert!(local.height() < 2_000);
}
