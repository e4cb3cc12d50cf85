//! The chain tip (bitmarkd's `blockheader` package state) and the digest-for-height cache.

use bitmark_record::BlockDigest;
use std::sync::Mutex;

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

/// A small round-robin cache of block digests by number.
#[derive(Debug, Default)]
pub struct DigestCache {
    inner: Mutex<Ring>,
}

#[derive(Debug, Default)]
struct Ring {
    slots: [Option<(u64, BlockDigest)>; DIGEST_CACHE_SIZE],
    next: usize,
}

impl DigestCache {
    /// The cached digest of block `number`.
    pub fn get(&self, number: u64) -> Option<BlockDigest> {
        let ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        ring.slots.iter().flatten().find(|(n, _)| *n == number).map(|(_, d)| *d)
    }

    /// Remember a digest, replacing the oldest entry.
    pub fn insert(&self, number: u64, digest: BlockDigest) {
        let mut ring = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let at = ring.next;
        if let Some(slot) = ring.slots.get_mut(at) {
            *slot = Some((number, digest));
        }
        ring.next = (at + 1) % DIGEST_CACHE_SIZE;
    }

    /// Forget everything (after a rollback, so no digest of a deleted block survives).
    pub fn clear(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = Ring::default();
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
}
