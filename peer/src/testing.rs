//! Fakes of the listener's views, for this crate's tests, the node's tests and simulations:
//! a chain with a few blocks, a pool that records (and can be slowed or made to refuse), a
//! peer table without timing rules, a relay that records, and a capture tap that records; and
//! an honest [`Prober`] to measure a node under attack.

mod prober;

pub use prober::{ProbeReport, Prober};

use crate::listener::{ChainView, PeerEntry, PeerTable, PoolView};
use crate::wire::Push;
use bitmark_common::lock;
use bitmark_record::{BlockDigest, Chain, Fault};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The fake genesis digest: 32 bytes of 0x11.
pub const GENESIS: BlockDigest = BlockDigest([0x11; 32]);

/// A chain whose block `h` (from 2) is the bytes `block-<h>` with digest 32 bytes of `h`.
pub struct FakeChain {
    chain: Chain,
    normal: AtomicBool,
    blocks: BTreeMap<u64, (Vec<u8>, BlockDigest)>,
}

impl FakeChain {
    /// Genesis plus `count` blocks: height `count + 1`.
    pub fn new(chain: Chain, count: u64) -> FakeChain {
        let blocks =
            (2..count + 2).map(|h| (h, (format!("block-{h}").into_bytes(), BlockDigest([h as u8; 32])))).collect();
        FakeChain { chain, normal: AtomicBool::new(true), blocks }
    }

    /// Switch between normal mode and resynchronising.
    pub fn set_normal(&self, normal: bool) {
        self.normal.store(normal, Ordering::SeqCst);
    }
}

impl ChainView for FakeChain {
    fn height(&self) -> u64 {
        self.blocks.keys().next_back().copied().unwrap_or(1)
    }
    fn digest(&self, n: u64) -> Result<BlockDigest, Fault> {
        self.blocks.get(&n).map(|(_, d)| *d).ok_or(Fault::BlockNotFound)
    }
    fn genesis_digest(&self) -> BlockDigest {
        GENESIS
    }
    fn block(&self, n: u64) -> Option<Vec<u8>> {
        self.blocks.get(&n).map(|(b, _)| b.clone())
    }
    fn is_normal(&self) -> bool {
        self.normal.load(Ordering::SeqCst)
    }
    fn chain(&self) -> Chain {
        self.chain
    }
}

/// A pool that records submissions, optionally sleeping in each and refusing all.
#[derive(Default)]
pub struct FakePool {
    /// Sleep in every submission, to stand for slow validation.
    pub delay: Duration,
    /// Refuse every submission with this fault.
    pub refuse: Option<Fault>,
    submitted: Mutex<Vec<(&'static str, Vec<u8>)>>,
    started: AtomicUsize,
    finished: AtomicUsize,
}

impl FakePool {
    /// A pool that sleeps `delay` in every submission.
    pub fn slow(delay: Duration) -> FakePool {
        FakePool { delay, ..FakePool::default() }
    }

    /// A pool that refuses every submission with `fault`.
    pub fn refusing(fault: Fault) -> FakePool {
        FakePool { refuse: Some(fault), ..FakePool::default() }
    }

    /// What was submitted, in order: (kind, payload).
    pub fn submitted(&self) -> Vec<(&'static str, Vec<u8>)> {
        lock(&self.submitted).clone()
    }

    /// Submissions begun.
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    /// Submissions finished.
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }

    fn submit(&self, kind: &'static str, packed: &[u8]) -> Result<(), Fault> {
        self.started.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        lock(&self.submitted).push((kind, packed.to_vec()));
        self.finished.fetch_add(1, Ordering::SeqCst);
        self.refuse.map_or(Ok(()), Err)
    }
}

impl PoolView for FakePool {
    fn submit_block(&self, packed: &[u8]) -> Result<(), Fault> {
        self.submit("block", packed)
    }
    fn submit_assets(&self, packed: &[u8]) -> Result<(), Fault> {
        self.submit("assets", packed)
    }
    fn submit_issues(&self, packed: &[u8]) -> Result<(), Fault> {
        self.submit("issues", packed)
    }
    fn submit_transfer(&self, packed: &[u8]) -> Result<(), Fault> {
        self.submit("transfer", packed)
    }
    fn submit_proof(&self, packed: &[u8]) -> Result<(), Fault> {
        self.submit("proof", packed)
    }
}

/// A peer table without bitmarkd's expiry and 7-minute rules: a new key is added (true), a
/// known key is updated (false). `random_peer` is the first other entry, for determinism.
#[derive(Default)]
pub struct FakePeers {
    peers: Mutex<Vec<PeerEntry>>,
    rpcs: Mutex<Vec<PeerEntry>>,
}

impl FakePeers {
    /// The peer entries, in insertion order.
    pub fn peers(&self) -> Vec<PeerEntry> {
        lock(&self.peers).clone()
    }

    /// The RPC entries (fingerprint in `public_key`), in insertion order.
    pub fn rpcs(&self) -> Vec<PeerEntry> {
        lock(&self.rpcs).clone()
    }

    fn upsert(table: &Mutex<Vec<PeerEntry>>, key: &[u8], listeners: &[u8], timestamp: u64) -> bool {
        let mut table = lock(table);
        let entry = PeerEntry { public_key: key.to_vec(), listeners: listeners.to_vec(), timestamp };
        match table.iter_mut().find(|e| e.public_key == key) {
            Some(old) => {
                *old = entry;
                false
            }
            None => {
                table.push(entry);
                true
            }
        }
    }
}

impl PeerTable for FakePeers {
    fn add_peer(&self, public_key: &[u8], listeners: &[u8], timestamp: u64) -> bool {
        FakePeers::upsert(&self.peers, public_key, listeners, timestamp)
    }
    fn random_peer(&self, excluding: &[u8]) -> Option<PeerEntry> {
        lock(&self.peers).iter().find(|e| e.public_key != excluding).cloned()
    }
    fn add_rpc(&self, fingerprint: &[u8], listeners: &[u8], timestamp: u64) -> bool {
        FakePeers::upsert(&self.rpcs, fingerprint, listeners, timestamp)
    }
}

/// A relay that records what it is given.
#[derive(Default)]
pub struct RecordingRelay {
    items: Mutex<Vec<Push>>,
}

impl RecordingRelay {
    /// The relayed items, in order.
    pub fn items(&self) -> Vec<Push> {
        lock(&self.items).clone()
    }
}

impl crate::listener::Relay for RecordingRelay {
    fn relay(&self, item: &Push) {
        lock(&self.items).push(item.clone());
    }
}

/// One exchange a [`RecordingTap`] saw, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TappedExchange {
    /// In or out.
    pub direction: crate::capture::Direction,
    /// The other side.
    pub peer: crate::transport::PeerInfo,
    /// The request frames.
    pub request: Vec<Vec<u8>>,
    /// The reply frames, if any.
    pub reply: Option<Vec<Vec<u8>>>,
    /// Why there was no reply.
    pub error: Option<String>,
    /// A push acknowledged without processing.
    pub dropped: bool,
}

/// A capture tap that keeps every exchange it is shown.
#[derive(Default)]
pub struct RecordingTap {
    exchanges: Mutex<Vec<TappedExchange>>,
}

impl RecordingTap {
    /// The exchanges so far, in the order the tap saw them.
    pub fn exchanges(&self) -> Vec<TappedExchange> {
        lock(&self.exchanges).clone()
    }
}

impl crate::capture::Tap for RecordingTap {
    fn exchange(&self, e: &crate::capture::Exchange<'_>) {
        lock(&self.exchanges).push(TappedExchange {
            direction: e.direction,
            peer: e.peer.clone(),
            request: e.request.to_vec(),
            reply: e.reply.map(<[Vec<u8>]>::to_vec),
            error: e.error.map(str::to_owned),
            dropped: e.dropped,
        });
    }
}

/// A [`Handler`](crate::listener::Handler) over fresh fakes, with handles on each fake.
pub struct Fixture {
    /// The chain view.
    pub chain: std::sync::Arc<FakeChain>,
    /// The pool view.
    pub pool: std::sync::Arc<FakePool>,
    /// The peer table.
    pub peers: std::sync::Arc<FakePeers>,
    /// The relay.
    pub relay: std::sync::Arc<RecordingRelay>,
    /// The score board the handler reports offences to.
    pub scores: std::sync::Arc<crate::score::ScoreBoard>,
    /// The handler over them, version `"zero"`.
    pub handler: std::sync::Arc<crate::listener::Handler>,
}

impl Fixture {
    /// A handler for `chain` with `blocks` blocks after genesis and the given pool.
    pub fn new(chain: Chain, blocks: u64, pool: FakePool) -> Fixture {
        use std::sync::Arc;
        let chain = Arc::new(FakeChain::new(chain, blocks));
        let pool = Arc::new(pool);
        let peers = Arc::new(FakePeers::default());
        let relay = Arc::new(RecordingRelay::default());
        let scores = Arc::new(crate::score::ScoreBoard::default());
        let handler = crate::listener::Handler::new("zero", chain.clone(), pool.clone(), peers.clone(), relay.clone())
            .with_scores(scores.clone(), Arc::new(crate::clock::SystemClock));
        Fixture { chain, pool, peers, relay, scores, handler: Arc::new(handler) }
    }
}
