//! The peer table (bitmarkd's receptor, `announce/receptor/receptor.go`): every node we have heard
//! of, keyed and sorted by public key, with bitmarkd's add/expire/rebalance rules, plus our
//! plausibility checks and a size bound. Pure: no locks, no clock; callers pass `now`.

use super::plausible::{check_key, normalise_listeners, Implausible, KEY_LEN};
use super::rebalance::{targets, Slot};
use super::timing::{announced_at, is_expired, REBROADCAST};
use crate::clock::unix_secs;
use crate::listener::PeerEntry;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

/// A public key as stored.
pub type PublicKey = [u8; KEY_LEN];

/// Default bound on the table (entries, ourselves and static peers included). bitmarkd has
/// none; the live network has a few dozen nodes. Too small and a flood of fresh fake entries
/// pushes real peers out sooner; too large and a flood costs more memory (~200 bytes an entry).
pub const DEFAULT_MAX_PEERS: usize = 10_000;

/// How an entry came to be in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Ourselves: never expires, never evicted, never handed out by `random`.
    Own,
    /// Configured (`peering.connect`): never expires or is evicted; announcements about it
    /// refresh its timestamp but never replace the configured listeners.
    Static,
    /// Learned from an announcement, a registration, `peers.json` or DNS.
    Learned,
}

/// One entry of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer's public key.
    pub public_key: PublicKey,
    /// Its packed listeners, in the 19-byte form (may be empty only for ourselves).
    pub listeners: Vec<u8>,
    /// When it was last announced or seen, as bitmarkd keeps it (sub-second part included when
    /// it came from our clock).
    pub timestamp: SystemTime,
    /// How it got here.
    pub origin: Origin,
}

/// Why an announcement did not change the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Failed a plausibility check (our addition).
    Implausible(Implausible),
    /// Its timestamp is more than 55 minutes old (bitmarkd).
    Expired,
    /// The key is known and the timestamp is less than 7 minutes newer (bitmarkd).
    TooSoon,
    /// The table is full and every evictable entry is at least as new (our bound).
    Full,
}

/// What [`PeerBook::add`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new entry.
    Added,
    /// A known entry got a newer timestamp (and, unless static, the announced listeners).
    Updated,
    /// Nothing changed.
    Refused(Refusal),
}

impl AddOutcome {
    /// Whether the announcement should be relayed (bitmarkd's `Add` returning true).
    pub fn relay(self) -> bool {
        matches!(self, AddOutcome::Added | AddOutcome::Updated)
    }
}

/// Counters for metrics and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// New entries.
    pub added: u64,
    /// Entries refreshed by a newer announcement.
    pub updated: u64,
    /// Announcements refused, by any [`Refusal`].
    pub refused: u64,
    /// Entries removed to make room under the bound.
    pub evicted: u64,
    /// Entries removed by the 55-minute expiry.
    pub expired: u64,
}

/// A connection the connector should make (bitmarkd's `Connector.Send(name, key, listeners)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Which of the 11 slots.
    pub slot: Slot,
    /// The peer's key.
    pub public_key: PublicKey,
    /// Its packed listeners.
    pub listeners: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Entry {
    listeners: Vec<u8>,
    timestamp: SystemTime,
    origin: Origin,
}

/// The table. Invariant: every `Learned` entry has exactly one `(timestamp, key)` in `ages`,
/// which orders them for expiry and eviction; `Own` and `Static` entries have none.
#[derive(Debug)]
pub struct PeerBook {
    own: PublicKey,
    entries: BTreeMap<PublicKey, Entry>,
    ages: BTreeSet<(SystemTime, PublicKey)>,
    limit: usize,
    changed: bool,
    stats: PeerStats,
}

impl PeerBook {
    /// A table holding only ourselves (bitmarkd's `SetSelf`), bounded to `limit` entries (at
    /// least 2). `own_listeners` may be empty (a node that announces no address).
    pub fn new(own: PublicKey, own_listeners: Vec<u8>, now: SystemTime, limit: usize) -> PeerBook {
        let mut entries = BTreeMap::new();
        entries.insert(own, Entry { listeners: own_listeners, timestamp: now, origin: Origin::Own });
        PeerBook {
            own,
            entries,
            ages: BTreeSet::new(),
            limit: limit.max(2),
            changed: false,
            stats: PeerStats::default(),
        }
    }

    /// Our own key.
    pub fn own_key(&self) -> &PublicKey {
        &self.own
    }

    /// Our own packed listeners, as announced.
    pub fn own_listeners(&self) -> &[u8] {
        self.entries.get(&self.own).map_or(&[], |e| &e.listeners)
    }

    /// Stamp our own entry with `now` (at each self-announcement, so `peers.json` carries a
    /// current time for it; bitmarkd leaves it at the start-up time).
    pub fn refresh_own(&mut self, now: SystemTime) {
        if let Some(entry) = self.entries.get_mut(&self.own) {
            entry.timestamp = now;
        }
    }

    /// bitmarkd's `Add` (`AddPeer`) for an announcement from the network, a registration,
    /// `peers.json` or DNS, after our plausibility checks:
    /// 1. the key must be 32 bytes and not ours, the listeners 1-4 valid records;
    /// 2. a future timestamp counts as `now`; one more than 55 minutes old is refused;
    /// 3. a known key needs a timestamp at least 7 minutes newer than the stored one;
    /// 4. a new key when the table is full evicts the oldest learned entry if that is older,
    ///    else is refused.
    pub fn add(&mut self, key: &[u8], listeners: &[u8], timestamp: u64, now: SystemTime) -> AddOutcome {
        let outcome = self.try_add(key, listeners, timestamp, now).unwrap_or_else(AddOutcome::Refused);
        match outcome {
            AddOutcome::Added => self.stats.added += 1,
            AddOutcome::Updated => self.stats.updated += 1,
            AddOutcome::Refused(_) => self.stats.refused += 1,
        }
        outcome
    }

    fn try_add(
        &mut self,
        key: &[u8],
        listeners: &[u8],
        timestamp: u64,
        now: SystemTime,
    ) -> Result<AddOutcome, Refusal> {
        let key = check_key(key, &self.own).map_err(Refusal::Implausible)?;
        let listeners = normalise_listeners(listeners).map_err(Refusal::Implausible)?;
        let at = announced_at(timestamp, now).filter(|at| !is_expired(*at, now)).ok_or(Refusal::Expired)?;
        if let Some(entry) = self.entries.get_mut(&key) {
            // bitmarkd: `ts.Sub(old) < 7 min` refuses, which includes any older timestamp.
            if entry.timestamp.checked_add(REBROADCAST).is_none_or(|threshold| at < threshold) {
                return Err(Refusal::TooSoon);
            }
            let old = entry.timestamp;
            entry.timestamp = at;
            if entry.origin != Origin::Static {
                entry.listeners = listeners;
            }
            if entry.origin == Origin::Learned {
                self.ages.remove(&(old, key));
                self.ages.insert((at, key));
            }
            return Ok(AddOutcome::Updated);
        }
        if self.entries.len() >= self.limit {
            self.evict_older_than(at)?;
        }
        self.entries.insert(key, Entry { listeners, timestamp: at, origin: Origin::Learned });
        self.ages.insert((at, key));
        self.changed = true;
        Ok(AddOutcome::Added)
    }

    /// Make room: remove the oldest learned entry if it is older than `at`.
    fn evict_older_than(&mut self, at: SystemTime) -> Result<(), Refusal> {
        let &(oldest, key) = self.ages.first().ok_or(Refusal::Full)?;
        if oldest >= at {
            return Err(Refusal::Full);
        }
        self.ages.remove(&(oldest, key));
        self.entries.remove(&key);
        self.stats.evicted += 1;
        self.changed = true;
        Ok(())
    }

    /// Pin a configured peer: it never expires and is never evicted (it may take the table past
    /// its bound). A learned entry for the key becomes static with the configured listeners.
    pub fn add_static(&mut self, key: &[u8], listeners: &[u8], now: SystemTime) -> Result<(), Implausible> {
        let key = check_key(key, &self.own)?;
        let listeners = normalise_listeners(listeners)?;
        if let Some(old) = self.entries.insert(key, Entry { listeners, timestamp: now, origin: Origin::Static }) {
            self.ages.remove(&(old.timestamp, key));
        }
        self.changed = true;
        Ok(())
    }

    /// A uniformly random entry that is neither us nor `exclude` (bitmarkd's `Random`, used for
    /// the `R` reply). bitmarkd makes 5 blind draws and gives up if each hits us or the
    /// requester, failing often in small tables; we draw among the eligible entries only, so
    /// this is `None` exactly when there is no other entry.
    pub fn random<R: Rng + ?Sized>(&self, exclude: &[u8], rng: &mut R) -> Option<PeerEntry> {
        let eligible = |key: &&PublicKey| **key != self.own && key.as_slice() != exclude;
        let excluded = 1 + usize::from(exclude != self.own.as_slice() && self.contains(exclude));
        let count = self.entries.len().checked_sub(excluded).filter(|&n| n > 0)?;
        let pick = rng.gen_range(0..count);
        let (key, entry) = self.entries.iter().filter(|(key, _)| eligible(key)).nth(pick)?;
        Some(PeerEntry {
            public_key: key.to_vec(),
            listeners: entry.listeners.clone(),
            timestamp: unix_secs(entry.timestamp),
        })
    }

    /// bitmarkd's `UpdateTime`: set the key's timestamp (the upstream calls this with `now`
    /// after each successful poll, so live peers never expire). False if the key is unknown.
    pub fn update_time(&mut self, key: &[u8], at: SystemTime) -> bool {
        let Ok(key) = PublicKey::try_from(key) else {
            return false;
        };
        let Some(entry) = self.entries.get_mut(&key) else {
            return false;
        };
        if entry.origin == Origin::Learned {
            self.ages.remove(&(entry.timestamp, key));
            self.ages.insert((at, key));
        }
        entry.timestamp = at;
        true
    }

    /// bitmarkd's `Expire`: remove every learned entry stamped more than 55 minutes before
    /// `now`, and return them (key order, as bitmarkd walks its tree) so the connector can
    /// release their connections (`@D`).
    pub fn expire(&mut self, now: SystemTime) -> Vec<(PublicKey, Vec<u8>)> {
        let mut gone = Vec::new();
        while let Some(&(at, key)) = self.ages.first() {
            if !is_expired(at, now) {
                break;
            }
            self.ages.remove(&(at, key));
            if let Some(entry) = self.entries.remove(&key) {
                gone.push((key, entry.listeners));
            }
        }
        if !gone.is_empty() {
            self.changed = true;
            self.stats.expired += gone.len() as u64;
        }
        gone.sort_unstable_by_key(|a| a.0);
        gone
    }

    /// bitmarkd's `ReBalance`: the up to 11 peers to connect to, from our position in the table
    /// sorted by key (see [`targets`]).
    pub fn rebalance(&self) -> Vec<Target> {
        let own_index = self.entries.range(..self.own).count();
        let wanted = targets(own_index, self.entries.len());
        let indexes: BTreeSet<usize> = wanted.iter().map(|&(_, i)| i).collect();
        let at: BTreeMap<usize, (&PublicKey, &Entry)> =
            self.entries.iter().enumerate().filter(|(i, _)| indexes.contains(i)).collect();
        wanted
            .into_iter()
            .filter_map(|(slot, i)| {
                at.get(&i).map(|(key, entry)| Target { slot, public_key: **key, listeners: entry.listeners.clone() })
            })
            .collect()
    }

    /// Whether entries were added or removed since the last [`PeerBook::take_changed`]
    /// (bitmarkd's `IsChanged`: updates of known entries do not count).
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// Read and clear the changed flag (bitmarkd's `IsChanged` then `Change(false)`).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Whether `key` is in the table.
    pub fn contains(&self, key: &[u8]) -> bool {
        PublicKey::try_from(key).is_ok_and(|key| self.entries.contains_key(&key))
    }

    /// The entry for `key`.
    pub fn get(&self, key: &[u8]) -> Option<PeerRecord> {
        let key = PublicKey::try_from(key).ok()?;
        self.entries.get(&key).map(|entry| record(&key, entry))
    }

    /// Number of entries, ourselves included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Never true: we are always in our own table.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, sorted by key.
    pub fn records(&self) -> Vec<PeerRecord> {
        self.entries.iter().map(|(key, entry)| record(key, entry)).collect()
    }

    /// The counters.
    pub fn stats(&self) -> PeerStats {
        self.stats
    }
}

fn record(key: &PublicKey, entry: &Entry) -> PeerRecord {
    PeerRecord {
        public_key: *key,
        listeners: entry.listeners.clone(),
        timestamp: entry.timestamp,
        origin: entry.origin,
    }
}
