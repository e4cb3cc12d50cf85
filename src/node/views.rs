//! The listener's [`ChainView`] over the block store, and the shared mode flag.

use bitmark_peer::connector::{Mode as ConnectorMode, ModeHandle};
use bitmark_peer::listener::ChainView;
use bitmark_record::{genesis, BlockDigest, Chain, Fault};
use bitmark_storage::BlockStore;
use std::sync::Arc;

/// bitmarkd's mode as the listener sees it: normal, or resynchronising (pushes are ignored).
/// The connector sets it; everything else reads it. It is the connector's own mode cell
/// ([`ModeHandle`]), so what the connector sets is what the listener, the producer and
/// `/status` read.
#[derive(Clone, Debug, Default)]
pub struct Mode {
    cell: ModeHandle,
}

impl Mode {
    /// A mode flag starting in `normal` (standalone nodes) or resynchronise.
    pub fn new(normal: bool) -> Mode {
        let mode = Mode::default();
        mode.set_normal(normal);
        mode
    }

    /// Whether the node is in normal mode.
    pub fn is_normal(&self) -> bool {
        self.cell.is_normal()
    }

    /// Enter normal mode, or go back to resynchronise.
    pub fn set_normal(&self, normal: bool) {
        self.cell.set(if normal { ConnectorMode::Normal } else { ConnectorMode::Resynchronise });
    }

    /// The shared cell, for the connector to set.
    pub fn handle(&self) -> ModeHandle {
        self.cell.clone()
    }
}

/// The chain as peers see it: height, digests and packed blocks straight from the store.
pub struct StoreChainView {
    store: Arc<BlockStore>,
    mode: Arc<Mode>,
}

impl StoreChainView {
    /// A view of `store`, reporting `mode`.
    pub fn new(store: Arc<BlockStore>, mode: Arc<Mode>) -> StoreChainView {
        StoreChainView { store, mode }
    }
}

impl ChainView for StoreChainView {
    fn height(&self) -> u64 {
        self.store.height()
    }

    /// A storage failure is answered as `block not found`, the text bitmarkd's peers expect
    /// for any digest they cannot have; the failure itself is logged.
    fn digest(&self, n: u64) -> Result<BlockDigest, Fault> {
        if n > self.store.height() {
            return Err(Fault::BlockNotFound);
        }
        self.store.digest_for(n).map_err(|e| {
            tracing::warn!(target: "node::views", height = n, error = %e, "digest lookup failed");
            Fault::BlockNotFound
        })
    }

    fn genesis_digest(&self) -> BlockDigest {
        genesis::digest(self.store.chain())
    }

    fn block(&self, n: u64) -> Option<Vec<u8>> {
        self.store.block(n).unwrap_or_else(|e| {
            tracing::warn!(target: "node::views", height = n, error = %e, "block lookup failed");
            None
        })
    }

    fn is_normal(&self) -> bool {
        self.mode.is_normal()
    }

    fn chain(&self) -> Chain {
        self.store.chain()
    }
}
