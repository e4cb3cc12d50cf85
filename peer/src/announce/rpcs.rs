//! The RPC table (bitmarkd `announce/rpc/rpc.go`, `docs/protocol.md#rpc-table`): RPC servers
//! announced with `rpc` pushes, served to RPC clients by `Node.List` through [`RpcBook::fetch`].
//! Pure: callers pass `now`.

use super::peers::{AddOutcome, Refusal};
use super::plausible::{check_key, listener_addresses, Implausible, KEY_LEN, MAX_RPC_LISTENER_BYTES};
use super::timing::{announced_at, is_expired, REBROADCAST};
use crate::wire::packed_address::pack_all;
use bitmark_record::Fault;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

/// A certificate fingerprint (SHA3-256 of the RPC TLS certificate).
pub type Fingerprint = [u8; KEY_LEN];

/// Default bound on the table, ours included. bitmarkd preallocates 1000 but has no limit.
/// Too small drops real servers under a flood; too large lets a flood cost more memory.
pub const DEFAULT_MAX_RPCS: usize = 1_000;

/// One RPC server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcRecord {
    /// Its certificate fingerprint.
    pub fingerprint: Fingerprint,
    /// Its packed RPC addresses (19-byte form; may be empty only for our own).
    pub listeners: Vec<u8>,
    /// Creation time, or the time of the last announcement received (bitmarkd stamps updates
    /// with the local time, not the announced one).
    pub timestamp: SystemTime,
    /// Ours: never expires.
    pub local: bool,
}

/// One `Node.List` entry: the fingerprint and the decoded addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcNode {
    /// The certificate fingerprint.
    pub fingerprint: Fingerprint,
    /// The RPC addresses.
    pub addresses: Vec<SocketAddr>,
}

/// The table: a list in bitmarkd's order (insertion, with expiry moving the last entry into the
/// hole) and an index by fingerprint.
#[derive(Debug)]
pub struct RpcBook {
    own: Option<Fingerprint>,
    nodes: Vec<RpcRecord>,
    index: HashMap<Fingerprint, usize>,
    limit: usize,
}

impl RpcBook {
    /// An empty table bounded to `limit` entries (at least 2).
    pub fn new(limit: usize) -> RpcBook {
        RpcBook { own: None, nodes: Vec::new(), index: HashMap::new(), limit: limit.max(2) }
    }

    /// bitmarkd's `Set`: our own entry, announced every 11 minutes and never expired. Only once
    /// (`AlreadyInitialised` after). Replaces a learned entry with the same fingerprint.
    pub fn set_own(
        &mut self,
        fingerprint: Fingerprint,
        addresses: &[SocketAddr],
        now: SystemTime,
    ) -> Result<(), Fault> {
        if self.own.is_some() {
            return Err(Fault::AlreadyInitialised);
        }
        self.own = Some(fingerprint);
        let record = RpcRecord { fingerprint, listeners: pack_all(addresses), timestamp: now, local: true };
        match self.index.get(&fingerprint) {
            Some(&i) => {
                if let Some(slot) = self.nodes.get_mut(i) {
                    *slot = record;
                }
            }
            None => self.push(record),
        }
        Ok(())
    }

    /// Our fingerprint and packed RPC addresses, once set.
    pub fn own(&self) -> Option<(Fingerprint, Vec<u8>)> {
        let own = self.own?;
        let listeners = self.index.get(&own).and_then(|&i| self.nodes.get(i)).map(|r| r.listeners.clone())?;
        Some((own, listeners))
    }

    /// bitmarkd's `AddRPC`. bitmarkd's checks: the fingerprint is 32 bytes and the addresses
    /// at most 100 bytes. Ours on top: not our own fingerprint, and the addresses are 1-4 valid
    /// records.
    ///
    /// A new entry is taken unless its timestamp (future ones clamped to now) is more than
    /// 55 minutes old. A known entry always gets the new addresses and `now` as its time (the
    /// announced time is ignored, as in bitmarkd), and the result says whether its previous time
    /// was more than 7 minutes ago: `Updated` (relay) or `Refused(TooSoon)` (refreshed, but not
    /// to be relayed). One change: an update whose own timestamp is expired is refused outright,
    /// so replaying an old announcement cannot keep a dead server listed for ever.
    pub fn add(&mut self, fingerprint: &[u8], listeners: &[u8], timestamp: u64, now: SystemTime) -> AddOutcome {
        self.try_add(fingerprint, listeners, timestamp, now).unwrap_or_else(AddOutcome::Refused)
    }

    fn try_add(
        &mut self,
        fingerprint: &[u8],
        listeners: &[u8],
        timestamp: u64,
        now: SystemTime,
    ) -> Result<AddOutcome, Refusal> {
        let fingerprint = match &self.own {
            Some(own) => check_key(fingerprint, own),
            None => Fingerprint::try_from(fingerprint).map_err(|_| Implausible::KeyLength),
        }
        .map_err(Refusal::Implausible)?;
        if listeners.len() > MAX_RPC_LISTENER_BYTES {
            return Err(Refusal::Implausible(Implausible::Listeners));
        }
        let listeners = listener_addresses(listeners).ok_or(Refusal::Implausible(Implausible::Listeners))?;
        let listeners = pack_all(&listeners);
        let at = announced_at(timestamp, now).filter(|at| !is_expired(*at, now)).ok_or(Refusal::Expired)?;
        if let Some(record) = self.index.get(&fingerprint).and_then(|&i| self.nodes.get_mut(i)) {
            let relay = now.duration_since(record.timestamp).is_ok_and(|since| since > REBROADCAST);
            record.listeners = listeners;
            record.timestamp = now;
            return if relay { Ok(AddOutcome::Updated) } else { Err(Refusal::TooSoon) };
        }
        if self.nodes.len() >= self.limit {
            self.evict_older_than(at)?;
        }
        self.push(RpcRecord { fingerprint, listeners, timestamp: at, local: false });
        Ok(AddOutcome::Added)
    }

    fn push(&mut self, record: RpcRecord) {
        self.index.insert(record.fingerprint, self.nodes.len());
        self.nodes.push(record);
    }

    /// Remove entry `i` as bitmarkd's `Expire` does: the last entry moves into the hole.
    fn remove_at(&mut self, i: usize) {
        if i >= self.nodes.len() {
            return;
        }
        let gone = self.nodes.swap_remove(i);
        self.index.remove(&gone.fingerprint);
        if let Some(moved) = self.nodes.get(i) {
            self.index.insert(moved.fingerprint, i);
        }
    }

    fn evict_older_than(&mut self, at: SystemTime) -> Result<(), Refusal> {
        let oldest = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.local)
            .min_by_key(|(_, r)| r.timestamp)
            .filter(|(_, r)| r.timestamp < at)
            .map(|(i, _)| i)
            .ok_or(Refusal::Full)?;
        self.remove_at(oldest);
        Ok(())
    }

    /// bitmarkd's `Expire`: drop every non-local entry whose time is more than 55 minutes before
    /// `now`, walking from the end. Returns how many went.
    pub fn expire(&mut self, now: SystemTime) -> usize {
        let before = self.nodes.len();
        for i in (0..self.nodes.len()).rev() {
            if self.nodes.get(i).is_some_and(|r| !r.local && is_expired(r.timestamp, now)) {
                self.remove_at(i);
            }
        }
        before - self.nodes.len()
    }

    /// bitmarkd's `Fetch(start, count)` for `Node.List`: up to `count` entries from position
    /// `start`, and the position to continue from; `(empty, 0)` past the end. A zero count is
    /// `InvalidCount`.
    pub fn fetch(&self, start: u64, count: usize) -> Result<(Vec<RpcNode>, u64), Fault> {
        if count == 0 {
            return Err(Fault::InvalidCount);
        }
        let Some(rest) = usize::try_from(start).ok().and_then(|s| self.nodes.get(s..)).filter(|r| !r.is_empty()) else {
            return Ok((Vec::new(), 0));
        };
        let page: Vec<RpcNode> = rest
            .iter()
            .take(count)
            .map(|r| RpcNode {
                fingerprint: r.fingerprint,
                addresses: listener_addresses(&r.listeners).unwrap_or_default(),
            })
            .collect();
        let next = start + page.len() as u64;
        Ok((page, next))
    }

    /// Every entry, in table order.
    pub fn records(&self) -> &[RpcRecord] {
        &self.nodes
    }

    /// Number of entries, ours included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
