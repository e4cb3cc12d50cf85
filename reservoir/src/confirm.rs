//! What the block store tells the reservoir: a block was stored, or blocks were rolled back
//! (block/store.go's reservoir calls, `Rescan`, block/delete.go).

use crate::error::Result;
use crate::pool::{commitments, Pool};
use crate::reservoir::Reservoir;
use bitmark_record::block::PackedBlock;
use bitmark_record::{Account, Link, Transaction};

/// What a stored or undone record does to the reservoir.
fn forget(pool: &mut Pool, tx_id: &Link, tx: &Transaction, now: u64, evict_link_spender: bool) {
    match tx {
        Transaction::AssetData(a) => {
            let id = a.asset_id();
            if pool.assets.remove(&id) {
                pool.dirty.assets.insert(id);
            }
        }
        Transaction::BaseData(_) | Transaction::BlockFoundation(_) => {}
        _ => {
            pool.remove_by_tx_id(tx_id, now);
            if evict_link_spender {
                if let Some(link) = tx.link() {
                    pool.remove_by_link(&link, now);
                }
            }
        }
    }
}

impl Reservoir {
    /// A block was committed with these records (in block order): confirmed assets leave the
    /// cache, confirmed records leave the reservoir with their whole pay-id group, a record
    /// spending the same link as a confirmed transfer is evicted (double spend), then
    /// everything left is re-checked against the new chain state (`Rescan`). Call after the
    /// store commits.
    pub fn block_stored<'a>(&self, records: impl IntoIterator<Item = (&'a Link, &'a Transaction)>) -> Result<()> {
        let now = self.now_ms();
        let mut pool = self.lock();
        for (tx_id, tx) in records {
            forget(&mut pool, tx_id, tx, now, true);
        }
        self.rescan(&mut pool, now)?;
        self.store.write(&mut pool)?;
        Ok(())
    }

    /// [`Self::block_stored`] for a packed block (already validated by the store).
    pub fn block_stored_packed(&self, packed_block: &[u8]) -> Result<()> {
        let block = PackedBlock::parse(packed_block, self.chain, u64::MAX / 2)?;
        self.block_stored(block.records.iter().map(|r| (&r.tx_id, &r.transaction)))
    }

    /// Blocks were rolled back and these were their records: as bitmarkd's `DeleteDownToBlock`,
    /// any reservoir copy of an undone record is dropped (undone records are not returned to
    /// the reservoir); then everything left is re-checked against the rolled-back chain, so a
    /// transfer spending an undone record goes too.
    ///
    /// Where we differ: an undone asset is cached again, as pending, where bitmarkd drops it.
    /// Its registration is as valid as before the block, and issues of it that are still
    /// pending (acknowledged to their clients) would otherwise be dropped by the rescan: in a
    /// partition, the side that rolls back would lose every pending issue of an asset its
    /// branch had confirmed.
    pub fn blocks_rolled_back<'a>(&self, records: impl IntoIterator<Item = (&'a Link, &'a Transaction)>) -> Result<()> {
        let now = self.now_ms();
        let mut pool = self.lock();
        for (tx_id, tx) in records {
            match tx {
                Transaction::AssetData(asset) => {
                    let packed = tx.pack(&asset.registrant)?;
                    let id = asset.asset_id();
                    // A cached copy under the same id holds the same data: nothing to change.
                    if pool.assets.insert(id, asset.clone(), packed, now).is_ok() {
                        pool.dirty.assets.insert(id);
                    }
                }
                _ => forget(&mut pool, tx_id, tx, now, false),
            }
        }
        self.rescan(&mut pool, now)?;
        self.store.write(&mut pool)?;
        Ok(())
    }

    /// Re-check every held record against the confirmed chain (`Rescan`): an issue that is
    /// confirmed, or whose asset is neither confirmed nor cached (a rollback removed it;
    /// bitmarkd does not check this and later panics selecting it), drops its group; a transfer,
    /// share or block-owner transfer whose link's owner no longer owns it drops; a grant or swap
    /// no longer covered by confirmed balances drops. Runs in arrival order.
    pub(crate) fn rescan(&self, pool: &mut Pool, now: u64) -> Result<()> {
        for pay_id in pool.ordered(|_| true) {
            let Some(group) = pool.groups.get(&pay_id) else { continue };
            let mut invalid = false;
            for item in &group.items {
                if !self.still_valid(pool, &item.tx_id, &item.tx)? {
                    invalid = true;
                    break;
                }
            }
            if invalid {
                pool.remove(&pay_id, now);
            }
        }
        Ok(())
    }

    /// Whether one held record is still valid on the confirmed chain.
    fn still_valid(&self, pool: &Pool, tx_id: &Link, tx: &Transaction) -> Result<bool> {
        Ok(match tx {
            Transaction::BitmarkIssue(issue) => {
                !self.state.has_transaction(tx_id)?
                    && (pool.assets.contains(&issue.asset_id) || self.state.asset_block(&issue.asset_id)?.is_some())
            }
            Transaction::BitmarkTransferUnratified(_)
            | Transaction::BitmarkTransferCountersigned(_)
            | Transaction::BlockOwnerTransfer(_)
            | Transaction::BitmarkShare(_) => match tx.link() {
                Some(link) => match self.link_owner(&link)? {
                    Some(owner) => self.state.currently_owns(&owner, &link)?,
                    None => false,
                },
                None => false,
            },
            Transaction::ShareGrant(_) | Transaction::ShareSwap(_) => {
                let mut ok = true;
                for (owner, share, quantity) in commitments(tx) {
                    ok &= quantity > 0 && self.state.share_balance(owner, &share)?.is_some_and(|b| b >= quantity);
                }
                ok
            }
            // Never held: assets are cached separately, block owners are not submitted.
            Transaction::AssetData(_) | Transaction::BaseData(_) | Transaction::BlockFoundation(_) => false,
        })
    }

    /// The owner of a confirmed record that can be spent (`OwnerOf`).
    pub(crate) fn link_owner(&self, link: &Link) -> Result<Option<Account>> {
        let Some((_, packed)) = self.state.transaction(link)? else { return Ok(None) };
        let Ok((tx, _)) = Transaction::unpack(&packed, self.chain.is_testing()) else { return Ok(None) };
        Ok(match tx {
            Transaction::BitmarkIssue(r) => Some(r.owner),
            Transaction::BitmarkTransferUnratified(r) => Some(r.owner),
            Transaction::BitmarkTransferCountersigned(r) => Some(r.owner),
            Transaction::BlockFoundation(r) => Some(r.owner),
            Transaction::BlockOwnerTransfer(r) => Some(r.owner),
            Transaction::BaseData(r) => Some(r.owner),
            _ => None,
        })
    }
}
