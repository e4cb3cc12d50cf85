//! Counters of what the node did, and their Prometheus text exposition.
//!
//! Counters are atomics bumped where things happen: blocks stored ([`Metrics::block_applied`])
//! and produced ([`Metrics::block_produced`]), requests answered by command
//! ([`CountingService`], which wraps the listener's handler because the listener counts nothing
//! per command), and errors by kind ([`Metrics::error`]). Gauges (height, peers, connections...) are read from the node when
//! `/metrics` is asked ([`super::status::Snapshot`]).
//!
//! Requests the listener refuses before they reach the handler (unparsable frames, another
//! chain) are answered on its socket thread and are not counted here.

use super::status::Snapshot;
use bitmark_peer::transport::{PeerInfo, Service};
use bitmark_peer::wire::{command, function, Reply, Request};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
#[derive(Debug, Default)]
pub struct Metrics {
    blocks_applied: AtomicU64,
    blocks_refused: AtomicU64,
    blocks_produced: AtomicU64,
    blocks_rolled_back: AtomicU64,
    requests: [AtomicU64; COMMANDS.len() + 1],
    errors: Mutex<BTreeMap<(ErrorSource, String), u64>>,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A block was stored (pushed, or fetched by the connector).
    pub fn block_applied(&self) {
        self.blocks_applied.fetch_add(1, Ordering::Relaxed);
    }

    /// A pushed block was refused.
    pub fn block_refused(&self) {
        self.blocks_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// The local block producer stored a block (counted in [`Self::block_applied`] too).
    pub fn block_produced(&self) {
        self.blocks_produced.fetch_add(1, Ordering::Relaxed);
    }

    /// The connector rolled a block back to follow a better chain.
    pub fn block_rolled_back(&self) {
        self.blocks_rolled_back.fetch_add(1, Ordering::Relaxed);
    }

    /// Blocks rolled back since start.
    pub fn blocks_rolled_back(&self) -> u64 {
        self.blocks_rolled_back.load(Ordering::Relaxed)
    }

    /// Blocks produced since start.
    pub fn blocks_produced(&self) -> u64 {
        self.blocks_produced.load(Ordering::Relaxed)
    }

    /// Blocks stored since start.
    pub fn blocks_applied(&self) -> u64 {
        self.blocks_applied.load(Ordering::Relaxed)
    }

    /// A request with function or command `name` arrived.
    pub fn request(&self, name: &[u8]) {
        let index = COMMANDS.iter().position(|c| *c == name).unwrap_or(COMMANDS.len());
        if let Some(counter) = self.requests.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests by command, `other` last.
    pub fn requests(&self) -> Vec<(String, u64)> {
        let names = COMMANDS.iter().map(|c| String::from_utf8_lossy(c).into_owned()).chain(["other".to_string()]);
        names.zip(self.requests.iter().map(|c| c.load(Ordering::Relaxed))).collect()
    }

    /// An error of `kind` (a fault text, possibly behind `command: `) seen at `source`.
    pub fn error(&self, source: ErrorSource, kind: &str) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        let key = (source, kind.to_string());
        let key =
            if errors.contains_key(&key) || errors.len() < MAX_ERROR_KINDS { key } else { (source, "other".into()) };
        *errors.entry(key).or_default() += 1;
    }

    /// Errors by source and kind.
    pub fn errors(&self) -> Vec<(ErrorSource, String, u64)> {
        let errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        errors.iter().map(|((source, kind), n)| (*source, kind.clone(), *n)).collect()
    }

    /// The Prometheus text exposition (format 0.0.4) of the counters and of `snapshot`.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = Exposition::default();
        out.metric("bitmark_chain_height", "gauge", "Height of the local chain.", &[(vec![], snapshot.height as f64)]);
        out.metric(
            "bitmark_mode_normal",
            "gauge",
            "1 in normal mode, 0 while resynchronising.",
            &[(vec![], f64::from(u8::from(snapshot.normal)))],
        );
        out.metric(
            "bitmark_sync_target_height",
            "gauge",
            "Highest height reported by a registered upstream (0 if none).",
            &[(vec![], snapshot.sync.target_height.unwrap_or(0) as f64)],
        );
        let progress = snapshot.connector.clone().unwrap_or_default();
        out.metric(
            "bitmark_sync_elected_height",
            "gauge",
            "Height the connector last elected to sync to (0 before any election).",
            &[(vec![], progress.target as f64)],
        );
        out.metric(
            "bitmark_sync_blocks_done",
            "gauge",
            "Blocks stored in the connector's current catch-up.",
            &[(vec![], progress.done as f64)],
        );
        out.metric(
            "bitmark_sync_blocks_total",
            "gauge",
            "Blocks the connector's current catch-up needs in all.",
            &[(vec![], progress.total as f64)],
        );
        out.metric(
            "bitmark_sync_blocks_per_second",
            "gauge",
            "Rate of the connector's current catch-up.",
            &[(vec![], progress.rate)],
        );
        out.metric(
            "bitmark_sync_stalls_total",
            "counter",
            "Times the connector's watchdog found sync stalled.",
            &[(vec![], progress.stalls as f64)],
        );
        out.metric(
            "bitmark_blocks_rolled_back_total",
            "counter",
            "Blocks the connector rolled back to follow a better chain.",
            &[(vec![], self.blocks_rolled_back() as f64)],
        );
        out.metric(
            "bitmark_blocks_applied_total",
            "counter",
            "Blocks stored since start.",
            &[(vec![], self.blocks_applied() as f64)],
        );
        out.metric(
            "bitmark_blocks_refused_total",
            "counter",
            "Pushed blocks refused since start.",
            &[(vec![], self.blocks_refused.load(Ordering::Relaxed) as f64)],
        );
        out.metric(
            "bitmark_blocks_produced_total",
            "counter",
            "Blocks made by the local block producer since start.",
            &[(vec![], self.blocks_produced() as f64)],
        );
        let requests: Vec<_> =
            self.requests().into_iter().map(|(name, n)| (vec![("command", name)], n as f64)).collect();
        out.metric("bitmark_peer_requests_total", "counter", "Peer requests handled, by command.", &requests);
        let errors: Vec<_> = self
            .errors()
            .into_iter()
            .map(|(source, kind, n)| (vec![("source", source.label().to_string()), ("kind", kind)], n as f64))
            .collect();
        out.metric("bitmark_errors_total", "counter", "Errors by where they were seen and kind.", &errors);
        out.metric(
            "bitmark_incoming_connections",
            "gauge",
            "Peer connections open to our listener.",
            &[(vec![], snapshot.incoming_connections as f64)],
        );
        let registered = snapshot.upstreams.iter().filter(|u| u.is_registered()).count();
        out.metric(
            "bitmark_upstreams",
            "gauge",
            "Outbound peer clients, by state.",
            &[
                (vec![("state", "registered".to_string())], registered as f64),
                (vec![("state", "unregistered".to_string())], (snapshot.upstreams.len() - registered) as f64),
            ],
        );
        out.metric(
            "bitmark_peers_known",
            "gauge",
            "Entries of the peer table, ourselves included.",
            &[(vec![], snapshot.peers_known as f64)],
        );
        out.metric(
            "bitmark_reservoir_items",
            "gauge",
            "Unconfirmed items held, by state.",
            &[
                (vec![("state", "pending".to_string())], snapshot.reservoir.pending as f64),
                (vec![("state", "verified".to_string())], snapshot.reservoir.verified as f64),
            ],
        );
        out.metric(
            "bitmark_broadcast_items_total",
            "counter",
            "Items sent on the broadcast bus (duplicates included).",
            &[(vec![], snapshot.broadcast_sent as f64)],
        );
        out.metric(
            "bitmark_uptime_seconds",
            "gauge",
            "Seconds since the node started.",
            &[(vec![], snapshot.uptime.as_secs_f64())],
        );
        out.text
    }
}

/// A sample: its labels and value.
type Sample<'a> = (Vec<(&'a str, String)>, f64);

/// Builds the text format.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn metric(&mut self, name: &str, kind: &str, help: &str, samples: &[Sample<'_>]) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
            let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
            let _ = writeln!(self.text, "{name}{labels} {value}");
        }
    }
}

/// A label value escaped as the text format requires (backslash, double quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
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
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn exposition_format() {
        let mut out = Exposition::default();
        out.metric("m", "counter", "Help.", &[(vec![("kind", "a \"b\"\n".into())], 2.0), (vec![], 1.5)]);
        assert_eq!(out.text, "# HELP m Help.\n# TYPE m counter\nm{kind=\"a \\\"b\\\"\\n\"} 2\nm 1.5\n");
    }
}
