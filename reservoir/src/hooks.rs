//! Keeping the reservoir in step with the real block store: bitmarkd's block package disables
//! the reservoir, changes the chain, tells the reservoir what was stored or deleted, rescans it
//! and enables it again (block/store.go:45-48,417-501,683-686; block/delete.go:38-39,111-140).
//! [`ChainHooks`] does the same around [`BlockStore::apply`] and [`BlockStore::rollback_to`].
//!
//! The chain always comes first. The reservoir is told only what was committed, after the
//! commit, so a submission racing with a block sees either the old chain and is rescanned, or
//! the new one. If telling the reservoir fails (its sled tree failed, or a chain read did), the
//! chain change stands and the error is returned: the next block's rescan, or the rescan when
//! the reservoir is reopened, brings it back in step.

use crate::error::Result;
use crate::reservoir::Reservoir;
use bitmark_common::lock;
use bitmark_record::block::PackedBlock;
use bitmark_record::Fault;
use bitmark_storage::{Applied, ApplyMany, BlockStore, DigestPool, UndoneBlock};
use std::sync::{Arc, Mutex, MutexGuard};

/// The block store and the reservoir that reads it, changed together: every way the node
/// stores or removes blocks goes through here (or calls [`Reservoir::block_stored_packed`] /
/// [`Reservoir::blocks_undone`] itself in the same order).
///
/// Clones share one lock, so chain changes made through them run one at a time, each inside its
/// own disable/enable of the reservoir (as bitmarkd's block package lock does): a second change
/// cannot re-enable selection while the first is still under way.
#[derive(Clone)]
pub struct ChainHooks {
    store: Arc<BlockStore>,
    reservoir: Arc<Reservoir>,
    changing: Arc<Mutex<()>>,
}

impl std::fmt::Debug for ChainHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainHooks").field("store", &self.store).finish_non_exhaustive()
    }
}

/// A chain change under way: holds the change lock, and keeps selection off until it drops,
/// however the change ends (bitmarkd's `reservoir.Disable(); defer reservoir.Enable()`). The
/// reservoir is enabled before the lock is released.
struct Disabled<'r> {
    reservoir: &'r Reservoir,
    _changing: MutexGuard<'r, ()>,
}

impl Drop for Disabled<'_> {
    fn drop(&mut self) {
        self.reservoir.enable();
    }
}

impl ChainHooks {
    /// Hooks over `store` and `reservoir`. The reservoir should have been opened with this
    /// store as its [`crate::ConfirmedState`]; both must serve the same chain
    /// (`invalid chain` otherwise).
    pub fn new(store: Arc<BlockStore>, reservoir: Arc<Reservoir>) -> Result<ChainHooks> {
        if store.chain() != reservoir.chain() {
            return Err(Fault::InvalidChain.into());
        }
        Ok(ChainHooks { store, reservoir, changing: Arc::new(Mutex::new(())) })
    }

    /// Start a chain change: take the change lock, then disable the reservoir until the
    /// returned guard drops.
    fn disable(&self) -> Disabled<'_> {
        let changing = lock(&self.changing);
        self.reservoir.disable();
        Disabled { reservoir: &self.reservoir, _changing: changing }
    }

    /// The block store.
    pub fn store(&self) -> &Arc<BlockStore> {
        &self.store
    }

    /// The reservoir.
    pub fn reservoir(&self) -> &Arc<Reservoir> {
        &self.reservoir
    }

    /// Validate and store one block ([`BlockStore::apply`]), then tell the reservoir
    /// ([`Reservoir::block_stored_packed`]): its records are confirmed and leave the
    /// reservoir with their groups, competing spends are evicted, the rest is rescanned.
    ///
    /// A block the store refuses is [`crate::ReservoirError::Storage`] and changes nothing;
    /// any other error means the block IS stored and only the reservoir update failed.
    ///
    /// The header is decoded and its Argon2d digest computed ([`BlockStore::digest_ahead`])
    /// before the change lock is taken and the reservoir switched off: a peer pushing plausible
    /// junk must not stall every other chain change (the connector, the producer) and block
    /// selection for a digest each.
    pub fn apply(&self, packed_block: &[u8]) -> Result<Applied> {
        let ahead = self.store.digest_ahead(packed_block)?;
        self.apply_with(packed_block, |store| store.apply_digested(packed_block, ahead))
    }

    /// [`Self::apply`] with the store call chosen by the caller, for
    /// [`BlockStore::apply_with_digest`] and [`BlockStore::apply_fast`]: `store_block` must
    /// store exactly `packed_block`.
    pub fn apply_with(
        &self,
        packed_block: &[u8],
        store_block: impl FnOnce(&BlockStore) -> bitmark_storage::Result<Applied>,
    ) -> Result<Applied> {
        let _disabled = self.disable();
        let applied = store_block(&self.store)?;
        self.reservoir.block_stored_packed(packed_block)?;
        Ok(applied)
    }

    /// [`BlockStore::apply_many`], then one reservoir update for every block stored (one
    /// rescan, not one per block). The first block the store refused is reported inside the
    /// returned [`ApplyMany`], as the store reports it; `Err` means the blocks in it were
    /// stored but the reservoir update failed.
    pub fn apply_many(&self, blocks: &[&[u8]], pool: &DigestPool) -> Result<ApplyMany> {
        let _disabled = self.disable();
        let outcome = self.store.apply_many(blocks, pool);
        let stored = blocks.get(..outcome.applied.len()).unwrap_or_default();
        let mut parsed = Vec::with_capacity(stored.len());
        for block in stored {
            parsed.push(PackedBlock::parse(block, self.store.chain(), u64::MAX / 2)?);
        }
        self.reservoir
            .block_stored(parsed.iter().flat_map(|b| b.records.iter().map(|r| (&r.tx_id, &r.transaction))))?;
        Ok(outcome)
    }

    /// Remove every block above `height` ([`BlockStore::rollback_to`]), then tell the
    /// reservoir about every block removed ([`Reservoir::blocks_undone`]): copies of undone
    /// records are dropped and whatever depended on them (transfers of an undone issue, issues
    /// of an undone asset, grants covered only by an undone share) is dropped by the rescan.
    /// Returns the removed blocks, highest first.
    ///
    /// When the store fails part-way, the reservoir is still told about the blocks it did
    /// remove, and the store's error is returned.
    pub fn rollback_to(&self, height: u64) -> Result<Vec<UndoneBlock>> {
        let _disabled = self.disable();
        let mut undone = Vec::new();
        let stored = self.store.rollback_to(height, |block| undone.push(block));
        let told = self.reservoir.blocks_undone(&undone);
        stored?;
        told?;
        Ok(undone)
    }
}

impl Reservoir {
    /// [`Self::blocks_rolled_back`] for the storage crate's rolled-back blocks (in the order
    /// [`BlockStore::rollback_to`] reported them).
    pub fn blocks_undone(&self, blocks: &[UndoneBlock]) -> Result<()> {
        let records = blocks.iter().flat_map(|b| b.records.iter().map(|r| (&r.tx_id, &r.transaction)));
        self.blocks_rolled_back(records)
    }
}
