//! What the node measures, exposed at `/metrics` in the OpenMetrics text format through the
//! `prometheus-client` crate, named as Prometheus expects: `_total` only on counters, no rates
//! computed here (`rate(bitmark_blocks_applied_total[1m])` is the sync speed), the standard
//! `process_*` metrics ([`super::process_metrics`]) and a `bitmark_build_info`.
//!
//! Counters live as long as the node and are bumped where things happen: blocks stored
//! ([`Metrics::block_applied`]), refused, produced and rolled back, requests answered by
//! command ([`CountingService`], which wraps the listener's handler because the listener
//! counts nothing per command), and errors by where and kind ([`Metrics::error`]). Gauges
//! (height, peers, connections...) and the counters other parts keep (the bus, the
//! connector's stalls) are read from a [`super::status::Snapshot`] when `/metrics` is asked.
//! `docs/operations.md` lists every metric; `docs/grafana-dashboard.json` charts them.
//!
//! Requests the listener refuses before they reach the handler (unparsable frames, another
//! chain) are answered on its socket thread and are not counted here.

use super::process_metrics;
use super::status::Snapshot;
use bitmark_common::lock;
use bitmark_peer::transport::{PeerInfo, Service};
use bitmark_peer::wire::{command, function, Reply, Request};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of a metric sample, in order.
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Request kinds counted, by the function or command frame; anything else is `other`.
const COMMANDS: [&[u8]; 12] = [
    function::INFO,
    function::HEIGHT,
    function::BLOCK,
    function::DIGEST,
    function::REGISTER,
    command::BLOCK,
    command::ASSETS,
    command::ISSUES,
    command::TRANSFER,
    command::PROOF,
    command::RPC,
    command::PEER,
];

/// Distinct error kinds remembered. Kinds are fault texts, a closed set, so this is never
/// reached in practice; it bounds memory if a text ever carries data. Beyond it errors are
/// counted under `other`.
const MAX_ERROR_KINDS: usize = 128;

/// Where an error was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ErrorSource {
    /// An `["E"][text]` reply the handler sent to a peer.
    Reply,
    /// A pushed block or transaction that was refused.
    Push,
    /// The node's own machinery (a failed backup, a store failure).
    Node,
}

impl ErrorSource {
    fn label(self) -> &'static str {
        match self {
            ErrorSource::Reply => "reply",
            ErrorSource::Push => "push",
            ErrorSource::Node => "node",
        }
    }
}

/// The node's counters. Shared in an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    blocks_applied: Counter,
    blocks_refused: Counter,
    blocks_produced: Counter,
    blocks_rolled_back: Counter,
    requests: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    error_kinds: Mutex<BTreeSet<(ErrorSource, String)>>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let (blocks_applied, blocks_refused, blocks_produced, blocks_rolled_back) =
            (Counter::default(), Counter::default(), Counter::default(), Counter::default());
        let requests = Family::<Labels, Counter>::default();
        let errors = Family::<Labels, Counter>::default();
        registry.register("bitmark_blocks_applied", "Blocks stored since start", blocks_applied.clone());
        registry.register("bitmark_blocks_refused", "Pushed blocks refused since start", blocks_refused.clone());
        registry.register(
            "bitmark_blocks_produced",
            "Blocks made by the local block producer since start",
            blocks_produced.clone(),
        );
        registry.register(
            "bitmark_blocks_rolled_back",
            "Blocks the connector rolled back to follow a better chain",
            blocks_rolled_back.clone(),
        );
        // Every command from the start, at 0: a series that appears only later breaks `rate()`.
        for name in COMMANDS.iter().map(|c| String::from_utf8_lossy(c).into_owned()).chain(["other".into()]) {
            requests.get_or_create(&labels(&[("command", &name)])).inc_by(0);
        }
        registry.register("bitmark_peer_requests", "Peer requests handled, by command", requests.clone());
        registry.register("bitmark_errors", "Errors by where they were seen and kind", errors.clone());
        Metrics {
            registry,
            blocks_applied,
            blocks_refused,
            blocks_produced,
            blocks_rolled_back,
            requests,
            errors,
            error_kinds: Mutex::new(BTreeSet::new()),
        }
    }

    /// A block was stored (pushed, or fetched by the connector).
    pub fn block_applied(&self) {
        self.blocks_applied.inc();
    }

    /// A pushed block was refused.
    pub fn block_refused(&self) {
        self.blocks_refused.inc();
    }

    /// The local block producer stored a block (counted in [`Self::block_applied`] too).
    pub fn block_produced(&self) {
        self.blocks_produced.inc();
    }

    /// The connector rolled a block back to follow a better chain.
    pub fn block_rolled_back(&self) {
        self.blocks_rolled_back.inc();
    }

    /// Blocks rolled back since start.
    pub fn blocks_rolled_back(&self) -> u64 {
        self.blocks_rolled_back.get()
    }

    /// Blocks produced since start.
    pub fn blocks_produced(&self) -> u64 {
        self.blocks_produced.get()
    }

    /// Blocks stored since start.
    pub fn blocks_applied(&self) -> u64 {
        self.blocks_applied.get()
    }

    /// A request with function or command `name` arrived.
    pub fn request(&self, name: &[u8]) {
        let known = COMMANDS.iter().find(|c| **c == name).map(|c| String::from_utf8_lossy(c).into_owned());
        let name = known.unwrap_or_else(|| "other".to_string());
        self.requests.get_or_create(&labels(&[("command", &name)])).inc();
    }

    /// Requests by command, `other` last.
    pub fn requests(&self) -> Vec<(String, u64)> {
        let names = COMMANDS.iter().map(|c| String::from_utf8_lossy(c).into_owned()).chain(["other".to_string()]);
        names
            .map(|name| {
                let n = self.requests.get_or_create(&labels(&[("command", &name)])).get();
                (name, n)
            })
            .collect()
    }

    /// An error of `kind` (a fault text, possibly behind `command: `) seen at `source`.
    pub fn error(&self, source: ErrorSource, kind: &str) {
        let kind = {
            let mut kinds = lock(&self.error_kinds);
            let key = (source, kind.to_string());
            if kinds.contains(&key) || kinds.len() < MAX_ERROR_KINDS {
                kinds.insert(key);
                kind.to_string()
            } else {
                kinds.insert((source, "other".into()));
                "other".to_string()
            }
        };
        self.errors.get_or_create(&labels(&[("source", source.label()), ("kind", &kind)])).inc();
    }

    /// Errors by source and kind.
    pub fn errors(&self) -> Vec<(ErrorSource, String, u64)> {
        let kinds = lock(&self.error_kinds).clone();
        kinds
            .into_iter()
            .map(|(source, kind)| {
                let n = self.errors.get_or_create(&labels(&[("source", source.label()), ("kind", &kind)])).get();
                (source, kind, n)
            })
            .collect()
    }

    /// The OpenMetrics text ([`CONTENT_TYPE`]) of the counters and of `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = String::new();
        let scrape = scrape_registry(snapshot);
        // Writing to a String cannot fail.
        let _ = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &scrape))
            .and_then(|()| encode_registry(&mut out, &process_metrics::registry(snapshot.uptime)))
            .and_then(|()| encode_eof(&mut out));
        out
    }
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    registry.register(name, help, ConstGauge::new(value));
}

fn gauge_family(registry: &mut Registry, name: &str, help: &str, label: &str, values: &[(&str, i64)]) {
    let family = Family::<Labels, Gauge>::default();
    for (value_label, value) in values {
        family.get_or_create(&labels(&[(label, value_label)])).set(*value);
    }
    registry.register(name, help, family);
}

fn to_i64(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// The metrics read from the node at this scrape.
fn scrape_registry(snapshot: &Snapshot) -> Registry {
    let mut r = Registry::default();
    let build = labels(&[("version", env!("CARGO_PKG_VERSION")), ("chain", snapshot.chain.name())]);
    r.register("bitmark_build", "The running build and chain", Info::new(build));
    gauge(&mut r, "bitmark_chain_height", "Height of the local chain", to_i64(snapshot.height));
    gauge(&mut r, "bitmark_mode_normal", "1 in normal mode, 0 while resynchronising", i64::from(snapshot.normal));
    let lost = snapshot.lowered.as_ref().map_or(0, |l| to_i64(l.lost()));
    gauge(
        &mut r,
        "bitmark_chain_lost_blocks",
        "Blocks the chain database lost before this start (it came back lower than recorded)",
        lost,
    );
    let target = snapshot.sync.target_height.unwrap_or(0);
    gauge(
        &mut r,
        "bitmark_sync_target_height",
        "Highest height reported by a registered upstream (0 if none)",
        to_i64(target),
    );
    let progress = snapshot.connector.clone().unwrap_or_default();
    gauge(
        &mut r,
        "bitmark_sync_elected_height",
        "Height the connector last elected to sync to (0 before any election)",
        to_i64(progress.target),
    );
    gauge(
        &mut r,
        "bitmark_sync_blocks_done",
        "Blocks stored in the connector's current catch-up",
        to_i64(progress.done),
    );
    gauge(
        &mut r,
        "bitmark_sync_blocks_needed",
        "Blocks the connector's current catch-up needs in all",
        to_i64(progress.total),
    );
    r.register(
        "bitmark_sync_stalls",
        "Times the connector's watchdog found sync stalled",
        ConstCounter::new(progress.stalls),
    );
    gauge(
        &mut r,
        "bitmark_incoming_connections",
        "Peer connections open to our listener",
        to_i64(snapshot.incoming_connections),
    );
    let registered = snapshot.upstreams.iter().filter(|u| u.is_registered()).count();
    gauge_family(
        &mut r,
        "bitmark_upstreams",
        "Outbound peer clients, by state",
        "state",
        &[("registered", to_i64(registered)), ("unregistered", to_i64(snapshot.upstreams.len() - registered))],
    );
    gauge(&mut r, "bitmark_peers_known", "Entries of the peer table, ourselves included", to_i64(snapshot.peers_known));
    gauge_family(
        &mut r,
        "bitmark_reservoir_items",
        "Unconfirmed items held, by state",
        "state",
        &[("pending", to_i64(snapshot.reservoir.pending)), ("verified", to_i64(snapshot.reservoir.verified))],
    );
    r.register(
        "bitmark_broadcast_items",
        "Items sent on the broadcast bus (duplicates included)",
        ConstCounter::new(snapshot.broadcast_sent),
    );
    r
}

/// The listener's service wrapped to count requests by command and error replies by text.
pub struct CountingService {
    inner: Arc<dyn Service>,
    metrics: Arc<Metrics>,
}

impl CountingService {
    /// Count what `inner` handles in `metrics`.
    pub fn new(inner: Arc<dyn Service>, metrics: Arc<Metrics>) -> CountingService {
        CountingService { inner, metrics }
    }
}

impl Service for CountingService {
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply {
        self.metrics.request(request.function());
        let reply = self.inner.handle(peer, request);
        if let Reply::Error(text) = &reply {
            self.metrics.error(ErrorSource::Reply, text);
        }
        reply
    }
    fn answers_at_once(&self, request: &Request) -> bool {
        self.inner.answers_at_once(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn counts_requests_and_bounds_error_kinds() {
        let metrics = Metrics::new();
        metrics.request(b"N");
        metrics.request(b"N");
        metrics.request(b"block");
        metrics.request(b"nonsense");
        let requests: BTreeMap<String, u64> = metrics.requests().into_iter().collect();
        assert_eq!((requests["N"], requests["block"], requests["other"], requests["I"]), (2, 1, 1, 0));
        for i in 0..MAX_ERROR_KINDS + 10 {
            metrics.error(ErrorSource::Reply, &format!("kind {i}"));
        }
        metrics.error(ErrorSource::Reply, "kind 0");
        let errors = metrics.errors();
        assert_eq!(errors.len(), MAX_ERROR_KINDS + 1);
        assert!(errors.contains(&(ErrorSource::Reply, "other".into(), 10)));
        assert!(errors.contains(&(ErrorSource::Reply, "kind 0".into(), 2)));
    }
}
