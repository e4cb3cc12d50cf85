//! The listener's [`ChainView`] over the block store.

use super::datadir::Databases;
use bitmark_peer::connector::ModeHandle;
use bitmark_peer::listener::ChainView;
use bitmark_record::{genesis, BlockDigest, Chain, Fault};
use bitmark_storage::BlockStore;
use std::sync::Arc;

/// The chain as peers see it: height, digests and packed blocks straight from the store.
pub struct StoreChainView {
    store: Arc<BlockStore>,
    mode: ModeHandle,
}

impl StoreChainView {
    /// A view of `store`, reporting `mode`.
    pub fn new(store: Arc<BlockStore>, mode: ModeHandle) -> StoreChainView {
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
            let e = Databases::of_store(&self.store).chain(e);
            tracing::warn!(target: "node::views", height = n, error = %e, "digest lookup failed");
            Fault::BlockNotFound
        })
    }

    fn genesis_digest(&self) -> BlockDigest {
        genesis::digest(self.store.chain())
    }

    fn block(&self, n: u64) -> Option<Vec<u8>> {
        self.store.block(n).unwrap_or_else(|e| {
            let e = Databases::of_store(&self.store).chain(e);
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
