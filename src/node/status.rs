//! What the node reports about itself: a [`Snapshot`] taken from the running parts
//! ([`Observer`]), rendered as the `/status` JSON here and as metrics in
//! [`super::metrics::Metrics::render`]; and the state of one transaction
//! ([`Observer::transaction`], `GET /transaction/<tx id>`).

use super::metrics::Metrics;
use super::sync::Synchroniser;
use super::upstreams::UpstreamSet;
use bitmark_peer::announce::Announcer;
use bitmark_peer::bus::Bus;
use bitmark_peer::connector::ModeHandle;
use bitmark_peer::connector::Progress;
use bitmark_peer::transport::ZmqListener;
use bitmark_peer::upstream::{LinkState, UpstreamStatus};
use bitmark_record::{BlockDigest, Chain, Link};
use bitmark_reservoir::{Reservoir, TransactionState};
use bitmark_storage::{BlockStore, Lowered};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Unconfirmed items held, as bitmarkd counts them (`reservoir.ReadCounters`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReservoirCounts {
    /// Items waiting for a payment or proof.
    pub pending: u64,
    /// Items paid for, waiting for a block.
    pub verified: u64,
}

impl ReservoirCounts {
    /// The counts of `reservoir` now (`counters()`, bitmarkd's `ReadCounters`).
    pub fn of(reservoir: &Reservoir) -> ReservoirCounts {
        let (pending, verified) = reservoir.counters();
        ReservoirCounts { pending: pending as u64, verified: verified as u64 }
    }
}

/// How far the node is from its peers' chain.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SyncProgress {
    /// The highest height a registered upstream reports.
    pub target_height: Option<u64>,
    /// Our height as a percentage of the target (100 when at or above it).
    pub percent: Option<f64>,
}

impl SyncProgress {
    /// Progress of `height` towards the highest remote height of the registered `upstreams`.
    pub fn of(height: u64, upstreams: &[UpstreamStatus]) -> SyncProgress {
        let target_height = upstreams.iter().filter(|u| u.is_registered()).filter_map(|u| u.remote_height).max();
        let percent =
            target_height.map(|t| if t <= height { 100.0 } else { (height as f64 * 100.0 / t as f64).min(100.0) });
        SyncProgress { target_height, percent }
    }
}

/// The node at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The chain.
    pub chain: Chain,
    /// Height of the last stored block.
    pub height: u64,
    /// Its digest.
    pub digest: BlockDigest,
    /// Normal mode (else resynchronising).
    pub normal: bool,
    /// The connector's state.
    pub state: String,
    /// Sync progress, from the upstreams' heights.
    pub sync: SyncProgress,
    /// The connector's own progress (none when standalone).
    pub connector: Option<Progress>,
    /// Our public key.
    pub public_key: [u8; 32],
    /// The addresses the listener bound.
    pub listening: Vec<SocketAddr>,
    /// Incoming peer connections open.
    pub incoming_connections: u64,
    /// Each upstream's status.
    pub upstreams: Vec<UpstreamStatus>,
    /// Entries of the peer table, ourselves included.
    pub peers_known: usize,
    /// Reservoir counts.
    pub reservoir: ReservoirCounts,
    /// Items sent on the broadcast bus.
    pub broadcast_sent: u64,
    /// Time since start.
    pub uptime: Duration,
    /// The chain database came back lower at start than the durable-tip record said.
    pub lowered: Option<Lowered>,
}

fn link_state(state: &LinkState) -> &'static str {
    match state {
        LinkState::Idle => "idle",
        LinkState::Connecting { .. } => "connecting",
        LinkState::Registered { .. } => "registered",
        LinkState::Banned { .. } => "banned",
        LinkState::Closed => "closed",
    }
}

impl Snapshot {
    /// The lowered database as JSON: `{"height","recordedHeight","lost","recordedAt"}`, or null.
    pub fn lowered_json(&self) -> Value {
        self.lowered.as_ref().map_or(Value::Null, |l| {
            json!({"height": l.height, "recordedHeight": l.recorded.height, "lost": l.lost(), "recordedAt": l.recorded.recorded})
        })
    }

    /// The `/status` document.
    pub fn to_json(&self) -> Value {
        let now = Instant::now();
        let upstreams: Vec<Value> = self
            .upstreams
            .iter()
            .map(|u| {
                json!({
                    "name": u.name,
                    "address": u.target.map(|t| t.address.to_string()),
                    "key": u.target.map(|t| hex::encode(t.public_key)),
                    "state": link_state(&u.state),
                    "registered": u.is_registered(),
                    "remoteHeight": u.remote_height,
                    "lastResponseSecondsAgo": u.last_response.map(|at| now.saturating_duration_since(at).as_secs()),
                    "lastError": u.last_error,
                    "lastErrorSecondsAgo": u.last_error_at.map(|at| now.saturating_duration_since(at).as_secs()),
                    "score": u.score,
                })
            })
            .collect();
        json!({
            "chain": self.chain.name(),
            "height": self.height,
            "digest": self.digest.raw_hex(),
            "mode": if self.normal { "normal" } else { "resynchronise" },
            "state": self.state,
            "sync": {
                "localHeight": self.height,
                "targetHeight": self.sync.target_height,
                "percent": self.sync.percent,
                "elected": self.connector.as_ref().map(|p| p.target),
                "done": self.connector.as_ref().map(|p| p.done),
                "total": self.connector.as_ref().map(|p| p.total),
                "blocksPerSecond": self.connector.as_ref().map(|p| p.rate),
                "etaSeconds": self.connector.as_ref().and_then(super::sync_progress::eta).map(|d| d.as_secs()),
                "clients": self.connector.as_ref().map(|p| p.clients),
                "stalls": self.connector.as_ref().map(|p| p.stalls),
            },
            "publicKey": hex::encode(self.public_key),
            "listening": self.listening.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "incomingConnections": self.incoming_connections,
            "upstreams": upstreams,
            "peers": self.peers_known,
            "reservoir": {"pending": self.reservoir.pending, "verified": self.reservoir.verified},
            "storage": {"lowered": self.lowered_json()},
            "uptimeSeconds": self.uptime.as_secs(),
        })
    }
}

/// The running parts a snapshot is read from.
pub struct Observer {
    /// The chain.
    pub store: Arc<BlockStore>,
    /// The reservoir.
    pub reservoir: Arc<Reservoir>,
    /// The mode flag.
    pub mode: ModeHandle,
    /// The listener.
    pub listener: Arc<ZmqListener>,
    /// The upstreams.
    pub upstreams: Arc<UpstreamSet>,
    /// The announcer.
    pub announcer: Arc<Announcer>,
    /// The synchroniser.
    pub sync: Arc<dyn Synchroniser>,
    /// The broadcast bus.
    pub bus: Bus,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Our public key.
    pub public_key: [u8; 32],
    /// When the node started.
    pub started: Instant,
}

impl Observer {
    /// The node now.
    pub fn snapshot(&self) -> Snapshot {
        let tip = self.store.tip();
        let upstreams = self.upstreams.statuses();
        Snapshot {
            chain: self.store.chain(),
            height: tip.height,
            digest: tip.digest,
            normal: self.mode.is_normal(),
            state: self.sync.state(),
            sync: SyncProgress::of(tip.height, &upstreams),
            connector: self.sync.progress(),
            public_key: self.public_key,
            listening: self.listener.local_addrs().to_vec(),
            incoming_connections: self.listener.incoming_connections(),
            upstreams,
            peers_known: self.announcer.peer_count(),
            reservoir: ReservoirCounts::of(&self.reservoir),
            broadcast_sent: self.bus.stats().sent,
            uptime: self.started.elapsed(),
            lowered: self.store.lowered().cloned(),
        }
    }
}

impl Observer {
    /// `GET /transaction/<tx id>`: `{"txId","status"}` with bitmarkd's `Transaction.Status`
    /// texts — `Pending` or `Verified` (held by the reservoir), `Confirmed` (in a stored block,
    /// whose number is added as `blockNumber`) or `Unknown` — for a tx id in its JSON form (64
    /// hex digits, as `decode tx` prints it).
    ///
    /// A push is acknowledged on the wire before it is processed, so this is how a client
    /// learns that the node holds what it pushed. The answer is a promise: the reservoir is
    /// flushed before a held item is reported, so an item reported `Pending` or `Verified`
    /// survives a crash of the node (after a restart it is still held, or confirmed by a
    /// block synced meanwhile). Errors: 400 for a malformed id, 500 if the reservoir or the
    /// chain cannot be read or flushed.
    pub fn transaction(&self, tx_id: &str) -> Result<Value, u16> {
        let link = Link::from_raw_hex(tx_id).map_err(|_| 400u16)?;
        let state = self.reservoir.transaction_status(&link).map_err(|_| 500u16)?;
        if matches!(state, TransactionState::Pending | TransactionState::Verified) {
            // The item is written to sled before it becomes visible; make it durable too.
            self.reservoir.flush().map_err(|_| 500u16)?;
        }
        let mut answer = json!({"txId": link.raw_hex(), "status": state.as_str()});
        if state == TransactionState::Confirmed {
            use bitmark_storage::PoolRead;
            let confirmed = self.store.pools().transaction(&link).map_err(|_| 500u16)?;
            answer["blockNumber"] = json!(confirmed.map(|nb| nb.block_number));
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(state: LinkState, remote_height: Option<u64>) -> UpstreamStatus {
        UpstreamStatus {
            name: "upstream@t".into(),
            target: None,
            state,
            remote_height,
            local_height: None,
            remote_digest_of_local_height: None,
            last_response: None,
            score: 0.0,
            last_error: None,
            last_error_at: None,
        }
    }

    #[test]
    fn progress_follows_the_highest_registered_upstream() {
        assert_eq!(SyncProgress::of(5, &[]), SyncProgress::default());
        let registered = LinkState::Registered { next_poll: Instant::now() };
        let upstreams = [
            upstream(registered, Some(20)),
            upstream(registered, None),
            // Not registered: its height is stale and does not count.
            upstream(LinkState::Connecting { failures: 1, next_attempt: Instant::now() }, Some(99)),
        ];
        assert_eq!(SyncProgress::of(5, &upstreams), SyncProgress { target_height: Some(20), percent: Some(25.0) });
        assert_eq!(SyncProgress::of(30, &upstreams).percent, Some(100.0));
    }
}
