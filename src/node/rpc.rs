//! The node as bitmarkd's client RPC sees it ([`bitmark_rpc::Backend`]): chain reads from the
//! block store, submissions to the same reservoir pushed records reach, broadcasts on the bus
//! the upstreams drain, and the peer tables of the announcer.

use super::status::{Observer, SyncProgress};
use bitmark_peer::wire::Push;
use bitmark_record::{Account, AssetId, BlockDigest, Chain, Fault, Link};
use bitmark_reservoir::{ConfirmedState, Reservoir};
use bitmark_rpc::backend::{Connection, NodeInfo, OwnedEntry, PeerEntry, Read, RpcServer};
use bitmark_rpc::Backend;
use bitmark_storage::PoolRead;
use std::sync::Arc;
use tracing::error;

const TARGET: &str = "node::rpc";

/// The node's [`Backend`], over the parts `/status` reads.
pub struct NodeBackend {
    observer: Arc<Observer>,
}

impl NodeBackend {
    /// The backend over `observer`'s parts.
    pub fn new(observer: Arc<Observer>) -> NodeBackend {
        NodeBackend { observer }
    }
}

/// A local database failure, logged, as the fault clients see (`data inconsistent`).
fn local<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Fault {
    move |e| {
        error!(target: TARGET, what, error = %e, "chain read failed");
        Fault::DataInconsistent
    }
}

impl Backend for NodeBackend {
    fn chain(&self) -> Chain {
        self.observer.store.chain()
    }

    fn is_normal(&self) -> bool {
        self.observer.mode.is_normal()
    }

    fn info(&self) -> NodeInfo {
        let o = &self.observer;
        let tip = o.store.tip();
        let upstreams = o.upstreams.statuses();
        let (pending, verified) = o.reservoir.counters();
        NodeInfo {
            chain: o.store.chain(),
            normal: o.mode.is_normal(),
            height: tip.height,
            digest: tip.digest,
            remote_height: SyncProgress::of(tip.height, &upstreams).target_height.unwrap_or(0),
            incoming: o.listener.incoming_connections(),
            outgoing: upstreams.iter().filter(|u| u.is_registered()).count() as u64,
            pending,
            verified,
            difficulty: o.store.difficulty().value(),
            public_key: o.public_key,
            mined: o.metrics.blocks_produced(),
        }
    }

    fn block(&self, number: u64) -> Read<Option<Vec<u8>>> {
        self.observer.store.block(number).map_err(local("block"))
    }

    fn block_digest(&self, number: u64) -> Read<Option<BlockDigest>> {
        self.observer.store.pools().block_digest(number).map_err(local("block digest"))
    }

    fn transaction(&self, tx_id: &Link) -> Read<Option<(u64, Vec<u8>)>> {
        let nb = self.observer.store.pools().transaction(tx_id).map_err(local("transaction"))?;
        Ok(nb.map(|nb| (nb.block_number, nb.packed)))
    }

    fn asset(&self, asset_id: &AssetId) -> Read<Option<(u64, Vec<u8>)>> {
        let nb = self.observer.store.pools().asset(asset_id).map_err(local("asset"))?;
        Ok(nb.map(|nb| (nb.block_number, nb.packed)))
    }

    fn currently_owns(&self, owner: &Account, tx_id: &Link) -> Read<bool> {
        self.observer.store.pools().currently_owns(owner, tx_id).map_err(local("ownership"))
    }

    fn owned(&self, owner: &Account, start: u64, count: usize) -> Read<Vec<OwnedEntry>> {
        let store = &self.observer.store;
        let items = store.pools().owned_items(owner, start, count).map_err(local("owner list"))?;
        items
            .into_iter()
            .map(|(n, tx_id)| {
                let data = ConfirmedState::owner_data(&**store, &tx_id)
                    .map_err(local("owner data"))?
                    .ok_or_else(|| local("owner data")("missing for a listed item"))?;
                Ok(OwnedEntry { n, tx_id, data })
            })
            .collect()
    }

    fn holder_of_issue(&self, issue_tx_id: &Link) -> Read<Option<Link>> {
        self.observer.store.pools().holder_of_issue(issue_tx_id).map_err(local("owner data scan"))
    }

    fn reservoir(&self) -> &Reservoir {
        &self.observer.reservoir
    }

    fn broadcast(&self, command: &str, frames: Vec<Vec<u8>>) {
        self.observer.bus.send(Push::Other { command: command.as_bytes().to_vec(), params: frames });
    }

    fn rpc_servers(&self, start: u64, count: usize) -> Result<(Vec<RpcServer>, u64), Fault> {
        let (nodes, next) = self.observer.announcer.fetch_rpcs(start, count)?;
        Ok((
            nodes.into_iter().map(|n| RpcServer { fingerprint: n.fingerprint, addresses: n.addresses }).collect(),
            next,
        ))
    }

    fn peers_after(&self, after: &[u8], count: usize) -> Vec<PeerEntry> {
        let mut peers: Vec<_> =
            self.observer.announcer.peers().into_iter().filter(|p| p.public_key.as_slice() > after).collect();
        peers.sort_by_key(|a| a.public_key);
        peers
            .into_iter()
            .take(count)
            .map(|p| PeerEntry {
                listeners: bitmark_peer::wire::packed_address::unpack_all(&p.listeners),
                public_key: p.public_key.to_vec(),
                timestamp: p.timestamp,
            })
            .collect()
    }

    fn connections(&self) -> Vec<Connection> {
        self.observer
            .upstreams
            .statuses()
            .into_iter()
            .filter(|u| u.is_registered())
            .filter_map(|u| u.target)
            .map(|t| Connection { address: t.address.to_string(), server: hex::encode(t.public_key) })
            .collect()
    }
}
