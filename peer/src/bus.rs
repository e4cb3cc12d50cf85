//! The broadcast bus (bitmarkd's `messagebus.BroadcastQueue`, protocol.md §6.1): one side sends
//! the items to push to other nodes (accepted blocks and transactions, relayed and own
//! announcements), every consumer (each upstream, a publisher) gets its own bounded queue.
//!
//! As bitmarkd:
//! * an item whose SHA3-256 of `command ‖ param0 ‖ param1 ‖ …` (plain concatenation) is among
//!   the last [`DEDUP_WINDOW`] sent is dropped for everyone; the cache is kept even with no
//!   consumer;
//! * a queue takes a non-block item only while it has more than one free slot, so the last slot
//!   is kept for a block.
//!
//! Ours: [`Bus::send`] never blocks (bitmarkd's send blocks on a consumer whose queue changed
//! between its length check and the send); when a queue is completely full, a block displaces
//! the oldest non-block item, or failing that the oldest block (the newest block is what peers
//! need to hear); every drop is counted per consumer.
//!
//! Items are the [`Push`] an upstream sends as `[chain][command][params…]`
//! ([`Push::command`], [`Push::params`]), shared between consumers in an `Arc`.

use crate::error::PeerError;
use crate::listener::Relay;
use crate::wire::{command, Push};
use sha3::{Digest, Sha3_256};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

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
        /// Consumers whose queue was full.
        dropped: usize,
    },
}

/// Counters of one consumer's queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Items queued.
    pub queued: u64,
    /// Non-block items refused because only the last slot (or none) was free.
    pub dropped: u64,
    /// Items pushed out of a full queue by a block.
    pub displaced: u64,
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

struct QueueState {
    items: VecDeque<Item>,
    closed: bool,
    stats: QueueStats,
}

struct Queue {
    name: String,
    capacity: usize,
    state: Mutex<QueueState>,
    ready: Condvar,
}

impl Queue {
    /// Offer an item; true if it was queued.
    fn offer(&self, item: &Item, is_block: bool) -> bool {
        let mut state = lock(&self.state);
        if state.closed {
            return false;
        }
        let len = state.items.len();
        // bitmarkd: `len < cap-1` for everything, the last slot for blocks only.
        let fits = len + 1 < self.capacity || (is_block && len < self.capacity);
        if !fits {
            if !is_block {
                state.stats.dropped += 1;
                return false;
            }
            let victim = state.items.iter().position(|i| i.command() != command::BLOCK).unwrap_or(0);
            if state.items.remove(victim).is_none() {
                // Capacity 0 cannot happen (subscribe enforces 1), but never queue past it.
                state.stats.dropped += 1;
                return false;
            }
            state.stats.displaced += 1;
        }
        state.items.push_back(item.clone());
        state.stats.queued += 1;
        drop(state);
        self.ready.notify_one();
        true
    }

    fn close(&self) {
        lock(&self.state).closed = true;
        self.ready.notify_all();
    }
}

struct BusState {
    recent: VecDeque<[u8; 32]>,
    seen: HashSet<[u8; 32]>,
    consumers: Vec<Weak<Queue>>,
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
        state.consumers.iter().filter_map(Weak::upgrade).for_each(|q| q.close());
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
            capacity: capacity.max(1),
            state: Mutex::new(QueueState { items: VecDeque::new(), closed: false, stats: QueueStats::default() }),
            ready: Condvar::new(),
        });
        let mut state = lock(&self.shared.state);
        if state.closed {
            queue.close();
        }
        state.consumers.retain(|q| q.strong_count() > 0);
        state.consumers.push(Arc::downgrade(&queue));
        Subscriber { queue }
    }

    /// Send an item to every consumer, unless it repeats one of the last [`DEDUP_WINDOW`].
    /// Never blocks on a consumer.
    pub fn send(&self, push: Push) -> Sent {
        self.shared.sent.fetch_add(1, Ordering::Relaxed);
        let hash = item_hash(&push);
        let consumers: Vec<Arc<Queue>> = {
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
            state.consumers.retain(|q| q.strong_count() > 0);
            state.consumers.iter().filter_map(Weak::upgrade).collect()
        };
        let is_block = push.command() == command::BLOCK;
        let item = Arc::new(push);
        let delivered = consumers.iter().filter(|q| q.offer(&item, is_block)).count();
        Sent::Queued { delivered, dropped: consumers.len() - delivered }
    }

    /// Close the bus: later sends are dropped, consumers drain what they have and then see
    /// [`PeerError::BusClosed`].
    pub fn close(&self) {
        let mut state = lock(&self.shared.state);
        state.closed = true;
        state.consumers.iter().filter_map(Weak::upgrade).for_each(|q| q.close());
    }

    /// The bus counters.
    pub fn stats(&self) -> BusStats {
        let consumers = lock(&self.shared.state).consumers.iter().filter(|q| q.strong_count() > 0).count();
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
        lock(&self.queue.state).items.pop_front()
    }

    /// The oldest queued item, waiting up to `timeout` for one: [`PeerError::Timeout`] if none
    /// came, [`PeerError::BusClosed`] once the bus is closed and the queue empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Item, PeerError> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.queue.state);
        loop {
            if let Some(item) = state.items.pop_front() {
                return Ok(item);
            }
            if state.closed {
                return Err(PeerError::BusClosed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PeerError::Timeout);
            }
            state = self.queue.ready.wait_timeout(state, left).map_or_else(|p| p.into_inner().0, |(s, _)| s);
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        lock(&self.queue.state).items.len()
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.queue.capacity
    }

    /// The name given at [`Bus::subscribe`] (for logs: the upstream's address).
    pub fn name(&self) -> &str {
        &self.queue.name
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        lock(&self.queue.state).stats
    }
}

#[cfg(test)]
mod tests;
