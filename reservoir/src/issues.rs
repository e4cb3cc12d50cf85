//! Issue submissions and free-issue proofs (reservoir/issues.go).

use crate::error::Result;
use crate::payment::{fees, PaymentAlternative};
use crate::pool::{Group, GroupKind, Item};
use crate::reservoir::Reservoir;
use crate::{MAXIMUM_ISSUES, MAXIMUM_PENDING_FREE_ISSUES, MAXIMUM_PENDING_PAID_ISSUES, RESERVOIR_TIMEOUT};
use bitmark_record::pay::{pay_nonce_height, proof_digest, proof_heights, proof_meets, scaled_difficulty};
use bitmark_record::transaction::BitmarkIssue;
use bitmark_record::{genesis, Difficulty, Fault, Link, PayId, PayNonce, SignatureChecker, Transaction};

/// What an issue submission gave (`IssueInfo` with bitmarkd's duplicate flag).
#[derive(Clone, Debug)]
pub struct IssueInfo {
    /// Tx id of each issue, in submission order.
    pub tx_ids: Vec<Link>,
    /// The packed issues, concatenated.
    pub packed: Vec<u8>,
    /// SHA3-384 over the packed issues: what a payment or proof refers to.
    pub pay_id: PayId,
    /// Free issues: the pay nonce the proof must use (from a recent block digest).
    pub nonce: Option<PayNonce>,
    /// Free issues: the difficulty the proof must meet.
    pub difficulty: Option<Difficulty>,
    /// Paid issues: what must be paid, one alternative per currency.
    pub payments: Vec<PaymentAlternative>,
    /// The same issues were already pending under this pay id; nothing new was stored.
    pub duplicate: bool,
}

/// The outcome of a proof (`TrackingStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackingStatus {
    /// No pending free issues under the pay id (never submitted, expired, or already proven).
    NotFound,
    /// The proof met the difficulty: the issues are verified.
    Accepted,
    /// The proof did not meet the difficulty with any recent pay nonce.
    Invalid,
}

impl TrackingStatus {
    /// bitmarkd's JSON text.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackingStatus::NotFound => "NotFound",
            TrackingStatus::Accepted => "Accepted",
            TrackingStatus::Invalid => "Invalid",
        }
    }
}

/// The free-issue difficulty of a group of `count` issues.
pub(crate) fn difficulty_of(count: usize, chain: bitmark_record::Chain) -> Difficulty {
    scaled_difficulty(count, chain)
}

impl Reservoir {
    /// Store a submission of issues (`StoreIssues`), durably before returning.
    ///
    /// All nonces zero makes the group *free*: it waits for a proof of work ([`Self::try_proof`]).
    /// Otherwise it is *paid*: all issues must be of one confirmed asset (not the genesis
    /// block's) and the payment is the asset block owner's fee × count per currency.
    ///
    /// Faults, in bitmarkd's order: `too many items to process` (> 100), `missing parameters`
    /// (none); per issue: `wrong network for public key`, the record's pack/signature faults,
    /// `asset not found`, `transaction already exists` (verified or confirmed); then
    /// `transaction already exists` when some issues are pending under another pay id
    /// (overlap), `asset not found` for a paid group of several or unconfirmed assets, and
    /// `buffer capacity limit` (20 000 pending free / paid issues). Resubmitting exactly the
    /// same issues returns the stored terms with `duplicate` set.
    pub fn store_issues(&self, issues: &[BitmarkIssue]) -> Result<IssueInfo> {
        let info = self.store_issues_unsynced(issues)?;
        self.sync()?;
        Ok(info)
    }

    /// [`Self::store_issues`] without the final flush (for bulk imports).
    pub(crate) fn store_issues_unsynced(&self, issues: &[BitmarkIssue]) -> Result<IssueInfo> {
        if issues.len() > MAXIMUM_ISSUES {
            return Err(Fault::TooManyItemsToProcess.into());
        }
        if issues.is_empty() {
            return Err(Fault::MissingParameters.into());
        }
        let testnet = self.chain.is_testing();
        let mut free = true;
        let mut overlap = false;
        let mut items = Vec::with_capacity(issues.len());
        // Each signature is checked on its own, as bitmarkd does (see `SignatureChecker` for why
        // not in a batch); an owner's key is decoded once for the whole submission.
        let mut checker = SignatureChecker::default();
        for issue in issues {
            if issue.owner.is_testnet() != testnet {
                return Err(Fault::WrongNetworkForPublicKey.into());
            }
            if issue.nonce != 0 {
                free = false;
            }
            let tx = Transaction::BitmarkIssue(issue.clone());
            let packed = tx.pack_checked(&issue.owner, &mut checker)?;
            if !self.asset_exists(&issue.asset_id)? {
                return Err(Fault::AssetNotFound.into());
            }
            let tx_id = Link::of(&packed);
            {
                let pool = self.lock();
                overlap |= pool.pending_index.contains_key(&tx_id);
                if pool.verified_index.contains_key(&tx_id) {
                    return Err(Fault::TransactionAlreadyExists.into());
                }
            }
            if self.state.has_transaction(&tx_id)? {
                return Err(Fault::TransactionAlreadyExists.into());
            }
            items.push(Item { tx_id, tx, packed });
        }
        let pay_id = PayId::new(items.iter().map(|i| &i.packed));
        let mut info = IssueInfo {
            tx_ids: items.iter().map(|i| i.tx_id).collect(),
            packed: items.iter().flat_map(|i| i.packed.iter().copied()).collect(),
            pay_id,
            nonce: None,
            difficulty: None,
            payments: Vec::new(),
            duplicate: false,
        };
        if let Some(stored) = self.pending_issue_terms(&pay_id, &info) {
            return Ok(stored);
        }
        if overlap {
            return Err(Fault::TransactionAlreadyExists.into());
        }
        let count = items.len();
        let kind = if free {
            info.nonce = Some(self.current_pay_nonce());
            info.difficulty = Some(difficulty_of(count, self.chain));
            GroupKind::FreeIssues
        } else {
            info.payments = self.paid_issue_payments(issues)?;
            GroupKind::PaidIssues
        };

        let now = self.now_ms();
        let mut pool = self.lock();
        // Re-check under the write lock: another submitter may have stored these meanwhile.
        if let Some(stored) = pending_terms(&pool, &pay_id, &info, self.chain) {
            return Ok(stored);
        }
        if items.iter().any(|i| pool.pending_index.contains_key(&i.tx_id) || pool.verified_index.contains_key(&i.tx_id))
        {
            return Err(Fault::TransactionAlreadyExists.into());
        }
        let seq = pool.take_seq();
        let mut group = Group {
            kind,
            verified: false,
            seq,
            items,
            payments: info.payments.clone(),
            nonce: info.nonce.map(|n| n.0.to_vec()).unwrap_or_default(),
            expires_at: now.saturating_add(crate::clock::ms(RESERVOIR_TIMEOUT)),
        };
        // A payment seen before the issues, or auto-verify: straight to verified. (Free
        // issues are never paid: bitmarkd's auto-verify + orphan corner case that filed a free
        // group among paid ones is not reproduced.)
        if !free && self.verify_on_arrival(&mut pool, pay_id, &mut group) {
            pool.insert(pay_id, group);
            self.store.write(&mut pool)?;
            return Ok(info);
        }
        let full = if free {
            pool.pending_free_count + count > MAXIMUM_PENDING_FREE_ISSUES
        } else {
            pool.pending_paid_count + count >= MAXIMUM_PENDING_PAID_ISSUES
        };
        if full {
            return Err(Fault::BufferCapacityLimit.into());
        }
        pool.insert(pay_id, group);
        self.store.write(&mut pool)?;
        Ok(info)
    }

    /// If the pay id is already a pending issue group, its stored terms (duplicate).
    fn pending_issue_terms(&self, pay_id: &PayId, info: &IssueInfo) -> Option<IssueInfo> {
        let pool = self.lock();
        pending_terms(&pool, pay_id, info, self.chain)
    }

    /// Paid issues: one confirmed asset, not genesis's, whose block owner is paid a fee per
    /// issue in each currency.
    fn paid_issue_payments(&self, issues: &[BitmarkIssue]) -> Result<Vec<PaymentAlternative>> {
        let asset_id = issues.first().map(|i| i.asset_id).ok_or(Fault::MissingParameters)?;
        if issues.iter().any(|i| i.asset_id != asset_id) {
            return Err(Fault::AssetNotFound.into());
        }
        let block = match self.state.asset_block(&asset_id)? {
            Some(b) if b > genesis::BLOCK_NUMBER => b,
            _ => return Err(Fault::AssetNotFound.into()),
        };
        let map = self.state.block_payments(block)?.ok_or(Fault::AssetNotFound)?;
        Ok(fees(&map, issues.len() as u64).into_iter().map(|p| vec![p]).collect())
    }

    /// The pay nonce handed to new free issues: from the block at the rounded height.
    fn current_pay_nonce(&self) -> PayNonce {
        self.pay_nonce_at(pay_nonce_height(self.state.height()))
    }

    /// The pay nonce of block `number` (genesis below 2; zero if the digest is unavailable).
    fn pay_nonce_at(&self, number: u64) -> PayNonce {
        PayNonce::from_block(number, self.chain, |n| self.state.block_digest(n).ok().flatten())
    }

    /// Offer a proof of work for pending free issues (`TryProof`): SHA3-256(pay id ‖ pay nonce ‖
    /// client nonce) read big-endian must meet the group's difficulty, for the pay nonce of one
    /// of the last six rounded heights. On success the group is verified (durably) and the
    /// whole client nonce kept (bitmarkd truncates it to 8 bytes, so its rebroadcast proofs of
    /// longer nonces fail elsewhere). An empty nonce is `Invalid`.
    pub fn try_proof(&self, pay_id: &PayId, client_nonce: &[u8]) -> Result<TrackingStatus> {
        let status = self.try_proof_unsynced(pay_id, client_nonce)?;
        if status == TrackingStatus::Accepted {
            self.sync()?;
        }
        Ok(status)
    }

    /// [`Self::try_proof`] without the final flush.
    pub(crate) fn try_proof_unsynced(&self, pay_id: &PayId, client_nonce: &[u8]) -> Result<TrackingStatus> {
        let count = {
            let pool = self.lock();
            match pool.pending(pay_id) {
                Some(g) if g.kind == GroupKind::FreeIssues => g.items.len(),
                _ => return Ok(TrackingStatus::NotFound),
            }
        };
        if client_nonce.is_empty() {
            return Ok(TrackingStatus::Invalid);
        }
        let difficulty = difficulty_of(count, self.chain);
        let met = proof_heights(pay_nonce_height(self.state.height()))
            .into_iter()
            .any(|h| proof_meets(&proof_digest(pay_id, &self.pay_nonce_at(h), client_nonce), &difficulty));
        if !met {
            return Ok(TrackingStatus::Invalid);
        }
        let mut pool = self.lock();
        if !pool.pending(pay_id).is_some_and(|g| g.kind == GroupKind::FreeIssues) {
            return Ok(TrackingStatus::NotFound);
        }
        pool.verify(pay_id, Some(client_nonce.to_vec()));
        self.store.write(&mut pool)?;
        Ok(TrackingStatus::Accepted)
    }
}

/// The stored terms of a pending issue group under `pay_id`, marked duplicate.
fn pending_terms(
    pool: &crate::pool::Pool,
    pay_id: &PayId,
    info: &IssueInfo,
    chain: bitmark_record::Chain,
) -> Option<IssueInfo> {
    let g = pool.pending(pay_id)?;
    let mut out = info.clone();
    match g.kind {
        GroupKind::FreeIssues => {
            out.nonce = Some(PayNonce(<[u8; 8]>::try_from(g.nonce.as_slice()).unwrap_or_default()));
            out.difficulty = Some(difficulty_of(g.items.len(), chain));
        }
        GroupKind::PaidIssues => out.payments = g.payments.clone(),
        GroupKind::Transaction => return None,
    }
    out.duplicate = true;
    Some(out)
}
