//! Cheap stand-ins for the connector's unit tests: a chain whose "Argon2d" is SHA3 (so
//! thousands of blocks cost nothing), a digester to match, and peers over such chains that can
//! be made to lie, forge or fall silent. The simulation (`crate::sim`) uses real block stores.

use super::local::{ChainError, Digester, HeaderDone, LocalChain, RolledBack};
use super::remote::{PeerKey, RemoteError, RemotePeer, RemoteState};
use bitmark_common::lock;
use bitmark_record::header::{BlockHeader, PackedHeader, HEADER_SIZE};
use bitmark_record::{BlockDigest, Difficulty, Fault, Link};
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Instant;

/// The fake digest: SHA3-256 of the header.
pub fn fake_digest(block: &[u8]) -> Option<BlockDigest> {
    block.get(..HEADER_SIZE).map(|h| BlockDigest(Link::of(h).0))
}

/// Payload marking a block the fake chain refuses (as a bad merkle root).
const BAD: &[u8] = b"BAD";

/// A fake block `number` on `previous`; `branch` and `extra` make the content differ.
pub fn fake_block(number: u64, previous: BlockDigest, branch: u8, extra: &[u8]) -> Vec<u8> {
    let header = BlockHeader {
        version: 5,
        transaction_count: 2,
        number,
        previous_block: previous,
        merkle_root: Link::default(),
        timestamp: 1_600_000_000 + number * 120,
        difficulty: Difficulty::ONE,
        nonce: u64::from(branch),
    };
    let mut block = header.pack().to_vec();
    block.push(branch);
    block.extend_from_slice(extra);
    block
}

/// Read number and previous digest of a block's header.
fn header_of(block: &[u8]) -> Result<BlockHeader, Fault> {
    let head: [u8; HEADER_SIZE] =
        block.get(..HEADER_SIZE).and_then(|h| h.try_into().ok()).ok_or(Fault::InvalidBlockHeaderSize)?;
    BlockHeader::unpack(&head, u64::MAX / 4)
}

/// An in-memory chain with fake digests.
pub struct FakeChain {
    genesis: BlockDigest,
    blocks: Mutex<Vec<(Vec<u8>, BlockDigest)>>,
}

impl FakeChain {
    /// Genesis only; `seed` picks the genesis digest.
    pub fn new(seed: u8) -> FakeChain {
        FakeChain { genesis: BlockDigest([seed; 32]), blocks: Mutex::new(Vec::new()) }
    }

    /// Blocks 2..=`common` shared by every chain of the same `seed`, then `branch`'s own blocks
    /// up to `height`.
    pub fn build(seed: u8, common: u64, height: u64, branch: u8) -> FakeChain {
        let chain = FakeChain::new(seed);
        for n in 2..=height {
            let b = if n <= common { 0 } else { branch };
            chain.push(fake_block(n, chain.tip(), b, &[]));
        }
        chain
    }

    /// Append without checks.
    pub fn push(&self, block: Vec<u8>) {
        let digest = fake_digest(&block).unwrap_or_default();
        lock(&self.blocks).push((block, digest));
    }

    /// The tip digest.
    pub fn tip(&self) -> BlockDigest {
        lock(&self.blocks).last().map_or(self.genesis, |(_, d)| *d)
    }

    fn append(&self, block: &[u8], digest: BlockDigest, check_link: bool) -> Result<(), ChainError> {
        let header = header_of(block)?;
        let mut blocks = lock(&self.blocks);
        let (height, tip) = (blocks.len() as u64 + 1, blocks.last().map_or(self.genesis, |(_, d)| *d));
        if header.number != height + 1 {
            return Err(Fault::HeightOutOfSequence.into());
        }
        if check_link && header.previous_block != tip {
            return Err(Fault::PreviousBlockDigestDoesNotMatch.into());
        }
        if block.get(HEADER_SIZE + 1..) == Some(BAD) {
            return Err(Fault::MerkleRootDoesNotMatch.into());
        }
        blocks.push((block.to_vec(), digest));
        Ok(())
    }
}

impl LocalChain for FakeChain {
    fn height(&self) -> u64 {
        lock(&self.blocks).len() as u64 + 1
    }

    fn digest(&self, n: u64) -> Result<BlockDigest, ChainError> {
        if n <= 1 {
            return Ok(self.genesis);
        }
        let index = usize::try_from(n - 2).map_err(|_| Fault::BlockNotFound)?;
        lock(&self.blocks).get(index).map(|(_, d)| *d).ok_or_else(|| Fault::BlockNotFound.into())
    }

    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, ChainError> {
        let Some(index) = n.checked_sub(2).and_then(|i| usize::try_from(i).ok()) else { return Ok(None) };
        Ok(lock(&self.blocks).get(index).map(|(b, _)| b.clone()))
    }

    fn apply(&self, block: &[u8], digest: BlockDigest) -> Result<(), ChainError> {
        self.append(block, digest, true)
    }

    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<BlockDigest, ChainError> {
        let digest = header_of(next)?.previous_block;
        self.append(block, digest, false).map(|()| digest)
    }

    fn rollback_to(&self, height: u64) -> Result<Vec<RolledBack>, ChainError> {
        let keep = usize::try_from(height.max(1) - 1).unwrap_or(usize::MAX);
        let mut blocks = lock(&self.blocks);
        let mut undone = Vec::new();
        while blocks.len() > keep {
            let n = blocks.len() as u64 + 1;
            if let Some((_, digest)) = blocks.pop() {
                undone.push(RolledBack { number: n, digest, transactions: 0 });
            }
        }
        Ok(undone)
    }
}

/// Computes [`fake_digest`]s, counting them.
#[derive(Default)]
pub struct FakeDigester {
    /// Digests computed.
    pub computed: AtomicUsize,
}

impl Digester for FakeDigester {
    fn threads(&self) -> usize {
        2
    }

    /// On the calling thread.
    fn digest_header(&self, header: PackedHeader, then: HeaderDone) {
        self.computed.fetch_add(1, Ordering::SeqCst);
        then(fake_digest(&header).unwrap_or_default());
    }
}

/// How a fake peer misbehaves.
#[derive(Clone, Debug, Default)]
pub struct Misdeeds {
    /// Answer nothing (timeouts).
    pub dead: bool,
    /// Answer nothing after this many block requests.
    pub dies_after_blocks: Option<usize>,
    /// Claim this height instead of the real one.
    pub claimed_height: Option<u64>,
    /// Serve a corrupted block (refused by validation) at these heights.
    pub corrupt: BTreeSet<u64>,
    /// Serve a well-formed block of another branch at these heights (digest answers stay
    /// honest, so the peer contradicts itself).
    pub substitute: BTreeSet<u64>,
    /// Serve the block with another `previousBlock` at these heights (what fast sync takes as
    /// the digest of the block before).
    pub forge_previous: BTreeSet<u64>,
    /// Take this long over every block request.
    pub slow: Option<std::time::Duration>,
}

/// A peer over a [`FakeChain`].
pub struct FakePeer {
    key: PeerKey,
    chain: Arc<FakeChain>,
    state: Mutex<RemoteState>,
    misdeeds: Mutex<Misdeeds>,
    served: AtomicUsize,
    digests_asked: Mutex<Vec<u64>>,
    fetch_threads: Mutex<HashSet<ThreadId>>,
}

impl FakePeer {
    /// A registered peer with key `[1; 32]` over `chain`, never polled.
    pub fn over(chain: FakeChain) -> FakePeer {
        FakePeer::keyed([1; 32], Arc::new(chain))
    }

    /// A registered peer with `key` over a shared chain.
    pub fn keyed(key: PeerKey, chain: Arc<FakeChain>) -> FakePeer {
        let state = RemoteState {
            name: format!("fake@{}", key[0]),
            key: Some(key),
            registered: true,
            ..RemoteState::default()
        };
        FakePeer {
            key,
            chain,
            state: Mutex::new(state),
            misdeeds: Mutex::new(Misdeeds::default()),
            served: AtomicUsize::new(0),
            digests_asked: Mutex::new(Vec::new()),
            fetch_threads: Mutex::new(HashSet::new()),
        }
    }

    /// Its chain.
    pub fn chain(&self) -> &FakeChain {
        &self.chain
    }

    /// Its key.
    pub fn key(&self) -> PeerKey {
        self.key
    }

    /// Change its misbehaviour.
    pub fn set(&self, misdeeds: Misdeeds) {
        *lock(&self.misdeeds) = misdeeds;
    }

    /// Make it silent or not.
    pub fn set_dead(&self, dead: bool) {
        lock(&self.misdeeds).dead = dead;
    }

    /// The heights it was asked its digest of (`H`), in order.
    pub fn digests_asked(&self) -> Vec<u64> {
        lock(&self.digests_asked).clone()
    }

    /// The threads its blocks were asked for on.
    pub fn fetch_threads(&self) -> HashSet<ThreadId> {
        lock(&self.fetch_threads).clone()
    }

    /// Block requests answered.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// Poll as an upstream does: its height and its digest of `local_height`, at `now`.
    pub fn poll(&self, local_height: u64, now: Instant) {
        if self.silent() {
            lock(&self.state).registered = false;
            return;
        }
        let claimed = lock(&self.misdeeds).claimed_height;
        let height = claimed.unwrap_or_else(|| self.chain.height());
        let digest = self.chain.digest(local_height).ok();
        let mut s = lock(&self.state);
        s.registered = true;
        s.height = Some(height);
        s.local_height = Some(local_height);
        s.digest_of_local_height = digest;
        s.last_response = Some(now);
    }

    fn silent(&self) -> bool {
        let m = lock(&self.misdeeds);
        m.dead || m.dies_after_blocks.is_some_and(|n| self.served() >= n)
    }
}

impl RemotePeer for FakePeer {
    fn snapshot(&self) -> RemoteState {
        lock(&self.state).clone()
    }

    fn remote_digest_of_height(&self, n: u64) -> Result<BlockDigest, RemoteError> {
        lock(&self.digests_asked).push(n);
        if self.silent() {
            return Err(RemoteError::Timeout);
        }
        self.chain.digest(n).map_err(|_| RemoteError::NotFound)
    }

    fn get_block_data(&self, n: u64) -> Result<Vec<u8>, RemoteError> {
        lock(&self.fetch_threads).insert(std::thread::current().id());
        if self.silent() {
            return Err(RemoteError::Timeout);
        }
        if let Some(pause) = lock(&self.misdeeds).slow {
            std::thread::sleep(pause);
        }
        let block = self.chain.block(n).ok().flatten().ok_or(RemoteError::NotFound)?;
        self.served.fetch_add(1, Ordering::SeqCst);
        let m = lock(&self.misdeeds);
        if m.corrupt.contains(&n) {
            let mut bad = block.get(..HEADER_SIZE).unwrap_or_default().to_vec();
            bad.push(0);
            bad.extend_from_slice(BAD);
            return Ok(bad);
        }
        if m.substitute.contains(&n) {
            let previous = header_of(&block).map(|h| h.previous_block).unwrap_or_default();
            return Ok(fake_block(n, previous, 0xee, b"substitute"));
        }
        if m.forge_previous.contains(&n) {
            let mut forged = block;
            if let Some(previous) = forged.get_mut(12..44) {
                previous.copy_from_slice(&[0xab; 32]);
            }
            return Ok(forged);
        }
        Ok(block)
    }
}
