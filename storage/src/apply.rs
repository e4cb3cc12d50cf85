//! Validating and storing one block: bitmarkd's `StoreIncoming` (block/store.go:39-689,
//! `docs/formats.md#block-checks`), with every check in bitmarkd's order and every write of the
//! block in one atomic sled batch.
//!
//! Deliberate differences, none of which changes what a valid block does to the pools:
//! * Where bitmarkd panics we return a fault: a foundation or base record after the first
//!   one or two (`UnexpectedTransactionRecord`), a block number other than height + 1 once
//!   every other check has passed (`HeightOutOfSequence`), a difficulty exponent ≥ 0xc0
//!   (`InvalidBlockHeaderDifficulty`, from the header decoder), a transfer whose link is a
//!   share, grant, swap or base record (`LinkToInvalidOrUnconfirmedTransaction`), a BitmarkShare
//!   whose link its owner no longer holds (`DoubleTransferAttempt`).
//! * A block that spends one link twice, or overdraws one share balance with two records, is
//!   refused (`DoubleTransferAttempt` / `InsufficientShares`). bitmarkd validates each record
//!   against the committed pools only, accepts such a block, and its stale-read cache then
//!   records two owners or a wrong balance; its own proofer never builds one.
//! * On any failure the current difficulty is restored (bitmarkd keeps an adjusted value when
//!   a later check fails; the next block at that height recomputes the same value anyway).

use crate::error::{Result, StorageError};
use crate::nb::NbValue;
use crate::pools::WriteSet;
use crate::read::PoolRead;
use crate::store::{BlockStore, State};
use crate::tip::Tip;
use bitmark_record::currency::litecoin;
use bitmark_record::header::{self, BlockHeader, DigestSource};
use bitmark_record::transaction::check_payments;
use bitmark_record::{merkle, Account, AssetId, BlockDigest, Currency, CurrencyMap, Fault, Link, Transaction};
use std::collections::HashSet;

/// What [`BlockStore::apply`] stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The block number (the new height).
    pub number: u64,
    /// The block's digest.
    pub digest: BlockDigest,
    /// Number of records in the block, foundation records included.
    pub transactions: usize,
}

/// What [`BlockStore::apply_many`] did: the blocks stored, and the first failure if any (the
/// blocks after it were not tried).
#[derive(Debug, Default)]
pub struct ApplyMany {
    /// The blocks stored, in order.
    pub applied: Vec<Applied>,
    /// Index (into the input) and error of the block that failed.
    pub failed: Option<(usize, StorageError)>,
}

/// Where the digest of the incoming block comes from.
#[derive(Clone, Copy)]
pub(crate) enum DigestFrom<'a> {
    /// Stored `2` entry or Argon2d of the header (normal mode).
    Compute,
    /// Computed ahead of time by the caller (a digest pool); a stored `2` entry still wins,
    /// as in bitmarkd's `extractHeader`.
    Given(BlockDigest),
    /// Fast sync: the next block's `previousBlock`; proof of work and linkage are not checked.
    NextBlock(&'a [u8]),
}

/// One validated record, ready for the write phase.
struct Item<'b> {
    tx_id: Link,
    packed: &'b [u8],
    tx: Transaction,
    /// Current owner of the link (transfers, block-owner transfers, shares).
    link_owner: Option<Account>,
    /// The block a block-owner transfer passes on.
    owned_block: Option<u64>,
}

/// The block's owner and what is stored for it (store.go:338-384).
struct Foundation {
    owner: Account,
    packed_payments: Vec<u8>,
    packed_foundation: Vec<u8>,
    tx_start: usize,
}

impl BlockStore {
    /// Validate and store one packed block (`StoreIncoming(block, nil)`), computing its Argon2d
    /// digest. Either every write of the block is committed or none is.
    ///
    /// The digest (about 0.3 s of a core) is computed before the writer lock is taken
    /// ([`BlockStore::digest_ahead`]), so a peer pushing plausible junk blocks cannot hold up
    /// the writer (a sync, other pushes) for an Argon2d each.
    pub fn apply(&self, packed_block: &[u8]) -> Result<Applied> {
        let ahead = self.digest_ahead(packed_block)?;
        self.apply_digested(packed_block, ahead)
    }

    /// The stateless first steps of storing `packed_block`, to be done before taking any lock
    /// (this store's, or a caller's such as the reservoir hooks'): decode the header, and
    /// compute its Argon2d digest when worth it, i.e. its number is plausible at the current
    /// height and no digest is stored for that number (a stored one is used under the lock at
    /// no cost). A header that does not decode is refused here with the fault storing it would
    /// give first; hand anything else to [`BlockStore::apply_digested`].
    ///
    /// Faults and their order are those of computing the digest under the lock: the digest
    /// depends only on the header, and every check is made again under the lock.
    pub fn digest_ahead(&self, packed_block: &[u8]) -> Result<Option<BlockDigest>> {
        let now = self.now();
        let (header, _, _) = header::extract(packed_block, 0, DigestSource::Skip, now)?;
        let expected = self.state().tip.height + 1;
        let plausible = header::extract(packed_block, expected, DigestSource::Skip, now).is_ok();
        if !plausible || self.stored_digest(header.number).is_some_and(|d| !d.is_empty()) {
            return Ok(None);
        }
        Ok(Some(header::compute_header_hash(packed_block)?))
    }

    /// [`BlockStore::apply`] with what [`BlockStore::digest_ahead`] gave: the digest, or
    /// `None` to compute it under the lock should the block need one after all (the chain
    /// moved since).
    pub fn apply_digested(&self, packed_block: &[u8], ahead: Option<BlockDigest>) -> Result<Applied> {
        match ahead {
            Some(digest) => self.store_incoming(packed_block, DigestFrom::Given(digest)),
            None => self.store_incoming(packed_block, DigestFrom::Compute),
        }
    }

    /// As [`BlockStore::apply`] with the header digest already computed (by a [`crate::DigestPool`]).
    pub fn apply_with_digest(&self, packed_block: &[u8], digest: BlockDigest) -> Result<Applied> {
        self.store_incoming(packed_block, DigestFrom::Given(digest))
    }

    /// Fast sync (`StoreIncoming(block, next)`): the block's digest is the next block's
    /// `previousBlock`, and proof of work and linkage are not checked; no Argon2d is computed.
    pub fn apply_fast(&self, packed_block: &[u8], packed_next_block: &[u8]) -> Result<Applied> {
        self.store_incoming(packed_block, DigestFrom::NextBlock(packed_next_block))
    }

    /// Store many blocks in order: their Argon2d digests are computed first on `pool`'s worker
    /// threads, then each block is validated and stored as by [`BlockStore::apply`]. Stops at
    /// the first block that fails.
    pub fn apply_many(&self, blocks: &[&[u8]], pool: &crate::DigestPool) -> ApplyMany {
        let digests = pool.block_digests(blocks);
        let mut outcome = ApplyMany::default();
        for (index, (block, digest)) in blocks.iter().zip(digests).enumerate() {
            let result = match digest {
                Some(d) => self.apply_with_digest(block, d),
                None => self.apply(block),
            };
            match result {
                Ok(applied) => outcome.applied.push(applied),
                Err(e) => {
                    outcome.failed = Some((index, e));
                    break;
                }
            }
        }
        outcome
    }

    fn store_incoming(&self, packed: &[u8], from: DigestFrom<'_>) -> Result<Applied> {
        let _writer = self.lock_writer();
        let state = self.state();
        let (header, digest, data) = self.extract_incoming(packed, state.tip.height, from)?;

        header::valid_header_version(state.tip.version, header.version)?;
        let mut difficulty = state.difficulty;
        if header::is_block_to_adjust_difficulty(header.number, header.version) {
            difficulty = self.adjusted_difficulty(header.number, difficulty)?;
        }
        header::valid_incoming_difficulty(&header, &difficulty, self.chain)?;
        if !matches!(from, DigestFrom::NextBlock(_)) {
            if !digest.is_valid_by_difficulty(&header.difficulty, self.chain) {
                return Err(Fault::InvalidBlockHeaderDifficulty.into());
            }
            header::valid_block_linkage(&state.tip.digest, &header.previous_block)?;
        }
        if state.tip.timestamp > header.timestamp {
            header::valid_block_time_spacing(header.version, state.tip.timestamp - header.timestamp)?;
        }

        let items = self.validate_records(&header, data)?;
        let foundation = self.foundation(&items)?;

        let mut ws = self.pools().write_set();
        self.write_records(&mut ws, &header, &items, &foundation)?;
        let foundation_tx_id = header::foundation_tx_id(header.number, &digest);
        ws.put_block_owner_payment(header.number, &foundation.packed_payments);
        ws.put_transaction(&foundation_tx_id, &NbValue::new(header.number, foundation.packed_foundation.clone()));
        ws.put_block_owner_tx(&foundation_tx_id, header.number);
        ws.create_block_ownership(&foundation_tx_id, header.number, &foundation.owner)?;
        if header.number != state.tip.height + 1 {
            return Err(Fault::HeightOutOfSequence.into());
        }
        ws.put_block(header.number, packed);
        ws.put_block_digest(header.number, &digest);
        ws.commit()?;

        let tip = Tip { height: header.number, digest, version: header.version, timestamp: header.timestamp };
        self.set_state(State { tip, difficulty });
        self.digests.insert(header.number, digest);
        tracing::debug!(target: "storage::block", number = header.number, txs = items.len(), "stored block");
        Ok(Applied { number: header.number, digest, transactions: items.len() })
    }

    /// Header, digest and transaction bytes of the incoming block (`extractHeader` with the
    /// expected height; fast sync reads the next block's header for the digest).
    fn extract_incoming<'b>(
        &self,
        packed: &'b [u8],
        height: u64,
        from: DigestFrom<'_>,
    ) -> Result<(BlockHeader, BlockDigest, &'b [u8])> {
        let now = self.now();
        let lookup = |n: u64| self.stored_digest(n);
        let expected = height + 1;
        Ok(match from {
            DigestFrom::Compute => header::extract(packed, expected, DigestSource::Stored(&lookup), now)?,
            DigestFrom::Given(given) => {
                let (h, _, data) = header::extract(packed, expected, DigestSource::Skip, now)?;
                let digest = self.stored_digest(h.number).filter(|d| !d.is_empty()).unwrap_or(given);
                (h, digest, data)
            }
            DigestFrom::NextBlock(next) => {
                let (h, _, data) = header::extract(packed, expected, DigestSource::Skip, now)?;
                let (next_header, _, _) = header::extract(next, height + 2, DigestSource::Skip, now)?;
                (h, next_header.previous_block, data)
            }
        })
    }

    /// Unpack and check every record against the committed pools (store.go:162-330).
    fn validate_records<'b>(&self, header: &BlockHeader, mut data: &'b [u8]) -> Result<Vec<Item<'b>>> {
        let pools = self.pools();
        let testnet = self.chain.is_testing();
        let suppress_duplicate_checks = header.version == 1;
        let mut local_assets: HashSet<AssetId> = HashSet::new();
        let mut items = Vec::with_capacity(usize::from(header.transaction_count));
        for _ in 0..header.transaction_count {
            let (tx, n) = Transaction::unpack(data, testnet)?;
            let (packed, rest) = data.split_at_checked(n).ok_or(Fault::NotTransactionPack)?;
            let tx_id = Link::of(packed);
            let mut link_owner = None;
            let mut owned_block = None;
            match &tx {
                Transaction::BaseData(r) => {
                    tx.pack(&r.owner)?;
                }
                Transaction::AssetData(r) => {
                    tx.pack(&r.registrant)?;
                    let id = r.asset_id();
                    if !suppress_duplicate_checks && pools.has_asset(&id)? {
                        return Err(Fault::TransactionAlreadyExists.into());
                    }
                    local_assets.insert(id);
                }
                Transaction::BitmarkIssue(r) => {
                    tx.pack(&r.owner)?;
                    if !suppress_duplicate_checks && pools.has_transaction(&tx_id)? {
                        return Err(Fault::TransactionAlreadyExists.into());
                    }
                    if !local_assets.contains(&r.asset_id) && !pools.has_asset(&r.asset_id)? {
                        return Err(Fault::AssetNotFound.into());
                    }
                }
                Transaction::BitmarkTransferUnratified(_) | Transaction::BitmarkTransferCountersigned(_) => {
                    let link = transfer_link(&tx);
                    let (_, owner) =
                        pools.owner_of(&link, testnet)?.ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction)?;
                    tx.pack(&owner)?;
                    if !pools.currently_owns(&owner, &link)? {
                        return Err(Fault::DoubleTransferAttempt.into());
                    }
                    match pools.owner_data(&link)?.map(|d| d.owned) {
                        None => return Err(Fault::DoubleTransferAttempt.into()),
                        Some(crate::Owned::Share(_)) => return Err(Fault::CannotConvertSharesBackToAssets.into()),
                        Some(_) => {}
                    }
                    link_owner = Some(owner);
                }
                Transaction::BlockFoundation(r) => {
                    tx.pack(&r.owner)?;
                }
                Transaction::BlockOwnerTransfer(r) => {
                    // Pack with no signer is InvalidOwnerOrRegistrant in bitmarkd.
                    let (_, owner) = pools.owner_of(&r.link, testnet)?.ok_or(Fault::InvalidOwnerOrRegistrant)?;
                    tx.pack(&owner)?;
                    if !pools.currently_owns(&owner, &r.link)? {
                        return Err(Fault::DoubleTransferAttempt.into());
                    }
                    owned_block =
                        Some(pools.block_owner_tx(&r.link)?.ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction)?);
                    check_payments(r.version, testnet, &r.payments)?;
                    link_owner = Some(owner);
                }
                Transaction::BitmarkShare(r) => {
                    let (_, owner) =
                        pools.owner_of(&r.link, testnet)?.ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction)?;
                    tx.pack(&owner)?;
                    match pools.owner_data(&r.link)?.map(|d| d.owned) {
                        None => return Err(Fault::DoubleTransferAttempt.into()),
                        Some(crate::Owned::Asset(_)) => {}
                        Some(_) => return Err(Fault::CanOnlyConvertAssetsToShares.into()),
                    }
                    link_owner = Some(owner);
                }
                Transaction::ShareGrant(r) => {
                    tx.pack(&r.owner)?;
                    pools.check_grant_balance(r)?;
                }
                Transaction::ShareSwap(r) => {
                    tx.pack(&r.owner_one)?;
                    pools.check_swap_balances(r)?;
                }
            }
            items.push(Item { tx_id, packed, tx, link_owner, owned_block });
            data = rest;
        }
        if !data.is_empty() {
            return Err(Fault::TransactionCountOutOfRange.into());
        }
        let ids: Vec<Link> = items.iter().map(|i| i.tx_id).collect();
        if merkle::root(&ids) != header.merkle_root {
            return Err(Fault::MerkleRootDoesNotMatch.into());
        }
        Ok(items)
    }

    /// The block owner from the first record(s) (store.go:338-384), and the refusal of any
    /// later foundation or base record (where bitmarkd's write phase panics).
    fn foundation(&self, items: &[Item<'_>]) -> Result<Foundation> {
        let testnet = self.chain.is_testing();
        let first = items.first().ok_or(Fault::MissingBlockOwner)?;
        let foundation = match &first.tx {
            Transaction::BlockFoundation(r) => {
                check_payments(r.version, testnet, &r.payments)?;
                Foundation {
                    owner: r.owner.clone(),
                    packed_payments: r.payments.pack(testnet)?,
                    packed_foundation: first.packed.to_vec(),
                    tx_start: 1,
                }
            }
            Transaction::BaseData(r) => {
                r.currency.validate_address(&r.payment_address, testnet)?;
                let mut currencies = CurrencyMap::new();
                currencies.insert(r.currency, r.payment_address.to_string_lossy());
                let second = items.get(1);
                let (tx_start, packed_foundation) = match second.map(|s| (&s.tx, s.packed)) {
                    Some((Transaction::BaseData(r1), packed1)) => {
                        currencies.insert(r1.currency, r1.payment_address.to_string_lossy());
                        (2, [first.packed, packed1].concat())
                    }
                    _ => {
                        // Go ignores the conversion error and stores an empty address, which
                        // the pack below then refuses.
                        let ltc = litecoin::from_bitcoin(&r.payment_address.to_string_lossy()).unwrap_or_default();
                        currencies.insert(Currency::Litecoin, ltc);
                        (1, first.packed.to_vec())
                    }
                };
                Foundation {
                    owner: r.owner.clone(),
                    packed_payments: currencies.pack(testnet)?,
                    packed_foundation,
                    tx_start,
                }
            }
            _ => return Err(Fault::MissingBlockOwner.into()),
        };
        if items.len() < foundation.tx_start {
            return Err(Fault::TransactionCountOutOfRange.into());
        }
        let late = items
            .iter()
            .skip(foundation.tx_start)
            .any(|i| matches!(i.tx, Transaction::BlockFoundation(_) | Transaction::BaseData(_)));
        if late {
            return Err(Fault::UnexpectedTransactionRecord.into());
        }
        Ok(foundation)
    }

    /// The write phase for every record after the foundation (store.go:397-614).
    fn write_records(
        &self,
        ws: &mut WriteSet<'_>,
        header: &BlockHeader,
        items: &[Item<'_>],
        foundation: &Foundation,
    ) -> Result<()> {
        let number = header.number;
        let testnet = self.chain.is_testing();
        for item in items.iter().skip(foundation.tx_start) {
            let record = NbValue::new(number, item.packed.to_vec());
            let link_owner = || item.link_owner.as_ref().ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction);
            match &item.tx {
                Transaction::BaseData(_) | Transaction::BlockFoundation(_) => {
                    return Err(Fault::UnexpectedTransactionRecord.into());
                }
                Transaction::AssetData(r) => {
                    let id = r.asset_id();
                    if !ws.has_asset(&id)? {
                        ws.put_asset(&id, &record);
                    }
                }
                Transaction::BitmarkIssue(r) => {
                    if !ws.has_transaction(&item.tx_id)? {
                        ws.put_transaction(&item.tx_id, &record);
                        ws.create_asset_ownership(&item.tx_id, number, &r.asset_id, &r.owner)?;
                    }
                }
                Transaction::BitmarkTransferUnratified(r) => {
                    ws.put_transaction(&item.tx_id, &record);
                    ws.transfer_ownership(&r.link, &item.tx_id, number, link_owner()?, &r.owner)?;
                }
                Transaction::BitmarkTransferCountersigned(r) => {
                    ws.put_transaction(&item.tx_id, &record);
                    ws.transfer_ownership(&r.link, &item.tx_id, number, link_owner()?, &r.owner)?;
                }
                Transaction::BlockOwnerTransfer(r) => {
                    let owned = item.owned_block.ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction)?;
                    let payments = r.payments.pack(testnet)?;
                    ws.put_transaction(&item.tx_id, &record);
                    ws.put_block_owner_payment(owned, &payments);
                    ws.put_block_owner_tx(&item.tx_id, owned);
                    ws.delete_block_owner_tx(&r.link);
                    ws.transfer_ownership(&r.link, &item.tx_id, number, link_owner()?, &r.owner)?;
                }
                Transaction::BitmarkShare(r) => {
                    ws.put_transaction(&item.tx_id, &record);
                    ws.share_ownership(&r.link, &item.tx_id, number, link_owner()?, r.quantity)?;
                }
                Transaction::ShareGrant(r) => {
                    let owner_balance = ws.share_balance(&r.owner, &r.share_id)?;
                    let owner_balance = debit(owner_balance, r.quantity)?;
                    let recipient_balance = ws.share_balance(&r.recipient, &r.share_id)?.unwrap_or(0);
                    ws.set_share_balance(&r.owner, &r.share_id, owner_balance);
                    ws.set_share_balance(&r.recipient, &r.share_id, credit(recipient_balance, r.quantity)?);
                    ws.put_transaction(&item.tx_id, &record);
                }
                Transaction::ShareSwap(r) => {
                    let one_one = debit(ws.share_balance(&r.owner_one, &r.share_id_one)?, r.quantity_one)?;
                    let two_two = debit(ws.share_balance(&r.owner_two, &r.share_id_two)?, r.quantity_two)?;
                    let one_two = ws.share_balance(&r.owner_one, &r.share_id_two)?.unwrap_or(0);
                    let two_one = ws.share_balance(&r.owner_two, &r.share_id_one)?.unwrap_or(0);
                    ws.set_share_balance(&r.owner_one, &r.share_id_one, one_one);
                    ws.set_share_balance(&r.owner_two, &r.share_id_one, credit(two_one, r.quantity_one)?);
                    ws.set_share_balance(&r.owner_two, &r.share_id_two, two_two);
                    ws.set_share_balance(&r.owner_one, &r.share_id_two, credit(one_two, r.quantity_two)?);
                    ws.put_transaction(&item.tx_id, &record);
                }
            }
        }
        Ok(())
    }
}

/// The link of a bitmark transfer record.
fn transfer_link(tx: &Transaction) -> Link {
    match tx {
        Transaction::BitmarkTransferUnratified(r) => r.link,
        Transaction::BitmarkTransferCountersigned(r) => r.link,
        _ => Link::default(),
    }
}

/// A balance less `quantity`; a missing or short balance (only possible when the block itself
/// spent it already) is `InsufficientShares`.
fn debit(balance: Option<u64>, quantity: u64) -> Result<u64> {
    balance.and_then(|b| b.checked_sub(quantity)).ok_or_else(|| Fault::InsufficientShares.into())
}

/// A balance plus `quantity`; overflow cannot come from a valid chain (totals are fixed).
fn credit(balance: u64, quantity: u64) -> Result<u64> {
    balance.checked_add(quantity).ok_or_else(|| StorageError::Fault(Fault::InvalidCount))
}
