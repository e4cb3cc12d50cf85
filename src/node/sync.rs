//! The seam where the connector — bitmarkd's sync state machine, issue 6 — plugs into the
//! node. [`start`] is handed everything the connector needs ([`SyncEnv`]) and returns the
//! running [`Synchroniser`]; the rest of the node only asks it for its state and stops it.
//!
//! Until the connector lands, a standalone node is [`Standalone`] (normal mode from the start,
//! nothing to sync), and any other node is [`Waiting`]: it holds the environment, drops the
//! announcer's connect/release commands, and stays in resynchronise mode, so pushed blocks and
//! transactions are ignored (as bitmarkd ignores them before its first sync) while `N`, `B`,
//! `H`, `I` and `R` are answered.

use super::metrics::Metrics;
use super::upstreams::UpstreamSet;
use super::views::Mode;
use bitmark_peer::announce::{CommandSender, ConnectorCommand};
use bitmark_peer::bus::Bus;
use bitmark_reservoir::ChainHooks;
use bitmark_storage::BlockStore;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use tracing::info;

const TARGET: &str = "node::sync";

/// Connector tuning from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncSettings {
    /// Clients wanted before an election (`min_clients`).
    pub min_clients: usize,
    /// Votes needed to elect a chain: `(1 + min_clients) / 2`.
    pub quorum: usize,
    /// bitmarkd's fast sync.
    pub fast_sync: bool,
    /// Whether peers learnt from the network may be connected besides the static ones.
    pub dynamic_connections: bool,
    /// Prefer a peer's IPv6 listener.
    pub prefer_ipv6: bool,
}

/// What the connector is given.
pub struct SyncEnv {
    /// The chain, for reading. The connector is its only writer (pushed and produced blocks
    /// aside, see `NodePool` and `producer`).
    pub store: Arc<BlockStore>,
    /// How the connector changes the chain: every block it stores (`apply`, `apply_many`,
    /// `apply_with` for fast sync) and every rollback (`rollback_to`) goes through these
    /// hooks, so the reservoir drops what the new blocks confirm and rescans what a rollback
    /// undid. Never change `store` directly.
    // TODO(issue 6): the connector stores and rolls back through these.
    pub hooks: ChainHooks,
    /// The mode flag: the connector sets normal once in sync, resynchronise when it falls
    /// behind (bitmarkd's `mode.Set`).
    pub mode: Arc<Mode>,
    /// The upstreams: static ones already started; the connector adds, retargets and releases
    /// dynamic ones ([`UpstreamSet::add`]).
    pub upstreams: Arc<UpstreamSet>,
    /// Connect/release commands from the announcer (rebalance targets, expired peers).
    pub commands: Receiver<ConnectorCommand>,
    /// Commands to the announcer (`reconnect` when clients are too few).
    pub announce: CommandSender,
    /// The broadcast bus, for blocks the connector stores that peers should hear of.
    pub bus: Bus,
    /// Counters (`Metrics::block_applied` for every stored block).
    pub metrics: Arc<Metrics>,
    /// Tuning.
    pub settings: SyncSettings,
}

/// A running synchroniser, as the node sees it.
pub trait Synchroniser: Send + Sync {
    /// The connector's state, for `/status` (`"standalone"`, `"waiting"`, or the connector's
    /// state names once it lands).
    fn state(&self) -> String;
    /// Stop; returns promptly (within the node's 5-second shutdown).
    fn stop(&self);
}

/// Start syncing: [`Standalone`] for a standalone node, else (until issue 6) [`Waiting`].
// TODO(issue 6): start the connector from `bitmark_peer::connector` here with `env`.
pub fn start(env: SyncEnv, standalone: bool) -> Box<dyn Synchroniser> {
    if standalone {
        env.mode.set_normal(true);
        info!(target: TARGET, "standalone: normal mode, no outbound peering");
        return Box::new(Standalone);
    }
    info!(target: TARGET, "no connector yet: staying in resynchronise mode");
    Box::new(Waiting { env: Mutex::new(Some(env)) })
}

/// A standalone node: nothing to sync.
#[derive(Debug, Default)]
pub struct Standalone;

impl Synchroniser for Standalone {
    fn state(&self) -> String {
        "standalone".into()
    }

    fn stop(&self) {}
}

/// A peered node without a connector: resynchronise mode for good. The announcer's commands
/// queue up to the channel's bound and are then dropped by its sender.
pub struct Waiting {
    env: Mutex<Option<SyncEnv>>,
}

impl Synchroniser for Waiting {
    fn state(&self) -> String {
        "waiting".into()
    }

    fn stop(&self) {
        self.env.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
