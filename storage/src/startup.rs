//! Start-up re-validation of the last blocks' indexes (block/setup.go:58-294): every record of
//! the newest blocks must be found in the pools it was written to, and what it replaced must be
//! gone. A failure means the database does not match its blocks; bitmarkd then refuses to start.
//!
//! Two fixes: bitmarkd computes the lowest block to check as an unsigned `last − 10`, so a
//! chain shorter than ten blocks checks only its last block — we check up to `count` blocks on
//! any chain; and it does not remember the link of a BitmarkShare, so a bitmark shared within
//! the checked window fails as `DataInconsistent` — we skip its owner rows like a transfer's.

use crate::error::Result;
use crate::read::PoolRead;
use crate::store::{BlockStore, STORED_BLOCK_NOW};
use bitmark_record::header::{self, BlockHeader, DigestSource};
use bitmark_record::{Account, BlockDigest, CurrencyMap, Fault, Link, Transaction};
use std::collections::HashSet;

/// Links already passed on by a later block: their owner rows are gone on purpose.
#[derive(Default)]
struct Superseded {
    block_owner: HashSet<Link>,
    bitmark: HashSet<Link>,
}

impl BlockStore {
    /// Re-check the indexes of the last `count` blocks, newest first, with bitmarkd's faults
    /// (`TransactionIsNotIndexed`, `AssetIsNotIndexed`, `OwnershipIsNotIndexed`,
    /// `DataInconsistent`, `PreviousOwnershipWasNotDeleted`, `PreviousTransactionWasNotDeleted`).
    pub fn validate_recent(&self, count: u64) -> Result<()> {
        let Some(last) = self.pools().last_block_number()? else { return Ok(()) };
        let lowest = last.saturating_sub(count.saturating_sub(1)).max(header::MINIMUM_BLOCK_NUMBER);
        let mut superseded = Superseded::default();
        for number in (lowest..=last).rev() {
            let packed = self.pools().block(number)?.ok_or(Fault::BlockNotFound)?;
            let lookup = |n: u64| self.stored_digest(n);
            let (h, digest, data) = header::extract(&packed, 0, DigestSource::Stored(&lookup), STORED_BLOCK_NOW)?;
            self.validate_block_indexes(&h, &digest, data, &mut superseded)?;
        }
        Ok(())
    }

    fn validate_block_indexes(
        &self,
        header: &BlockHeader,
        digest: &BlockDigest,
        mut data: &[u8],
        superseded: &mut Superseded,
    ) -> Result<()> {
        let pools = self.pools();
        let testnet = self.chain.is_testing();
        for _ in 0..header.transaction_count {
            let (tx, n) = Transaction::unpack(data, testnet)?;
            let tx_id = Link::of(data.get(..n).ok_or(Fault::NotTransactionPack)?);
            let indexed = |id: &Link| -> Result<()> {
                if pools.has_transaction(id)? {
                    Ok(())
                } else {
                    Err(Fault::TransactionIsNotIndexed.into())
                }
            };
            match &tx {
                Transaction::BaseData(_) => {}
                Transaction::BlockFoundation(r) => {
                    let foundation = header::foundation_tx_id(header.number, digest);
                    indexed(&foundation)?;
                    if !superseded.block_owner.contains(&foundation) {
                        self.validate_block_owner(&foundation, &r.payments)?;
                    }
                }
                Transaction::BlockOwnerTransfer(r) => {
                    indexed(&tx_id)?;
                    if pools.block_owner_tx(&r.link)?.is_some() {
                        return Err(Fault::PreviousOwnershipWasNotDeleted.into());
                    }
                    if !superseded.block_owner.contains(&tx_id) {
                        self.validate_block_owner(&tx_id, &r.payments)?;
                    }
                    superseded.block_owner.insert(r.link);
                }
                Transaction::AssetData(r) => {
                    if !pools.has_asset(&r.asset_id())? {
                        return Err(Fault::AssetIsNotIndexed.into());
                    }
                }
                Transaction::BitmarkIssue(r) => {
                    indexed(&tx_id)?;
                    if !superseded.bitmark.contains(&tx_id) {
                        self.validate_owner_rows(&tx_id, &r.owner)?;
                    }
                }
                Transaction::BitmarkShare(r) => {
                    indexed(&tx_id)?;
                    superseded.bitmark.insert(r.link);
                }
                Transaction::ShareGrant(_) | Transaction::ShareSwap(_) => indexed(&tx_id)?,
                Transaction::BitmarkTransferUnratified(_) | Transaction::BitmarkTransferCountersigned(_) => {
                    let (link, owner) = match &tx {
                        Transaction::BitmarkTransferUnratified(r) => (r.link, &r.owner),
                        Transaction::BitmarkTransferCountersigned(r) => (r.link, &r.owner),
                        _ => continue,
                    };
                    indexed(&tx_id)?;
                    if !self.is_wiped_out(&link)? {
                        return Err(Fault::PreviousTransactionWasNotDeleted.into());
                    }
                    if !superseded.bitmark.contains(&tx_id) {
                        self.validate_owner_rows(&tx_id, owner)?;
                    }
                    superseded.bitmark.insert(link);
                }
            }
            data = data.get(n..).unwrap_or_default();
        }
        Ok(())
    }

    /// `validateBlockOwnerRecord`: `I[tx]` names a block whose `H` entry is these payments.
    fn validate_block_owner(&self, tx_id: &Link, payments: &CurrencyMap) -> Result<()> {
        let number = self.pools().block_owner_tx(tx_id)?.ok_or(Fault::OwnershipIsNotIndexed)?;
        let packed = payments.pack(self.chain.is_testing())?;
        if self.pools().block_owner_payment(number)?.as_deref() != Some(packed.as_slice()) {
            return Err(Fault::DataInconsistent.into());
        }
        Ok(())
    }

    /// `validateTxOwnerRecords`: `D[owner ‖ tx]` gives an index whose `L` entry is `tx`.
    fn validate_owner_rows(&self, tx_id: &Link, owner: &Account) -> Result<()> {
        let index = self.pools().owner_tx_index(owner, tx_id)?.ok_or(Fault::DataInconsistent)?;
        if self.pools().owner_list(owner, index)? != Some(*tx_id) {
            return Err(Fault::DataInconsistent.into());
        }
        Ok(())
    }

    /// `isTxWipedOut`: the link's owner data and its owner's `D` row are gone.
    fn is_wiped_out(&self, link: &Link) -> Result<bool> {
        let pools = self.pools();
        if pools.owner_data(link)?.is_some() {
            return Ok(false);
        }
        let Some(nb) = pools.transaction(link)? else { return Ok(false) };
        let Ok((tx, _)) = Transaction::unpack(&nb.packed, self.chain.is_testing()) else { return Ok(false) };
        let owner = match &tx {
            Transaction::BitmarkIssue(r) => &r.owner,
            Transaction::BitmarkTransferUnratified(r) => &r.owner,
            Transaction::BitmarkTransferCountersigned(r) => &r.owner,
            Transaction::BlockOwnerTransfer(r) => &r.owner,
            _ => return Ok(false),
        };
        Ok(!pools.currently_owns(owner, link)?)
    }
}
