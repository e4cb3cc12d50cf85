//! Ownership primitives (ownership/transfer.go) over a block's write set: who owns which
//! issue, transfer, share or block, kept in pools `N`, `L`, `D` and `O` (plus `F`/`Q` when a
//! bitmark becomes shares).
//!
//! bitmarkd panics when the rows a transfer needs are missing; here the write phase of a block
//! returns `DoubleTransferAttempt` (no `D` row: the item is not owned by that account, which
//! after validation can only mean the block spends it twice) or `MissingOwnerData`.

use crate::error::{Result, StorageError};
use crate::owner_data::{Owned, OwnerData};
use crate::pool::{key, Pool};
use crate::pools::WriteSet;
use crate::read::{PoolRead, ShareTotal};
use bitmark_record::{Account, AssetId, Fault, Link};

/// What takes the place of the item being given up.
enum Successor<'o> {
    /// Nothing: the rows are only removed (rollback of an issue or a block).
    Nothing,
    /// A new owner holds it under the new tx id (bitmarks, blocks; a share restored as an asset).
    Owner(&'o Account),
    /// The current owner splits the bitmark into this many shares.
    Shares(u64),
}

impl WriteSet<'_> {
    /// `create`: append `tx_id` to `owner`'s list at the next index (`N` only grows) and store
    /// its owner data.
    fn create_ownership(&mut self, tx_id: &Link, data: &OwnerData, owner: &Account) -> Result<()> {
        let owner_bytes = owner.to_bytes();
        let index = self.owner_next_count(owner)?.unwrap_or(0);
        let next = index.checked_add(1).ok_or_else(|| {
            StorageError::corrupt(Pool::OwnerNextCount, &key(Pool::OwnerNextCount, &[&owner_bytes]), "count overflow")
        })?;
        self.put_owner_next_count(&owner_bytes, next);
        self.put_owner_list(&owner_bytes, index, tx_id);
        self.put_owner_tx_index(&owner_bytes, tx_id, index);
        self.put_owner_data(tx_id, data);
        Ok(())
    }

    /// `CreateAsset`: `owner` holds the bitmark issued by `issue_tx_id` in block `block_number`.
    pub fn create_asset_ownership(
        &mut self,
        issue_tx_id: &Link,
        block_number: u64,
        asset_id: &AssetId,
        owner: &Account,
    ) -> Result<()> {
        let data = OwnerData {
            owned: Owned::Asset(*asset_id),
            transfer_block_number: block_number,
            issue_tx_id: *issue_tx_id,
            issue_block_number: block_number,
        };
        self.create_ownership(issue_tx_id, &data, owner)
    }

    /// `CreateBlock`: `owner` owns block `block_number` through its foundation record.
    pub fn create_block_ownership(
        &mut self,
        foundation_tx_id: &Link,
        block_number: u64,
        owner: &Account,
    ) -> Result<()> {
        let data = OwnerData {
            owned: Owned::Block,
            transfer_block_number: block_number,
            issue_tx_id: *foundation_tx_id,
            issue_block_number: block_number,
        };
        self.create_ownership(foundation_tx_id, &data, owner)
    }

    /// `Transfer`: the item `current_owner` holds under `previous` passes to `new_owner` under
    /// `transfer_tx_id`, transferred in block `block_number`. Share data (only met when a
    /// rollback undoes a BitmarkShare) becomes asset data again for `current_owner`, as in
    /// bitmarkd.
    pub fn transfer_ownership(
        &mut self,
        previous: &Link,
        transfer_tx_id: &Link,
        block_number: u64,
        current_owner: &Account,
        new_owner: &Account,
    ) -> Result<()> {
        self.pass_on(previous, transfer_tx_id, block_number, current_owner, Successor::Owner(new_owner))
    }

    /// `Share`: `current_owner` turns the bitmark under `previous` into `quantity` shares,
    /// recorded under `share_tx_id` (`F[issue] = quantity ‖ share tx`, `Q[owner ‖ issue] =
    /// quantity`). Only assets can become shares: `CanOnlyConvertAssetsToShares` otherwise
    /// (bitmarkd panics there). A zero quantity only removes the rows, as in bitmarkd.
    pub fn share_ownership(
        &mut self,
        previous: &Link,
        share_tx_id: &Link,
        block_number: u64,
        current_owner: &Account,
        quantity: u64,
    ) -> Result<()> {
        self.pass_on(previous, share_tx_id, block_number, current_owner, Successor::Shares(quantity))
    }

    /// `Transfer(…, nil)`: drop `current_owner`'s rows for `previous` with no successor.
    pub fn remove_ownership(&mut self, previous: &Link, current_owner: &Account) -> Result<()> {
        self.pass_on(previous, previous, 0, current_owner, Successor::Nothing)
    }

    fn pass_on(
        &mut self,
        previous: &Link,
        new_tx_id: &Link,
        block_number: u64,
        current_owner: &Account,
        successor: Successor<'_>,
    ) -> Result<()> {
        let index = self.owner_tx_index(current_owner, previous)?.ok_or(Fault::DoubleTransferAttempt)?;
        let data = self.owner_data(previous)?.ok_or(Fault::MissingOwnerData)?;
        let owner_bytes = current_owner.to_bytes();
        self.delete_owner_list(&owner_bytes, index);
        self.delete_owner_tx_index(&owner_bytes, previous);
        self.delete_owner_data(previous);

        let moved = data.transferred_at(block_number);
        match (successor, data.owned) {
            (Successor::Nothing | Successor::Shares(0), _) => Ok(()),
            (Successor::Shares(quantity), Owned::Asset(asset_id)) => {
                let share_id = data.issue_tx_id;
                self.put_share(&share_id, &ShareTotal { quantity, tx_id: *new_tx_id });
                self.set_share_balance(current_owner, &share_id, quantity);
                let share = OwnerData { owned: Owned::Share(asset_id), ..moved };
                self.create_ownership(new_tx_id, &share, current_owner)
            }
            (Successor::Shares(_), Owned::Block | Owned::Share(_)) => Err(Fault::CanOnlyConvertAssetsToShares.into()),
            (Successor::Owner(new_owner), Owned::Asset(_) | Owned::Block) => {
                self.create_ownership(new_tx_id, &moved, new_owner)
            }
            (Successor::Owner(_), Owned::Share(asset_id)) => {
                let asset = OwnerData { owned: Owned::Asset(asset_id), ..moved };
                self.create_ownership(new_tx_id, &asset, current_owner)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::ChainDb;

    fn account(n: u8) -> Account {
        Account::ed25519([n; 32], true)
    }

    const ASSET: AssetId = AssetId([0xaa; 64]);

    #[test]
    fn create_asset_writes_n_l_d_o() {
        let db = ChainDb::temporary().unwrap();
        let mut ws = db.pools().write_set();
        let (owner, issue) = (account(1), Link([1; 32]));
        ws.create_asset_ownership(&issue, 5, &ASSET, &owner).unwrap();
        assert_eq!(ws.owner_next_count(&owner).unwrap(), Some(1));
        assert_eq!(ws.owner_list(&owner, 0).unwrap(), Some(issue));
        assert_eq!(ws.owner_tx_index(&owner, &issue).unwrap(), Some(0));
        let data = ws.owner_data(&issue).unwrap().unwrap();
        assert_eq!(data.owned, Owned::Asset(ASSET));
        assert_eq!((data.transfer_block_number, data.issue_block_number, data.issue_tx_id), (5, 5, issue));
        ws.commit().unwrap();
        assert!(db.pools().currently_owns(&owner, &issue).unwrap());
    }

    #[test]
    fn transfer_moves_rows_and_keeps_provenance() {
        let db = ChainDb::temporary().unwrap();
        let mut ws = db.pools().write_set();
        let (a, b) = (account(1), account(2));
        let (issue, xfer) = (Link([1; 32]), Link([2; 32]));
        ws.create_asset_ownership(&issue, 5, &ASSET, &a).unwrap();
        ws.transfer_ownership(&issue, &xfer, 8, &a, &b).unwrap();
        assert!(!ws.currently_owns(&a, &issue).unwrap());
        assert_eq!(ws.owner_list(&a, 0).unwrap(), None);
        assert_eq!(ws.owner_data(&issue).unwrap(), None);
        assert_eq!(ws.owner_next_count(&a).unwrap(), Some(1), "N never goes down");
        assert_eq!(ws.owner_tx_index(&b, &xfer).unwrap(), Some(0));
        let data = ws.owner_data(&xfer).unwrap().unwrap();
        assert_eq!((data.transfer_block_number, data.issue_block_number, data.issue_tx_id), (8, 5, issue));

        // Spending the same link again finds no D row.
        let again = ws.transfer_ownership(&issue, &Link([3; 32]), 9, &a, &b).unwrap_err();
        assert_eq!(again.fault(), Some(Fault::DoubleTransferAttempt));
        assert_eq!(again.to_string(), "double transfer attempt");
    }

    #[test]
    fn missing_owner_data_is_reported() {
        let db = ChainDb::temporary().unwrap();
        let mut ws = db.pools().write_set();
        let a = account(1);
        ws.put_owner_tx_index(&a.to_bytes(), &Link([1; 32]), 0);
        let e = ws.transfer_ownership(&Link([1; 32]), &Link([2; 32]), 3, &a, &a).unwrap_err();
        assert_eq!(e.fault(), Some(Fault::MissingOwnerData));
    }

    #[test]
    fn shares_only_from_assets_and_back_on_rollback() {
        let db = ChainDb::temporary().unwrap();
        let mut ws = db.pools().write_set();
        let a = account(1);
        let (issue, share) = (Link([1; 32]), Link([2; 32]));
        ws.create_asset_ownership(&issue, 5, &ASSET, &a).unwrap();
        ws.share_ownership(&issue, &share, 7, &a, 100).unwrap();
        assert_eq!(ws.share(&issue).unwrap(), Some(ShareTotal { quantity: 100, tx_id: share }));
        assert_eq!(ws.share_balance(&a, &issue).unwrap(), Some(100));
        let data = ws.owner_data(&share).unwrap().unwrap();
        assert_eq!(data.owned, Owned::Share(ASSET));
        assert_eq!(data.transfer_block_number, 7);
        assert_eq!(ws.owner_tx_index(&a, &share).unwrap(), Some(1));

        // A share cannot be split again; neither can a block.
        let e = ws.share_ownership(&share, &Link([3; 32]), 8, &a, 5).unwrap_err();
        assert_eq!(e.fault(), Some(Fault::CanOnlyConvertAssetsToShares));
        let mut ws = db.pools().write_set();
        ws.create_block_ownership(&Link([4; 32]), 4, &a).unwrap();
        let e = ws.share_ownership(&Link([4; 32]), &Link([3; 32]), 8, &a, 5).unwrap_err();
        assert_eq!(e.to_string(), "can only convert assets to shares");

        // Undoing the share (rollback) turns the share data back into asset data for its owner.
        let mut ws = db.pools().write_set();
        ws.create_asset_ownership(&issue, 5, &ASSET, &a).unwrap();
        ws.share_ownership(&issue, &share, 7, &a, 100).unwrap();
        ws.transfer_ownership(&share, &issue, 5, &a, &a).unwrap();
        let back = ws.owner_data(&issue).unwrap().unwrap();
        assert_eq!(back.owned, Owned::Asset(ASSET));
        assert_eq!((back.transfer_block_number, back.issue_block_number), (5, 5));
        assert_eq!(ws.owner_tx_index(&a, &issue).unwrap(), Some(2), "restored at a new list index, as bitmarkd");
    }

    #[test]
    fn remove_leaves_only_the_count() {
        let db = ChainDb::temporary().unwrap();
        let mut ws = db.pools().write_set();
        let a = account(1);
        ws.create_block_ownership(&Link([4; 32]), 4, &a).unwrap();
        ws.remove_ownership(&Link([4; 32]), &a).unwrap();
        ws.commit().unwrap();
        let pools = db.pools();
        assert_eq!(pools.count(Pool::OwnerList).unwrap(), 0);
        assert_eq!(pools.count(Pool::OwnerTxIndex).unwrap(), 0);
        assert_eq!(pools.count(Pool::OwnerData).unwrap(), 0);
        assert_eq!(pools.owner_next_count(&a).unwrap(), Some(1));
    }
}
