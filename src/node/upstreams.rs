//! The node's upstreams: one [`Upstream`] per outbound peer (its own thread and CURVE REQ
//! socket), each attached to the broadcast bus (the bus fans items into the upstream's bounded
//! push queue, which takes them only while registered, as bitmarkd's does), and their status
//! for `/status`.

use bitmark_common::lock;
use bitmark_peer::bus::Bus;
use bitmark_peer::capture::Tap;
use bitmark_peer::clock::Clock;
use bitmark_peer::score::ScoreBoard;
use bitmark_peer::transport::CurveKeys;
use bitmark_peer::upstream::{Target, Upstream, UpstreamConfig, UpstreamEnv, UpstreamStatus, ZmqDialer};
use bitmark_peer::PeerError;
use bitmark_record::Chain;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tracing::{info, warn};

const TARGET: &str = "node::upstreams";

struct Entry {
    upstream: Arc<Upstream>,
}

/// Every upstream of the node.
pub struct UpstreamSet {
    context: zmq::Context,
    chain: Chain,
    keys: CurveKeys,
    config: UpstreamConfig,
    env: UpstreamEnv,
    bus: Bus,
    entries: Mutex<Vec<Entry>>,
    tap: Option<Arc<dyn Tap>>,
}

impl UpstreamSet {
    /// No upstreams yet; those added dial with `keys` on `context` and use `env`.
    pub fn new(
        context: &zmq::Context,
        chain: Chain,
        keys: CurveKeys,
        config: UpstreamConfig,
        env: UpstreamEnv,
        bus: Bus,
    ) -> UpstreamSet {
        UpstreamSet {
            context: context.clone(),
            chain,
            keys,
            config,
            env,
            bus,
            entries: Mutex::new(Vec::new()),
            tap: None,
        }
    }

    /// Upstreams added from now on show every exchange to `tap` (`--capture`).
    pub fn with_tap(mut self, tap: Option<Arc<dyn Tap>>) -> UpstreamSet {
        self.tap = tap;
        self
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        lock(&self.entries)
    }

    /// Start an upstream, attached to the bus, and point it at `target` if given.
    pub fn add(&self, target: Option<Target>) -> Result<Arc<Upstream>, PeerError> {
        let dialer = ZmqDialer::for_upstream(&self.context, self.chain, self.keys.clone(), &self.config)
            .with_tap(self.tap.clone());
        let upstream = Arc::new(Upstream::start(self.config, dialer, self.env.clone())?);
        if let Some(target) = target {
            if let Err(e) = upstream.retarget(target) {
                warn!(target: TARGET, ?target, error = %e, "cannot point an upstream at this peer");
            }
        }
        upstream.subscribe(&self.bus);
        self.entries().push(Entry { upstream: Arc::clone(&upstream) });
        Ok(upstream)
    }

    /// The score table the upstreams share (the connector reports misbehaviour to it).
    pub fn scores(&self) -> Arc<ScoreBoard> {
        Arc::clone(&self.env.scores)
    }

    /// The clock the upstreams use.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.env.clock)
    }

    /// The upstreams, for the connector's calls.
    pub fn handles(&self) -> Vec<Arc<Upstream>> {
        self.entries().iter().map(|e| Arc::clone(&e.upstream)).collect()
    }

    /// A status snapshot of every upstream.
    pub fn statuses(&self) -> Vec<UpstreamStatus> {
        self.entries().iter().map(|e| e.upstream.status()).collect()
    }

    /// Remove `upstream` from the set and close it (on a thread of its own: an upstream in
    /// the middle of a request closes when the request ends). Other holders keep a handle
    /// that answers nothing once closed. False when it was not in the set.
    pub fn remove(&self, upstream: &Arc<Upstream>) -> bool {
        let removed = {
            let mut entries = self.entries();
            let before = entries.len();
            entries.retain(|e| !Arc::ptr_eq(&e.upstream, upstream));
            before != entries.len()
        };
        if removed {
            let _ = close_in_background(Arc::clone(upstream));
        }
        removed
    }

    /// Close the upstreams no one but the set holds any more: those the connector released
    /// (an expired dynamic peer) or replaced (the least recently used one when a new dynamic
    /// peer came). Returns how many were closed.
    pub fn reap(&self) -> usize {
        let released: Vec<Entry> = {
            let mut entries = self.entries();
            let (released, kept) =
                std::mem::take(&mut *entries).into_iter().partition(|e: &Entry| Arc::strong_count(&e.upstream) == 1);
            *entries = kept;
            released
        };
        for entry in &released {
            info!(target: TARGET, name = %entry.upstream.status().name, "closing a released upstream");
        }
        let count = released.len();
        for entry in released {
            let _ = close_in_background(entry.upstream);
        }
        count
    }

    /// Close every upstream, waiting until `deadline` at most. An upstream in the middle of a
    /// request holds its thread until the request times out; such threads are left behind
    /// (the process is exiting) and their number returned.
    pub fn close_all(&self, deadline: Instant) -> usize {
        let entries: Vec<Entry> = std::mem::take(&mut *self.entries());
        let closers: Vec<_> = entries.into_iter().filter_map(|e| close_in_background(e.upstream)).collect();
        closers
            .into_iter()
            .filter(|done| done.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_err())
            .count()
    }
}

/// Close `upstream` on a thread of its own (if this is the last handle; otherwise the last
/// holder closes it when it drops). The receiver hears when it is done; `None` when no thread
/// could be started (the upstream is then dropped here).
fn close_in_background(upstream: Arc<Upstream>) -> Option<std::sync::mpsc::Receiver<()>> {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("upstream-close".into()).spawn(move || {
        match Arc::try_unwrap(upstream) {
            Ok(upstream) => upstream.close(),
            Err(shared) => drop(shared), // the last holder closes it
        }
        let _ = done_tx.send(());
    });
    spawned.ok().map(|_| done_rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_peer::clock::SystemClock;
    use bitmark_peer::testing::{FakeChain, FakePeers, FakePool, Fixture};
    use bitmark_peer::transport::{ListenerConfig, ListenerLimits, ZmqListener};
    use bitmark_peer::upstream::{Identity, NoLiveness};
    use bitmark_peer::wire::Push;
    use std::time::Duration;

    fn eventually(what: &str, condition: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn bus_items_reach_the_peer_once_registered_and_close_is_prompt() {
        let context = zmq::Context::new();
        let remote = Fixture::new(Chain::Local, 3, FakePool::default());
        let remote_keys = CurveKeys::generate().unwrap();
        let listener = ZmqListener::start(
            &context,
            ListenerConfig {
                chain: Chain::Local,
                listen: vec!["127.0.0.1:0".parse().unwrap()],
                secret_key: remote_keys.secret,
                limits: ListenerLimits::default(),
            },
            remote.handler.clone(),
        )
        .unwrap();
        let keys = CurveKeys::generate().unwrap();
        let env = UpstreamEnv {
            identity: Identity { public_key: keys.public.to_vec(), listeners: Vec::new() },
            chain: Arc::new(FakeChain::new(Chain::Local, 1)),
            peers: Arc::new(FakePeers::default()),
            liveness: Arc::new(NoLiveness),
            scores: Arc::new(ScoreBoard::default()),
            clock: Arc::new(SystemClock),
        };
        let bus = Bus::new();
        let set = UpstreamSet::new(&context, Chain::Local, keys, UpstreamConfig::default(), env, bus.clone());
        let target = Target { address: listener.local_addrs()[0], public_key: remote_keys.public };
        let upstream = set.add(Some(target)).unwrap();
        eventually("registration", || upstream.is_registered());
        // The first poll is the step after registering.
        eventually("the first poll", || set.statuses()[0].remote_height == Some(4));
        assert_eq!(set.handles().len(), 1);

        bus.send(Push::Block(b"a block".to_vec()));
        eventually("the pushed block", || remote.pool.submitted().contains(&("block", b"a block".to_vec())));
        drop(upstream);
        assert_eq!(set.close_all(Instant::now() + Duration::from_secs(3)), 0);
        assert!(set.statuses().is_empty());
    }
}
