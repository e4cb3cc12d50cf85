//! Test chains for simulations: built once with the storage crate's deterministic generator
//! (Argon2d per block, about 0.35 s each), then copied into any number of stores without
//! hashing again ([`load`], through `apply_with_digest`).

use bitmark_record::{BlockDigest, Chain};
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::{BlockStore, ChainDb, StorageError, StoreOptions};

/// A packed block and its digest.
pub type Block = (Vec<u8>, BlockDigest);

/// The blocks of a chain from block 2: `blocks[i]` is block `i + 2`.
pub type Blocks = Vec<Block>;

/// A fresh store on chain `local` in a temporary database.
pub fn empty_store() -> Result<BlockStore, StorageError> {
    BlockStore::open(ChainDb::temporary()?, Chain::Local, StoreOptions::default())
}

/// Generate a chain of `height` with `seed`.
pub fn build(seed: u64, txs_per_block: usize, height: u64) -> Result<Blocks, StorageError> {
    let store = empty_store()?;
    let config = TestChainConfig { seed, txs_per_block, ..TestChainConfig::default() };
    TestChain::new(config).extend(&store, height, |_| ())?;
    blocks_of(&store)
}

/// A fork of `base`: its blocks up to `common`, then blocks of a generator seeded `seed` up to
/// `height`. The new generator only spends what it made itself, so its blocks are valid on
/// top of any prefix; different seeds give different blocks from `common + 1`.
pub fn build_fork(
    base: &[Block],
    common: u64,
    seed: u64,
    txs_per_block: usize,
    height: u64,
) -> Result<Blocks, StorageError> {
    let store = empty_store()?;
    load(&store, base.get(..usize::try_from(common.saturating_sub(1)).unwrap_or(0)).unwrap_or(base))?;
    let config = TestChainConfig { seed, txs_per_block, ..TestChainConfig::default() };
    TestChain::new(config).extend(&store, height, |_| ())?;
    blocks_of(&store)
}

/// Apply the blocks of `blocks` above `store`'s height (with their known digests).
pub fn load(store: &BlockStore, blocks: &[Block]) -> Result<(), StorageError> {
    for (n, (block, digest)) in (2u64..).zip(blocks) {
        if n > store.height() {
            store.apply_with_digest(block, *digest)?;
        }
    }
    Ok(())
}

/// The first `height - 1` blocks (up to block `height`).
pub fn upto(blocks: &[Block], height: u64) -> &[Block] {
    blocks.get(..usize::try_from(height.saturating_sub(1)).unwrap_or(0)).unwrap_or(blocks)
}

/// Every block of `store` from 2, with its digest.
pub fn blocks_of(store: &BlockStore) -> Result<Blocks, StorageError> {
    (2..=store.height())
        .map(|n| {
            let block = store.block(n)?.ok_or(bitmark_record::Fault::BlockNotFound)?;
            Ok((block, store.digest_for(n)?))
        })
        .collect()
}
