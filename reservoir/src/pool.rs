//! The reservoir's in-memory state: every pending and verified group keyed by pay id, the
//! tx-id indexes, the links being spent, counters, orphan payments, the share spend map and
//! the asset cache (bitmarkd's `reservoir.globalData`).
//!
//! bitmarkd keeps six maps (pending/verified × transfers/free issues/paid issues); here one map
//! holds [`Group`]s that say their kind and state, which makes moves and deletes one operation.
//! Every change is noted in [`Dirty`] so the caller can write exactly the changed entries to
//! sled before releasing the lock.

use crate::assets::AssetCache;
use crate::payment::{PaymentAlternative, PaymentDetail};
use bitmark_record::{AssetId, Link, PayId, Transaction};
use std::collections::{HashMap, HashSet};

/// One record held by the reservoir.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// SHA3-256 of `packed`.
    pub tx_id: Link,
    /// The decoded record.
    pub tx: Transaction,
    /// The packed, signature-checked bytes.
    pub packed: Vec<u8>,
}

/// What a group holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKind {
    /// One transfer, share, block-owner transfer, grant or swap.
    Transaction,
    /// Free issues, verified by a proof of work.
    FreeIssues,
    /// Issues paid for.
    PaidIssues,
}

/// Everything submitted under one pay id.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    /// What the group holds.
    pub kind: GroupKind,
    /// Verified (paid or proven) rather than pending.
    pub verified: bool,
    /// Arrival order, for deterministic selection and export.
    pub seq: u64,
    /// The records, in submission order.
    pub items: Vec<Item>,
    /// What must be paid (empty for free issues).
    pub payments: Vec<PaymentAlternative>,
    /// Free issues: the pay nonce handed out while pending; the client's whole nonce once
    /// proven (bitmarkd keeps only its first 8 bytes).
    pub nonce: Vec<u8>,
    /// When a pending group expires (ms since the epoch).
    pub expires_at: u64,
}

impl Group {
    /// The asset ids of the issues in the group, in order (empty for transfers).
    pub fn asset_ids(&self) -> impl Iterator<Item = AssetId> + '_ {
        self.items.iter().filter_map(|i| match &i.tx {
            Transaction::BitmarkIssue(r) => Some(r.asset_id),
            _ => None,
        })
    }

    /// The packed records, concatenated.
    pub fn packed(&self) -> Vec<u8> {
        self.items.iter().flat_map(|i| i.packed.iter().copied()).collect()
    }
}

/// A payment reported before its record arrived.
#[derive(Clone, Debug)]
pub(crate) struct Orphan {
    /// The payment.
    pub detail: PaymentDetail,
    /// When it was reported (ms since the epoch).
    pub received_at: u64,
}

/// Entries changed since the last write to sled.
#[derive(Default)]
pub(crate) struct Dirty {
    /// Groups added or changed, or removed (absent from the pool when written).
    pub groups: HashSet<PayId>,
    /// Assets added, changed or removed.
    pub assets: HashSet<AssetId>,
    /// Orphan payments added or removed.
    pub orphans: HashSet<PayId>,
}

impl Dirty {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.assets.is_empty() && self.orphans.is_empty()
    }
}

/// The whole in-memory state, behind the reservoir's lock.
#[derive(Default)]
pub(crate) struct Pool {
    /// Every group by pay id.
    pub groups: HashMap<PayId, Group>,
    /// Tx id → pay id of pending records.
    pub pending_index: HashMap<Link, PayId>,
    /// Tx id → pay id of verified records.
    pub verified_index: HashMap<Link, PayId>,
    /// Link being spent → tx id spending it (`inProgressLinks`).
    pub links: HashMap<Link, Link>,
    /// Pending free issue records.
    pub pending_free_count: usize,
    /// Pending paid issue records.
    pub pending_paid_count: usize,
    /// Pending single-record groups.
    pub pending_transactions: usize,
    /// Payments whose record has not arrived.
    pub orphans: HashMap<PayId, Orphan>,
    /// (owner bytes, share id) → shares committed by pending and verified grants and swaps.
    pub spend: HashMap<(Vec<u8>, Link), u64>,
    /// Unconfirmed assets.
    pub assets: AssetCache,
    /// Next arrival number.
    pub next_seq: u64,
    /// False while the block store is changing the chain: selection returns nothing.
    pub enabled: bool,
    /// Changes not yet written.
    pub dirty: Dirty,
}

impl Pool {
    /// An empty, enabled pool.
    pub fn new() -> Pool {
        Pool { enabled: true, ..Pool::default() }
    }

    /// The next arrival number.
    pub fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Add a group with its index rows, links, counters and asset references.
    pub fn insert(&mut self, pay_id: PayId, group: Group) {
        let index = if group.verified { &mut self.verified_index } else { &mut self.pending_index };
        for item in &group.items {
            index.insert(item.tx_id, pay_id);
            if let Some(link) = item.tx.link() {
                self.links.insert(link, item.tx_id);
            }
            adjust_spend(&mut self.spend, &item.tx, true);
        }
        self.count(&group, true);
        if group.kind == GroupKind::FreeIssues {
            for id in group.asset_ids() {
                self.assets.add_ref(&id);
            }
        }
        self.next_seq = self.next_seq.max(group.seq + 1);
        self.groups.insert(pay_id, group);
        self.dirty.groups.insert(pay_id);
    }

    /// Adjust the pending counters for a group entering (`add`) or leaving the pending state.
    fn count(&mut self, group: &Group, add: bool) {
        if group.verified {
            return;
        }
        let counter = match group.kind {
            GroupKind::Transaction => &mut self.pending_transactions,
            GroupKind::FreeIssues => &mut self.pending_free_count,
            GroupKind::PaidIssues => &mut self.pending_paid_count,
        };
        let n = if group.kind == GroupKind::Transaction { 1 } else { group.items.len() };
        *counter = if add { *counter + n } else { counter.saturating_sub(n) };
    }

    /// Remove a whole group (`internalDelete`): index rows, links, counters, asset references.
    pub fn remove(&mut self, pay_id: &PayId, now: u64) -> Option<Group> {
        let group = self.groups.remove(pay_id)?;
        self.count(&group, false);
        let index = if group.verified { &mut self.verified_index } else { &mut self.pending_index };
        for item in &group.items {
            index.remove(&item.tx_id);
            if let Some(link) = item.tx.link() {
                if self.links.get(&link) == Some(&item.tx_id) {
                    self.links.remove(&link);
                }
            }
            adjust_spend(&mut self.spend, &item.tx, false);
        }
        if group.kind == GroupKind::FreeIssues {
            for id in group.asset_ids() {
                if self.assets.drop_ref(&id, now) {
                    self.dirty.assets.insert(id);
                }
            }
        }
        self.dirty.groups.insert(*pay_id);
        Some(group)
    }

    /// Remove the group holding `tx_id`, pending or verified (`internalDeleteByTxId`).
    pub fn remove_by_tx_id(&mut self, tx_id: &Link, now: u64) {
        if let Some(p) = self.pending_index.get(tx_id).copied() {
            self.remove(&p, now);
        }
        if let Some(p) = self.verified_index.get(tx_id).copied() {
            self.remove(&p, now);
        }
    }

    /// Remove the group spending `link` (`DeleteByLink`): a competing double spend of a record
    /// just confirmed.
    pub fn remove_by_link(&mut self, link: &Link, now: u64) {
        if let Some(tx_id) = self.links.get(link).copied() {
            self.remove_by_tx_id(&tx_id, now);
        }
    }

    /// Move a pending group to verified, optionally recording the free-issue proof nonce.
    pub fn verify(&mut self, pay_id: &PayId, nonce: Option<Vec<u8>>) -> bool {
        let Some(mut group) = self.groups.remove(pay_id) else { return false };
        if group.verified {
            self.groups.insert(*pay_id, group);
            return false;
        }
        self.count(&group, false);
        for item in &group.items {
            self.pending_index.remove(&item.tx_id);
            self.verified_index.insert(item.tx_id, *pay_id);
        }
        group.verified = true;
        if let Some(nonce) = nonce {
            group.nonce = nonce;
        }
        self.groups.insert(*pay_id, group);
        self.dirty.groups.insert(*pay_id);
        true
    }

    /// The pending group under `pay_id`, if any.
    pub fn pending(&self, pay_id: &PayId) -> Option<&Group> {
        self.groups.get(pay_id).filter(|g| !g.verified)
    }

    /// Pay ids of the groups matching `keep`, in arrival order.
    pub fn ordered(&self, keep: impl Fn(&Group) -> bool) -> Vec<PayId> {
        let mut v: Vec<(u64, PayId)> = self.groups.iter().filter(|(_, g)| keep(g)).map(|(p, g)| (g.seq, *p)).collect();
        v.sort_unstable();
        v.into_iter().map(|(_, p)| p).collect()
    }

    /// Recount asset references from the free issue groups (after loading).
    pub fn recount_asset_refs(&mut self) {
        self.assets.clear_refs();
        let ids: Vec<AssetId> = self
            .groups
            .values()
            .filter(|g| g.kind == GroupKind::FreeIssues)
            .flat_map(|g| g.asset_ids().collect::<Vec<_>>())
            .collect();
        for id in ids {
            self.assets.add_ref(&id);
        }
    }
}

/// The shares a grant or swap commits: (owner, share id, quantity) for each side.
pub(crate) fn commitments(tx: &Transaction) -> Vec<(&bitmark_record::Account, Link, u64)> {
    match tx {
        Transaction::ShareGrant(g) => vec![(&g.owner, g.share_id, g.quantity)],
        Transaction::ShareSwap(s) => {
            vec![(&s.owner_one, s.share_id_one, s.quantity_one), (&s.owner_two, s.share_id_two, s.quantity_two)]
        }
        _ => Vec::new(),
    }
}

/// Add (or take back) what a grant or swap commits to the spend map. bitmarkd only rebuilds
/// the map at each block; here it also shrinks when a grant or swap expires.
fn adjust_spend(spend: &mut HashMap<(Vec<u8>, Link), u64>, tx: &Transaction, add: bool) {
    for (owner, share, quantity) in commitments(tx) {
        let key = (owner.to_bytes(), share);
        let v = spend.entry(key.clone()).or_insert(0);
        *v = if add { v.saturating_add(quantity) } else { v.saturating_sub(quantity) };
        if *v == 0 {
            spend.remove(&key);
        }
    }
}
