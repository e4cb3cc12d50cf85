//! The broadcast bus (bitmarkd's `messagebus.BroadcastQueue`, `docs/protocol.md#broadcast-bus`):
//! one side sends the items to push to other nodes (accepted blocks and transactions, relayed and
//! own announcements), and the bus fans each out to every consumer's own bounded queue. The
//! consumers are [`BroadcastSink`]s: each upstream's push queue
//! ([`Upstream::subscribe`](crate::upstream::Upstream::subscribe)), and [`Subscriber`]s for
//! anything else (a publisher, tests).
//!
//! As bitmarkd:
//! * an item whose SHA3-256 of `command ‖ param0 ‖ param1 ‖ …` (plain concatenation) is among
//!   the last [`DEDUP_WINDOW`] sent is dropped for everyone; the cache is kept even with no
//!   consumer;
//! * a queue takes a non-block item only while it has more than one free slot, so the last slot
//!   is kept for a block ([`ItemQueue`], the one implementation of the queue rules).
//!
//! Ours: [`Bus::send`] never blocks (bitmarkd's send blocks on a consumer whose queue changed
//! between its length check and the send); when a queue is completely full, a block displaces
//! the oldest non-block item, or failing that the oldest block (the newest block is what peers
//! need to hear); every drop is counted per consumer ([`QueueStats`]). The bus holds its
//! consumers weakly: dropping one unsubscribes it.
//!
//! Items are the [`Push`] an upstream sends as `[chain][command][params…]`
//! ([`Push::command`], [`Push::params`]), shared between consumers in an `Arc`, so a 5 MB block
//! fanned out to 25 upstreams is held once. [`Push::Other`] carries any frames verbatim.

mod queue;

pub use queue::{ItemQueue, QueueStats};

use crate::listener::Relay;
use crate::wire::Push;
use bitmark_common::{lock, wait_timeout};
use sha3::{Digest, Sha3_256};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// Queue size of a consumer that does not choose one (bitmarkd's `Default`, 1000 per upstream).
/// Smaller drops items for a peer that is briefly slow; larger holds more memory per peer (a
/// queue of blocks can hold up to `capacity` × 5 MB, shared with the other queues).
pub const DEFAULT_CAPACITY: usize = 1000;

/// How many recent item hashes are remembered to drop repeats (bitmarkd: 100). Relay loops
/// between nodes end here and at the 7-minute announcement rule.
pub const DEDUP_WINDOW: usize = 100;

/// A shared item.
pub type Item = Arc<Push>;

/// bitmarkd's dedup hash: SHA3-256 of the command and parameters run together.
pub fn item_hash(push: &Push) -> [u8; 32] {
    let mut hasher = Sha3_256::new();
    hasher.update(push.command());
    for param in push.params() {
        hasher.update(param);
    }
    hasher.finalize().into()
}

/// What happened to a sent item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Seen among the last [`DEDUP_WINDOW`] items: not queued anywhere.
    Duplicate,
    /// Offered to every consumer.
    Queued {
        /// Consumers that took it.
        delivered: usize,
        /// Consumers that did not take it (queue full, upstream not registered, closed).
        dropped: usize,
    },
}

/// Counters of the bus.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BusStats {
    /// Items sent (duplicates included).
    pub sent: u64,
    /// Items dropped as duplicates.
    pub duplicates: u64,
    /// Live consumers.
    pub consumers: usize,
}

/// Takes bus items without blocking: one consumer of the bus.
pub trait BroadcastSink: Send + Sync {
    /// Offer `item`; false when it was dropped (queue full, consumer not registered or
    /// closed). Must not block.
    fn offer(&self, item: Item) -> bool;

    /// The bus has closed: nothing more will be offered. Nothing to do by default.
    fn bus_closed(&self) {}
}

struct QueueState {
    queue: ItemQueue,
    closed: bool,
}

/// A [`Subscriber`]'s queue, as the bus sees it.
struct Queue {
    name: String,
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl BroadcastSink for Queue {
    fn offer(&self, item: Item) -> bool {
        let mut state = lock(&self.state);
        if state.closed || !state.queue.offer(item) {
            return false;
        }
        drop(state);
        self.ready.notify_one();
        true
    }

    fn bus_closed(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }
}

struct BusState {
    recent: VecDeque<[u8; 32]>,
    seen: HashSet<[u8; 32]>,
    consumers: Vec<Weak<dyn BroadcastSink>>,
    closed: bool,
}

struct Shared {
    state: Mutex<BusState>,
    sent: AtomicU64,
    duplicates: AtomicU64,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let state = lock(&self.state);
        state.consumers.iter().filter_map(Weak::upgrade).for_each(|c| c.bus_closed());
    }
}

/// The sending side. Clone it freely; when the last clone is dropped every consumer sees the
/// bus closed once its queue is empty.
#[derive(Clone)]
pub struct Bus {
    shared: Arc<Shared>,
}

impl Default for Bus {
    fn default() -> Bus {
        Bus::new()
    }
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("stats", &self.stats()).finish()
    }
}

impl Bus {
    /// A bus with no consumers.
    pub fn new() -> Bus {
        let state = BusState { recent: VecDeque::new(), seen: HashSet::new(), consumers: Vec::new(), closed: false };
        Bus {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                sent: AtomicU64::new(0),
                duplicates: AtomicU64::new(0),
            }),
        }
    }

    /// A new consumer with its own queue of `capacity` items (at least 1; with 1 only blocks
    /// get through, as in bitmarkd). It receives items sent from now on.
    pub fn subscribe(&self, name: impl Into<String>, capacity: usize) -> Subscriber {
        let queue = Arc::new(Queue {
            name: name.into(),
            state: Mutex::new(QueueState { queue: ItemQueue::new(capacity), closed: false }),
            ready: Condvar::new(),
        });
        self.attach(&queue);
        Subscriber { queue }
    }

    /// Offer every item sent from now on to `sink`, for as long as it lives: the bus keeps only
    /// a weak reference, so dropping the sink's last `Arc` unsubscribes it. A sink attached to
    /// a closed bus is told so at once.
    pub fn attach<S: BroadcastSink + 'static>(&self, sink: &Arc<S>) {
        let weak: Weak<dyn BroadcastSink> = Arc::downgrade(sink) as Weak<dyn BroadcastSink>;
        let mut state = lock(&self.shared.state);
        if state.closed {
            drop(state);
            sink.bus_closed();
            return;
        }
        state.consumers.retain(|c| c.strong_count() > 0);
        state.consumers.push(weak);
    }

    /// Send an item to every consumer, unless it repeats one of the last [`DEDUP_WINDOW`].
    /// Never blocks on a consumer.
    pub fn send(&self, push: Push) -> Sent {
        self.shared.sent.fetch_add(1, Ordering::Relaxed);
        let hash = item_hash(&push);
        let consumers: Vec<Arc<dyn BroadcastSink>> = {
            let mut state = lock(&self.shared.state);
            if state.closed {
                return Sent::Queued { delivered: 0, dropped: 0 };
            }
            if !state.seen.insert(hash) {
                self.shared.duplicates.fetch_add(1, Ordering::Relaxed);
                return Sent::Duplicate;
            }
            state.recent.push_back(hash);
            if state.recent.len() > DEDUP_WINDOW {
                if let Some(old) = state.recent.pop_front() {
                    state.seen.remove(&old);
                }
            }
            state.consumers.retain(|c| c.strong_count() > 0);
            state.consumers.iter().filter_map(Weak::upgrade).collect()
        };
        let item = Arc::new(push);
        let delivered = consumers.iter().filter(|c| c.offer(Arc::clone(&item))).count();
        Sent::Queued { delivered, dropped: consumers.len() - delivered }
    }

    /// Close the bus: later sends are dropped, subscribers drain what they have and then see
    /// [`BusError::Closed`]; every consumer is told ([`BroadcastSink::bus_closed`]).
    pub fn close(&self) {
        let consumers: Vec<Arc<dyn BroadcastSink>> = {
            let mut state = lock(&self.shared.state);
            state.closed = true;
            state.consumers.drain(..).filter_map(|c| c.upgrade()).collect()
        };
        consumers.iter().for_each(|c| c.bus_closed());
    }

    /// The bus counters.
    pub fn stats(&self) -> BusStats {
        let consumers = lock(&self.shared.state).consumers.iter().filter(|c| c.strong_count() > 0).count();
        BusStats {
            sent: self.shared.sent.load(Ordering::Relaxed),
            duplicates: self.shared.duplicates.load(Ordering::Relaxed),
            consumers,
        }
    }
}

/// The handler relays accepted pushes through the bus.
impl Relay for Bus {
    fn relay(&self, item: &Push) {
        self.send(item.clone());
    }
}

/// Why [`Subscriber::recv_timeout`] returned no item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// Nothing arrived in time.
    #[error("timed out")]
    Timeout,
    /// The bus is closed (or gone) and the subscriber's queue is empty.
    #[error("bus closed")]
    Closed,
}

/// One consumer's end: its queue. Dropping it unsubscribes.
pub struct Subscriber {
    queue: Arc<Queue>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").field("name", &self.queue.name).field("stats", &self.stats()).finish()
    }
}

impl Subscriber {
    /// The oldest queued item, if any.
    pub fn try_recv(&self) -> Option<Item> {
        lock(&self.queue.state).queue.pop()
    }

    /// The oldest queued item, waiting up to `timeout` for one: [`BusError::Timeout`] if none
    /// came, [`BusError::Closed`] once the bus is closed and the queue empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Item, BusError> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.queue.state);
        loop {
            if let Some(item) = state.queue.pop() {
                return Ok(item);
            }
            if state.closed {
                return Err(BusError::Closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(BusError::Timeout);
            }
            state = wait_timeout(&self.queue.ready, state, left);
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        lock(&self.queue.state).queue.len()
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        lock(&self.queue.state).queue.capacity()
    }

    /// The name given at [`Bus::subscribe`] (for logs).
    pub fn name(&self) -> &str {
        &self.queue.name
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        lock(&self.queue.state).queue.stats()
    }
}

#[cfg(test)]
mod tests;
