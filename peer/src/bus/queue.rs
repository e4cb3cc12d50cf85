//! One consumer's bounded queue of bus items, with bitmarkd's admission rule and our
//! displacement rule. Plain data: each consumer puts it behind its own lock (a [`Subscriber`]
//! alone, an upstream together with its calls), so this is the only copy of the rules.
//!
//! [`Subscriber`]: super::Subscriber

use super::Item;
use crate::wire::command;
use std::collections::VecDeque;

/// Counters of one consumer's queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Items queued.
    pub queued: u64,
    /// Items refused for want of room: a non-block item when only the last slot (or none) was
    /// free.
    pub dropped: u64,
    /// Items pushed out of a full queue by a block.
    pub displaced: u64,
    /// Items the consumer could not take: offered to an upstream that is not registered, or
    /// waiting in its queue when it lost its registration (bitmarkd drops these too).
    pub discarded: u64,
}

/// A bounded FIFO of items. As bitmarkd's `BroadcastQueue`, an item is taken while more than
/// one slot is free, and the last slot is kept for a block. Ours: a block offered to a full
/// queue displaces the oldest non-block item, or failing that the oldest block, because the
/// newest block is what peers need to hear.
#[derive(Debug)]
pub struct ItemQueue {
    items: VecDeque<Item>,
    capacity: usize,
    stats: QueueStats,
}

impl ItemQueue {
    /// An empty queue of `capacity` items (at least 1; with 1 only blocks get through, as in
    /// bitmarkd).
    pub fn new(capacity: usize) -> ItemQueue {
        ItemQueue { items: VecDeque::new(), capacity: capacity.max(1), stats: QueueStats::default() }
    }

    /// Offer `item`; true if it was queued (possibly displacing an older one).
    pub fn offer(&mut self, item: Item) -> bool {
        let is_block = item.command() == command::BLOCK;
        let len = self.items.len();
        // bitmarkd: `len < cap-1` for everything, the last slot for blocks only.
        let fits = len + 1 < self.capacity || (is_block && len < self.capacity);
        if !fits {
            if !is_block {
                self.stats.dropped += 1;
                return false;
            }
            let victim = self.items.iter().position(|i| i.command() != command::BLOCK).unwrap_or(0);
            if self.items.remove(victim).is_none() {
                // Capacity is at least 1, so a full queue has a victim; never queue past it.
                self.stats.dropped += 1;
                return false;
            }
            self.stats.displaced += 1;
        }
        self.items.push_back(item);
        self.stats.queued += 1;
        true
    }

    /// The oldest item, if any.
    pub fn pop(&mut self) -> Option<Item> {
        self.items.pop_front()
    }

    /// Count an item the consumer could not take ([`QueueStats::discarded`]).
    pub fn discard(&mut self) {
        self.stats.discarded += 1;
    }

    /// Drop every waiting item, counted as discarded; returns how many there were.
    pub fn discard_all(&mut self) -> usize {
        let count = self.items.len();
        self.items.clear();
        self.stats.discarded += count as u64;
        count
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no item is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The counters.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }
}
