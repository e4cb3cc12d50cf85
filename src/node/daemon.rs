//! The node assembled: storage, listener, announcer, broadcast bus, upstreams, the sync seam
//! and the status server, started in bitmarkd's order and stopped in reverse.
//!
//! Start-up (`command/bitmarkd/main.go`, `docs/protocol.md#components-and-start-up`): keys, the
//! block store, the reservoir over it ([`super::reservoir`]; its expiry and rebroadcast thread
//! starts once the bus exists), the announcer (our entry, static peers, `peers.json`), the
//! listener, then the synchroniser ([`super::sync::start`]: the connector, which starts the
//! upstreams to the static peers), and last the block producer when asked for
//! ([`super::producer`]). A standalone node starts no upstreams and is in normal mode at once.
//!
//! Every chain change goes through one [`ChainHooks`]: pushed blocks, produced blocks, and the
//! connector's (handed to it in [`SyncEnv`]).
//!
//! Shutdown ([`Node::shutdown`]) stops producing and taking requests first, then stops the
//! reservoir's thread and flushes it, saves `peers.json`, flushes the block store, and only
//! then closes the upstreams, whose threads may be waiting on a peer: whatever has not
//! finished by the deadline is left to the process exit, after everything that must reach the
//! disk has.

use super::datadir;
use super::http::{self as status_http, Response, Routes};
use super::metrics::{CountingService, ErrorSource, Metrics};
use super::pool::NodePool;
use super::producer::{self, Producer, ProducerThread};
use super::registrations::RegistrationLog;
use super::reservoir;
use super::rpc::NodeBackend;
use super::status::Observer;
use super::sync::{self, SyncEnv, SyncSettings, Synchroniser};
use super::sync_progress::{self, SyncProgressLog};
use super::tip_recorder::{TipRecorderThread, RECORD_EVERY};
use super::upstreams::UpstreamSet;
use super::views::StoreChainView;
use crate::config::{ConfigError, Settings};
use crate::error::{NodeError, Result};
use crate::keyfile;
use crate::lock::DataDirLock;
use bitmark_capture::writer::{Capture, CaptureOptions, NodeSnapshot};
use bitmark_peer::announce::backup::FILE_NAME as PEERS_FILE;
use bitmark_peer::announce::{
    self, Action, Announcer, Bootstrap, ConnectorCommand, NodeLookup, Nodes, NotConfigured, Runner, RunnerConfig,
    SystemLookup,
};
use bitmark_peer::bus::Bus;
use bitmark_peer::connector::{Mode, ModeHandle};
use bitmark_peer::listener::{ChainView, Handler, PeerTable};
use bitmark_peer::score::ScoreBoard;
use bitmark_peer::transport::{CurveKeys, ListenerConfig, Service, ZmqListener};
use bitmark_peer::upstream::{Identity, UpstreamConfig, UpstreamEnv};
use bitmark_record::Chain;
use bitmark_reservoir::{Background, ChainHooks};
use bitmark_rpc::http::HttpLimits;
use bitmark_rpc::listener::RpcLimits;
use bitmark_rpc::runtime::WebRuntime;
use bitmark_rpc::{Certificate, Rpc, RpcOptions};
use bitmark_storage::{tip_record_path, BlockStore, StoreOptions};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
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
    web: Option<WebRuntime>,
    status: Option<SocketAddr>,
    rpc: Option<Value>,
    capture: Option<Capture>,
    recorder: TipRecorderThread,
    progress_log: SyncProgressLog,
    /// Held until the node has stopped: no other node may open the data directory meanwhile.
    lock: DataDirLock,
}

/// The sockets of the HTTP and TLS servers, bound before anything starts so that a taken port
/// fails the start at once.
struct WebSockets {
    status: Option<TcpListener>,
    rpc: Vec<TcpListener>,
    https: Vec<TcpListener>,
}

fn bind_all(addrs: &[SocketAddr], what: &str) -> Result<Vec<TcpListener>> {
    addrs.iter().map(|a| TcpListener::bind(a).map_err(|e| NodeError::Io(format!("{what} on {a}: {e}")))).collect()
}

impl WebSockets {
    fn bind(settings: &Settings) -> Result<WebSockets> {
        let status = match settings.status {
            Some(addr) => Some(bind_all(&[addr], "status server")?.remove(0)),
            None => None,
        };
        let rpc = settings.client_rpc.as_ref().map_or(Ok(Vec::new()), |r| bind_all(&r.listen, "client RPC"))?;
        let https = settings.https_rpc.as_ref().map_or(Ok(Vec::new()), |h| bind_all(&h.listen, "HTTPS RPC"))?;
        Ok(WebSockets { status, rpc, https })
    }

    fn any(&self) -> bool {
        self.status.is_some() || !self.rpc.is_empty() || !self.https.is_empty()
    }
}

/// Start the status server, the client RPC and the HTTPS API on one runtime. Returns the
/// runtime, the status address and the `rpc` part of the ready line.
fn start_web(
    settings: &Settings,
    sockets: WebSockets,
    observer: &Arc<Observer>,
) -> Result<(Option<WebRuntime>, Option<SocketAddr>, Option<Value>)> {
    if !sockets.any() {
        return Ok((None, None, None));
    }
    let web = WebRuntime::new().map_err(|e| NodeError::io("web runtime", e))?;
    let status = match sockets.status {
        Some(socket) => Some(
            web.spawn_http(
                socket,
                None,
                status_http::router(routes(Arc::clone(observer))),
                status_http::status_limits(),
            )
            .map_err(|e| NodeError::io("status server", e))?,
        ),
        None => None,
    };
    if settings.client_rpc.is_none() && settings.https_rpc.is_none() {
        return Ok((Some(web), status, None));
    }
    let rpc = Rpc::new(
        Arc::new(NodeBackend::new(Arc::clone(observer))),
        RpcOptions { version: VERSION.to_string(), read_only: settings.read_only, unlimited: settings.rpc_unlimited },
    );
    let certificate_error =
        |e: bitmark_rpc::certificate::CertificateError| NodeError::Io(format!("RPC certificate: {e}"));
    let (mut rpc_report, mut https_report) = (Value::Null, Value::Null);
    if let Some(client) = &settings.client_rpc {
        let (certificate, created) =
            Certificate::load_or_create(&client.certificate, &client.private_key).map_err(certificate_error)?;
        let fingerprint = certificate.fingerprint();
        if created {
            info!(target: TARGET, certificate = %client.certificate.display(), "made a self-signed RPC certificate");
        }
        info!(target: TARGET, fingerprint = %hex::encode(fingerprint), "rpc certificate: SHA3-256 fingerprint");
        let tls = certificate.server_config(&[]).map_err(certificate_error)?;
        let limits = RpcLimits { maximum_connections: client.maximum_connections, ..RpcLimits::default() };
        let mut listening = Vec::new();
        for socket in sockets.rpc {
            let addr = web
                .spawn_rpc(socket, Arc::clone(&tls), Arc::clone(&rpc), limits)
                .map_err(|e| NodeError::io("client RPC", e))?;
            listening.push(addr.to_string());
        }
        if let Err(f) = observer.announcer.set_rpc(fingerprint, &client.announce) {
            warn!(target: TARGET, error = %f, "RPC announcement not set");
        }
        rpc_report = json!({
            "listening": listening,
            "fingerprint": hex::encode(fingerprint),
            "certificate": client.certificate.display().to_string(),
            "certificateCreated": created,
        });
    }
    if let Some(https) = &settings.https_rpc {
        let (certificate, _) =
            Certificate::load_or_create(&https.certificate, &https.private_key).map_err(certificate_error)?;
        let tls = certificate.server_config(&[b"http/1.1"]).map_err(certificate_error)?;
        let api =
            bitmark_rpc::https::Https::new(Arc::clone(&rpc), https.allow.clone(), https.maximum_connections as u64);
        let limits = HttpLimits {
            maximum_connections: https.maximum_connections,
            head_timeout: std::time::Duration::from_secs(10),
            ..HttpLimits::default()
        };
        let mut listening = Vec::new();
        for socket in sockets.https {
            let addr = web
                .spawn_http(socket, Some(Arc::clone(&tls)), api.router(), limits)
                .map_err(|e| NodeError::io("HTTPS RPC", e))?;
            listening.push(addr.to_string());
        }
        https_report = json!({"listening": listening, "fingerprint": hex::encode(certificate.fingerprint())});
    }
    Ok((Some(web), status, Some(json!({"rpc": rpc_report, "https": https_report}))))
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
        // The HTTP and TLS ports first: a taken port fails the start before any thread runs.
        let sockets = WebSockets::bind(settings)?;
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| NodeError::io(settings.data_dir.display(), e))?;
        let lock = DataDirLock::exclusive(&settings.data_dir)?;
        let (keys, keys_created) =
            keyfile::load_or_create(&settings.keys.public, &settings.keys.private, keyfile::create_pair)?;
        if keys_created {
            info!(target: TARGET, public = %settings.keys.public.describe(), "made a new key pair");
        }
        warn_if_exposed(settings.keys.private.file());

        let store_options = StoreOptions {
            tip_record: Some(tip_record_path(&settings.data_dir, settings.chain)),
            ..StoreOptions::default()
        };
        let store = Arc::new(datadir::open_store(&settings.data_dir, settings.chain, store_options)?);
        let tip = store.tip();
        info!(target: TARGET, chain = %settings.chain, height = tip.height, digest = %tip.digest.raw_hex(),
              data = %settings.data_dir.display(), "opened the chain");
        if let Some(lowered) = store.lowered() {
            let next = if settings.standalone {
                "this node is standalone and will not sync them: restore the database from a backup, or run it with peers"
            } else {
                "the node will sync them again from its peers"
            };
            error!(target: TARGET, height = lowered.height, recorded = lowered.recorded.height, lost = lowered.lost(),
                   "{}; {next}", lowered.describe());
        }
        let recorder = TipRecorderThread::spawn(Arc::clone(&store), RECORD_EVERY)
            .map_err(|e| NodeError::io("tip recorder thread", e))?;
        let (hooks, _) = reservoir::open_capped(&settings.data_dir, &store, settings.reservoir_cache_bytes)?;
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
            Some(interval) => {
                let path = settings.data_dir.join(producer::KEY_FILE);
                let key = producer::load_or_create_key(&path, settings.chain)?;
                warn_if_exposed(Some(&path));
                Some((interval, key))
            }
            None => None,
        };
        // A standalone node is in normal mode from the start: its listener (and a capture
        // header) never see it resynchronising.
        let mode = ModeHandle::starting_in(if settings.standalone { Mode::Normal } else { Mode::Resynchronise });
        let metrics = Arc::new(Metrics::new());
        let view: Arc<dyn ChainView> = Arc::new(StoreChainView::new(Arc::clone(&store), mode.clone()));
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
        let background = reservoir::start_background(&hooks, &bus);
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
        let service: Arc<dyn Service> =
            Arc::new(CountingService::new(Arc::new(RegistrationLog::new(Arc::new(handler))), Arc::clone(&metrics)));
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
                mode: mode.clone(),
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
                    bitmarkd_shape: settings.bitmarkd_shape,
                },
            },
            settings.standalone,
        )?);

        // A bar only where it is seen and does not tear the log: stderr a terminal, the log in a file.
        let bar = settings.logging.file.is_some() && crate::progress::visible();
        let progress_log = SyncProgressLog::spawn(Arc::clone(&sync), sync_progress::LOG_EVERY, bar)
            .map_err(|e| NodeError::io("sync progress thread", e))?;
        let (producer, producer_account) = match producer_key {
            Some((interval, (key, created))) => {
                let producer = Producer::new(hooks.clone(), key, bus.clone(), Arc::clone(&metrics))?;
                let account = producer.owner().to_base58();
                if created {
                    info!(target: TARGET, account, "made a new producer key");
                }
                (Some(ProducerThread::spawn(producer, interval, mode.clone())?), Some(account))
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
        let (web, status, rpc) = start_web(settings, sockets, &observer)?;
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
            web,
            status,
            rpc,
            capture,
            recorder,
            progress_log,
            lock,
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
            "status": self.status.map(|s| s.to_string()),
            "rpc": self.rpc.as_ref().map_or(Value::Null, |r| r["rpc"].clone()),
            "https": self.rpc.as_ref().map_or(Value::Null, |r| r["https"].clone()),
            "reservoir": {"pending": snapshot.reservoir.pending, "verified": snapshot.reservoir.verified},
            "producer": self.producer_account,
            "dataDir": self.data_dir.display().to_string(),
            "capture": self.capture.as_ref().map(|c| c.path().display().to_string()),
            "lowered": snapshot.lowered_json(),
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
            web,
            capture,
            recorder,
            progress_log,
            lock,
            ..
        } = self;
        info!(target: TARGET, "shutting down");
        if let Some(web) = web {
            web.stop(std::time::Duration::from_millis(500));
        }
        if let Some(producer) = producer {
            producer.stop();
        }
        sync.stop();
        progress_log.stop();
        // The web servers held the observer, and the observer the listener: with both gone
        // the listener is ours alone.
        drop(observer);
        match Arc::try_unwrap(listener) {
            Ok(listener) => listener.shutdown(),
            Err(_) => warn!(target: TARGET, "listener still shared; it stops when released"),
        }
        drop(background);
        let databases = datadir::Databases::of(&hooks);
        // Every accepted item was flushed when it was accepted; this catches what the
        // background jobs changed since.
        let reservoir_flushed = match hooks.reservoir().flush() {
            Ok(()) => true,
            Err(e) => {
                error!(target: TARGET, error = %databases.reservoir(e), "flushing the reservoir failed");
                false
            }
        };
        drop(hooks);
        runner.stop(); // writes peers.json
        recorder.stop();
        let flushed = match store.db().flush() {
            Ok(()) => reservoir_flushed,
            Err(e) => {
                error!(target: TARGET, error = %databases.chain(e), "flushing the block store failed");
                false
            }
        };
        if flushed {
            if let Err(e) = store.record_tip() {
                warn!(target: TARGET, error = %e, "cannot write the durable-tip record");
            }
        }
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
        drop(lock);
        ShutdownReport { flushed, stragglers }
    }
}

/// Warn when a private key file can be read by others than its owner.
fn warn_if_exposed(path: Option<&std::path::Path>) {
    if let Some(warning) = path.and_then(keyfile::exposure_warning) {
        warn!(target: TARGET, "{warning}");
    }
}

/// Start recording to `path` (`--capture`): each file's header says what the node was when the
/// file began (chain, key, height and tip, mode).
fn start_capture(
    settings: &Settings,
    path: &std::path::Path,
    store: &Arc<BlockStore>,
    mode: &ModeHandle,
    node_key: [u8; 32],
) -> Result<Capture> {
    let options = CaptureOptions {
        max_bytes: settings.capture_max_bytes,
        keep: settings.capture_keep,
        ..CaptureOptions::new(path.to_path_buf(), VERSION)
    };
    let (store, mode, chain) = (Arc::clone(store), mode.clone(), settings.chain);
    let snapshot = move || {
        let tip = store.tip();
        NodeSnapshot { chain, node_key, height: tip.height, digest: tip.digest.raw_hex(), normal: mode.is_normal() }
    };
    Ok(Capture::start(options, Box::new(snapshot))?)
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
