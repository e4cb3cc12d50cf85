//! Scenario tests over real stores, real connectors and the real listener handler.

use super::chains::{self, upto, Blocks};
use super::*;
use crate::connector::{ChainError, ConnectorConfig, LocalChain, Misbehaviour, Mode, RolledBack};
use bitmark_record::header::{BlockHeader, HEADER_SIZE};
use bitmark_record::BlockDigest;
use bitmark_storage::{BlockStore, DigestPool};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

struct Fixtures {
    /// Seed 1, up to block 24.
    main: Blocks,
    /// `main` up to 16, then seed 2 up to 22.
    fork: Blocks,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let main = chains::build(1, 8, 24).unwrap();
        let fork = chains::build_fork(&main, 16, 2, 8, 22).unwrap();
        Fixtures { main, fork }
    })
}

#[test]
fn fixture_chains_share_exactly_their_prefix() {
    let f = fixtures();
    assert_eq!((f.main.len(), f.fork.len()), (23, 21));
    assert_eq!(upto(&f.main, 16), upto(&f.fork, 16));
    assert_ne!(f.main[15].1, f.fork[15].1, "block 17 differs");
}

/// One digest pool for every scenario of the process (2 threads, 256 MiB).
fn pool() -> Arc<dyn crate::connector::Digester> {
    static P: OnceLock<Arc<DigestPool>> = OnceLock::new();
    P.get_or_init(|| Arc::new(DigestPool::new(2))).clone()
}

fn config(minimum_clients: usize) -> ConnectorConfig {
    ConnectorConfig { minimum_clients, stall_cycles: 4, ..ConnectorConfig::default() }
}

const LIMIT: Duration = Duration::from_secs(600);

/// `count` peers holding `blocks`, and a node holding `ours` syncing from them.
fn network(blocks: &Blocks, count: usize, ours: &Blocks, config: ConnectorConfig) -> (Sim, Vec<usize>, usize) {
    let mut sim = Sim::new(pool(), 42);
    let peers: Vec<usize> = (0..count).map(|_| sim.add_node(blocks).unwrap()).collect();
    let node = sim.add_node(ours).unwrap();
    sim.start_connector(node, config, &peers).unwrap();
    (sim, peers, node)
}

fn last(blocks: &[chains::Block]) -> (u64, bitmark_record::BlockDigest) {
    (blocks.len() as u64 + 1, blocks.last().map(|b| b.1).unwrap_or_default())
}

fn state(sim: &Sim, node: usize) -> (u64, bitmark_record::BlockDigest) {
    (sim.height(node), sim.tip(node))
}

#[test]
fn fresh_node_syncs_from_several_peers() {
    let f = fixtures();
    let (mut sim, peers, node) = network(&f.main, 4, &Vec::new(), config(3));
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&f.main));
    let busy = peers.iter().filter(|p| sim.node(**p).server.served() > 0).count();
    assert!(busy >= 2, "blocks came from {busy} peers");
    let p = sim.progress(node).unwrap();
    assert_eq!((p.height, p.target, p.done, p.total, p.clients), (24, 24, 23, 23, 4));
    assert!(sim.penalties(node).is_empty());
}

#[test]
fn equal_height_fork_is_resolved_as_bitmarkd_would() {
    let f = fixtures();
    let (main20, fork20) = (upto(&f.main, 20).to_vec(), upto(&f.fork, 20).to_vec());
    for (ours, theirs) in [(&main20, &fork20), (&fork20, &main20)] {
        let (mut sim, _, node) = network(theirs, 3, ours, config(3));
        let switch = last(theirs).1.smaller_than(&last(ours).1);
        sim.run(Duration::from_secs(300));
        if switch {
            // Same height, and their digest is "smaller": roll back to 16, take theirs.
            assert_eq!(state(&sim, node), last(theirs));
            assert_eq!(sim.rolled_back(node), [20, 19, 18, 17]);
            assert_eq!(sim.mode(node), Mode::Normal);
        } else {
            // Not better and not the same: bitmarkd stays in HighestBlock, resynchronising.
            assert_eq!(state(&sim, node), last(ours));
            assert!(sim.rolled_back(node).is_empty());
            assert_eq!(sim.mode(node), Mode::Resynchronise);
        }
    }
}

#[test]
fn fork_deeper_than_protection_is_refused() {
    let f = fixtures();
    let main20 = upto(&f.main, 20).to_vec();
    // Common block 16, our tip 20: 4 blocks deep.
    let refusing = ConnectorConfig { fork_protection: 4, ..config(3) };
    let (mut sim, _, node) = network(&f.fork, 3, &main20, refusing);
    sim.run(Duration::from_secs(300));
    assert_eq!(state(&sim, node), last(&main20), "nothing rolled back");
    assert!(sim.rolled_back(node).is_empty());
    assert_eq!(sim.mode(node), Mode::Resynchronise);
    assert!(sim.progress(node).unwrap().stalls >= 1, "the watchdog complained");
    // One block more of protection and the same fork is followed.
    let following = ConnectorConfig { fork_protection: 5, ..config(3) };
    let (mut sim, _, node) = network(&f.fork, 3, &main20, following);
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&f.fork));
}

#[test]
fn peer_lying_about_its_height_is_penalised() {
    let f = fixtures();
    let (mut sim, peers, node) = network(&f.main, 4, &upto(&f.main, 16).to_vec(), config(3));
    let liar = peers[2];
    sim.set_behaviour(liar, Behaviour { claim_height: Some(1_000), ..Behaviour::default() });
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&f.main));
    assert_eq!(sim.penalties(node), [(liar, Misbehaviour::LyingAboutChain)]);
}

#[test]
fn peer_serving_forged_blocks_is_penalised_and_bypassed() {
    let f = fixtures();
    let (mut sim, peers, node) = network(&f.main, 4, &upto(&f.main, 16).to_vec(), config(3));
    let foreign = Arc::new(chains::empty_store().unwrap());
    chains::load(&foreign, &f.fork).unwrap();
    let (corrupt, forger) = (peers[1], peers[2]);
    sim.set_behaviour(corrupt, Behaviour { corrupt_blocks: true, ..Behaviour::default() });
    sim.set_behaviour(forger, Behaviour { foreign_blocks: Some(foreign), ..Behaviour::default() });
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&f.main));
    let mut penalties = sim.penalties(node);
    penalties.sort_by_key(|(who, _)| *who);
    assert_eq!(penalties, [(corrupt, Misbehaviour::InvalidBlock), (forger, Misbehaviour::LyingAboutChain)]);
}

#[test]
fn peer_that_stops_answering_mid_sync_is_replaced() {
    let f = fixtures();
    let (mut sim, peers, node) = network(&f.main, 4, &upto(&f.main, 12).to_vec(), config(3));
    // The first voter of equals is the source; it dies after three blocks.
    sim.set_behaviour(peers[0], Behaviour { dies_after_blocks: Some(3), ..Behaviour::default() });
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&f.main));
    assert!(sim.penalties(node).is_empty(), "silence is not penalised by the connector");
}

#[test]
fn partition_that_heals_converges_on_the_better_chain() {
    let f = fixtures();
    let start = upto(&f.main, 16).to_vec();
    let mut sim = Sim::new(pool(), 7);
    let nodes: Vec<usize> = (0..6).map(|_| sim.add_node(&start).unwrap()).collect();
    for &n in &nodes {
        let others: Vec<usize> = nodes.iter().copied().filter(|o| *o != n).collect();
        sim.start_connector(n, config(2), &others).unwrap();
    }
    assert!(sim.run_until(LIMIT, |s| nodes.iter().all(|n| s.mode(*n) == Mode::Normal)));
    sim.partition(&[&[0, 1, 2], &[3, 4, 5]]);
    sim.mine(0, upto(&f.main, 20)).unwrap();
    sim.mine(3, &f.fork).unwrap();
    let (main20, fork22) = (last(upto(&f.main, 20)), last(&f.fork));
    assert!(
        sim.run_until(LIMIT, |s| { (0..3).all(|n| state(s, n) == main20) && (3..6).all(|n| state(s, n) == fork22) })
    );
    sim.heal();
    assert!(sim.run_until(LIMIT, |s| nodes.iter().all(|n| state(s, *n) == fork22 && s.mode(*n) == Mode::Normal)));
    for n in 0..3 {
        assert_eq!(sim.rolled_back(n), [20, 19, 18, 17], "node {n}");
    }
    for n in 3..6 {
        assert!(sim.rolled_back(n).is_empty(), "node {n}");
    }
}

/// A node's store as its connector sees it, with a push that always wins the race: just before
/// the connector stores block `n` for the first time, `pushed[n]` (if any) is stored as the
/// push path would store it (through the store's own checks).
struct PushFirst {
    store: Arc<BlockStore>,
    pushed: Mutex<BTreeMap<u64, Vec<u8>>>,
    pushes: AtomicUsize,
}

impl PushFirst {
    fn over(sim: &Sim, node: usize, pushed: BTreeMap<u64, Vec<u8>>) -> Arc<PushFirst> {
        Arc::new(PushFirst {
            store: Arc::clone(&sim.node(node).store),
            pushed: Mutex::new(pushed),
            pushes: AtomicUsize::new(0),
        })
    }

    fn push_first(&self, block: &[u8]) {
        let head: Option<[u8; HEADER_SIZE]> = block.get(..HEADER_SIZE).and_then(|h| h.try_into().ok());
        let number = head.and_then(|h| BlockHeader::unpack(&h, u64::MAX / 4).ok()).map(|h| h.number);
        let pushed = number.and_then(|n| self.pushed.lock().unwrap().remove(&n));
        if pushed.is_some_and(|b| self.store.apply(&b).is_ok()) {
            self.pushes.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl LocalChain for PushFirst {
    fn height(&self) -> u64 {
        LocalChain::height(self.store.as_ref())
    }
    fn digest(&self, n: u64) -> Result<BlockDigest, ChainError> {
        LocalChain::digest(self.store.as_ref(), n)
    }
    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, ChainError> {
        LocalChain::block(self.store.as_ref(), n)
    }
    fn apply(&self, block: &[u8], digest: BlockDigest) -> Result<(), ChainError> {
        self.push_first(block);
        LocalChain::apply(self.store.as_ref(), block, digest)
    }
    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<BlockDigest, ChainError> {
        self.push_first(block);
        LocalChain::apply_fast(self.store.as_ref(), block, next)
    }
    fn rollback_to(&self, height: u64) -> Result<Vec<RolledBack>, ChainError> {
        LocalChain::rollback_to(self.store.as_ref(), height)
    }
}

/// Block `n` of `blocks` (which start at block 2).
fn block_of(blocks: &Blocks, n: u64) -> Vec<u8> {
    blocks[usize::try_from(n - 2).unwrap()].0.clone()
}

/// A node at 16 catching up on `main` from three peers, every block from the elected peer
/// (the one bitmarkd's rules would blame), its store changed by `pushed` as it goes.
fn racing(pushed: impl FnOnce(&Fixtures) -> BTreeMap<u64, Vec<u8>>) -> (Sim, usize, Arc<PushFirst>) {
    let f = fixtures();
    let mut sim = Sim::new(pool(), 42);
    let peers: Vec<usize> = (0..3).map(|_| sim.add_node(&f.main).unwrap()).collect();
    let node = sim.add_node(upto(&f.main, 16)).unwrap();
    let chain = PushFirst::over(&sim, node, pushed(f));
    let one_source = ConnectorConfig { fetch_peers: 1, ..config(3) };
    sim.start_connector_on(node, one_source, &peers, chain.clone()).unwrap();
    (sim, node, chain)
}

/// While the connector fetches a block from its elected peer, the push path stores the
/// identical block first (twice in the catch-up). The fetched copy no longer fits the tip, and
/// that is nobody's fault: no penalty, no exclusion, the sync goes on.
#[test]
fn a_block_pushed_while_it_is_fetched_is_nobodys_fault() {
    let (mut sim, node, chain) = racing(|f| [18, 22].map(|n| (n, block_of(&f.main, n))).into());
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&fixtures().main));
    assert_eq!(chain.pushes.load(Ordering::SeqCst), 2, "both races happened");
    assert!(sim.penalties(node).is_empty(), "penalised: {:?}", sim.penalties(node));
}

/// The same race with a block of a competing branch pushed first: the tip moved to a block
/// the elected peer does not have. Still nobody's fault; the node follows the better chain.
#[test]
fn a_competing_block_pushed_while_fetching_is_nobodys_fault() {
    let (mut sim, node, chain) = racing(|f| [(17, block_of(&f.fork, 17))].into());
    assert!(sim.run_until(LIMIT, |s| s.mode(node) == Mode::Normal));
    assert_eq!(state(&sim, node), last(&fixtures().main));
    assert_eq!(chain.pushes.load(Ordering::SeqCst), 1, "the race happened");
    assert_eq!(sim.rolled_back(node), [17], "the pushed block gave way to the better chain");
    assert!(sim.penalties(node).is_empty(), "penalised: {:?}", sim.penalties(node));
}
