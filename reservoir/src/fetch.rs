//! Choosing verified records for a new block (reservoir/fetch.go `FetchVerified`).

use crate::error::Result;
use crate::pool::{commitments, Group, GroupKind, Pool};
use crate::reservoir::Reservoir;
use crate::state::ConfirmedState;
use bitmark_record::{AssetId, Fault, Link, PayId};
use std::collections::{HashMap, HashSet};

/// Records of free issue groups (assets included) taken before paid issues get a turn.
pub const MAXIMUM_FETCH_FREE_ISSUES: usize = 2000;
/// Records of paid issue groups taken before transfers get a turn.
pub const MAXIMUM_FETCH_PAID_ISSUES: usize = 2000;
/// The smallest selection a caller may ask for.
pub const MINIMUM_FETCH_TRANSACTIONS: usize = 2000;

/// Records chosen for a block: tx ids and packed records in the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Tx id of each record.
    pub tx_ids: Vec<Link>,
    /// The packed records, concatenated.
    pub packed: Vec<u8>,
}

/// Builds a selection within a record budget.
struct Builder<'p> {
    pool: &'p Pool,
    out: Selection,
    remaining: usize,
    /// Assets already emitted (or known confirmed).
    seen: HashSet<AssetId>,
}

impl Builder<'_> {
    fn push(&mut self, tx_id: Link, packed: &[u8]) {
        self.out.tx_ids.push(tx_id);
        self.out.packed.extend_from_slice(packed);
        self.remaining -= 1;
    }

    /// The records a group adds: its issues plus, for free issues, each unconfirmed asset not
    /// yet emitted (put before its first issue).
    fn group_cost(&self, group: &Group, confirmed: &HashSet<AssetId>) -> usize {
        let mut assets = HashSet::new();
        let new_assets = group
            .asset_ids()
            .filter(|id| group.kind == GroupKind::FreeIssues && !self.seen.contains(id) && !confirmed.contains(id))
            .filter(|id| assets.insert(*id))
            .count();
        group.items.len() + new_assets
    }

    /// Emit a whole group if it fits; returns the number of records emitted (0 if it did not
    /// fit, so groups are never split).
    fn take(&mut self, group: &Group, confirmed: &HashSet<AssetId>) -> usize {
        let cost = self.group_cost(group, confirmed);
        if cost > self.remaining {
            return 0;
        }
        let pool = self.pool;
        for item in &group.items {
            if let bitmark_record::Transaction::BitmarkIssue(issue) = &item.tx {
                let id = issue.asset_id;
                if group.kind == GroupKind::FreeIssues && !confirmed.contains(&id) && self.seen.insert(id) {
                    if let Some(asset) = pool.assets.get(&id) {
                        self.push(Link::of(&asset.packed), &asset.packed);
                    }
                }
            }
            self.push(item.tx_id, &item.packed);
        }
        cost
    }
}

/// The share balances the grants and swaps already selected draw on: (owner, share id) →
/// quantity. A block whose grants and swaps together overdraw a confirmed balance is refused
/// whole by the block store (bitmarkd accepts it and records a wrong balance), while the
/// reservoir, like bitmarkd, accepts a grant that only the confirmed balance covers, whatever
/// is already committed. So selection takes a grant or swap only while the balances cover
/// everything selected; the others wait, and the rescan after the block drops those the new
/// balances no longer cover.
#[derive(Default)]
struct Drawn(HashMap<(Vec<u8>, Link), u64>);

impl Drawn {
    /// Take a group's commitments if the confirmed balances cover them on top of what is
    /// drawn already; `false` (and nothing taken) otherwise.
    fn take(&mut self, state: &dyn ConfirmedState, group: &Group) -> Result<bool> {
        let mut added: HashMap<(Vec<u8>, Link), u64> = HashMap::new();
        for item in &group.items {
            for (owner, share, quantity) in commitments(&item.tx) {
                let key = (owner.to_bytes(), share);
                let in_group = added.entry(key.clone()).or_insert(0);
                *in_group = in_group.saturating_add(quantity);
                let total = self.0.get(&key).copied().unwrap_or(0).saturating_add(*in_group);
                if total > state.share_balance(owner, &share)?.unwrap_or(0) {
                    return Ok(false);
                }
            }
        }
        for (key, quantity) in added {
            let v = self.0.entry(key).or_insert(0);
            *v = v.saturating_add(quantity);
        }
        Ok(true)
    }
}

impl Reservoir {
    /// Choose verified records for a new block of at most `count` records (`FetchVerified`):
    /// free issue groups (each preceded by its unconfirmed assets) until 2000 records, paid
    /// issue groups until 2000, then transfers, then — while room remains — more free and paid
    /// groups alternately, each while twice its size fits. Groups are never split and are taken
    /// in arrival order. `count` below 2000 is `invalid count`; while disabled the selection
    /// is empty.
    ///
    /// Unlike bitmarkd, which panics when a free group overruns a small `count`, a group that
    /// does not fit is skipped; an issue whose asset is neither cached nor confirmed is never
    /// selectable (the rescan after a rollback drops it); and a grant or swap is skipped when
    /// the confirmed balances do not cover it together with those already selected (the block
    /// store would refuse the whole block).
    pub fn fetch_verified(&self, count: usize) -> Result<Selection> {
        if count < MINIMUM_FETCH_TRANSACTIONS {
            return Err(Fault::InvalidCount.into());
        }
        let pool = self.lock();
        if !pool.enabled {
            return Ok(Selection::default());
        }
        let free = pool.ordered(|g| g.verified && g.kind == GroupKind::FreeIssues);
        let paid = pool.ordered(|g| g.verified && g.kind == GroupKind::PaidIssues);
        let singles = pool.ordered(|g| g.verified && g.kind == GroupKind::Transaction);
        let mut confirmed = HashSet::new();
        for id in free.iter().filter_map(|p| pool.groups.get(p)).flat_map(|g| g.asset_ids()) {
            if self.state.asset_block(&id)?.is_some() {
                confirmed.insert(id);
            }
        }
        let mut b = Builder { pool: &pool, out: Selection::default(), remaining: count, seen: HashSet::new() };
        let group = |p: &PayId| pool.groups.get(p);

        let mut free_iter = free.iter().filter_map(group);
        let mut taken = 0;
        while taken < MAXIMUM_FETCH_FREE_ISSUES {
            let Some(g) = free_iter.next() else { break };
            taken += b.take(g, &confirmed);
        }
        let mut paid_iter = paid.iter().filter_map(group);
        taken = 0;
        while taken < MAXIMUM_FETCH_PAID_ISSUES {
            let Some(g) = paid_iter.next() else { break };
            taken += b.take(g, &confirmed);
        }
        let mut drawn = Drawn::default();
        for g in singles.iter().filter_map(group) {
            if b.remaining == 0 {
                break;
            }
            if b.group_cost(g, &confirmed) <= b.remaining && drawn.take(self.state.as_ref(), g)? {
                b.take(g, &confirmed);
            }
        }
        let (mut more_free, mut more_paid) = (true, true);
        while (more_free || more_paid) && b.remaining > 0 {
            if more_free {
                match free_iter.next() {
                    Some(g) if g.items.len() * 2 <= b.remaining => {
                        b.take(g, &confirmed);
                    }
                    _ => more_free = false,
                }
            }
            if more_paid {
                match paid_iter.next() {
                    Some(g) if g.items.len() * 2 <= b.remaining => {
                        b.take(g, &confirmed);
                    }
                    _ => more_paid = false,
                }
            }
        }
        Ok(b.out)
    }
}
