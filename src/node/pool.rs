//! The listener's [`PoolView`]: where pushed blocks and transactions go.
//!
//! Pushed blocks are validated and stored by the block store (bitmarkd's `StoreIncoming`); the
//! handler only calls in normal mode, as bitmarkd's `processSubscription` does. Transactions
//! need the reservoir, which is not part of the node yet: they are refused with bitmarkd's
//! `missing reservoir` fault (the peer still gets its `A`; nothing is relayed).

use super::metrics::{ErrorSource, Metrics};
use bitmark_peer::listener::PoolView;
use bitmark_record::Fault;
use bitmark_storage::{BlockStore, StorageError};
use std::sync::Arc;
use tracing::{error, info};

const TARGET: &str = "node::pool";

/// The node's pool view over its block store.
pub struct NodePool {
    store: Arc<BlockStore>,
    metrics: Arc<Metrics>,
}

impl NodePool {
    /// Store pushed blocks in `store`, counting them in `metrics`.
    pub fn new(store: Arc<BlockStore>, metrics: Arc<Metrics>) -> NodePool {
        NodePool { store, metrics }
    }

    /// Every transaction push until the reservoir is wired in.
    // TODO(issue 4): hand assets, issues, transfers and proofs to the reservoir
    // (`Reservoir::submit_*`), and tell it of stored blocks (`Reservoir::block_stored`).
    fn no_reservoir(&self, command: &str) -> Result<(), Fault> {
        self.metrics.error(ErrorSource::Push, &format!("{command}: {}", Fault::MissingReservoir));
        Err(Fault::MissingReservoir)
    }
}

/// The fault a block store failure is reported as: its own fault, or `data inconsistent` for a
/// local database failure (logged, since it is ours and not the sender's).
fn fault_of(e: StorageError) -> Fault {
    match e {
        StorageError::Fault(f) => f,
        other => {
            error!(target: TARGET, error = %other, "block store failed on a pushed block");
            Fault::DataInconsistent
        }
    }
}

impl PoolView for NodePool {
    // TODO(issue 6): once the connector lands, pushed blocks go through its single writer
    // (ARCHITECTURE.md: the writer is the only code that mutates the chain); today the block
    // store's writer lock serialises them.
    fn submit_block(&self, packed: &[u8]) -> Result<(), Fault> {
        match self.store.apply(packed) {
            Ok(applied) => {
                self.metrics.block_applied();
                info!(target: TARGET, height = applied.number, digest = %applied.digest.raw_hex(),
                      transactions = applied.transactions, "stored a pushed block");
                Ok(())
            }
            Err(e) => {
                let fault = fault_of(e);
                self.metrics.block_refused();
                self.metrics.error(ErrorSource::Push, &format!("block: {fault}"));
                Err(fault)
            }
        }
    }

    fn submit_assets(&self, _packed: &[u8]) -> Result<(), Fault> {
        self.no_reservoir("assets")
    }

    fn submit_issues(&self, _packed: &[u8]) -> Result<(), Fault> {
        self.no_reservoir("issues")
    }

    fn submit_transfer(&self, _packed: &[u8]) -> Result<(), Fault> {
        self.no_reservoir("transfer")
    }

    fn submit_proof(&self, _packed: &[u8]) -> Result<(), Fault> {
        self.no_reservoir("proof")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::Chain;
    use bitmark_storage::testchain::{TestChain, TestChainConfig};
    use bitmark_storage::{ChainDb, StoreOptions};

    fn store(height: u64) -> Arc<BlockStore> {
        let store = BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap();
        TestChain::new(TestChainConfig { seed: 9, txs_per_block: 2, ..Default::default() })
            .extend(&store, height, |_| {})
            .unwrap();
        Arc::new(store)
    }

    #[test]
    fn pushed_blocks_are_stored_once_and_transactions_wait_for_the_reservoir() {
        let (ours, taller) = (store(3), store(4));
        let metrics = Arc::new(Metrics::new());
        let pool = NodePool::new(Arc::clone(&ours), Arc::clone(&metrics));
        let block4 = taller.block(4).unwrap().unwrap();
        assert_eq!(pool.submit_block(&block4), Ok(()));
        assert_eq!(ours.height(), 4);
        assert_eq!(metrics.blocks_applied(), 1);
        // The same block again is refused with the store's fault, and counted.
        let refused = pool.submit_block(&block4).unwrap_err();
        assert_eq!(ours.height(), 4);
        assert!(metrics
            .errors()
            .iter()
            .any(|(s, kind, n)| *s == ErrorSource::Push && *kind == format!("block: {refused}") && *n == 1));
        for result in
            [pool.submit_assets(b"x"), pool.submit_issues(b"x"), pool.submit_transfer(b"x"), pool.submit_proof(b"x")]
        {
            assert_eq!(result, Err(Fault::MissingReservoir));
        }
    }
}
