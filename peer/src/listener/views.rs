//! What the listener needs from the rest of the node, as traits the node implements: the
//! chain, the pools that take pushed items, the peer table, and the relay to other peers.
//! Tests and the capture replayer implement them too.

use crate::wire::Push;
use bitmark_record::{BlockDigest, Chain, Fault};

/// Read access to the local chain. [`ChainView::height`], [`ChainView::is_normal`] and
/// [`ChainView::chain`] must answer from memory: the handler answers `N` and `I` with them on the
/// listener's socket thread ([`Service::answers_at_once`](crate::transport::Service::answers_at_once)).
pub trait ChainView: Send + Sync {
    /// The height of the last stored block.
    fn height(&self) -> u64;
    /// The digest of the block at `n`, for `n >= 2` (the handler answers `n <= 1` from
    /// [`ChainView::genesis_digest`]). A missing block is `Fault::BlockNotFound`; other faults
    /// are sent to the requester with their text, as bitmarkd does.
    fn digest(&self, n: u64) -> Result<BlockDigest, Fault>;
    /// The genesis digest of [`ChainView::chain`] (bitmarkd answers it for `H 0` and `H 1`).
    fn genesis_digest(&self) -> BlockDigest;
    /// The packed block at `n` exactly as stored, or `None`.
    fn block(&self, n: u64) -> Option<Vec<u8>>;
    /// Whether the node is in normal mode; pushes are ignored while it resynchronises.
    fn is_normal(&self) -> bool;
    /// The chain the node runs.
    fn chain(&self) -> Chain;
}

/// Where pushed blocks and transactions go. `Ok` means accepted (new and valid) and makes the
/// handler relay the item; an `Err` fault is logged, never sent (bitmarkd acknowledges every
/// push). Called from push workers, possibly several at once; may be slow.
pub trait PoolView: Send + Sync {
    /// A pushed packed block: validate and store it (bitmarkd's `StoreIncoming`).
    fn submit_block(&self, packed: &[u8]) -> Result<(), Fault>;
    /// Concatenated packed asset records; `NoNewTransactions` when all are known.
    fn submit_assets(&self, packed: &[u8]) -> Result<(), Fault>;
    /// Concatenated packed issue records (at most 100).
    fn submit_issues(&self, packed: &[u8]) -> Result<(), Fault>;
    /// One packed transfer, share grant or share swap.
    fn submit_transfer(&self, packed: &[u8]) -> Result<(), Fault>;
    /// A payment proof: 48-byte pay id then an 8..64-byte nonce.
    fn submit_proof(&self, packed: &[u8]) -> Result<(), Fault>;
}

/// One entry of the peer table, as the `R` reply carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerEntry {
    /// The peer's public key.
    pub public_key: Vec<u8>,
    /// Its packed listener addresses.
    pub listeners: Vec<u8>,
    /// Its stored announcement time, unix seconds.
    pub timestamp: u64,
}

/// The announce tables (bitmarkd's `announce` package).
pub trait PeerTable: Send + Sync {
    /// Add or refresh a peer (`announce.AddPeer`): true when it is new or updated and should be
    /// relayed.
    fn add_peer(&self, public_key: &[u8], listeners: &[u8], timestamp: u64) -> bool;
    /// A random peer that is neither us nor `excluding` (`announce.GetRandom`).
    fn random_peer(&self, excluding: &[u8]) -> Option<PeerEntry>;
    /// Add or refresh an RPC server (`announce.AddRPC`): true when it should be relayed.
    fn add_rpc(&self, fingerprint: &[u8], listeners: &[u8], timestamp: u64) -> bool;
}

/// Where accepted pushes go to be relayed to our upstream peers (the broadcast bus). Must not
/// block for long: it runs on a push worker.
pub trait Relay: Send + Sync {
    /// Relay `item`, which has been accepted.
    fn relay(&self, item: &Push);
}

impl<F: Fn(&Push) + Send + Sync> Relay for F {
    fn relay(&self, item: &Push) {
        self(item)
    }
}

/// A relay that drops everything, for nodes and tests without a broadcast bus.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRelay;

impl Relay for NoRelay {
    fn relay(&self, _item: &Push) {}
}
