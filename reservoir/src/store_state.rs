//! [`ConfirmedState`] over the real block store: each read is one lookup (or, for share
//! balances, one range scan) in the storage crate's committed pools, as bitmarkd's reservoir
//! reads `storage.Pool` directly.
//!
//! Only the committed view is read, never a block's write set: the reservoir must see a block
//! after it is committed, which is when [`crate::ChainHooks`] tells it.

use crate::error::StateError;
use crate::state::{ConfirmedState, OwnerRecord, ShareTotal, StateResult};
use bitmark_record::{Account, AssetId, BlockDigest, CurrencyMap, Fault, Link};
use bitmark_storage::{BlockStore, OwnerData, Pool, PoolRead, StorageError};

/// A storage error as the seam carries it.
fn boxed(e: StorageError) -> StateError {
    Box::new(e)
}

/// Pool `O`'s record in the reservoir's terms (the same fields under the reservoir's names).
fn owner_record(data: OwnerData) -> OwnerRecord {
    OwnerRecord {
        owned: data.owned,
        transfer_block: data.transfer_block_number,
        issue_tx_id: data.issue_tx_id,
        issue_block: data.issue_block_number,
    }
}

impl ConfirmedState for BlockStore {
    /// The store's in-memory tip, set after each commit and rollback.
    fn height(&self) -> u64 {
        self.tip().height
    }

    /// `DigestForBlock`: the digest cache, else pool `2` (else Argon2d of the stored header, for
    /// a database missing its `2` row); `None` when there is no such block.
    fn block_digest(&self, number: u64) -> StateResult<Option<BlockDigest>> {
        match self.digest_for(number) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.fault() == Some(Fault::BlockNotFound) => Ok(None),
            Err(e) => Err(boxed(e)),
        }
    }

    fn asset_block(&self, asset_id: &AssetId) -> StateResult<Option<u64>> {
        Ok(self.pools().asset(asset_id).map_err(boxed)?.map(|nb| nb.block_number))
    }

    fn transaction(&self, tx_id: &Link) -> StateResult<Option<(u64, Vec<u8>)>> {
        Ok(self.pools().transaction(tx_id).map_err(boxed)?.map(|nb| (nb.block_number, nb.packed)))
    }

    fn has_transaction(&self, tx_id: &Link) -> StateResult<bool> {
        self.pools().has_transaction(tx_id).map_err(boxed)
    }

    fn currently_owns(&self, owner: &Account, tx_id: &Link) -> StateResult<bool> {
        self.pools().currently_owns(owner, tx_id).map_err(boxed)
    }

    fn owner_data(&self, tx_id: &Link) -> StateResult<Option<OwnerRecord>> {
        Ok(self.pools().owner_data(tx_id).map_err(boxed)?.map(owner_record))
    }

    /// Pool `H` decoded for the store's network; an entry that does not decode is corruption
    /// (the store validated it before writing it).
    fn block_payments(&self, number: u64) -> StateResult<Option<CurrencyMap>> {
        let Some(packed) = self.pools().block_owner_payment(number).map_err(boxed)? else { return Ok(None) };
        match CurrencyMap::unpack(&packed, self.chain().is_testing()) {
            Ok((map, _)) => Ok(Some(map)),
            Err(fault) => Err(boxed(StorageError::Corrupt {
                pool: Pool::BlockOwnerPayment,
                key: number.to_be_bytes().iter().map(|b| format!("{b:02x}")).collect(),
                reason: format!("not a currency map: {fault}"),
            })),
        }
    }

    fn share_total(&self, share_id: &Link) -> StateResult<Option<ShareTotal>> {
        self.pools().share(share_id).map_err(boxed)
    }

    fn share_balance(&self, owner: &Account, share_id: &Link) -> StateResult<Option<u64>> {
        self.pools().share_balance(owner, share_id).map_err(boxed)
    }

    fn share_balances(&self, owner: &Account, start: &Link, count: usize) -> StateResult<Vec<(Link, u64)>> {
        self.pools().share_balances(owner, start, count).map_err(boxed)
    }
}
