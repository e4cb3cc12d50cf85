//! The listener's [`ChainView`] over the block store, and the shared mode flag.

use bitmark_peer::listener::ChainView;
use bitmark_record::{genesis, BlockDigest, Chain, Fault};
use bitmark_storage::BlockStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// bitmarkd's mode as the listener sees it: normal, or resynchronising (pushes are ignored).
/// The connector sets it; everything else reads it.
#[derive(Debug, Default)]
pub struct Mode {
    normal: AtomicBool,
}

impl Mode {
    /// A mode flag starting in `normal` (standalone nodes) or resynchronise.
    pub fn new(normal: bool) -> Mode {
        Mode { normal: AtomicBool::new(normal) }
    }

    /// Whether the node is in normal mode.
    pub fn is_normal(&self) -> bool {
        self.normal.load(Ordering::Acquire)
    }

    /// Enter or leave normal mode.
    pub fn set_normal(&self, normal: bool) {
        self.normal.store(normal, Ordering::Release);
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
