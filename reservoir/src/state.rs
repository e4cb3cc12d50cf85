//! The seam between the reservoir and the block store: what the reservoir must know about the
//! confirmed chain.
//!
//! bitmarkd's reservoir reads the block store's pools directly (`A`, `T`, `D`, `O`, `H`, `F`, `Q`,
//! the `2` digests and the current height). Here it reads them only through [`ConfirmedState`],
//! implemented for the storage crate's [`bitmark_storage::BlockStore`] over its sled pools
//! (`store_state.rs`) and by the in-memory `MemoryChain` for tests. Every method is a plain read of
//! committed state: the reservoir never writes the chain.

use crate::error::StateError;
use bitmark_record::{Account, AssetId, BlockDigest, CurrencyMap, Link};

/// Result of a confirmed-state read.
pub type StateResult<T> = std::result::Result<T, StateError>;

/// What an owner holds under a tx id (pool `O`, `ownership/data.go`): the same fields as the
/// storage crate's `OwnerData`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerRecord {
    /// Asset bitmark, block, or shares.
    pub owned: Owned,
    /// Number of the block holding the record that gave the current owner the item.
    pub transfer_block: u64,
    /// Tx id of the issue (for a block: of its foundation record).
    pub issue_tx_id: Link,
    /// Number of the block holding the issue (for a block: the owned block's number).
    pub issue_block: u64,
}

/// The kind of item an [`OwnerRecord`] describes, and a share's total (pool `F`): the storage
/// crate's own types, which the seam carries as they are.
pub use bitmark_storage::{Owned, ShareTotal};

/// Committed chain state, as the reservoir needs it. Implemented for the block store
/// ([`bitmark_storage::BlockStore`]) and by `MemoryChain`.
///
/// Reads may run concurrently with each other and with the reservoir's own lock held, so an
/// implementation must not call back into the reservoir. After the store commits a block,
/// [`crate::Reservoir::block_stored`] must be called (and after a rollback
/// [`crate::Reservoir::blocks_rolled_back`]) so the reservoir sees the new state; for the block
/// store, [`crate::ChainHooks`] does both.
pub trait ConfirmedState: Send + Sync {
    /// The number of the last stored block (1 when only genesis exists): `blockheader.Height`.
    fn height(&self) -> u64;

    /// Pool `2`: the stored header digest of block `number` (≥ 2; the reservoir uses the
    /// compiled-in genesis digest for block 1). Gives pay nonces.
    fn block_digest(&self, number: u64) -> StateResult<Option<BlockDigest>>;

    /// Pool `A`: the number of the block that confirmed this asset, if confirmed.
    fn asset_block(&self, asset_id: &AssetId) -> StateResult<Option<u64>>;

    /// Pool `T`: the block number and packed bytes of a confirmed record. Under a block's
    /// foundation tx id this is the BlockFoundation (or the base record(s)) of that block.
    fn transaction(&self, tx_id: &Link) -> StateResult<Option<(u64, Vec<u8>)>>;

    /// Whether pool `T` holds this tx id. Override when cheaper than a read.
    fn has_transaction(&self, tx_id: &Link) -> StateResult<bool> {
        Ok(self.transaction(tx_id)?.is_some())
    }

    /// Pool `D`: whether `owner` currently owns the item held under `tx_id` (`CurrentlyOwns`).
    fn currently_owns(&self, owner: &Account, tx_id: &Link) -> StateResult<bool>;

    /// Pool `O`: the owner data of the item held under `tx_id`.
    fn owner_data(&self, tx_id: &Link) -> StateResult<Option<OwnerRecord>>;

    /// Pool `H`: the payment addresses of the current owner of block `number`, decoded for the
    /// chain's network.
    fn block_payments(&self, number: u64) -> StateResult<Option<CurrencyMap>>;

    /// Pool `F`: a share's total and creating record.
    fn share_total(&self, share_id: &Link) -> StateResult<Option<ShareTotal>>;

    /// Pool `Q`: `owner`'s confirmed balance of a share (`None` = no row = 0).
    fn share_balance(&self, owner: &Account, share_id: &Link) -> StateResult<Option<u64>>;

    /// Pool `Q` rows of `owner` in key order, from share id `start` (inclusive), at most
    /// `count`: `ShareBalance`'s cursor.
    fn share_balances(&self, owner: &Account, start: &Link, count: usize) -> StateResult<Vec<(Link, u64)>>;
}
