//! Rolling the chain back: bitmarkd's `DeleteDownToBlock` (block/delete.go:25-407).
//!
//! Each block is undone in ONE atomic batch (bitmarkd commits every record separately, so a
//! crash there can leave half a block). Within a block the records are undone in forward order
//! as in bitmarkd, so restored ownerships get the same new owner-list positions bitmarkd gives
//! them: `N` never goes back and a restored item is appended at a new index (quirk 7). Every
//! other pool returns to exactly what it held before the block was applied.
//!
//! bitmarkd drops the undone transactions from its reservoir; we hand them to a callback so the
//! reservoir can decide. Where bitmarkd panics on an inconsistent database we return a
//! corruption error and leave the block in place.

use crate::error::{Result, StorageError};
use crate::owner_data::Owned;
use crate::pool::{tx_key, Pool};
use crate::pools::WriteSet;
use crate::read::PoolRead;
use crate::store::{BlockStore, State, STORED_BLOCK_NOW};
use bitmark_record::header::{self, DigestSource};
use bitmark_record::transaction::check_payments;
use bitmark_record::{genesis, Account, BlockDigest, Difficulty, Link, Transaction};

/// One record of a rolled-back block.
#[derive(Clone, Debug)]
pub struct UndoneRecord {
    /// Its tx id.
    pub tx_id: Link,
    /// Its packed bytes.
    pub packed: Vec<u8>,
    /// The decoded record.
    pub transaction: Transaction,
}

/// A block removed by [`BlockStore::rollback_to`], with its records in block order.
#[derive(Clone, Debug)]
pub struct UndoneBlock {
    /// The block number.
    pub number: u64,
    /// Its digest.
    pub digest: BlockDigest,
    /// Every record, foundation records included.
    pub records: Vec<UndoneRecord>,
}

/// A corruption error about the record under `tx_id` in `T`.
fn corrupt_tx(tx_id: &Link, reason: &str) -> StorageError {
    StorageError::corrupt(Pool::Transactions, &tx_key(Pool::Transactions, tx_id), reason)
}

impl BlockStore {
    /// Remove every block above `height`, highest first, each in one atomic batch, calling
    /// `on_undone` after each block is committed. `rollback_to(h)` is bitmarkd's
    /// `DeleteDownToBlock(h + 1)`; heights below 1 mean "down to genesis". Afterwards the tip is
    /// the block at `height` and the difficulty is recomputed as bitmarkd does. Returns the
    /// number of blocks removed.
    pub fn rollback_to(&self, height: u64, mut on_undone: impl FnMut(UndoneBlock)) -> Result<u64> {
        let _writer = self.lock_writer();
        let keep = height.max(genesis::BLOCK_NUMBER);
        self.record_before_rollback(keep);
        let mut removed = 0;
        while let Some(last) = self.pools().last_block_number()? {
            if last <= keep {
                break;
            }
            let undone = self.undo_block(last)?;
            self.digests.clear();
            removed += 1;
            // Keep the in-memory tip in step with what is committed, even if a later block fails.
            let tip = self.tip_from_pools()?;
            let state = self.state();
            self.set_state(State { tip, ..state });
            on_undone(undone);
        }
        self.reset_difficulty_after_rollback()?;
        Ok(removed)
    }

    /// bitmarkd's `DeleteDownToBlock(final)`: delete every block numbered `final` or higher.
    pub fn delete_down_to_block(&self, final_block: u64, on_undone: impl FnMut(UndoneBlock)) -> Result<u64> {
        self.rollback_to(final_block.saturating_sub(1), on_undone)
    }

    /// Difficulty after a rollback (delete.go:53-72): for a difficulty-applied tip, recompute
    /// from block 200 on, else reset to One. Back at genesis we also reset to One (bitmarkd keeps
    /// the stale value there, which would refuse the chain's own block 2 on re-sync).
    fn reset_difficulty_after_rollback(&self) -> Result<()> {
        let state = self.state();
        let tip = state.tip;
        let difficulty = if tip.height <= genesis::BLOCK_NUMBER {
            Difficulty::ONE
        } else if header::is_difficulty_applied_version(tip.version) {
            if tip.height >= bitmark_record::difficulty::ADJUST_TIMESPAN_BLOCKS {
                self.adjusted_difficulty(tip.height, state.difficulty)?
            } else {
                Difficulty::ONE
            }
        } else {
            state.difficulty
        };
        self.set_state(State { tip, difficulty });
        Ok(())
    }

    /// Undo block `number` in one batch.
    fn undo_block(&self, number: u64) -> Result<UndoneBlock> {
        let testnet = self.chain.is_testing();
        let packed = self.pools().block(number)?.ok_or(bitmark_record::Fault::BlockNotFound)?;
        let lookup = |n: u64| self.stored_digest(n);
        let (header, digest, mut data) = header::extract(&packed, 0, DigestSource::Stored(&lookup), STORED_BLOCK_NOW)?;
        let mut ws = self.pools().write_set();
        let mut block_owner: Option<Account> = None;
        let mut records = Vec::with_capacity(usize::from(header.transaction_count));
        while !data.is_empty() {
            let (tx, n) = Transaction::unpack(data, testnet)?;
            let (bytes, rest) = data.split_at_checked(n).ok_or(bitmark_record::Fault::NotTransactionPack)?;
            let tx_id = Link::of(bytes);
            undo_record(&mut ws, &tx, &tx_id, testnet, &mut block_owner)?;
            records.push(UndoneRecord { tx_id, packed: bytes.to_vec(), transaction: tx });
            data = rest;
        }

        let foundation_tx_id = header::foundation_tx_id(header.number, &digest);
        ws.delete_transaction(&foundation_tx_id);
        match &block_owner {
            Some(owner) => ws.remove_ownership(&foundation_tx_id, owner)?,
            None => tracing::error!(target: "storage::block", number,
                database = %self.db().path().map(|p| p.display().to_string()).unwrap_or_default(),
                "rolled-back block has no owner record; to recover: restore the chain database from a backup or delete it and re-sync"),
        }
        ws.delete_block_owner_tx(&foundation_tx_id);
        ws.delete_block_owner_payment(header.number);
        ws.delete_block(header.number);
        ws.delete_block_digest(header.number);
        ws.commit()?;
        tracing::info!(target: "storage::block", number, "deleted block");
        Ok(UndoneBlock { number: header.number, digest, records })
    }
}

/// Undo one record inside the block's write set (delete.go:80-360).
fn undo_record(
    ws: &mut WriteSet<'_>,
    tx: &Transaction,
    tx_id: &Link,
    testnet: bool,
    block_owner: &mut Option<Account>,
) -> Result<()> {
    let link_owner = |ws: &WriteSet<'_>, link: &Link| -> Result<(u64, Account)> {
        ws.owner_of(link, testnet)?.ok_or_else(|| corrupt_tx(link, "missing owner record of a link"))
    };
    match tx {
        Transaction::BaseData(r) => {
            block_owner.get_or_insert_with(|| r.owner.clone());
        }
        Transaction::BlockFoundation(r) => {
            block_owner.get_or_insert_with(|| r.owner.clone());
        }
        Transaction::AssetData(r) => ws.delete_asset(&r.asset_id()),
        Transaction::BitmarkIssue(r) => {
            if ws.has_transaction(tx_id)? {
                ws.delete_transaction(tx_id);
                ws.remove_ownership(tx_id, &r.owner)?;
            }
        }
        Transaction::BitmarkTransferUnratified(r) => {
            ws.delete_transaction(tx_id);
            let (number, owner) = link_owner(ws, &r.link)?;
            ws.transfer_ownership(tx_id, &r.link, number, &r.owner, &owner)?;
        }
        Transaction::BitmarkTransferCountersigned(r) => {
            ws.delete_transaction(tx_id);
            let (number, owner) = link_owner(ws, &r.link)?;
            ws.transfer_ownership(tx_id, &r.link, number, &r.owner, &owner)?;
        }
        Transaction::BlockOwnerTransfer(r) => {
            ws.delete_transaction(tx_id);
            let (number, owner) = link_owner(ws, &r.link)?;
            let data = ws.owner_data(tx_id)?.ok_or_else(|| corrupt_tx(tx_id, "missing block ownership"))?;
            if data.owned != Owned::Block {
                return Err(corrupt_tx(tx_id, "ownership is not of a block"));
            }
            ws.transfer_ownership(tx_id, &r.link, number, &r.owner, &owner)?;
            let previous = ws.transaction(&r.link)?.ok_or_else(|| corrupt_tx(&r.link, "missing"))?;
            let (previous, _) =
                Transaction::unpack(&previous.packed, testnet).map_err(|f| corrupt_tx(&r.link, &f.to_string()))?;
            let (version, payments) = match &previous {
                Transaction::BlockFoundation(p) => (p.version, &p.payments),
                Transaction::BlockOwnerTransfer(p) => (p.version, &p.payments),
                _ => return Err(corrupt_tx(&r.link, "block transfer links to neither foundation nor transfer")),
            };
            check_payments(version, testnet, payments).map_err(|f| corrupt_tx(&r.link, &f.to_string()))?;
            let packed_payments = payments.pack(testnet).map_err(|f| corrupt_tx(&r.link, &f.to_string()))?;
            ws.put_block_owner_payment(data.issue_block_number, &packed_payments);
            ws.put_block_owner_tx(&r.link, data.issue_block_number);
            ws.delete_block_owner_tx(tx_id);
        }
        Transaction::BitmarkShare(r) => {
            let (number, owner) = link_owner(ws, &r.link)?;
            let data = ws.owner_data(tx_id)?.ok_or_else(|| corrupt_tx(tx_id, "missing share ownership"))?;
            if !matches!(data.owned, Owned::Share(_)) {
                return Err(corrupt_tx(tx_id, "ownership is not of shares"));
            }
            ws.delete_transaction(tx_id);
            ws.delete_share(&data.issue_tx_id);
            ws.set_share_balance(&owner, &data.issue_tx_id, 0);
            ws.transfer_ownership(tx_id, &r.link, number, &owner, &owner)?;
        }
        Transaction::ShareGrant(r) => {
            ws.delete_transaction(tx_id);
            let owner_balance = ws.share_balance(&r.owner, &r.share_id)?.unwrap_or(0);
            let recipient_balance = take_back(ws.share_balance(&r.recipient, &r.share_id)?, r.quantity, tx_id)?;
            ws.set_share_balance(&r.recipient, &r.share_id, recipient_balance);
            ws.set_share_balance(&r.owner, &r.share_id, give_back(owner_balance, r.quantity, tx_id)?);
        }
        Transaction::ShareSwap(r) => {
            ws.delete_transaction(tx_id);
            let one_one = ws.share_balance(&r.owner_one, &r.share_id_one)?.unwrap_or(0);
            let two_two = ws.share_balance(&r.owner_two, &r.share_id_two)?.unwrap_or(0);
            let one_two = take_back(ws.share_balance(&r.owner_one, &r.share_id_two)?, r.quantity_two, tx_id)?;
            let two_one = take_back(ws.share_balance(&r.owner_two, &r.share_id_one)?, r.quantity_one, tx_id)?;
            ws.set_share_balance(&r.owner_two, &r.share_id_one, two_one);
            ws.set_share_balance(&r.owner_one, &r.share_id_one, give_back(one_one, r.quantity_one, tx_id)?);
            ws.set_share_balance(&r.owner_one, &r.share_id_two, one_two);
            ws.set_share_balance(&r.owner_two, &r.share_id_two, give_back(two_two, r.quantity_two, tx_id)?);
        }
    }
    Ok(())
}

/// A balance that received `quantity` in the block, less that quantity again.
fn take_back(balance: Option<u64>, quantity: u64, tx_id: &Link) -> Result<u64> {
    balance.and_then(|b| b.checked_sub(quantity)).ok_or_else(|| corrupt_tx(tx_id, "share balance missing or short"))
}

/// A balance that gave `quantity` in the block, made whole again.
fn give_back(balance: u64, quantity: u64, tx_id: &Link) -> Result<u64> {
    balance.checked_add(quantity).ok_or_else(|| corrupt_tx(tx_id, "share balance overflow"))
}
