//! The cache of unconfirmed assets (bitmarkd's `asset` package): registrations waiting for the
//! block that confirms their first issue.
//!
//! Two-phase expiry (asset/expiry.go): an asset not referenced by any free issue is examined
//! [`ASSET_TIMEOUT`] after it was cached; it then becomes *expiring* and is dropped one more
//! timeout later unless a free issue references it meanwhile. An asset referenced by free
//! issues stays while they do.
//!
//! Deliberate differences from bitmarkd:
//! * one deadline per asset (bitmarkd queues one per `Cache` call, so a re-sent asset can be
//!   dropped *earlier* by the older queue entry);
//! * the reference count is decremented when a free issue group leaves the reservoir (bitmarkd
//!   never decrements it, so an asset whose free issues expired stays cached forever); when it
//!   drops to zero the first phase starts again.

use bitmark_record::transaction::AssetData;
use bitmark_record::{AssetId, Fault};
use std::collections::HashMap;
use std::time::Duration;

/// `constants.AssetTimeout`: 3 × 45 min / 2 = 67 min 30 s.
pub const ASSET_TIMEOUT: Duration = Duration::from_secs(3 * 45 * 60 / 2);

/// Where an asset is in its two-phase expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetState {
    /// First phase (also: referenced by free issues, with no deadline).
    Pending,
    /// Second phase: dropped at the deadline unless referenced again.
    Expiring,
}

/// One cached asset.
#[derive(Clone, Debug)]
pub(crate) struct CachedAsset {
    /// The packed, signature-checked record.
    pub packed: Vec<u8>,
    /// The record.
    pub record: AssetData,
    /// Expiry phase.
    pub state: AssetState,
    /// Free issues (pending or verified) naming this asset; not persisted, rebuilt on load.
    pub refs: u64,
    /// When the asset is next examined (ms since the epoch); `None` while referenced.
    pub deadline: Option<u64>,
}

/// What [`AssetCache::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cached {
    /// A new asset.
    New,
    /// The same asset again: its timeout is extended.
    Duplicate,
}

/// The asset cache. Pure state: the reservoir persists the entries it reports as changed.
#[derive(Default)]
pub(crate) struct AssetCache {
    map: HashMap<AssetId, CachedAsset>,
}

impl AssetCache {
    /// Cache an asset already checked to be unconfirmed (`asset.Cache` under its lock): new →
    /// pending; the same name, fingerprint, metadata and registrant → pending again with a new
    /// deadline; different data under the same id → `AssetsAlreadyRegistered`.
    pub fn insert(&mut self, id: AssetId, record: AssetData, packed: Vec<u8>, now: u64) -> Result<Cached, Fault> {
        let deadline = now.saturating_add(crate::clock::ms(ASSET_TIMEOUT));
        match self.map.get_mut(&id) {
            None => {
                self.map.insert(
                    id,
                    CachedAsset { packed, record, state: AssetState::Pending, refs: 0, deadline: Some(deadline) },
                );
                Ok(Cached::New)
            }
            Some(c) => {
                let r = &c.record;
                let same = r.name == record.name
                    && r.fingerprint == record.fingerprint
                    && r.metadata == record.metadata
                    && r.registrant == record.registrant;
                if !same {
                    return Err(Fault::AssetsAlreadyRegistered);
                }
                c.state = AssetState::Pending;
                if c.refs == 0 {
                    c.deadline = Some(deadline);
                }
                Ok(Cached::Duplicate)
            }
        }
    }

    /// Restore a persisted entry as it was.
    pub fn restore(&mut self, id: AssetId, entry: CachedAsset) {
        self.map.insert(id, entry);
    }

    /// Whether the asset is cached.
    pub fn contains(&self, id: &AssetId) -> bool {
        self.map.contains_key(id)
    }

    /// The cached entry.
    pub fn get(&self, id: &AssetId) -> Option<&CachedAsset> {
        self.map.get(id)
    }

    /// Remove an asset (confirmed by a block, or undone by a rollback).
    pub fn remove(&mut self, id: &AssetId) -> bool {
        self.map.remove(id).is_some()
    }

    /// A free issue now references the asset (`IncrementTTL`).
    pub fn add_ref(&mut self, id: &AssetId) {
        if let Some(c) = self.map.get_mut(id) {
            c.refs += 1;
        }
    }

    /// A free issue referencing the asset left the reservoir; at zero references the first
    /// expiry phase starts again. Returns whether the entry changed in a persisted field.
    pub fn drop_ref(&mut self, id: &AssetId, now: u64) -> bool {
        let Some(c) = self.map.get_mut(id) else { return false };
        c.refs = c.refs.saturating_sub(1);
        if c.refs == 0 && c.deadline.is_none() {
            c.state = AssetState::Pending;
            c.deadline = Some(now.saturating_add(crate::clock::ms(ASSET_TIMEOUT)));
            return true;
        }
        false
    }

    /// Clear every reference count (before recounting them).
    pub fn clear_refs(&mut self) {
        for c in self.map.values_mut() {
            c.refs = 0;
        }
    }

    /// Examine every asset whose deadline has passed (the expiry goroutine): pending and
    /// unreferenced → expiring for another timeout; referenced → no deadline; expiring and
    /// referenced → pending, no deadline; expiring and unreferenced → dropped.
    /// Returns the ids whose entries changed and the ids dropped.
    pub fn sweep(&mut self, now: u64) -> (Vec<AssetId>, Vec<AssetId>) {
        let mut changed = Vec::new();
        let mut dropped = Vec::new();
        for (id, c) in self.map.iter_mut() {
            match c.deadline {
                Some(d) if d <= now => {}
                _ => continue,
            }
            match (c.state, c.refs) {
                (AssetState::Pending, 0) => {
                    c.state = AssetState::Expiring;
                    c.deadline = Some(now.saturating_add(crate::clock::ms(ASSET_TIMEOUT)));
                    changed.push(*id);
                }
                (AssetState::Expiring, 0) => dropped.push(*id),
                (_, _) => {
                    c.state = AssetState::Pending;
                    c.deadline = None;
                    changed.push(*id);
                }
            }
        }
        for id in &dropped {
            self.map.remove(id);
        }
        (changed, dropped)
    }

    /// Give every unreferenced asset without a deadline a fresh first phase (after reloading,
    /// when the free issues that held it may have expired). Marks them in `dirty`.
    pub fn rearm_unreferenced(&mut self, now: u64, dirty: &mut std::collections::HashSet<AssetId>) {
        for (id, c) in self.map.iter_mut() {
            if c.refs == 0 && c.deadline.is_none() {
                c.state = AssetState::Pending;
                c.deadline = Some(now.saturating_add(crate::clock::ms(ASSET_TIMEOUT)));
                dirty.insert(*id);
            }
        }
    }

    /// Every cached id.
    pub fn ids(&self) -> Vec<AssetId> {
        self.map.keys().copied().collect()
    }

    /// Number of cached assets.
    pub fn len(&self) -> usize {
        self.map.len()
    }
}
