//! The node assembled: storage, listener, announcer, broadcast bus, upstreams, the sync seam
//! and the status server, started in bitmarkd's order and stopped in reverse.
//!
//! Start-up (`command/bitmarkd/main.go`, protocol.md §0): keys, the block store, the
//! reservoir over it ([`super::reservoir`]; its expiry and rebroadcast thread starts once the
//! bus exists), the announcer (our entry, static peers, `peers.json`), the listener, then the
//! synchroniser ([`super::sync::start`]: the connector, which starts the upstreams to the static
//! peers), and last the block producer when asked for ([`super::producer`]).
//! A standalone node starts no upstreams and is in normal mode at once.
//!
//! Every chain change goes through one [`ChainHooks`]: pushed blocks, produced blocks, and the
//! connector's (handed to it in [`SyncEnv`]).
//!
//! Shutdown ([`Node::shutdown`]) stops producing and taking requests first, then stops the
//! reservoir's thread and flushes it, saves `peers.json`, flushes the block store, and only
//! then closes the upstreams, whose threads may be waiting on a peer: whatever has not
//! finished by the deadline is left to the process exit, after everything that must reach the
//! disk has.

use super::http::{HttpServer, Response, Routes};
use super::metrics::{CountingService, ErrorSource, Metrics};
use super::pool::NodePool;
use super::producer::{self, Producer, ProducerThread};
use super::reservoir;
use super::status::Observer;
use super::sync::{self, SyncEnv, SyncSettings, Synchroniser};
use super::upstreams::UpstreamSet;
use super::views::{Mode, StoreChainView};
use crate::capture::writer::{Capture, CaptureOptions, NodeSnapshot};
use crate::commands::{chaindir, keygen};
use crate::config::{ConfigError, Settings};
use crate::error::{NodeError, Result};
use crate::keyfile;
use bitmark_peer::announce::backup::FILE_NAME as PEERS_FILE;
use bitmark_peer::announce::{
    self, Action, Announcer, Bootstrap, ConnectorCommand, NodeLookup, Nodes, NotConfigured, Runner, RunnerConfig,
    SystemLookup,
};
use bitmark_peer::bus::Bus;
use bitmark_peer::listener::{ChainView, Handler, PeerTable};
use bitmark_peer::score::ScoreBoard;
use bitmark_peer::transport::{CurveKeys, ListenerConfig, Service, ZmqListener};
use bitmark_peer::upstream::{Identity, UpstreamConfig, UpstreamEnv};
use bitmark_record::Chain;
use bitmark_reservoir::{Background, ChainHooks};
use bitmark_storage::{BlockStore, StoreOptions};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, TrySendError};
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, error, info, warn};

const TARGET: &str = "node";

/// What the node reports as its version in `I` replies.
pub const VERSION: &str = concat!("bitmark-node ", env!("CARGO_PKG_VERSION"));

/// Connector commands waiting for the connector (bitmarkd's Connector queue holds 50); the
/// announcer's sends never block, so beyond this they are dropped.
const CONNECTOR_QUEUE: usize = 64;

/// The running node.
pub struct Node {
    context: zmq::Context,
    store: Arc<BlockStore>,
    hooks: ChainHooks,
    background: Background,
    producer: Option<ProducerThread>,
    producer_account: Option<String>,
    keys_created: bool,
    data_dir: PathBuf,
    observer: Arc<Observer>,
    listener: Arc<ZmqListener>,
    bus: Bus,
    runner: Runner,
    upstreams: Arc<UpstreamSet>,
    sync: Arc<dyn Synchroniser>,
    status: Option<HttpServer>,
    capture: Option<Capture>,
}

/// What [`Node::shutdown`] managed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The block store and the reservoir were flushed.
    pub flushed: bool,
    /// Upstreams still busy at the deadline, left to the process exit.
    pub stragglers: usize,
}

impl Node {
    /// Start a node with `settings`. Settings the node cannot honour yet are refused
    /// ([`Settings::unsupported`]).
    pub fn start(settings: &Settings) -> Result<Node> {
        if let Some(e) = settings.unsupported() {
            return Err(e.into());
        }
        let started = Instant::now();
        // The status port first: a taken port fails the start before any thread runs.
        let status_socket = match settings.status {
            Some(addr) => {
                Some(TcpListener::bind(addr).map_err(|e| NodeError::Io(format!("status server on {addr}: {e}")))?)
            }
            None => None,
        };
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| NodeError::io(settings.data_dir.display(), e))?;
        let (keys, keys_created) =
            keyfile::load_or_create(&settings.keys.public, &settings.keys.private, keygen::create_pair)?;
        if keys_created {
            info!(target: TARGET, public = %settings.keys.public.display(), "made a new key pair");
        }

        let store = Arc::new(chaindir::open_store(&settings.data_dir, settings.chain, StoreOptions::default())?);
        let tip = store.tip();
        info!(target: TARGET, chain = %settings.chain, height = tip.height, digest = %tip.digest.raw_hex(),
              data = %settings.data_dir.display(), "opened the chain");
        let (hooks, _) = reservoir::open(&settings.data_dir, &store)?;
        // Checked here too, not only by the configuration: a block producer on a chain whose
        // blocks need proof of work would only make blocks every peer refuses.
        let producer_key = match settings.produce_blocks {
            Some(_) if settings.chain != Chain::Local => {
                return Err(ConfigError::new(
                    "produce_blocks",
                    format!("blocks can only be produced on the local chain, not {}", settings.chain),
                )
                .into())
            }
            Some(interval) => Some((
                interval,
                producer::load_or_create_key(&settings.data_dir.join(producer::KEY_FILE), settings.chain)?,
            )),
            None => None,
        };
        // A standalone node is in normal mode from the start: its listener (and a capture
        // header) never see it resynchronising.
        let mode = Arc::new(Mode::new(settings.standalone));
        let metrics = Arc::new(Metrics::new());
        let view: Arc<dyn ChainView> = Arc::new(StoreChainView::new(Arc::clone(&store), Arc::clone(&mode)));
        // Before the listener and the upstreams, whose first exchanges it records.
        let capture = match &settings.capture {
            Some(path) => Some(start_capture(settings, path, &store, &mode, keys.public)?),
            None => None,
        };
        let tap = capture.as_ref().map(Capture::tap);

        let announcer = Arc::new(Announcer::new(
            keys.public,
            &settings.announce,
            settings.table,
            Arc::new(bitmark_peer::clock::SystemClock),
        ));
        for (i, peer) in settings.connect.iter().enumerate() {
            announcer.add_static(&peer.public_key, &[peer.address]).map_err(|why| {
                ConfigError::new(format!("peering.connect[{i}]"), format!("refused by the peer table: {why:?}"))
            })?;
        }
        let peers_file = settings.data_dir.join(PEERS_FILE);
        match announcer.restore(&peers_file) {
            Ok(report) if !report.skipped.is_empty() => {
                warn!(target: TARGET, skipped = report.skipped.len(), "peers.json: malformed entries skipped")
            }
            Ok(_) => {}
            Err(e) => {
                metrics.error(ErrorSource::Node, "peers.json unreadable");
                warn!(target: TARGET, error = %e, "peers.json not restored");
            }
        }

        let bus = Bus::new();
        let background = reservoir::start_background(hooks.reservoir(), &bus);
        let (connector_tx, connector_rx) = sync_channel::<ConnectorCommand>(CONNECTOR_QUEUE);
        let bootstrap = Bootstrap::new(&settings.nodes, settings.chain, dns_lookup(&settings.nodes));
        let runner = {
            let bus = bus.clone();
            let sink = move |action: Action| match action {
                Action::Broadcast(push) => {
                    bus.send(push);
                }
                Action::Connector(command) => match connector_tx.try_send(command) {
                    Ok(()) => {}
                    Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => {
                        debug!(target: TARGET, command = c.name(), "connector queue full; command dropped")
                    }
                },
            };
            Runner::spawn(
                Arc::clone(&announcer),
                bootstrap,
                Box::new(sink),
                RunnerConfig { backup: Some(peers_file), ..RunnerConfig::default() },
            )
            .map_err(|e| NodeError::io("announce thread", e))?
        };

        let context = zmq::Context::new();
        let upstreams = Arc::new(
            start_upstreams(settings, &context, &keys, &announcer, &runner, &view, &bus)?.with_tap(tap.clone()),
        );
        // The listener reports peers registering under another key to the upstreams' score
        // board, so the upstreams do not dial a banned key.
        let handler = Handler::new(
            VERSION,
            Arc::clone(&view),
            Arc::new(NodePool::new(hooks.clone(), Arc::clone(&metrics))),
            Arc::clone(&announcer) as Arc<dyn PeerTable>,
            Arc::new(bus.clone()),
        )
        .with_scores(upstreams.scores(), upstreams.clock());
        let service: Arc<dyn Service> = Arc::new(CountingService::new(Arc::new(handler), Arc::clone(&metrics)));
        let listener = Arc::new(ZmqListener::start_tapped(
            &context,
            ListenerConfig {
                chain: settings.chain,
                listen: settings.listen.clone(),
                secret_key: keys.secret,
                limits: settings.limits,
            },
            service,
            tap,
        )?);

        let sync: Arc<dyn Synchroniser> = Arc::from(sync::start(
            SyncEnv {
                store: Arc::clone(&store),
                hooks: hooks.clone(),
                mode: Arc::clone(&mode),
                upstreams: Arc::clone(&upstreams),
                commands: connector_rx,
                announce: runner.commands(),
                metrics: Arc::clone(&metrics),
                public_key: keys.public,
                statics: settings.connect.iter().map(|p| (p.address, p.public_key)).collect(),
                settings: SyncSettings {
                    min_clients: settings.min_clients,
                    quorum: settings.quorum(),
                    fast_sync: settings.fast_sync,
                    dynamic_connections: settings.dynamic_connections,
                    prefer_ipv6: settings.prefer_ipv6,
                    cycle_interval: settings.sync_interval,
                },
            },
            settings.standalone,
        )?);

        let (producer, producer_account) = match producer_key {
            Some((interval, (key, created))) => {
                let producer = Producer::new(hooks.clone(), key, bus.clone(), Arc::clone(&metrics))?;
                let account = producer.owner().to_base58();
                if created {
                    info!(target: TARGET, account, "made a new producer key");
                }
                (Some(ProducerThread::spawn(producer, interval, Arc::clone(&mode))?), Some(account))
            }
            None => (None, None),
        };

        let observer = Arc::new(Observer {
            store: Arc::clone(&store),
            reservoir: Arc::clone(hooks.reservoir()),
            mode,
            listener: Arc::clone(&listener),
            upstreams: Arc::clone(&upstreams),
            announcer,
            sync: Arc::clone(&sync),
            bus: bus.clone(),
            metrics,
            public_key: keys.public,
            started,
        });
        let status = match status_socket {
            Some(socket) => Some(
                HttpServer::serve(socket, routes(Arc::clone(&observer)))
                    .map_err(|e| NodeError::io("status server", e))?,
            ),
            None => None,
        };
        Ok(Node {
            context,
            store,
            hooks,
            background,
            producer,
            producer_account,
            keys_created,
            data_dir: settings.data_dir.clone(),
            observer,
            listener,
            bus,
            runner,
            upstreams,
            sync,
            status,
            capture,
        })
    }

    /// The line `bitmark-node run` prints when the node is up: where it listens, its key and
    /// its chain, so scripts (and tests) can reach a node started on port 0.
    pub fn ready_report(&self) -> Value {
        let snapshot = self.observer.snapshot();
        json!({
            "chain": snapshot.chain.name(),
            "height": snapshot.height,
            "digest": snapshot.digest.raw_hex(),
            "mode": if snapshot.normal { "normal" } else { "resynchronise" },
            "publicKey": hex::encode(snapshot.public_key),
            "keysCreated": self.keys_created,
            "listening": snapshot.listening.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "status": self.status.as_ref().map(|s| s.local_addr().to_string()),
            "reservoir": {"pending": snapshot.reservoir.pending, "verified": snapshot.reservoir.verified},
            "producer": self.producer_account,
            "dataDir": self.data_dir.display().to_string(),
            "capture": self.capture.as_ref().map(|c| c.path().display().to_string()),
        })
    }

    /// What `/status` would answer now.
    pub fn status(&self) -> Value {
        self.observer.snapshot().to_json()
    }

    /// Stop everything, in the order described in the module documentation, giving the
    /// upstreams until `deadline`.
    pub fn shutdown(self, deadline: Instant) -> ShutdownReport {
        let Node {
            context,
            store,
            hooks,
            background,
            producer,
            observer,
            listener,
            bus,
            runner,
            upstreams,
            sync,
            status,
            capture,
            ..
        } = self;
        info!(target: TARGET, "shutting down");
        if let Some(status) = status {
            status.stop();
        }
        if let Some(producer) = producer {
            producer.stop();
        }
        sync.stop();
        // The status server held the observer, and the observer the listener: with both gone
        // the listener is ours alone.
        drop(observer);
        match Arc::try_unwrap(listener) {
            Ok(listener) => listener.shutdown(),
            Err(_) => warn!(target: TARGET, "listener still shared; it stops when released"),
        }
        drop(background);
        // Every accepted item was flushed when it was accepted; this catches what the
        // background jobs changed since.
        let reservoir_flushed = match hooks.reservoir().flush() {
            Ok(()) => true,
            Err(e) => {
                error!(target: TARGET, error = %e, "flushing the reservoir failed");
                false
            }
        };
        drop(hooks);
        runner.stop(); // writes peers.json
        let flushed = match store.db().flush() {
            Ok(()) => reservoir_flushed,
            Err(e) => {
                error!(target: TARGET, error = %e, "flushing the block store failed");
                false
            }
        };
        bus.close();
        let stragglers = upstreams.close_all(deadline);
        if stragglers > 0 {
            warn!(target: TARGET, stragglers, "upstreams still busy at the deadline; leaving them");
            // Never terminate the context under them: zmq_ctx_term would wait for their sockets.
            std::mem::forget(context.clone());
        }
        // Last, so that it holds every exchange up to here; a straggler's later ones are ignored.
        if let Some(capture) = capture {
            capture.close();
        }
        info!(target: TARGET, height = store.height(), "stopped");
        ShutdownReport { flushed, stragglers }
    }
}

/// Start recording to `path` (`--capture`): each file's header says what the node was when the
/// file began (chain, key, height and tip, mode).
fn start_capture(
    settings: &Settings,
    path: &std::path::Path,
    store: &Arc<BlockStore>,
    mode: &Arc<Mode>,
    node_key: [u8; 32],
) -> Result<Capture> {
    let options = CaptureOptions {
        max_bytes: settings.capture_max_bytes,
        keep: settings.capture_keep,
        ..CaptureOptions::new(path.to_path_buf(), VERSION)
    };
    let (store, mode, chain) = (Arc::clone(store), Arc::clone(mode), settings.chain);
    let snapshot = move || {
        let tip = store.tip();
        NodeSnapshot { chain, node_key, height: tip.height, digest: tip.digest.raw_hex(), normal: mode.is_normal() }
    };
    Capture::start(options, Box::new(snapshot))
}

/// The upstream set, empty: the connector starts an upstream per static peer, and per
/// dynamic peer announce picks.
fn start_upstreams(
    settings: &Settings,
    context: &zmq::Context,
    keys: &CurveKeys,
    announcer: &Arc<Announcer>,
    runner: &Runner,
    view: &Arc<dyn ChainView>,
    bus: &Bus,
) -> Result<UpstreamSet> {
    let liveness = {
        let commands = runner.commands();
        move |key: &[u8]| {
            commands.send(announce::Command::UpdateTime(key.to_vec()));
        }
    };
    let env = UpstreamEnv {
        identity: Identity { public_key: keys.public.to_vec(), listeners: announcer.own_listeners() },
        chain: Arc::clone(view),
        peers: Arc::clone(announcer) as Arc<dyn PeerTable>,
        liveness: Arc::new(liveness),
        scores: Arc::new(ScoreBoard::default()),
        clock: Arc::new(bitmark_peer::clock::SystemClock),
    };
    let config = upstream_config(settings);
    let set = UpstreamSet::new(context, settings.chain, keys.clone(), config, env, bus.clone());
    if settings.standalone && !settings.connect.is_empty() {
        warn!(target: TARGET, peers = settings.connect.len(), "standalone: static peers are not connected");
    }
    // The static peers' upstreams are started by the connector's clients (`sync::start`).
    Ok(set)
}

/// The upstreams poll their peers every two `sync_interval`s (bitmarkd: 30 s against its
/// connector's 15 s), and never less often than bitmarkd's 30 s: the connector decides that it
/// is in step from what the last poll said, so a shorter interval is only useful with polls as
/// frequent.
fn upstream_config(settings: &Settings) -> UpstreamConfig {
    let defaults = UpstreamConfig::default();
    UpstreamConfig { poll_interval: (settings.sync_interval * 2).min(defaults.poll_interval), ..defaults }
}

/// `/status`, `/metrics`, `/transaction/<tx id>` ([`Observer::transaction`]), and 404 for
/// anything else.
fn routes(observer: Arc<Observer>) -> Routes {
    Arc::new(move |path: &str| match path {
        "/status" => Response::json(&observer.snapshot().to_json()),
        "/metrics" => Response::prometheus(observer.metrics.render(&observer.snapshot())),
        _ => match path.strip_prefix("/transaction/") {
            Some(tx_id) => observer.transaction(tx_id).map_or_else(Response::error, |v| Response::json(&v)),
            None => Response::error(404),
        },
    })
}

/// The resolver for the DNS TXT bootstrap: the system's nameservers (`/etc/resolv.conf`), or none
/// when `nodes = none` or the nameservers cannot be read (then lookups fail and are logged, and
/// the node relies on `peering.connect` and `peers.json`).
fn dns_lookup(nodes: &Nodes) -> Box<dyn NodeLookup> {
    if matches!(nodes, Nodes::None) {
        return Box::new(NotConfigured);
    }
    match SystemLookup::from_system() {
        Ok(lookup) => Box::new(lookup),
        Err(e) => {
            warn!(target: TARGET, error = %e, "no DNS resolver: TXT bootstrap lookups will fail; use peering.connect");
            Box::new(NotConfigured)
        }
    }
}
