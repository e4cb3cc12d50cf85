//! The node's upstreams: one [`Upstream`] per outbound peer (its own thread and CURVE REQ
//! socket), each fed from the broadcast bus, and their status for `/status`.
//!
//! Each upstream gets a bus subscription and a small feeder thread that moves items from the
//! subscription to the upstream's push queue (the upstream only takes them while registered,
//! as bitmarkd's does).
// TODO(peerjoin): the peer crate is joining the bus to upstreams itself; the feeder thread
// goes away then.

use bitmark_peer::bus::{Bus, RecvError};
use bitmark_peer::transport::CurveKeys;
use bitmark_peer::upstream::{
    BroadcastItem, BroadcastSink, Target, Upstream, UpstreamConfig, UpstreamEnv, UpstreamStatus, ZmqDialer,
};
use bitmark_peer::PeerError;
use bitmark_record::Chain;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing::{debug, warn};

const TARGET: &str = "node::upstreams";

/// How often a feeder looks at its stop flag while its subscription is quiet.
const FEEDER_POLL: Duration = Duration::from_millis(200);

struct Entry {
    upstream: Arc<Upstream>,
    feeder: Option<JoinHandle<()>>,
}

/// Every upstream of the node.
pub struct UpstreamSet {
    context: zmq::Context,
    chain: Chain,
    keys: CurveKeys,
    config: UpstreamConfig,
    env: UpstreamEnv,
    bus: Bus,
    stop: Arc<AtomicBool>,
    entries: Mutex<Vec<Entry>>,
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
            stop: Arc::new(AtomicBool::new(false)),
            entries: Mutex::new(Vec::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Start an upstream, fed from the bus, and point it at `target` if given.
    pub fn add(&self, target: Option<Target>) -> Result<Arc<Upstream>, PeerError> {
        let dialer = ZmqDialer::for_upstream(&self.context, self.chain, self.keys.clone(), &self.config);
        let upstream = Arc::new(Upstream::start(self.config, dialer, self.env.clone())?);
        if let Some(target) = target {
            if let Err(e) = upstream.retarget(target) {
                warn!(target: TARGET, ?target, error = %e, "cannot point an upstream at this peer");
            }
        }
        let name = upstream.status().name;
        let subscription = self.bus.subscribe(name.clone(), self.config.queue_capacity);
        let queue = upstream.queue();
        let stop = Arc::clone(&self.stop);
        let feeder = std::thread::Builder::new()
            .name(format!("{name}-feed"))
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match subscription.recv_timeout(FEEDER_POLL) {
                        Ok(item) => {
                            if !queue.offer(Arc::new(BroadcastItem::from(&*item))) {
                                debug!(target: TARGET, upstream = %name, "item not taken");
                            }
                        }
                        Err(RecvError::Timeout) => {}
                        Err(RecvError::Closed) => break,
                    }
                }
            })
            .map_err(|e| PeerError::Config(format!("cannot start a feeder thread: {e}")))?;
        self.entries().push(Entry { upstream: Arc::clone(&upstream), feeder: Some(feeder) });
        Ok(upstream)
    }

    /// The upstreams, for the connector's calls.
    pub fn handles(&self) -> Vec<Arc<Upstream>> {
        self.entries().iter().map(|e| Arc::clone(&e.upstream)).collect()
    }

    /// A status snapshot of every upstream.
    pub fn statuses(&self) -> Vec<UpstreamStatus> {
        self.entries().iter().map(|e| e.upstream.status()).collect()
    }

    /// Close every upstream, waiting until `deadline` at most. An upstream in the middle of a
    /// request holds its thread until the request times out; such threads are left behind
    /// (the process is exiting) and their number returned.
    pub fn close_all(&self, deadline: Instant) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        let entries: Vec<Entry> = std::mem::take(&mut *self.entries());
        let mut closers = Vec::new();
        for mut entry in entries {
            if let Some(feeder) = entry.feeder.take() {
                let _ = feeder.join();
            }
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let upstream = entry.upstream;
            let spawned = std::thread::Builder::new().name("upstream-close".into()).spawn(move || {
                match Arc::try_unwrap(upstream) {
                    Ok(upstream) => upstream.close(),
                    Err(shared) => drop(shared), // the last holder closes it
                }
                let _ = done_tx.send(());
            });
            if spawned.is_ok() {
                closers.push(done_rx);
            }
        }
        closers
            .into_iter()
            .filter(|done| done.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_err())
            .count()
    }
}

impl Drop for UpstreamSet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_peer::score::ScoreBoard;
    use bitmark_peer::testing::{FakeChain, FakePeers, FakePool, Fixture};
    use bitmark_peer::transport::{ListenerConfig, ListenerLimits, ZmqListener};
    use bitmark_peer::upstream::{Identity, NoLiveness, SystemClock};
    use bitmark_peer::wire::Push;

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
        assert_eq!(set.statuses()[0].remote_height, Some(4));
        assert_eq!(set.handles().len(), 1);

        bus.send(Push::Block(b"a block".to_vec()));
        eventually("the pushed block", || remote.pool.submitted().contains(&("block", b"a block".to_vec())));
        drop(upstream);
        assert_eq!(set.close_all(Instant::now() + Duration::from_secs(3)), 0);
        assert!(set.statuses().is_empty());
    }
}
