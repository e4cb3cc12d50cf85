//! The chain tip (bitmarkd's `blockheader` package state) and the digest-for-height cache.

use bitmark_common::lock;
use bitmark_record::BlockDigest;
use std::sync::{Mutex, MutexGuard};

/// What the next block must build on: height, digest, version and timestamp of the last block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tip {
    /// Number of the last block (1 = only genesis).
    pub height: u64,
    /// Its Argon2d digest.
    pub digest: BlockDigest,
    /// Its header version (the next block's must not be lower).
    pub version: u16,
    /// Its timestamp (the next block may go back in time only within the version's spacing).
    pub timestamp: u64,
}

impl Tip {
    /// The tip when only the genesis block exists (`blockheader.setGenesis`): height 1, version
    /// 1 and timestamp 0 (not the genesis block's own timestamp).
    pub fn genesis(digest: BlockDigest) -> Tip {
        Tip { height: 1, digest, version: 1, timestamp: 0 }
    }
}

/// Entries in the digest cache (blockheader/get.go:21): sync asks for the digests just below
/// the tip over and over; more entries buy little, fewer make it hit the pools again.
pub const DIGEST_CACHE_SIZE: usize = 10;

/// A small cache of block digests by number: one entry per number, the oldest replaced when
/// full.
///
/// Readers fill it without the store's writer lock, so a reader may have read a digest just
/// before a rollback removed its block. Every [`DigestCache::clear`] (after each block a
/// rollback removes) starts a new generation, and a reader's insert counts only if no clear
/// came between its start ([`DigestCache::generation`], taken before it reads the pools) and
/// its insert ([`DigestCache::insert_at`]): a rolled-back digest never comes back.
#[derive(Debug, Default)]
pub struct DigestCache {
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    slots: [Option<(u64, BlockDigest)>; DIGEST_CACHE_SIZE],
    next: usize,
    generation: u64,
}

impl Ring {
    /// Put `digest` under `number`: in place of an entry for the same number, else in place of
    /// the oldest.
    fn put(&mut self, number: u64, digest: BlockDigest) {
        let same = self.slots.iter().position(|s| s.is_some_and(|(n, _)| n == number));
        let at = match same {
            Some(at) => at,
            None => {
                let at = self.next;
                self.next = (at + 1) % DIGEST_CACHE_SIZE;
                at
            }
        };
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = Some((number, digest));
        }
    }
}

impl DigestCache {
    fn lock(&self) -> MutexGuard<'_, Ring> {
        lock(&self.inner)
    }

    /// The cached digest of block `number`.
    pub fn get(&self, number: u64) -> Option<BlockDigest> {
        self.lock().slots.iter().flatten().find(|(n, _)| *n == number).map(|(_, d)| *d)
    }

    /// The current generation: take it before reading a digest to insert with
    /// [`DigestCache::insert_at`].
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Remember a digest known to be current (the store's writer holds its lock).
    pub fn insert(&self, number: u64, digest: BlockDigest) {
        self.lock().put(number, digest);
    }

    /// Remember a digest read when the cache was at `generation`, unless it has been cleared
    /// since (the block may be gone); true if it was kept.
    pub fn insert_at(&self, generation: u64, number: u64, digest: BlockDigest) -> bool {
        let mut ring = self.lock();
        if ring.generation != generation {
            return false;
        }
        ring.put(number, digest);
        true
    }

    /// Forget everything and start a new generation (after a rollback, so no digest of a
    /// deleted block survives, nor comes back from a reader that read it before).
    pub fn clear(&self) {
        let mut ring = self.lock();
        let generation = ring.generation.wrapping_add(1);
        *ring = Ring { generation, ..Ring::default() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keeps_the_last_ten() {
        let c = DigestCache::default();
        for n in 0..15u64 {
            c.insert(n, BlockDigest([n as u8; 32]));
        }
        assert_eq!(c.get(4), None);
        assert_eq!(c.get(5), Some(BlockDigest([5; 32])));
        assert_eq!(c.get(14), Some(BlockDigest([14; 32])));
        c.clear();
        assert_eq!(c.get(14), None);
    }

    /// One entry per block: a digest inserted again for the same number replaces the old one,
    /// and takes no other entry's place.
    #[test]
    fn the_newest_digest_of_a_block_wins() {
        let c = DigestCache::default();
        let (old, new) = (BlockDigest([1; 32]), BlockDigest([2; 32]));
        c.insert(5, old);
        c.insert(5, new);
        assert_eq!(c.get(5), Some(new));
        for n in 6..15u64 {
            c.insert(n, BlockDigest([n as u8; 32]));
        }
        assert_eq!(c.get(5), Some(new), "nine others fit beside it");
    }

    /// A reader that read a digest before a rollback cleared the cache cannot put it back, even
    /// after the block was replaced.
    #[test]
    fn a_digest_read_before_a_clear_is_not_kept() {
        let c = DigestCache::default();
        let (old, new) = (BlockDigest([1; 32]), BlockDigest([2; 32]));
        let reader = c.generation();
        c.clear();
        c.insert(5, new);
        assert!(!c.insert_at(reader, 5, old));
        assert_eq!(c.get(5), Some(new));
        assert!(c.insert_at(c.generation(), 6, old));
        assert_eq!(c.get(6), Some(old));
    }
}
