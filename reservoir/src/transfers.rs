//! Transfers, shares, block-owner transfers, share grants and swaps (reservoir/transfer.go,
//! sharegrant.go, shareswap.go, sharebalance.go).
//!
//! Each is one record under its own pay id, waiting for payment unless the verifier
//! auto-verifies. A transfer must spend a confirmed record its signer currently owns, and no
//! other pending or verified record may spend the same link (double-spend detection).

use crate::error::Result;
use crate::payment::{required_payments, PaymentAlternative};
use crate::pool::{Group, GroupKind, Item, Pool};
use crate::reservoir::Reservoir;
use crate::{MAXIMUM_PENDING_TRANSACTIONS, RESERVOIR_TIMEOUT};
use bitmark_record::transaction::{Payment, ShareGrant, ShareSwap};
use bitmark_record::{Account, Fault, Link, PayId, Transaction};

/// What a transfer, share or block-owner transfer submission gave (`TransferInfo`).
#[derive(Clone, Debug)]
pub struct TransferInfo {
    /// SHA3-384 of the packed record.
    pub pay_id: PayId,
    /// Tx id of the record.
    pub tx_id: Link,
    /// Tx id of the issue (or block foundation) at the head of the provenance.
    pub issue_tx_id: Link,
    /// The packed record.
    pub packed: Vec<u8>,
    /// What must be paid.
    pub payments: Vec<PaymentAlternative>,
    /// Already pending under this pay id; nothing new stored.
    pub duplicate: bool,
}

/// What a share grant submission gave (`GrantInfo`).
#[derive(Clone, Debug)]
pub struct GrantInfo {
    /// Owner's confirmed balance less everything committed by pending and verified grants and
    /// swaps, this one included (wraps below zero as bitmarkd's unsigned arithmetic does).
    pub remaining: u64,
    /// SHA3-384 of the packed record.
    pub pay_id: PayId,
    /// Tx id of the record.
    pub tx_id: Link,
    /// The packed record.
    pub packed: Vec<u8>,
    /// What must be paid.
    pub payments: Vec<PaymentAlternative>,
    /// Already pending under this pay id.
    pub duplicate: bool,
}

/// What a share swap submission gave (`SwapInfo`).
#[derive(Clone, Debug)]
pub struct SwapInfo {
    /// Owner one's remaining balance of share one (as [`GrantInfo::remaining`]).
    pub remaining_one: u64,
    /// Owner two's remaining balance of share two.
    pub remaining_two: u64,
    /// SHA3-384 of the packed record.
    pub pay_id: PayId,
    /// Tx id of the record.
    pub tx_id: Link,
    /// The packed record.
    pub packed: Vec<u8>,
    /// What must be paid.
    pub payments: Vec<PaymentAlternative>,
    /// Already pending under this pay id.
    pub duplicate: bool,
}

/// The outcome of [`Reservoir::submit_transfer`].
#[derive(Clone, Debug)]
pub enum TransferOutcome {
    /// A transfer, share or block-owner transfer.
    Transfer(TransferInfo),
    /// A share grant.
    Grant(GrantInfo),
    /// A share swap.
    Swap(SwapInfo),
}

impl TransferOutcome {
    /// Whether the record was already pending.
    pub fn duplicate(&self) -> bool {
        match self {
            TransferOutcome::Transfer(i) => i.duplicate,
            TransferOutcome::Grant(i) => i.duplicate,
            TransferOutcome::Swap(i) => i.duplicate,
        }
    }

    /// The pay id.
    pub fn pay_id(&self) -> PayId {
        match self {
            TransferOutcome::Transfer(i) => i.pay_id,
            TransferOutcome::Grant(i) => i.pay_id,
            TransferOutcome::Swap(i) => i.pay_id,
        }
    }
}

/// One confirmed share balance with what pending and verified grants and swaps commit
/// (`BalanceInfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceInfo {
    /// The share id.
    pub share_id: Link,
    /// Confirmed balance.
    pub confirmed: u64,
    /// Committed by unconfirmed grants and swaps.
    pub spend: u64,
    /// `confirmed − spend` (wrapping, as bitmarkd).
    pub available: u64,
}

/// How a single record was admitted.
enum Admitted {
    /// Already pending: the stored payments.
    Duplicate(Vec<PaymentAlternative>),
    /// Stored, pending or verified.
    Stored,
}

/// Who owns the record a transfer spends, and the escrow it carried.
struct Previous {
    owner: Account,
    escrow: Option<Payment>,
}

/// The owner (and escrow) of `previous` when `next` may spend it: issues and bitmark transfers
/// pass to bitmark transfers and shares; foundations, base records and block-owner transfers
/// pass to block-owner transfers (`verifyTransfer`'s type switch).
fn spendable(previous: Transaction, next: &Transaction) -> Option<Previous> {
    use Transaction as T;
    let bitmark_next =
        matches!(next, T::BitmarkTransferUnratified(_) | T::BitmarkTransferCountersigned(_) | T::BitmarkShare(_));
    let block_next = matches!(next, T::BlockOwnerTransfer(_));
    match previous {
        T::BitmarkIssue(r) if bitmark_next => Some(Previous { owner: r.owner, escrow: None }),
        T::BitmarkTransferUnratified(r) if bitmark_next => Some(Previous { owner: r.owner, escrow: r.escrow }),
        T::BitmarkTransferCountersigned(r) if bitmark_next => Some(Previous { owner: r.owner, escrow: r.escrow }),
        T::BaseData(r) if block_next => Some(Previous { owner: r.owner, escrow: None }),
        T::BlockFoundation(r) if block_next => Some(Previous { owner: r.owner, escrow: None }),
        T::BlockOwnerTransfer(r) if block_next => Some(Previous { owner: r.owner, escrow: r.escrow }),
        _ => None,
    }
}

impl Reservoir {
    /// Store any transfer-like record (`processTransfer`'s dispatch): bitmark transfers, shares
    /// and block-owner transfers via [`Self::store_transfer`], grants via
    /// [`Self::store_grant`], swaps via [`Self::store_swap`]; anything else is
    /// `transaction is not a transfer`.
    pub fn submit_transfer(&self, tx: Transaction) -> Result<TransferOutcome> {
        match tx {
            Transaction::ShareGrant(g) => self.store_grant(&g).map(TransferOutcome::Grant),
            Transaction::ShareSwap(s) => self.store_swap(&s).map(TransferOutcome::Swap),
            tx => self.store_transfer(tx).map(TransferOutcome::Transfer),
        }
    }

    /// Store a transfer, share or block-owner transfer (`StoreTransfer`), durably before
    /// returning.
    ///
    /// Faults, in bitmarkd's order: `link to invalid or unconfirmed transaction` (link not
    /// confirmed, or of a kind this record cannot spend), the spent record's unpack faults, the
    /// record's pack/signature faults (signed by the link's current owner), `transaction links
    /// to self`, `double transfer attempt` (another pending or verified record spends the
    /// link), `transaction already exists` (verified or confirmed), `double transfer attempt`
    /// (the signer no longer owns the link), `missing owner data`, `buffer capacity limit`
    /// (160 000 pending). Other record types are `transaction is not a transfer`.
    pub fn store_transfer(&self, tx: Transaction) -> Result<TransferInfo> {
        let info = self.store_transfer_unsynced(tx)?;
        self.sync()?;
        Ok(info)
    }

    pub(crate) fn store_transfer_unsynced(&self, tx: Transaction) -> Result<TransferInfo> {
        let link = match &tx {
            Transaction::BitmarkTransferUnratified(_)
            | Transaction::BitmarkTransferCountersigned(_)
            | Transaction::BitmarkShare(_)
            | Transaction::BlockOwnerTransfer(_) => tx.link().ok_or(Fault::TransactionIsNotATransfer)?,
            _ => return Err(Fault::TransactionIsNotATransfer.into()),
        };
        let (_, previous_packed) =
            self.state.transaction(&link)?.ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction)?;
        let (previous, _) = Transaction::unpack(&previous_packed, self.chain.is_testing())?;
        let previous = spendable(previous, &tx).ok_or(Fault::LinkToInvalidOrUnconfirmedTransaction)?;
        let packed = tx.pack(&previous.owner)?;
        let tx_id = Link::of(&packed);
        if tx_id == link {
            return Err(Fault::TransactionLinksToSelf.into());
        }

        let mut pool = self.lock();
        if pool.links.get(&link).is_some_and(|spender| *spender != tx_id) {
            return Err(Fault::DoubleTransferAttempt.into());
        }
        let overlap = self.check_new(&pool, &tx_id)?;
        if !self.state.currently_owns(&previous.owner, &link)? {
            return Err(Fault::DoubleTransferAttempt.into());
        }
        let owner_data = self.state.owner_data(&link)?.ok_or(Fault::MissingOwnerData)?;
        let payments = required_payments(
            self.state.as_ref(),
            owner_data.transfer_block,
            owner_data.issue_block,
            previous.escrow.as_ref(),
        )?;
        let item = Item { tx_id, tx, packed: packed.clone() };
        let pay_id = PayId::new([&packed]);
        let (payments, duplicate) = match self.admit_single(&mut pool, item, payments.clone(), overlap)? {
            Admitted::Duplicate(stored) => (stored, true),
            Admitted::Stored => (payments, false),
        };
        Ok(TransferInfo { pay_id, tx_id, issue_tx_id: owner_data.issue_tx_id, packed, payments, duplicate })
    }

    /// Whether `tx_id` is pending (an overlap, decided by the pay id later); verified or
    /// confirmed is `transaction already exists`.
    fn check_new(&self, pool: &Pool, tx_id: &Link) -> Result<bool> {
        let overlap = pool.pending_index.contains_key(tx_id);
        if pool.verified_index.contains_key(tx_id) || self.state.has_transaction(tx_id)? {
            return Err(Fault::TransactionAlreadyExists.into());
        }
        Ok(overlap)
    }

    /// The common tail of every single-record submission: duplicate, overlap, orphan payment
    /// or auto-verify, capacity, then pending. Writes the change to sled.
    fn admit_single(
        &self,
        pool: &mut Pool,
        item: Item,
        payments: Vec<PaymentAlternative>,
        overlap: bool,
    ) -> Result<Admitted> {
        let pay_id = PayId::new([&item.packed]);
        if let Some(g) = pool.pending(&pay_id) {
            return Ok(Admitted::Duplicate(g.payments.clone()));
        }
        if overlap {
            return Err(Fault::TransactionAlreadyExists.into());
        }
        let seq = pool.take_seq();
        let expires_at = self.now_ms().saturating_add(crate::clock::ms(RESERVOIR_TIMEOUT));
        let mut group = Group {
            kind: GroupKind::Transaction,
            verified: false,
            seq,
            items: vec![item],
            payments,
            nonce: Vec::new(),
            expires_at,
        };
        if !self.verify_on_arrival(pool, pay_id, &mut group)
            && pool.pending_transactions >= MAXIMUM_PENDING_TRANSACTIONS
        {
            return Err(Fault::BufferCapacityLimit.into());
        }
        pool.insert(pay_id, group);
        self.store.write(pool)?;
        Ok(Admitted::Stored)
    }

    /// Payments for a grant or swap: from the owner data of the BitmarkShare record that
    /// created the share (`F` gives its tx id); either missing is `double transfer attempt`.
    fn share_payments(&self, share_id: &Link) -> Result<Vec<PaymentAlternative>> {
        let total = self.state.share_total(share_id)?.ok_or(Fault::DoubleTransferAttempt)?;
        let owner_data = self.state.owner_data(&total.tx_id)?.ok_or(Fault::DoubleTransferAttempt)?;
        required_payments(self.state.as_ref(), owner_data.transfer_block, owner_data.issue_block, None)
    }

    /// A confirmed balance that must cover `quantity` (`InsufficientShares` otherwise).
    fn covered_balance(&self, owner: &Account, share_id: &Link, quantity: u64) -> Result<u64> {
        match self.state.share_balance(owner, share_id)? {
            Some(balance) if balance >= quantity => Ok(balance),
            _ => Err(Fault::InsufficientShares.into()),
        }
    }

    /// Store a share grant (`StoreGrant`), durably before returning. Faults in bitmarkd's
    /// order: `record has expired` (before-block not above the height), `share quantity too
    /// small`, `insufficient shares` (confirmed balance only), pack/signature faults,
    /// `transaction already exists`, `double transfer attempt` (share or its owner data
    /// missing), and — unlike bitmarkd, which has no limit here — `buffer capacity limit`.
    pub fn store_grant(&self, grant: &ShareGrant) -> Result<GrantInfo> {
        let info = self.store_grant_unsynced(grant)?;
        self.sync()?;
        Ok(info)
    }

    pub(crate) fn store_grant_unsynced(&self, grant: &ShareGrant) -> Result<GrantInfo> {
        if grant.before_block <= self.state.height() {
            return Err(Fault::RecordHasExpired.into());
        }
        if grant.quantity == 0 {
            return Err(Fault::ShareQuantityTooSmall.into());
        }
        let balance = self.covered_balance(&grant.owner, &grant.share_id, grant.quantity)?;
        let tx = Transaction::ShareGrant(grant.clone());
        let packed = tx.pack(&grant.owner)?;
        let tx_id = Link::of(&packed);

        let mut pool = self.lock();
        let overlap = self.check_new(&pool, &tx_id)?;
        let payments = self.share_payments(&grant.share_id)?;
        let key = (grant.owner.to_bytes(), grant.share_id);
        let spend = pool.spend.get(&key).copied().unwrap_or(0);
        let pay_id = PayId::new([&packed]);
        let item = Item { tx_id, tx, packed: packed.clone() };
        let (payments, duplicate, remaining) = match self.admit_single(&mut pool, item, payments.clone(), overlap)? {
            Admitted::Duplicate(stored) => (stored, true, balance.wrapping_sub(spend)),
            Admitted::Stored => (payments, false, balance.wrapping_sub(spend).wrapping_sub(grant.quantity)),
        };
        Ok(GrantInfo { remaining, pay_id, tx_id, packed, payments, duplicate })
    }

    /// Store a share swap (`StoreSwap`), durably before returning; as [`Self::store_grant`]
    /// with two balances (signed by owner one, countersigned by owner two; payments from share
    /// one's owner data).
    pub fn store_swap(&self, swap: &ShareSwap) -> Result<SwapInfo> {
        let info = self.store_swap_unsynced(swap)?;
        self.sync()?;
        Ok(info)
    }

    pub(crate) fn store_swap_unsynced(&self, swap: &ShareSwap) -> Result<SwapInfo> {
        if swap.before_block <= self.state.height() {
            return Err(Fault::RecordHasExpired.into());
        }
        if swap.quantity_one == 0 || swap.quantity_two == 0 {
            return Err(Fault::ShareQuantityTooSmall.into());
        }
        let balance_one = self.covered_balance(&swap.owner_one, &swap.share_id_one, swap.quantity_one)?;
        let balance_two = self.covered_balance(&swap.owner_two, &swap.share_id_two, swap.quantity_two)?;
        let tx = Transaction::ShareSwap(swap.clone());
        let packed = tx.pack(&swap.owner_one)?;
        let tx_id = Link::of(&packed);

        let mut pool = self.lock();
        let overlap = self.check_new(&pool, &tx_id)?;
        let payments = self.share_payments(&swap.share_id_one)?;
        let spend = |pool: &Pool, owner: &Account, share: &Link| {
            pool.spend.get(&(owner.to_bytes(), *share)).copied().unwrap_or(0)
        };
        let spend_one = spend(&pool, &swap.owner_one, &swap.share_id_one);
        let spend_two = spend(&pool, &swap.owner_two, &swap.share_id_two);
        let pay_id = PayId::new([&packed]);
        let item = Item { tx_id, tx, packed: packed.clone() };
        let mut remaining_one = balance_one.wrapping_sub(spend_one);
        let mut remaining_two = balance_two.wrapping_sub(spend_two);
        let (payments, duplicate) = match self.admit_single(&mut pool, item, payments.clone(), overlap)? {
            Admitted::Duplicate(stored) => (stored, true),
            Admitted::Stored => {
                remaining_one = remaining_one.wrapping_sub(swap.quantity_one);
                remaining_two = remaining_two.wrapping_sub(swap.quantity_two);
                (payments, false)
            }
        };
        Ok(SwapInfo { remaining_one, remaining_two, pay_id, tx_id, packed, payments, duplicate })
    }

    /// `owner`'s confirmed share balances from `start` (at most `count`), each with what
    /// unconfirmed grants and swaps commit (`ShareBalance`).
    pub fn share_balance(&self, owner: &Account, start: &Link, count: usize) -> Result<Vec<BalanceInfo>> {
        if count == 0 {
            return Err(Fault::InvalidCount.into());
        }
        let rows = self.state.share_balances(owner, start, count)?;
        let pool = self.lock();
        let owner_bytes = owner.to_bytes();
        Ok(rows
            .into_iter()
            .map(|(share_id, confirmed)| {
                let spend = pool.spend.get(&(owner_bytes.clone(), share_id)).copied().unwrap_or(0);
                BalanceInfo { share_id, confirmed, spend, available: confirmed.wrapping_sub(spend) }
            })
            .collect())
    }
}
