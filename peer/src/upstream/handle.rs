//! The threaded upstream: one thread owns a [`Session`] and its socket; other threads call in
//! through a mailbox and read a published status, and the broadcast bus offers it items.

use super::dial::{Dialer, Target};
use super::error::UpstreamError;
use super::session::Session;
use super::status::{LinkState, UpstreamStatus};
use super::{UpstreamConfig, UpstreamEnv};
use crate::bus::{BroadcastSink, Bus, Item, ItemQueue, QueueStats};
use crate::clock::Clock;
use crate::score::{PeerKey, ScoreBoard};
use crate::transport::TransportError;
use bitmark_common::{lock, wait_timeout};
use bitmark_record::BlockDigest;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tracing::{debug, error, info};

const TARGET: &str = "peer::upstream";

/// Numbers upstreams for their names, as bitmarkd's `upstream@<n>`.
static NEXT_UPSTREAM: AtomicUsize = AtomicUsize::new(1);

/// A connector request, answered on `reply`.
enum Query {
    Block(u64),
    Digest(u64),
    Height,
}

enum Answer {
    Block(Vec<u8>),
    Digest(BlockDigest),
    Height(u64),
}

type AnswerSender = mpsc::Sender<Result<Answer, UpstreamError>>;

enum Call {
    Query { query: Query, deadline: Instant, reply: AnswerSender },
    Retarget(Target),
    Release,
}

/// What waits for the upstream's thread.
struct Inbox {
    calls: VecDeque<Call>,
    items: ItemQueue,
    /// Items are only taken while registered (bitmarkd drops them otherwise).
    accepting: bool,
    closed: bool,
}

/// State shared between the handle, the queue handles and the thread.
struct Shared {
    inbox: Mutex<Inbox>,
    wake: Condvar,
    status: Mutex<UpstreamStatus>,
}

impl Shared {
    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        lock(&self.inbox)
    }

    fn status(&self) -> MutexGuard<'_, UpstreamStatus> {
        lock(&self.status)
    }

    fn call(&self, call: Call) -> Result<(), UpstreamError> {
        let mut inbox = self.inbox();
        if inbox.closed {
            return Err(UpstreamError::Closed);
        }
        inbox.calls.push_back(call);
        self.wake.notify_one();
        Ok(())
    }
}

impl BroadcastSink for Shared {
    /// Queue `item` unless the upstream is closed, not registered (counted as discarded) or
    /// its queue has no room for it ([`ItemQueue`]: bitmarkd's rule, the last slot for a
    /// block).
    fn offer(&self, item: Item) -> bool {
        let mut inbox = self.inbox();
        if inbox.closed {
            return false;
        }
        if !inbox.accepting {
            inbox.items.discard();
            return false;
        }
        if !inbox.items.offer(item) {
            debug!(target: TARGET, "push queue full; item dropped");
            return false;
        }
        self.wake.notify_one();
        true
    }
}

/// The bounded queue of broadcast items of one upstream (bitmarkd: 1000 per upstream), as the
/// broadcast bus sees it. Cloning shares the queue.
#[derive(Clone)]
pub struct PushQueue {
    shared: Arc<Shared>,
}

impl PushQueue {
    /// Items waiting.
    pub fn len(&self) -> usize {
        self.shared.inbox().items.len()
    }

    /// Whether no item waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        self.shared.inbox().items.stats()
    }
}

impl BroadcastSink for PushQueue {
    /// As the upstream's own queue: taken only while registered, bitmarkd's last-slot rule.
    fn offer(&self, item: Item) -> bool {
        self.shared.offer(item)
    }
}

/// One upstream peer, served by its own thread. Dropping it closes it.
pub struct Upstream {
    shared: Arc<Shared>,
    /// Where the peer's points are read at [`Upstream::status`], and the time to read them at.
    scores: Arc<ScoreBoard>,
    clock: Arc<dyn Clock>,
    own_key: Vec<u8>,
    thread: Option<JoinHandle<()>>,
    call_timeout: Duration,
}

impl Upstream {
    /// Start an idle upstream (no target yet; see [`Upstream::retarget`]) named `upstream@<n>`.
    pub fn start<D: Dialer>(config: UpstreamConfig, dialer: D, env: UpstreamEnv) -> Result<Upstream, UpstreamError> {
        let name = format!("upstream@{}", NEXT_UPSTREAM.fetch_add(1, Ordering::SeqCst));
        Upstream::start_session(Session::new(name, config, dialer, env), config)
    }

    /// Start a thread driving `session` (for a seeded jitter, or a session already targeted).
    pub fn start_session<D: Dialer>(session: Session<D>, config: UpstreamConfig) -> Result<Upstream, UpstreamError> {
        let status = session.status();
        let own_key = session.own_key().to_vec();
        let (scores, clock) = session.scoring();
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox {
                calls: VecDeque::new(),
                items: ItemQueue::new(config.queue_capacity),
                accepting: status.is_registered(),
                closed: false,
            }),
            wake: Condvar::new(),
            status: Mutex::new(status),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(session.status().name)
            .spawn(move || Runner { session, shared: thread_shared, drained: Instant::now() }.run())
            .map_err(UpstreamError::Thread)?;
        Ok(Upstream { shared, scores, clock, own_key, thread: Some(thread), call_timeout: config.request_timeout })
    }

    /// Point at `target` and register with it (bitmarkd's `Connect`, plus the reset and
    /// registration it forgets). Returns at once. Our own key is refused.
    pub fn retarget(&self, target: Target) -> Result<(), UpstreamError> {
        if target.public_key.as_slice() == self.own_key.as_slice() {
            return Err(UpstreamError::ConnectingToSelf);
        }
        self.shared.call(Call::Retarget(target))
    }

    /// Forget the target (bitmarkd's `ResetServer`). Returns at once.
    pub fn release(&self) -> Result<(), UpstreamError> {
        self.shared.call(Call::Release)
    }

    /// The packed block at `n` from the peer; any `["E"]` reply is
    /// [`UpstreamError::BlockNotFound`].
    pub fn get_block_data(&self, n: u64) -> Result<Vec<u8>, UpstreamError> {
        match self.query(Query::Block(n))? {
            Answer::Block(block) => Ok(block),
            _ => Err(TransportError::BadReply("answer of another kind".into()).into()),
        }
    }

    /// The peer's digest of block `n`; any `["E"]` reply is [`UpstreamError::BlockNotFound`].
    pub fn remote_digest_of_height(&self, n: u64) -> Result<BlockDigest, UpstreamError> {
        match self.query(Query::Digest(n))? {
            Answer::Digest(digest) => Ok(digest),
            _ => Err(TransportError::BadReply("answer of another kind".into()).into()),
        }
    }

    /// The peer's height, asked now.
    pub fn remote_height(&self) -> Result<u64, UpstreamError> {
        match self.query(Query::Height)? {
            Answer::Height(height) => Ok(height),
            _ => Err(TransportError::BadReply("answer of another kind".into()).into()),
        }
    }

    /// The queue the broadcast bus offers items to.
    pub fn queue(&self) -> PushQueue {
        PushQueue { shared: Arc::clone(&self.shared) }
    }

    /// Take items from `bus` from now on: it fans every item out into this upstream's queue,
    /// which pushes them to the peer while registered (bitmarkd's per-upstream
    /// `Broadcast.Chan`). The bus holds the queue weakly, so closing the upstream unsubscribes.
    pub fn subscribe(&self, bus: &Bus) {
        bus.attach(&self.shared);
    }

    /// A snapshot, as of the thread's last step, except the peer's points, which are read now:
    /// the connector penalises a peer between the thread's steps, which can be a poll interval
    /// (30 s) apart, and `/status` must show a penalty when it happens.
    pub fn status(&self) -> UpstreamStatus {
        let mut status = self.shared.status().clone();
        if let Some(target) = status.target {
            status.score = self.scores.standing(&target.public_key, self.clock.instant()).points;
        }
        status
    }

    /// Whether registered with the target (bitmarkd's `IsConnected`).
    pub fn is_registered(&self) -> bool {
        self.shared.status().is_registered()
    }

    /// Whether pointed at `key`, registered or not (bitmarkd's `IsConnectedTo`).
    pub fn is_connected_to(&self, key: &PeerKey) -> bool {
        self.shared.status().target.is_some_and(|t| &t.public_key == key)
    }

    /// Stop the thread and close the link. Waits for a request in flight, so for at most the
    /// request timeout (or the connect timeout during a registration attempt).
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        {
            let mut inbox = self.shared.inbox();
            inbox.closed = true;
            self.shared.wake.notify_one();
        }
        if thread.join().is_err() {
            error!(target: TARGET, "upstream thread panicked");
        }
    }

    /// Send `query` to the thread and wait for its answer, at most the call timeout in all.
    fn query(&self, query: Query) -> Result<Answer, UpstreamError> {
        match self.shared.status().state {
            LinkState::Registered { .. } => {}
            LinkState::Banned { until } => return Err(UpstreamError::Banned { until }),
            LinkState::Closed => return Err(UpstreamError::Closed),
            LinkState::Idle | LinkState::Connecting { .. } => return Err(UpstreamError::NotConnected),
        }
        let (reply, answer) = mpsc::channel();
        let deadline = Instant::now() + self.call_timeout;
        self.shared.call(Call::Query { query, deadline, reply })?;
        match answer.recv_timeout(self.call_timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(TransportError::Timeout.into()),
            Err(RecvTimeoutError::Disconnected) => Err(UpstreamError::Closed),
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The next thing for the thread to do.
enum Work {
    Call(Call),
    Due,
    Item(Item),
    Close,
    /// Nothing to do for `DRAIN_EVERY`: read the link's monitor.
    Idle,
}

/// How long an idle upstream leaves its link's monitor unread at most. A peer that refuses
/// every connection makes a few events per reconnect interval; libzmq queues a thousand.
const DRAIN_EVERY: Duration = Duration::from_secs(1);

struct Runner<D: Dialer> {
    session: Session<D>,
    shared: Arc<Shared>,
    /// When the link's monitor was last read while idle.
    drained: Instant,
}

impl<D: Dialer> Runner<D> {
    fn run(mut self) {
        debug!(target: TARGET, "started");
        loop {
            match self.next_work() {
                Work::Call(call) => self.call(call),
                Work::Due => self.session.run_due(),
                Work::Item(item) => {
                    if let Err(e) = self.session.push(&item) {
                        debug!(target: TARGET, error = %e, "push failed");
                    }
                }
                Work::Close => break,
                Work::Idle => {
                    self.session.drain_link_events();
                    self.drained = Instant::now();
                }
            }
            self.publish();
        }
        self.session.close();
        self.publish();
        // Callers still waiting get `Closed` when their senders drop with the inbox.
        self.shared.inbox().calls.clear();
        info!(target: TARGET, "closed");
    }

    /// Wait for work: calls first, then what is due, then items. Due times are on the
    /// session's clock; the wait for them is in real time (the thread is for real sockets;
    /// simulations drive a `Session` directly).
    fn next_work(&self) -> Work {
        let mut inbox = self.shared.inbox();
        loop {
            if inbox.closed {
                return Work::Close;
            }
            if let Some(call) = inbox.calls.pop_front() {
                return Work::Call(call);
            }
            let now = self.session.now();
            let due = self.session.next_due();
            if due.is_some_and(|at| at <= now) {
                return Work::Due;
            }
            if let Some(item) = inbox.items.pop() {
                return Work::Item(item);
            }
            // Never asleep longer than `DRAIN_EVERY`: the link's monitor must be read.
            let drain_in = (self.drained + DRAIN_EVERY).saturating_duration_since(Instant::now());
            if drain_in.is_zero() {
                return Work::Idle;
            }
            let wait = due.map_or(drain_in, |at| at.saturating_duration_since(now).min(drain_in));
            inbox = wait_timeout(&self.shared.wake, inbox, wait);
        }
    }

    fn call(&mut self, call: Call) {
        match call {
            Call::Retarget(target) => self.session.retarget(target),
            Call::Release => self.session.release(),
            Call::Query { query, deadline, reply } => {
                if Instant::now() >= deadline {
                    return; // the caller has given up
                }
                let answer = match query {
                    Query::Block(n) => self.session.get_block_data(n).map(Answer::Block),
                    Query::Digest(n) => self.session.remote_digest_of_height(n).map(Answer::Digest),
                    Query::Height => self.session.remote_height().map(Answer::Height),
                };
                // The caller may have given up meanwhile; nothing to do then.
                let _ = reply.send(answer);
            }
        }
    }

    /// Publish the session's status; stop taking items (and drop those waiting) unless
    /// registered.
    fn publish(&self) {
        let status = self.session.status();
        let registered = status.is_registered();
        *self.shared.status() = status;
        let mut inbox = self.shared.inbox();
        inbox.accepting = registered;
        if !registered && !inbox.items.is_empty() {
            let dropped = inbox.items.discard_all();
            debug!(target: TARGET, dropped, "not registered; queued items dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Push;

    fn queue(capacity: usize, accepting: bool) -> PushQueue {
        let inbox = Inbox { calls: VecDeque::new(), items: ItemQueue::new(capacity), accepting, closed: false };
        let status = UpstreamStatus::idle("upstream@queue");
        let shared = Shared { inbox: Mutex::new(inbox), wake: Condvar::new(), status: Mutex::new(status) };
        PushQueue { shared: Arc::new(shared) }
    }

    fn item(command: &str) -> Item {
        Arc::new(Push::parse(command.as_bytes(), &[vec![1]]))
    }

    #[test]
    fn bounded_with_the_last_slot_for_a_block() {
        let queue = queue(3, true);
        assert!(queue.offer(item("transfer")));
        assert!(queue.offer(item("assets")));
        assert!(!queue.offer(item("transfer")), "the last slot is a block's");
        assert!(queue.offer(item("block")));
        // Full: a block displaces the oldest non-block (the bus's rule, shared by all queues).
        assert!(queue.offer(item("block")), "displaces the transfer");
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.stats(), QueueStats { queued: 4, dropped: 1, displaced: 1, discarded: 0 });
    }

    #[test]
    fn nothing_is_taken_unless_registered() {
        let queue = queue(3, false);
        assert!(!queue.offer(item("block")));
        assert!(queue.is_empty());
        assert_eq!(queue.stats().discarded, 1);
    }
}
