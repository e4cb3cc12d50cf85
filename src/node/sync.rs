//! Where the connector — bitmarkd's sync state machine — plugs into the node.
//! [`start`] is handed everything the connector needs ([`SyncEnv`]) and returns the running
//! [`Synchroniser`]; the rest of the node only asks it for its state and progress, and stops it.
//!
//! A standalone node is [`Standalone`] (normal mode from the start, nothing to sync). Any
//! other node runs the connector ([`Connected`]):
//!
//! * its mode cell is the node's [`ModeHandle`], so the listener's `is_normal` reads what the
//!   connector sets;
//! * its clients are upstreams from the node's [`UpstreamSet`] — the static `--connect` peers,
//!   and dynamic ones announce picks; a client the connector releases or replaces is closed
//!   ([`UpstreamSet::reap`], run by the command forwarder);
//! * it changes the chain through the reservoir's [`ChainHooks`] ([`HookedChain`]), so the
//!   reservoir hears of every block stored and every rollback;
//! * announce's connector commands reach it through a forwarding thread; its `reconnect` goes
//!   back to announce, stored blocks to the metrics ([`NodeEvents`]);
//! * penalties go to the score table the upstreams share.

use super::datadir::Databases;
use super::metrics::Metrics;
use super::upstreams::UpstreamSet;
use crate::error::{NodeError, Result};
use bitmark_common::lock;
use bitmark_peer::announce::{self, CommandSender, ConnectorCommand};
use bitmark_peer::connector::upstream::{ScoreHook, UpstreamFactory};
use bitmark_peer::connector::{
    self as connector, ChainError, Clients, Command, ConnectorConfig, ConnectorHandle, Digester, Events, HeaderDone,
    LocalChain, Parts, PeerKey, Progress, RolledBack,
};
use bitmark_peer::connector::{Mode, ModeHandle};
use bitmark_peer::upstream::Target;
use bitmark_record::header::PackedHeader;
use bitmark_record::BlockDigest;
use bitmark_reservoir::{ChainHooks, ReservoirError};
use bitmark_storage::{BlockStore, DigestPool, StorageError, UndoneBlock};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{info, warn};

const TARGET: &str = "node::sync";

/// How often the command forwarder looks for released upstreams and for a stop request.
const FORWARD_POLL: Duration = Duration::from_millis(500);

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
    /// Between two runs of the state machine (`sync_interval`; bitmarkd's 15 s).
    pub cycle_interval: Duration,
    /// Fetch and verify as bitmarkd does (`bench scale`): one peer, one block in flight, one
    /// digest thread.
    pub bitmarkd_shape: bool,
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
    pub hooks: ChainHooks,
    /// The mode flag: the connector sets normal once in sync, resynchronise when it falls
    /// behind (bitmarkd's `mode.Set`).
    pub mode: ModeHandle,
    /// The upstreams: static ones already started; the connector adds, retargets and releases
    /// dynamic ones ([`UpstreamSet::add`]).
    pub upstreams: Arc<UpstreamSet>,
    /// Connect/release commands from the announcer (rebalance targets, expired peers).
    pub commands: Receiver<ConnectorCommand>,
    /// Commands to the announcer (`reconnect` when clients are too few).
    pub announce: CommandSender,
    /// Counters (`Metrics::block_applied` for every stored block).
    pub metrics: Arc<Metrics>,
    /// Our public key (the connector never dials itself).
    pub public_key: PeerKey,
    /// The static peers (`--connect`, `peering.connect`): address and public key.
    pub statics: Vec<(SocketAddr, PeerKey)>,
    /// Tuning.
    pub settings: SyncSettings,
}

/// A running synchroniser, as the node sees it.
pub trait Synchroniser: Send + Sync {
    /// The connector's state, for `/status` (`"standalone"`, or the connector's state name:
    /// `Connecting` .. `Sampling`).
    fn state(&self) -> String;
    /// The connector's progress (none when standalone).
    fn progress(&self) -> Option<Progress> {
        None
    }
    /// Stop; returns promptly (within the node's 5-second shutdown).
    fn stop(&self);
}

/// Start syncing: [`Standalone`] for a standalone node, else the connector ([`Connected`]).
/// Fails when the static peers cannot be set up (none while dynamic connections are off, our
/// own key among them), as bitmarkd refuses to start then.
pub fn start(env: SyncEnv, standalone: bool) -> Result<Box<dyn Synchroniser>> {
    if standalone {
        env.mode.set(Mode::Normal);
        info!(target: TARGET, "standalone: normal mode, no outbound peering");
        return Ok(Box::new(Standalone));
    }
    Ok(Box::new(Connected::start(env)?))
}

/// The connector's settings from the node's: bitmarkd's defaults, with the minimum clients
/// (the quorum follows it: `(1 + min) / 2`) and fast sync from the configuration.
pub fn connector_config(settings: &SyncSettings) -> ConnectorConfig {
    ConnectorConfig {
        minimum_clients: settings.min_clients,
        fast_sync: settings.fast_sync,
        cycle_interval_ms: u64::try_from(settings.cycle_interval.as_millis()).unwrap_or(u64::MAX),
        maximum_dynamic_clients: if settings.dynamic_connections {
            connector::config::MAXIMUM_DYNAMIC_CLIENTS
        } else {
            0
        },
        ..if settings.bitmarkd_shape { bitmarkd_shape() } else { ConnectorConfig::default() }
    }
}

/// bitmarkd's way of fetching: one peer, one block requested, verified and stored before the
/// next is asked for (with one digest thread, [`digest_threads`]).
fn bitmarkd_shape() -> ConnectorConfig {
    ConnectorConfig { fetch_peers: 1, fetch_window: 1, ..ConnectorConfig::default() }
}

/// Digest threads: every core, or one in bitmarkd's shape.
fn digest_threads(settings: &SyncSettings) -> usize {
    if settings.bitmarkd_shape {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
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

/// The running connector and the thread feeding it announce's commands.
pub struct Connected {
    handle: Mutex<Option<ConnectorHandle>>,
    progress: connector::ProgressHandle,
    forwarder: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
}

impl Connected {
    /// Build the clients (static upstreams started at once), the connector over
    /// [`HookedChain`], spawn it, and start the command forwarder.
    fn start(env: SyncEnv) -> Result<Connected> {
        let SyncEnv { store, hooks, mode, upstreams, commands, announce, metrics, public_key, statics, settings } = env;
        let config = connector_config(&settings);
        debug_assert_eq!(config.quorum(), settings.quorum);
        let factory = {
            let upstreams = Arc::clone(&upstreams);
            UpstreamFactory(move |target: Target| upstreams.add(Some(target)))
        };
        let clients = Clients::new(
            public_key,
            &statics,
            settings.dynamic_connections,
            settings.prefer_ipv6,
            config.maximum_dynamic_clients,
            Box::new(factory),
        )
        .map_err(|e| NodeError::Input(format!("connector clients: {e}")))?;
        let threads = digest_threads(&settings);
        let parts = Parts {
            chain: Arc::new(HookedChain { hooks, store }),
            digester: Arc::new(Argon2d(DigestPool::new(threads))),
            clients,
            scoring: Arc::new(ScoreHook { board: upstreams.scores(), clock: upstreams.clock() }),
            events: Arc::new(NodeEvents { announce, metrics }),
            mode,
            rng: Box::new(rand::rngs::OsRng),
        };
        info!(target: TARGET, minimum_clients = config.minimum_clients, quorum = config.quorum(),
              fast_sync = config.fast_sync, digest_threads = threads, statics = statics.len(), "starting the connector");
        let handle = connector::spawn(connector::Connector::new(config, parts))
            .map_err(|e| NodeError::io("connector thread", e))?;
        let progress = handle.progress();
        let stopping = Arc::new(AtomicBool::new(false));
        let forwarder = {
            let (sender, stopping) = (handle.commands(), Arc::clone(&stopping));
            std::thread::Builder::new()
                .name("connector-commands".into())
                .spawn(move || forward(&commands, &sender, &upstreams, &stopping))
                .map_err(|e| NodeError::io("connector command thread", e))?
        };
        Ok(Connected { handle: Mutex::new(Some(handle)), progress, forwarder: Mutex::new(Some((stopping, forwarder))) })
    }
}

impl Synchroniser for Connected {
    fn state(&self) -> String {
        self.progress.get().state.to_string()
    }

    fn progress(&self) -> Option<Progress> {
        Some(self.progress.get())
    }

    /// Stops the connector (a fetch pass ends within about 100 ms; a request to a slow peer is
    /// left to finish on its upstream's thread), then the forwarder (within [`FORWARD_POLL`]).
    fn stop(&self) {
        if let Some(handle) = lock(&self.handle).take() {
            handle.request_stop();
            drop(handle); // joins the connector's thread
        }
        if let Some((stopping, thread)) = lock(&self.forwarder).take() {
            stopping.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
    }
}

/// Feed announce's connector commands to the connector until told to stop (or the connector
/// has gone), closing the upstreams it let go of as it goes. While the connector's own queue
/// is full (a long fetch pass), this waits and announce's queue fills behind it, whose sends
/// then drop and count: the commands in flight are bounded by the two queues.
fn forward(
    commands: &Receiver<ConnectorCommand>,
    sender: &connector::CommandSender,
    upstreams: &UpstreamSet,
    stopping: &AtomicBool,
) {
    while !stopping.load(Ordering::SeqCst) {
        match commands.recv_timeout(FORWARD_POLL) {
            Ok(command) => {
                if !sender.send(Command::from(command)) {
                    break;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        upstreams.reap();
    }
}

/// The chain as the connector changes it: reads from the store, every write through the
/// reservoir's [`ChainHooks`] so the reservoir drops what stored blocks confirm and rescans
/// what a rollback undid.
pub struct HookedChain {
    hooks: ChainHooks,
    store: Arc<BlockStore>,
}

impl HookedChain {
    /// A block store error as the connector reads it: a fault is the block's (bitmarkd's
    /// text), anything else is our own chain failing, named with its recovery step.
    fn chain_error(&self, e: StorageError) -> ChainError {
        match e {
            StorageError::Fault(fault) => ChainError::Invalid(fault),
            other => ChainError::backend(Databases::of(&self.hooks).chain(other)),
        }
    }

    /// The outcome of a hooked block store as the connector reads it: the store's refusal is
    /// the connector's to handle; a reservoir failure after the block is stored is logged,
    /// since the block stands (the next rescan brings the reservoir back in step).
    fn settle<T>(
        &self,
        outcome: std::result::Result<T, ReservoirError>,
        what: &str,
    ) -> std::result::Result<Option<T>, ChainError> {
        match outcome {
            Ok(value) => Ok(Some(value)),
            Err(ReservoirError::Storage(e)) => Err(self.chain_error(e)),
            Err(e) => {
                warn!(target: TARGET, error = %Databases::of(&self.hooks).reservoir(e), what,
                      "the chain changed but the reservoir was not told");
                Ok(None)
            }
        }
    }
}

impl LocalChain for HookedChain {
    fn height(&self) -> u64 {
        self.store.height()
    }

    fn digest(&self, n: u64) -> std::result::Result<BlockDigest, ChainError> {
        self.store.digest_for(n).map_err(|e| self.chain_error(e))
    }

    fn block(&self, n: u64) -> std::result::Result<Option<Vec<u8>>, ChainError> {
        self.store.block(n).map_err(|e| self.chain_error(e))
    }

    fn apply(&self, block: &[u8], digest: BlockDigest) -> std::result::Result<(), ChainError> {
        let outcome = self.hooks.apply_with(block, |store| store.apply_with_digest(block, digest));
        self.settle(outcome, "apply").map(|_| ())
    }

    fn apply_fast(&self, block: &[u8], next: &[u8]) -> std::result::Result<BlockDigest, ChainError> {
        let outcome = self.hooks.apply_with(block, |store| store.apply_fast(block, next));
        match self.settle(outcome, "apply_fast")? {
            Some(applied) => Ok(applied.digest),
            None => self.store.digest_for(self.store.height()).map_err(|e| self.chain_error(e)),
        }
    }

    /// Any failure is the connector's to know, a reservoir failure included: the blocks are
    /// then gone but the list of them is lost, and "nothing undone" would be a lie it acts on.
    fn rollback_to(&self, height: u64) -> std::result::Result<Vec<RolledBack>, ChainError> {
        match self.hooks.rollback_to(height) {
            Ok(undone) => Ok(undone.iter().map(rolled_back).collect()),
            Err(e) => {
                let e = Databases::of(&self.hooks).reservoir(e);
                warn!(target: TARGET, error = %e, height = self.store.height(), "rollback failed");
                Err(ChainError::backend(e))
            }
        }
    }
}

/// What the connector hears of a block a rollback removed.
fn rolled_back(block: &UndoneBlock) -> RolledBack {
    RolledBack { number: block.number, digest: block.digest, transactions: block.records.len() }
}

/// The digest pool as the connector's [`Digester`].
struct Argon2d(DigestPool);

impl Digester for Argon2d {
    fn threads(&self) -> usize {
        self.0.threads()
    }

    fn digest_header(&self, header: PackedHeader, then: HeaderDone) {
        self.0.digest_then(header, then);
    }
}

/// What the connector tells the rest of the node.
struct NodeEvents {
    announce: CommandSender,
    metrics: Arc<Metrics>,
}

impl Events for NodeEvents {
    fn reconnect(&self) {
        self.announce.send(announce::Command::Reconnect);
    }

    /// The reservoir already heard of the rollback through [`HookedChain`]; the undone
    /// block's records are not put back (bitmarkd drops them too).
    fn rolled_back(&self, block: RolledBack) {
        self.metrics.block_rolled_back();
        info!(target: TARGET, number = block.number, digest = %block.digest.raw_hex(), records = block.transactions,
              "block rolled back to follow a better chain");
    }

    fn block_stored(&self, _number: u64) {
        self.metrics.block_applied();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::{Account, AssetId, Chain, CurrencyMap, Link};
    use bitmark_reservoir::{ConfirmedState, Options, OwnerRecord, Reservoir, ShareTotal, StateResult};
    use bitmark_storage::testchain::{TestChain, TestChainConfig};
    use bitmark_storage::{ChainDb, StoreOptions};

    fn empty_store() -> Arc<BlockStore> {
        Arc::new(BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap())
    }

    /// A store holding a test chain up to `height`.
    fn test_chain(height: u64) -> Arc<BlockStore> {
        let store = empty_store();
        TestChain::new(TestChainConfig { seed: 2, txs_per_block: 3, ..Default::default() })
            .extend(&store, height, |_| {})
            .unwrap();
        store
    }

    #[test]
    fn settings_map_to_the_connector_with_bitmarkds_quorum() {
        let settings = SyncSettings {
            min_clients: 1,
            quorum: 1,
            fast_sync: true,
            dynamic_connections: false,
            prefer_ipv6: false,
            cycle_interval: Duration::from_millis(500),
            bitmarkd_shape: false,
        };
        let config = connector_config(&settings);
        assert_eq!((config.minimum_clients, config.quorum(), config.fast_sync), (1, 1, true));
        assert_eq!(config.cycle_interval(), Duration::from_millis(500));
        assert_eq!(config.maximum_dynamic_clients, 0);
        let config = connector_config(&SyncSettings { min_clients: 5, dynamic_connections: true, ..settings });
        assert_eq!((config.quorum(), config.maximum_dynamic_clients), (3, 25));
        assert!(config.fetch_peers > 1 && config.fetch_window > 1 && digest_threads(&settings) >= 1);
        // bitmarkd's shape keeps the settings and fetches one block from one peer at a time.
        let shaped = SyncSettings { bitmarkd_shape: true, ..settings };
        let config = connector_config(&shaped);
        assert_eq!((config.fetch_peers, config.fetch_window, digest_threads(&shaped)), (1, 1, 1));
        assert_eq!((config.minimum_clients, config.fast_sync), (1, true));
    }

    /// The connector's writes go through the hooks: blocks land in the store, a block that
    /// does not link is the store's refusal, and a rollback returns the undone blocks, highest first.
    #[test]
    fn the_hooked_chain_applies_and_rolls_back_through_the_hooks() {
        let source = test_chain(4);
        let dir = tempfile::tempdir().unwrap();
        let store = empty_store();
        let (hooks, _) = super::super::reservoir::open(dir.path(), &store).unwrap();
        let chain = HookedChain { hooks, store: Arc::clone(&store) };
        let block = |n| source.block(n).unwrap().unwrap();
        assert!(
            chain.apply(&block(3), source.digest_for(3).unwrap()).is_err(),
            "a block that does not link is refused"
        );
        assert_eq!(chain.height(), 1);
        for n in 2..=4 {
            chain.apply(&block(n), source.digest_for(n).unwrap()).unwrap();
        }
        assert_eq!((chain.height(), chain.digest(4).unwrap()), (4, source.digest_for(4).unwrap()));
        assert_eq!(chain.block(3).unwrap(), Some(block(3)));
        let undone = chain.rollback_to(2).unwrap();
        assert_eq!(undone.iter().map(|b| b.number).collect::<Vec<_>>(), vec![4, 3]);
        assert_eq!(store.height(), 2);
    }

    /// The block store as the reservoir reads it, every read failing once `failing` is set
    /// (as a database error would).
    struct Flaky {
        store: Arc<BlockStore>,
        failing: AtomicBool,
    }

    impl Flaky {
        fn check(&self) -> StateResult<()> {
            match self.failing.load(Ordering::SeqCst) {
                true => Err("injected failure".into()),
                false => Ok(()),
            }
        }
    }

    impl ConfirmedState for Flaky {
        fn height(&self) -> u64 {
            self.store.height()
        }
        fn block_digest(&self, number: u64) -> StateResult<Option<BlockDigest>> {
            self.check()?;
            ConfirmedState::block_digest(self.store.as_ref(), number)
        }
        fn asset_block(&self, asset_id: &AssetId) -> StateResult<Option<u64>> {
            self.check()?;
            self.store.asset_block(asset_id)
        }
        fn transaction(&self, tx_id: &Link) -> StateResult<Option<(u64, Vec<u8>)>> {
            self.check()?;
            ConfirmedState::transaction(self.store.as_ref(), tx_id)
        }
        fn currently_owns(&self, owner: &Account, tx_id: &Link) -> StateResult<bool> {
            self.check()?;
            ConfirmedState::currently_owns(self.store.as_ref(), owner, tx_id)
        }
        fn owner_data(&self, tx_id: &Link) -> StateResult<Option<OwnerRecord>> {
            self.check()?;
            ConfirmedState::owner_data(self.store.as_ref(), tx_id)
        }
        fn block_payments(&self, number: u64) -> StateResult<Option<CurrencyMap>> {
            self.check()?;
            self.store.block_payments(number)
        }
        fn share_total(&self, share_id: &Link) -> StateResult<Option<ShareTotal>> {
            self.check()?;
            self.store.share_total(share_id)
        }
        fn share_balance(&self, owner: &Account, share_id: &Link) -> StateResult<Option<u64>> {
            self.check()?;
            ConfirmedState::share_balance(self.store.as_ref(), owner, share_id)
        }
        fn share_balances(&self, owner: &Account, start: &Link, count: usize) -> StateResult<Vec<(Link, u64)>> {
            self.check()?;
            ConfirmedState::share_balances(self.store.as_ref(), owner, start, count)
        }
    }

    /// The reservoir fails while a rollback tells it what was undone: the blocks are gone, and
    /// the connector hears an error, not "nothing undone" (from which it would take a zero
    /// digest for the removed tip and could penalise an honest peer).
    #[test]
    fn a_reservoir_failure_in_a_rollback_reaches_the_connector() {
        let store = test_chain(4);
        let state = Arc::new(Flaky { store: Arc::clone(&store), failing: AtomicBool::new(false) });
        let dir = tempfile::tempdir().unwrap();
        let (reservoir, _) =
            Reservoir::open(dir.path(), Chain::Local, state.clone(), Options::for_chain(Chain::Local)).unwrap();
        let hooks = ChainHooks::new(Arc::clone(&store), Arc::new(reservoir)).unwrap();
        // An issue held, so that the rescan after the rollback reads the chain.
        hooks.reservoir().process_issues(&super::super::producer::tests::paid_issue(&store)).unwrap();
        let chain = HookedChain { hooks, store: Arc::clone(&store) };

        state.failing.store(true, Ordering::SeqCst);
        let outcome = chain.rollback_to(2);
        assert_eq!(store.height(), 2, "the store rolled back");
        assert!(matches!(outcome, Err(ChainError::Backend(_))), "{outcome:?}");
    }
}
