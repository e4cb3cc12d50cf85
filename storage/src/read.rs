//! Typed reads of every pool, shared by the committed view ([`crate::Pools`]) and a block's
//! uncommitted write set ([`crate::WriteSet`]).

use crate::error::{Result, StorageError};
use crate::nb::{u64_be, NbValue};
use crate::owner_data::OwnerData;
use crate::pool::{be, block_key, key, owner_tx_key, tx_key, Pool};
use bitmark_record::transaction::{ShareGrant, ShareSwap};
use bitmark_record::{Account, AssetId, BlockDigest, Fault, Link, Transaction};

pub(crate) mod sealed {
    use crate::error::Result;

    /// Raw key lookup; private so that only this crate builds keys.
    pub trait RawRead {
        /// The value under a full key (prefix included).
        fn raw_get(&self, key: &[u8]) -> Result<Option<sled::IVec>>;
        /// Whether a full key is present.
        fn raw_contains(&self, key: &[u8]) -> Result<bool> {
            Ok(self.raw_get(key)?.is_some())
        }
    }
}

/// The `F` value: a share's total quantity and the BitmarkShare record that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareTotal {
    /// Total number of shares (constant after creation).
    pub quantity: u64,
    /// Tx id of the BitmarkShare record.
    pub tx_id: Link,
}

impl ShareTotal {
    /// `quantity (8 BE) ‖ tx id (32)` (ownership/transfer.go:124-134).
    pub fn encode(&self) -> Vec<u8> {
        [&self.quantity.to_be_bytes()[..], self.tx_id.as_bytes()].concat()
    }

    /// Decode a stored value; `None` unless exactly 40 bytes.
    pub fn decode(bytes: &[u8]) -> Option<ShareTotal> {
        if bytes.len() != 40 {
            return None;
        }
        let (q, tx) = bytes.split_at(8);
        Some(ShareTotal { quantity: u64_be(q)?, tx_id: Link::from_bytes(tx).ok()? })
    }
}

/// Read one entry and decode it; a value of the wrong shape is reported as corruption.
fn read<R: sealed::RawRead + ?Sized, T>(
    r: &R,
    pool: Pool,
    key: &[u8],
    what: &str,
    decode: impl FnOnce(&[u8]) -> Option<T>,
) -> Result<Option<T>> {
    match r.raw_get(key)? {
        None => Ok(None),
        Some(v) => decode(&v).map(Some).ok_or_else(|| StorageError::corrupt(pool, key, format!("not {what}"))),
    }
}

/// Typed reads of every pool. Implemented for the committed view and for a block's write set
/// (which sees its own uncommitted writes: see [`crate::WriteSet`]).
pub trait PoolRead: sealed::RawRead {
    /// `B[n]`: the whole packed block.
    fn block(&self, number: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.raw_get(&block_key(Pool::Blocks, number))?.map(|v| v.to_vec()))
    }

    /// Whether `B[n]` exists.
    fn has_block(&self, number: u64) -> Result<bool> {
        self.raw_contains(&block_key(Pool::Blocks, number))
    }

    /// `2[n]`: the stored Argon2d digest of block `n`'s header.
    fn block_digest(&self, number: u64) -> Result<Option<BlockDigest>> {
        let k = block_key(Pool::BlockHeaderHash, number);
        read(self, Pool::BlockHeaderHash, &k, "a 32-byte digest", |v| BlockDigest::from_bytes(v).ok())
    }

    /// `H[n]`: the packed currency map of block `n`'s current owner.
    fn block_owner_payment(&self, number: u64) -> Result<Option<Vec<u8>>> {
        Ok(self.raw_get(&block_key(Pool::BlockOwnerPayment, number))?.map(|v| v.to_vec()))
    }

    /// `I[tx]`: the block owned through this foundation or block-owner-transfer record.
    fn block_owner_tx(&self, tx_id: &Link) -> Result<Option<u64>> {
        let k = tx_key(Pool::BlockOwnerTxIndex, tx_id);
        read(self, Pool::BlockOwnerTxIndex, &k, "an 8-byte block number", u64_be)
    }

    /// `A[id]`: the confirmed asset record and its block.
    fn asset(&self, asset_id: &AssetId) -> Result<Option<NbValue>> {
        let k = key(Pool::Assets, &[asset_id.as_bytes()]);
        read(self, Pool::Assets, &k, "block number ‖ record", NbValue::decode)
    }

    /// Whether `A[id]` exists.
    fn has_asset(&self, asset_id: &AssetId) -> Result<bool> {
        self.raw_contains(&key(Pool::Assets, &[asset_id.as_bytes()]))
    }

    /// `T[tx]`: a confirmed transaction and its block.
    fn transaction(&self, tx_id: &Link) -> Result<Option<NbValue>> {
        let k = tx_key(Pool::Transactions, tx_id);
        read(self, Pool::Transactions, &k, "block number ‖ record", NbValue::decode)
    }

    /// Whether `T[tx]` exists.
    fn has_transaction(&self, tx_id: &Link) -> Result<bool> {
        self.raw_contains(&tx_key(Pool::Transactions, tx_id))
    }

    /// `N[owner]`: the next owner-list index (absent = 0).
    fn owner_next_count(&self, owner: &Account) -> Result<Option<u64>> {
        let k = key(Pool::OwnerNextCount, &[&owner.to_bytes()]);
        read(self, Pool::OwnerNextCount, &k, "an 8-byte count", u64_be)
    }

    /// `L[owner ‖ index]`: the tx id at this position of the owner's list.
    fn owner_list(&self, owner: &Account, index: u64) -> Result<Option<Link>> {
        let k = key(Pool::OwnerList, &[&owner.to_bytes(), &be(index)]);
        read(self, Pool::OwnerList, &k, "a 32-byte tx id", |v| Link::from_bytes(v).ok())
    }

    /// `D[owner ‖ tx]`: the owner-list index of an item the owner currently owns.
    fn owner_tx_index(&self, owner: &Account, tx_id: &Link) -> Result<Option<u64>> {
        let k = owner_tx_key(Pool::OwnerTxIndex, owner, tx_id);
        read(self, Pool::OwnerTxIndex, &k, "an 8-byte count", u64_be)
    }

    /// `CurrentlyOwns`: whether `D[owner ‖ tx]` exists.
    fn currently_owns(&self, owner: &Account, tx_id: &Link) -> Result<bool> {
        self.raw_contains(&owner_tx_key(Pool::OwnerTxIndex, owner, tx_id))
    }

    /// `O[tx]`: the owner data of the item held under this tx id.
    fn owner_data(&self, tx_id: &Link) -> Result<Option<OwnerData>> {
        let k = tx_key(Pool::OwnerData, tx_id);
        read(self, Pool::OwnerData, &k, "owner data", |v| OwnerData::unpack(v).ok())
    }

    /// `F[share id]`: total quantity of a share and the record that created it.
    fn share(&self, share_id: &Link) -> Result<Option<ShareTotal>> {
        let k = tx_key(Pool::Shares, share_id);
        read(self, Pool::Shares, &k, "quantity ‖ tx id", ShareTotal::decode)
    }

    /// `Q[owner ‖ share id]`: the owner's balance of a share (absent = 0).
    fn share_balance(&self, owner: &Account, share_id: &Link) -> Result<Option<u64>> {
        let k = owner_tx_key(Pool::ShareQuantity, owner, share_id);
        read(self, Pool::ShareQuantity, &k, "an 8-byte balance", u64_be)
    }

    /// `OwnerOf`: the block number and owner of `T[tx]` when it is something that can be
    /// owned and passed on — an issue, a transfer, a block foundation or a block-owner
    /// transfer; `None` when there is no such record. bitmarkd panics when the record is of
    /// another type (a share, grant, swap or base record), which a transfer naming such a link
    /// can provoke; here that is `None` too, so the caller reports an invalid link.
    /// `testnet` selects the network the stored record's accounts belong to.
    fn owner_of(&self, tx_id: &Link, testnet: bool) -> Result<Option<(u64, Account)>> {
        let Some(nb) = self.transaction(tx_id)? else { return Ok(None) };
        let (tx, _) = Transaction::unpack(&nb.packed, testnet).map_err(|f| {
            StorageError::corrupt(Pool::Transactions, &tx_key(Pool::Transactions, tx_id), f.to_string())
        })?;
        let owner = match tx {
            Transaction::BitmarkIssue(r) => r.owner,
            Transaction::BitmarkTransferUnratified(r) => r.owner,
            Transaction::BitmarkTransferCountersigned(r) => r.owner,
            Transaction::BlockFoundation(r) => r.owner,
            Transaction::BlockOwnerTransfer(r) => r.owner,
            _ => return Ok(None),
        };
        Ok(Some((nb.block_number, owner)))
    }

    /// `CheckGrantBalance`: a grant must move at least one share (`ShareQuantityTooSmall`) and
    /// its owner must hold at least that many (`InsufficientShares`). Returns the balance.
    fn check_grant_balance(&self, grant: &ShareGrant) -> Result<u64> {
        if grant.quantity == 0 {
            return Err(Fault::ShareQuantityTooSmall.into());
        }
        sufficient(self.share_balance(&grant.owner, &grant.share_id)?, grant.quantity)
    }

    /// `CheckSwapBalances`: both quantities non-zero (`ShareQuantityTooSmall`), and each owner
    /// holds enough of the share they give (`InsufficientShares`). Returns both balances.
    fn check_swap_balances(&self, swap: &ShareSwap) -> Result<(u64, u64)> {
        if swap.quantity_one == 0 || swap.quantity_two == 0 {
            return Err(Fault::ShareQuantityTooSmall.into());
        }
        let one = sufficient(self.share_balance(&swap.owner_one, &swap.share_id_one)?, swap.quantity_one)?;
        let two = sufficient(self.share_balance(&swap.owner_two, &swap.share_id_two)?, swap.quantity_two)?;
        Ok((one, two))
    }

    /// `Z[key]`: free-form test data.
    fn test_data(&self, k: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.raw_get(&key(Pool::TestData, &[k]))?.map(|v| v.to_vec()))
    }
}

impl<T: sealed::RawRead + ?Sized> PoolRead for T {}

/// A balance that covers `needed`, else `InsufficientShares`.
fn sufficient(balance: Option<u64>, needed: u64) -> Result<u64> {
    match balance {
        Some(b) if b >= needed => Ok(b),
        _ => Err(Fault::InsufficientShares.into()),
    }
}
