//! The listener's [`PoolView`]: where pushed blocks and transactions go.
//!
//! Pushed blocks are validated and stored by the block store (bitmarkd's `StoreIncoming`)
//! through the node's [`ChainHooks`], so the reservoir drops what they confirm; assets, issues,
//! transfers and proofs go to the reservoir's `process_*`, which refuse with bitmarkd's faults
//! (peer/process.go). The handler calls in normal mode only, as bitmarkd's
//! `processSubscription` does, and relays what was accepted on the bus.

use super::metrics::{ErrorSource, Metrics};
use bitmark_peer::listener::PoolView;
use bitmark_record::Fault;
use bitmark_reservoir::{ChainHooks, ReservoirError};
use bitmark_storage::StorageError;
use std::sync::Arc;
use tracing::{error, info};

const TARGET: &str = "node::pool";

/// The node's pool view over its chain and reservoir.
pub struct NodePool {
    hooks: ChainHooks,
    metrics: Arc<Metrics>,
}

impl NodePool {
    /// Store pushed blocks and hold pushed transactions through `hooks`, counting them in
    /// `metrics`.
    pub fn new(hooks: ChainHooks, metrics: Arc<Metrics>) -> NodePool {
        NodePool { hooks, metrics }
    }

    /// Hand a pushed transaction payload to the reservoir; a refusal is counted under
    /// `command`.
    fn transactions(
        &self,
        command: &str,
        process: impl FnOnce(&bitmark_reservoir::Reservoir) -> bitmark_reservoir::Result<()>,
    ) -> Result<(), Fault> {
        process(self.hooks.reservoir()).map_err(|e| {
            let fault = reservoir_fault(command, e, &self.metrics);
            self.metrics.error(ErrorSource::Push, &format!("{command}: {fault}"));
            fault
        })
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

/// The fault a reservoir refusal is reported as: bitmarkd's, or `data inconsistent` for a
/// local failure (its sled tree, a chain read), which is logged and counted as the node's.
fn reservoir_fault(command: &str, e: ReservoirError, metrics: &Metrics) -> Fault {
    match e {
        ReservoirError::Fault(f) => f,
        ReservoirError::Storage(e) => fault_of(e),
        other => {
            error!(target: TARGET, command, error = %other, "the reservoir failed on a pushed item");
            metrics.error(ErrorSource::Node, "reservoir failed");
            Fault::DataInconsistent
        }
    }
}

impl PoolView for NodePool {
    // TODO: pushed blocks should go through the connector's single writer (ARCHITECTURE.md: the
    // writer is the only code that mutates the chain); today the hooks' change lock and the block
    // store's writer lock serialise them.
    fn submit_block(&self, packed: &[u8]) -> Result<(), Fault> {
        match self.hooks.apply(packed) {
            Ok(applied) => {
                self.metrics.block_applied();
                info!(target: TARGET, height = applied.number, digest = %applied.digest.raw_hex(),
                      transactions = applied.transactions, "stored a pushed block");
                Ok(())
            }
            Err(ReservoirError::Storage(e)) => {
                let fault = fault_of(e);
                self.metrics.block_refused();
                self.metrics.error(ErrorSource::Push, &format!("block: {fault}"));
                Err(fault)
            }
            // The block is stored; only the reservoir missed it (its next rescan catches up).
            Err(e) => {
                self.metrics.block_applied();
                self.metrics.error(ErrorSource::Node, "reservoir update failed");
                error!(target: TARGET, height = self.hooks.store().height(), error = %e,
                       "stored a pushed block but the reservoir update failed");
                Ok(())
            }
        }
    }

    fn submit_assets(&self, packed: &[u8]) -> Result<(), Fault> {
        self.transactions("assets", |r| r.process_assets(packed))
    }

    fn submit_issues(&self, packed: &[u8]) -> Result<(), Fault> {
        self.transactions("issues", |r| r.process_issues(packed))
    }

    fn submit_transfer(&self, packed: &[u8]) -> Result<(), Fault> {
        self.transactions("transfer", |r| r.process_transfer(packed))
    }

    fn submit_proof(&self, packed: &[u8]) -> Result<(), Fault> {
        self.transactions("proof", |r| r.process_proof(packed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_common::Clock;
    use bitmark_record::assemble::sign_record;
    use bitmark_record::transaction::AssetData;
    use bitmark_record::{Chain, Transaction};
    use bitmark_reservoir::{Reservoir, MINIMUM_FETCH_TRANSACTIONS};
    use bitmark_storage::testchain::{test_accounts, TestChain, TestChainConfig};
    use bitmark_storage::{BlockStore, ChainDb, StoreOptions};
    use std::sync::{Mutex, OnceLock, Weak};
    use std::time::{Instant, SystemTime};

    fn store(height: u64) -> Arc<BlockStore> {
        store_with(height, StoreOptions::default())
    }

    fn store_with(height: u64, options: StoreOptions) -> Arc<BlockStore> {
        let store = BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, options).unwrap();
        TestChain::new(TestChainConfig { seed: 9, txs_per_block: 2, ..Default::default() })
            .extend(&store, height, |_| {})
            .unwrap();
        Arc::new(store)
    }

    fn asset(name: &str) -> Vec<u8> {
        let who = &test_accounts(9)[0];
        let record = AssetData {
            name: name.into(),
            fingerprint: format!("pool-test-{name}").as_str().into(),
            metadata: "".into(),
            registrant: who.account.clone(),
            signature: Vec::new(),
        };
        sign_record(Transaction::AssetData(record), &who.key, None).unwrap()
    }

    #[test]
    fn pushed_blocks_go_through_the_hooks_and_transactions_to_the_reservoir() {
        let dir = tempfile::tempdir().unwrap();
        let (ours, taller) = (store(3), store(4));
        let (hooks, _) = super::super::reservoir::open(dir.path(), &ours).unwrap();
        let metrics = Arc::new(Metrics::new());
        let pool = NodePool::new(hooks.clone(), Arc::clone(&metrics));

        // Transactions: the reservoir's answers, with bitmarkd's faults.
        let packed = asset("one");
        assert_eq!(pool.submit_assets(&packed), Ok(()));
        assert!(hooks
            .reservoir()
            .cached_asset(&match Transaction::unpack(&packed, true).unwrap().0 {
                Transaction::AssetData(a) => a.asset_id(),
                _ => unreachable!(),
            })
            .is_some());
        assert_eq!(pool.submit_assets(&packed), Err(Fault::NoNewTransactions));
        assert_eq!(pool.submit_proof(&[0; 50]), Err(Fault::InvalidNonce));
        assert!(pool.submit_issues(&packed).is_err());
        assert!(pool.submit_transfer(&[0xff; 4]).is_err());
        let errors = metrics.errors();
        assert!(errors.contains(&(ErrorSource::Push, "assets: no new transactions".into(), 1)), "{errors:?}");
        assert!(errors.contains(&(ErrorSource::Push, format!("proof: {}", Fault::InvalidNonce), 1)));

        // Blocks: stored once through the hooks.
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
    }

    /// The system clock, noting at each wall-clock reading whether the watched reservoir's
    /// block selection is on.
    #[derive(Default)]
    struct Watching {
        reservoir: OnceLock<Weak<Reservoir>>,
        selecting: Mutex<Vec<bool>>,
    }

    impl Clock for Watching {
        fn instant(&self) -> Instant {
            Instant::now()
        }

        fn wall(&self) -> SystemTime {
            if let Some(reservoir) = self.reservoir.get().and_then(Weak::upgrade) {
                let on = reservoir.fetch_verified(MINIMUM_FETCH_TRANSACTIONS).is_ok_and(|s| !s.tx_ids.is_empty());
                self.selecting.lock().unwrap().push(on);
            }
            SystemTime::now()
        }
    }

    /// A pushed block's Argon2d digest is computed before the chain-change lock is taken and
    /// the reservoir switched off: junk with a plausible header must not stall the connector,
    /// the producer and block selection for a digest each. The store reads its clock just
    /// before it digests a pushed block (and again under its lock), so the clock is where this
    /// test looks: block selection must still be on at the first reading (the hooks switch
    /// it off and take the lock together, and switch it on before they let go).
    #[test]
    fn a_pushed_blocks_digest_is_computed_before_the_chain_change_lock() {
        let clock = Arc::new(Watching::default());
        let ours = store_with(3, StoreOptions { clock: clock.clone(), ..StoreOptions::default() });
        let dir = tempfile::tempdir().unwrap();
        let (hooks, _) = super::super::reservoir::open(dir.path(), &ours).unwrap();
        // A verified issue, so that selection has something to give while it is on.
        hooks.reservoir().process_issues(&super::super::producer::tests::paid_issue(&ours)).unwrap();
        clock.reservoir.set(Arc::downgrade(hooks.reservoir())).unwrap();

        // Block 4 of the same chain with its last signature broken: a plausible header, so
        // its digest is computed, and a block the store then refuses.
        let mut junk = store(4).block(4).unwrap().unwrap();
        *junk.last_mut().unwrap() ^= 0xff;
        let pool = NodePool::new(hooks, Arc::new(Metrics::new()));
        assert!(pool.submit_block(&junk).is_err());
        let seen = clock.selecting.lock().unwrap().clone();
        assert_eq!(seen.first(), Some(&true), "selection at each clock reading: {seen:?}");
        assert_eq!(ours.height(), 3);
    }
}
