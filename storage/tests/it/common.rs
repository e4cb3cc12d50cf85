//! Helpers shared by the storage integration tests.
#![allow(dead_code)]
use bitmark_record::Chain;
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::{BlockStore, ChainDb, Pool, StoreOptions};

/// A fresh store on chain `local` in a temporary database.
pub fn store() -> BlockStore {
    BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap()
}

/// A store holding a generated chain of `height`.
pub fn generated(seed: u64, txs: usize, height: u64) -> BlockStore {
    let store = store();
    TestChain::new(TestChainConfig { seed, txs_per_block: txs, ..Default::default() })
        .extend(&store, height, |_| ())
        .unwrap();
    store
}

/// Pool entries, and the `D` keys.
pub type Comparable = (Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>);

/// Every pool except the owner-list positions, plus the (owner, item) pairs of `D`: what must be
/// identical after a rollback and re-apply (bitmarkd never reuses list positions).
pub fn comparable(store: &BlockStore) -> Comparable {
    let dump = store.pools().dump().unwrap().into_iter().filter(|(k, _)| ![b'N', b'L', b'D'].contains(&k[0])).collect();
    let owned = store.pools().entries(Pool::OwnerTxIndex).unwrap().into_iter().map(|(k, _)| k).collect();
    (dump, owned)
}

/// The stored blocks 2..=height with their digests.
pub fn blocks_of(store: &BlockStore) -> Vec<(Vec<u8>, bitmark_record::BlockDigest)> {
    (2..=store.height()).map(|n| (store.block(n).unwrap().unwrap(), store.digest_for(n).unwrap())).collect()
}
