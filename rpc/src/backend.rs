//! What the RPC needs from the node: its state, chain reads, the reservoir, the peer tables
//! and the broadcast bus. The node implements [`Backend`] over its block store, reservoir,
//! announcer and bus; the RPC never reaches into sled or the peer layer itself.
//!
//! Every method is synchronous and may block (sled reads, signature checks, a reservoir flush):
//! the RPC calls them through `tokio::task::spawn_blocking`, never on a runtime worker.

use bitmark_record::{Account, AssetId, BlockDigest, Chain, Fault, Link};
use bitmark_reservoir::{OwnerRecord, Reservoir};
use std::net::SocketAddr;
use std::time::SystemTime;

/// What `Node.Info` and `/bitmarkd/details` report.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    /// The chain.
    pub chain: Chain,
    /// Normal mode (else resynchronising).
    pub normal: bool,
    /// Height of the last stored block.
    pub height: u64,
    /// Its digest.
    pub digest: BlockDigest,
    /// The highest height our peers report (bitmarkd's `peer.BlockHeight`).
    pub remote_height: u64,
    /// Incoming peer connections.
    pub incoming: u64,
    /// Outgoing peer connections (registered upstreams).
    pub outgoing: u64,
    /// Pending and verified records in the reservoir (`ReadCounters`).
    pub pending: usize,
    /// See `pending`.
    pub verified: usize,
    /// The current difficulty's value (`difficulty.Current.Value()`).
    pub difficulty: f64,
    /// The node's peer public key.
    pub public_key: [u8; 32],
    /// Blocks this node made (`proof.MinedBlocks`; our block producer's count).
    pub mined: u64,
}

/// One owned item of an account's list (pool `L` and its owner data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnedEntry {
    /// Its position in the owner's list.
    pub n: u64,
    /// The tx id the owner holds it under.
    pub tx_id: Link,
    /// What is held.
    pub data: OwnerRecord,
}

/// One entry of the peer table (`/bitmarkd/peers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerEntry {
    /// The peer's public key.
    pub public_key: Vec<u8>,
    /// Its listeners.
    pub listeners: Vec<SocketAddr>,
    /// When it was last announced.
    pub timestamp: SystemTime,
}

/// An outgoing peer connection (`/bitmarkd/connections`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    /// `IP:PORT`.
    pub address: String,
    /// The server's public key, hex.
    pub server: String,
}

/// An RPC server of the network (`Node.List`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcServer {
    /// SHA3-256 of its certificate.
    pub fingerprint: [u8; 32],
    /// Its addresses.
    pub addresses: Vec<SocketAddr>,
}

/// Result of a chain read: a local database failure is reported as a fault (the node logs it).
pub type Read<T> = Result<T, Fault>;

/// The node as the RPC sees it.
pub trait Backend: Send + Sync + 'static {
    /// The chain.
    fn chain(&self) -> Chain;
    /// Whether the node is in normal mode (writes and some reads need it).
    fn is_normal(&self) -> bool;
    /// The figures of `Node.Info`.
    fn info(&self) -> NodeInfo;
    /// Pool `B`: a whole packed block.
    fn block(&self, number: u64) -> Read<Option<Vec<u8>>>;
    /// Pool `2`: a stored block digest.
    fn block_digest(&self, number: u64) -> Read<Option<BlockDigest>>;
    /// Pool `T`: block number and packed record of a confirmed transaction.
    fn transaction(&self, tx_id: &Link) -> Read<Option<(u64, Vec<u8>)>>;
    /// Pool `A`: block number and packed record of a confirmed asset.
    fn asset(&self, asset_id: &AssetId) -> Read<Option<(u64, Vec<u8>)>>;
    /// Pool `D`: whether `owner` holds the item under `tx_id` now.
    fn currently_owns(&self, owner: &Account, tx_id: &Link) -> Read<bool>;
    /// Pools `L` and `O`: up to `count` items of `owner`'s list from position `start`.
    fn owned(&self, owner: &Account, start: u64, count: usize) -> Read<Vec<OwnedEntry>>;
    /// Pool `O`: the first tx id (in key order) whose owner data names `issue_tx_id` as its
    /// issue: where `Bitmark.FullProvenance` starts its walk.
    fn holder_of_issue(&self, issue_tx_id: &Link) -> Read<Option<Link>>;
    /// The reservoir: submissions go through the same calls as pushed records.
    fn reservoir(&self) -> &Reservoir;
    /// Send `frames` under `command` to every upstream (the broadcast bus).
    fn broadcast(&self, command: &str, frames: Vec<Vec<u8>>);
    /// The RPC table (`Node.List`): up to `count` servers from position `start`, and where
    /// to continue (`0` past the end).
    fn rpc_servers(&self, start: u64, count: usize) -> Result<(Vec<RpcServer>, u64), Fault>;
    /// Up to `count` peers of the peer table whose keys follow `after`, in key order.
    fn peers_after(&self, after: &[u8], count: usize) -> Vec<PeerEntry>;
    /// Our outgoing peer connections.
    fn connections(&self) -> Vec<Connection>;
}
