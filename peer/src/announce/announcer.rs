//! The announce subsystem as the node shares it: the peer and RPC tables behind one lock, the
//! listener's [`PeerTable`] view of them, and the periodic pass of bitmarkd's
//! `announce/broadcast` as a state machine ([`Announcer::tick`]) that returns what to do
//! instead of doing it, so it runs in virtual time in tests and on a thread in the node
//! ([`super::runner`]).

use super::backup::{self, Decoded, EntryError};
use super::peers::{AddOutcome, PeerBook, PeerRecord, PeerStats, PublicKey, Target, DEFAULT_MAX_PEERS};
use super::plausible::Implausible;
use super::rpcs::{Fingerprint, RpcBook, RpcNode, RpcRecord, DEFAULT_MAX_RPCS};
use super::timing::{INITIAL_DELAY, INTERVAL};
use super::txt::TxtRecord;
use crate::announce::AnnounceError;
use crate::clock::{unix_secs, Clock};
use crate::listener::{PeerEntry, PeerTable};
use crate::upstream::Liveness;
use crate::wire::packed_address::pack_all;
use crate::wire::Push;
use bitmark_common::lock;
use bitmark_record::Fault;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use tracing::{debug, info};

const TARGET: &str = "peer::announce";

/// Bounds on the tables (bitmarkd has none: `docs/protocol.md#unauthenticated-announcements`). When
/// a table is full, a new entry evicts the oldest learned one if it is newer, else it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableLimits {
    /// Most peers, ourselves included. Default [`DEFAULT_MAX_PEERS`] (10 000).
    pub max_peers: usize,
    /// Most RPC servers, ours included. Default [`DEFAULT_MAX_RPCS`] (1 000).
    pub max_rpcs: usize,
}

impl Default for TableLimits {
    fn default() -> TableLimits {
        TableLimits { max_peers: DEFAULT_MAX_PEERS, max_rpcs: DEFAULT_MAX_RPCS }
    }
}

/// What the connector is asked to do (bitmarkd's Connector bus items).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectorCommand {
    /// Connect to a rebalance target (`N1`..`P3`).
    Connect(Target),
    /// An expired peer: drop a dynamic connection to it (`@D`).
    Release {
        /// The expired peer's key.
        public_key: PublicKey,
        /// Its listeners.
        listeners: Vec<u8>,
    },
}

impl ConnectorCommand {
    /// bitmarkd's command name: the slot name, or `@D`.
    pub fn name(&self) -> &'static str {
        match self {
            ConnectorCommand::Connect(target) => target.slot.name(),
            ConnectorCommand::Release { .. } => "@D",
        }
    }
}

/// Something the announcer wants done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send to every upstream through the broadcast bus (our own `rpc` and `peer`).
    Broadcast(Push),
    /// Tell the connector.
    Connector(ConnectorCommand),
}

/// Requests from other subsystems (bitmarkd's Announce bus).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `reconnect`: the connector has too few clients; rebalance now.
    Reconnect,
    /// `updatetime`: an upstream polled this peer successfully; stamp it with now.
    UpdateTime(Vec<u8>),
}

/// What a restore did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Entries added to the table.
    pub added: usize,
    /// Well-formed entries the table refused (expired, implausible, ours...).
    pub refused: usize,
    /// Malformed entries skipped: index and reason.
    pub skipped: Vec<(usize, EntryError)>,
}

struct State {
    peers: PeerBook,
    rpcs: RpcBook,
    /// When the next periodic pass is due; `None` before the first tick.
    next_pass: Option<SystemTime>,
}

/// The peer and RPC tables with bitmarkd's announce behaviour. Share it in an `Arc`: the
/// listener's handler adds to it, the upstreams refresh it, a runner ticks it.
pub struct Announcer {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl Announcer {
    /// The tables for a node with public key `own_key` listening on `own_listeners` (the
    /// `peering.announce` addresses; may be empty). bitmarkd's `SetSelf`; its start-up rebalance
    /// happens at the first [`Announcer::tick`], after any restore and DNS lookup.
    pub fn new(
        own_key: PublicKey,
        own_listeners: &[SocketAddr],
        limits: TableLimits,
        clock: Arc<dyn Clock>,
    ) -> Announcer {
        let now = clock.wall();
        let peers = PeerBook::new(own_key, pack_all(own_listeners), now, limits.max_peers);
        let state = State { peers, rpcs: RpcBook::new(limits.max_rpcs), next_pass: None };
        Announcer { clock, state: Mutex::new(state) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The clock the announcer reads.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Our key.
    pub fn own_key(&self) -> PublicKey {
        *self.lock().peers.own_key()
    }

    /// Our packed listeners, as announced and sent in `R`.
    pub fn own_listeners(&self) -> Vec<u8> {
        self.lock().peers.own_listeners().to_vec()
    }

    /// Our RPC entry (bitmarkd's `SetRPC`): announced every 11 minutes from then on. Once only.
    pub fn set_rpc(&self, fingerprint: Fingerprint, addresses: &[SocketAddr]) -> Result<(), Fault> {
        let now = self.clock.wall();
        self.lock().rpcs.set_own(fingerprint, addresses, now)
    }

    /// A configured peer (`peering.connect`): pinned in the table, never expired or evicted.
    pub fn add_static(&self, public_key: &[u8], addresses: &[SocketAddr]) -> Result<(), Implausible> {
        let now = self.clock.wall();
        self.lock().peers.add_static(public_key, &pack_all(addresses), now)
    }

    /// Add or refresh a peer at `now`, with the full outcome (see [`PeerBook::add`]).
    pub fn add_peer_at(&self, public_key: &[u8], listeners: &[u8], timestamp: u64, now: SystemTime) -> AddOutcome {
        let outcome = self.lock().peers.add(public_key, listeners, timestamp, now);
        debug!(target: TARGET, key = hex::encode(public_key), timestamp, ?outcome, "peer");
        outcome
    }

    /// Add or refresh an RPC server at `now` (see [`RpcBook::add`]).
    pub fn add_rpc_at(&self, fingerprint: &[u8], listeners: &[u8], timestamp: u64, now: SystemTime) -> AddOutcome {
        let outcome = self.lock().rpcs.add(fingerprint, listeners, timestamp, now);
        debug!(target: TARGET, fingerprint = hex::encode(fingerprint), timestamp, ?outcome, "rpc");
        outcome
    }

    /// Add the peers of DNS TXT records, stamped `now`; returns how many were new or updated.
    pub fn add_records(&self, records: &[TxtRecord], now: SystemTime) -> usize {
        let mut state = self.lock();
        records.iter().filter(|r| state.peers.add(&r.public_key, &r.listeners(), unix_secs(now), now).relay()).count()
    }

    /// bitmarkd's `UpdateTime(key, now)`. False if the key is unknown.
    pub fn update_time(&self, public_key: &[u8]) -> bool {
        let now = self.clock.wall();
        self.lock().peers.update_time(public_key, now)
    }

    /// [`Announcer::update_time`], logging an unknown key (an upstream can be pointed at a
    /// peer that has since expired from the table).
    fn refresh(&self, public_key: &[u8], now: SystemTime) {
        if !self.lock().peers.update_time(public_key, now) {
            debug!(target: TARGET, key = hex::encode(public_key), "updatetime for an unknown peer");
        }
    }

    /// bitmarkd's `ReBalance`, as connector commands.
    pub fn rebalance(&self) -> Vec<Action> {
        connects(self.lock().peers.rebalance())
    }

    /// Act on a command at `now`: `Reconnect` rebalances, `UpdateTime` refreshes the peer.
    pub fn handle(&self, command: Command, now: SystemTime) -> Vec<Action> {
        match command {
            Command::Reconnect => self.rebalance(),
            Command::UpdateTime(key) => {
                self.refresh(&key, now);
                Vec::new()
            }
        }
    }

    /// Advance the periodic behaviour to `now` and return what to do. The first call rebalances
    /// (bitmarkd does it in `SetSelf`) and schedules the first pass [`INITIAL_DELAY`] later; from
    /// then on, a call at or after the due time runs one pass and schedules the next
    /// [`INTERVAL`] later (one pass however late the call).
    ///
    /// A pass (bitmarkd `broadcast.process`): broadcast our `rpc` (if set) and `peer`
    /// announcements stamped `now`; expire both tables, releasing expired peers; rebalance if
    /// peers were added or removed since the last rebalance.
    pub fn tick(&self, now: SystemTime) -> Vec<Action> {
        let mut state = self.lock();
        let mut actions = Vec::new();
        let due = match state.next_pass {
            None => {
                actions.extend(connects(state.peers.rebalance()));
                let first = now + INITIAL_DELAY;
                state.next_pass = Some(first);
                first
            }
            Some(due) => due,
        };
        if now >= due {
            state.next_pass = Some(now + INTERVAL);
            actions.extend(state.pass(now));
        }
        actions
    }

    /// When [`Announcer::tick`] next has work; `None` before the first tick (due at once).
    pub fn next_due(&self) -> Option<SystemTime> {
        self.lock().next_pass
    }

    /// A snapshot of the peer table, sorted by key.
    pub fn peers(&self) -> Vec<PeerRecord> {
        self.lock().peers.records()
    }

    /// The peer table's entry for `key`.
    pub fn peer(&self, key: &[u8]) -> Option<PeerRecord> {
        self.lock().peers.get(key)
    }

    /// Number of peers, ourselves included.
    pub fn peer_count(&self) -> usize {
        self.lock().peers.len()
    }

    /// The peer table's counters.
    pub fn peer_stats(&self) -> PeerStats {
        self.lock().peers.stats()
    }

    /// A snapshot of the RPC table.
    pub fn rpcs(&self) -> Vec<RpcRecord> {
        self.lock().rpcs.records().to_vec()
    }

    /// bitmarkd's `FetchRPCs(start, count)` for the RPC `Node.List`.
    pub fn fetch_rpcs(&self, start: u64, count: usize) -> Result<(Vec<RpcNode>, u64), Fault> {
        self.lock().rpcs.fetch(start, count)
    }

    /// Write `peers.json` to `path` (see [`backup::write`]). `Ok(false)`: too few entries.
    pub fn backup(&self, path: &Path) -> Result<bool, AnnounceError> {
        let records = self.peers();
        backup::write(path, &records)
    }

    /// Restore `peers.json` from `path` (see [`backup`]); a missing file restores nothing.
    pub fn restore(&self, path: &Path) -> Result<RestoreReport, AnnounceError> {
        let report = match backup::read(path)? {
            Some(decoded) => self.restore_decoded(decoded, self.clock.wall()),
            None => RestoreReport::default(),
        };
        info!(target: TARGET, path = %path.display(), added = report.added, refused = report.refused,
              skipped = report.skipped.len(), "restored peers");
        Ok(report)
    }

    /// Restore from the bytes of a `peers.json` (see [`backup::decode_bytes`]) at `now`: what
    /// [`Announcer::restore`] does once the file is read.
    pub fn restore_bytes(&self, bytes: &[u8], now: SystemTime) -> Result<RestoreReport, AnnounceError> {
        backup::decode_bytes(bytes).map(|decoded| self.restore_decoded(decoded, now))
    }

    /// Add decoded backup entries through the normal rules at `now`.
    pub fn restore_decoded(&self, decoded: Decoded, now: SystemTime) -> RestoreReport {
        let mut report = RestoreReport { skipped: decoded.skipped, ..RestoreReport::default() };
        let mut state = self.lock();
        for entry in decoded.entries {
            if state.peers.add(&entry.public_key, &entry.listeners, entry.timestamp, now).relay() {
                report.added += 1;
            } else {
                report.refused += 1;
            }
        }
        report
    }
}

impl State {
    fn pass(&mut self, now: SystemTime) -> Vec<Action> {
        let timestamp = unix_secs(now);
        let mut actions = Vec::new();
        if let Some((fingerprint, listeners)) = self.rpcs.own() {
            actions.push(Action::Broadcast(Push::Rpc { fingerprint: fingerprint.to_vec(), listeners, timestamp }));
        }
        self.peers.refresh_own(now);
        actions.push(Action::Broadcast(Push::Peer {
            public_key: self.peers.own_key().to_vec(),
            listeners: self.peers.own_listeners().to_vec(),
            timestamp,
        }));
        let rpcs_expired = self.rpcs.expire(now);
        let released = self.peers.expire(now);
        if rpcs_expired > 0 || !released.is_empty() {
            info!(target: TARGET, peers = released.len(), rpcs = rpcs_expired, "expired");
        }
        actions.extend(
            released
                .into_iter()
                .map(|(public_key, listeners)| Action::Connector(ConnectorCommand::Release { public_key, listeners })),
        );
        if self.peers.take_changed() {
            actions.extend(connects(self.peers.rebalance()));
        }
        actions
    }
}

fn connects(targets: Vec<Target>) -> Vec<Action> {
    targets.into_iter().map(|t| Action::Connector(ConnectorCommand::Connect(t))).collect()
}

impl PeerTable for Announcer {
    fn add_peer(&self, public_key: &[u8], listeners: &[u8], timestamp: u64) -> bool {
        self.add_peer_at(public_key, listeners, timestamp, self.clock.wall()).relay()
    }

    fn random_peer(&self, excluding: &[u8]) -> Option<PeerEntry> {
        self.lock().peers.random(excluding, &mut rand::thread_rng())
    }

    fn add_rpc(&self, fingerprint: &[u8], listeners: &[u8], timestamp: u64) -> bool {
        self.add_rpc_at(fingerprint, listeners, timestamp, self.clock.wall()).relay()
    }
}

/// The upstreams keep the peers they poll from expiring: bitmarkd's `updatetime` after each
/// answered `N` (`docs/protocol.md#keeping-connected-peers-alive`), applied at once (bitmarkd
/// queues it for the announce goroutine; here it is one short lock).
impl Liveness for Announcer {
    fn responded(&self, public_key: &[u8]) {
        self.refresh(public_key, self.clock.wall());
    }
}
