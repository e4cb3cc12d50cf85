//! Block-header digests: Argon2d over the packed header, and the proof-of-work tests on them
//! (blockdigest/digest.go).
//!
//! The digest is Argon2d (version 0x13, 4 passes over 128 MiB, one lane, 32-byte tag) with the
//! packed header as both password and salt. Allocating and faulting in 128 MiB costs a large
//! part of each hash, so [`DigestHasher`] owns its working memory and reuses it; use one per
//! thread (or [`block_digest`], which keeps one in a thread-local).

use crate::chain::Chain;
use crate::difficulty::Difficulty;
use crate::digest::BlockDigest;
use crate::fault::Fault;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;

/// Argon2d memory in KiB (1 KiB blocks): 128 MiB.
pub const MEMORY_KIB: u32 = 1 << 17;

/// Argon2d passes over the memory.
pub const ITERATIONS: u32 = 4;

/// Argon2d lanes.
pub const PARALLELISM: u32 = 1;

/// Digest length in bytes.
pub const LENGTH: usize = 32;

/// The Argon2 context with bitmarkd's parameters.
fn argon2d() -> Result<Argon2<'static>, argon2::Error> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, Some(LENGTH))?;
    Ok(Argon2::new(Algorithm::Argon2d, Version::V0x13, params))
}

/// An Argon2d block-digest hasher that keeps its 128 MiB of working memory between hashes.
///
/// Every pass of Argon2 overwrites the memory before reading it, so reuse needs no clearing.
pub struct DigestHasher {
    memory: Vec<Block>,
}

impl Default for DigestHasher {
    fn default() -> Self {
        DigestHasher::new()
    }
}

impl DigestHasher {
    /// Allocate the working memory (128 MiB; pages are touched on the first hash).
    pub fn new() -> DigestHasher {
        DigestHasher { memory: vec![Block::new(); MEMORY_KIB as usize] }
    }

    /// The digest of a packed 100-byte header (`NewDigest`).
    pub fn hash(&mut self, header: &[u8; 100]) -> BlockDigest {
        // A 100-byte password and salt are always acceptable to Argon2, so this cannot fail;
        // should the library ever refuse, the all-zero digest matches no real block.
        self.hash_bytes(header).unwrap_or_default()
    }

    /// The digest of arbitrary data (bitmarkd's tests hash other lengths too). Argon2 needs a
    /// salt of at least 8 bytes; shorter data is `InvalidLength` (Go's library would panic).
    pub fn hash_bytes(&mut self, data: &[u8]) -> Result<BlockDigest, Fault> {
        let mut out = [0u8; LENGTH];
        argon2d()
            .and_then(|a| a.hash_password_into_with_memory(data, data, &mut out, &mut self.memory))
            .map_err(|_| Fault::InvalidLength)?;
        Ok(BlockDigest(out))
    }
}

thread_local! {
    /// One reusable hasher per thread, created on first use.
    static HASHER: RefCell<Option<DigestHasher>> = const { RefCell::new(None) };
}

/// Run `f` with this thread's hasher. A re-entrant call (impossible in this crate) gets a
/// temporary hasher instead of panicking on the busy one.
fn with_hasher<T>(f: impl FnOnce(&mut DigestHasher) -> T) -> T {
    HASHER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => f(slot.get_or_insert_with(DigestHasher::new)),
        Err(_) => f(&mut DigestHasher::new()),
    })
}

/// The digest of a packed header using this thread's reusable hasher. The 128 MiB stay
/// allocated for the life of the thread; use a [`DigestHasher`] directly to control that.
pub fn block_digest(header: &[u8; 100]) -> BlockDigest {
    with_hasher(|h| h.hash(header))
}

/// Argon2d of arbitrary data (at least 8 bytes) using this thread's reusable hasher.
pub fn block_digest_of_bytes(data: &[u8]) -> Result<BlockDigest, Fault> {
    with_hasher(|h| h.hash_bytes(data))
}

impl BlockDigest {
    /// bitmarkd's `SmallerDigestThan`, used for fork choice between blocks of equal height.
    ///
    /// It scans from the most significant byte (index 31) down and answers true at the first
    /// byte where `self` is smaller, but does *not* stop with false where `self` is larger, so
    /// it is not a true ordering (`…ff 00` counts as smaller than `…00 ff`). Reproduced as is,
    /// because peers must choose the same fork.
    pub fn smaller_than(&self, other: &BlockDigest) -> bool {
        self.0.iter().rev().zip(other.0.iter().rev()).any(|(a, b)| a < b)
    }

    /// The digest as a big-endian 256-bit integer: the raw bytes are little-endian.
    pub fn to_be_integer(&self) -> [u8; 32] {
        let mut be = self.0;
        be.reverse();
        be
    }

    /// The proof-of-work test (`IsValidByDifficulty`): the digest read as a little-endian
    /// integer must not exceed the difficulty's target. Chain `local` accepts every digest.
    pub fn is_valid_by_difficulty(&self, difficulty: &Difficulty, chain: Chain) -> bool {
        !chain.checks_proof_of_work() || difficulty.admits_be(&self.to_be_integer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaller_than_is_the_quirky_scan() {
        let mut a = BlockDigest::default();
        let mut b = BlockDigest::default();
        a.0[31] = 0xff;
        b.0[0] = 0xff;
        // a is larger as an integer, yet "smaller" because a[0] < b[0].
        assert!(a.smaller_than(&b));
        assert!(!b.smaller_than(&b));
    }

    #[test]
    fn short_data_is_refused() {
        assert_eq!(DigestHasher { memory: Vec::new() }.hash_bytes(b"short"), Err(Fault::InvalidLength));
    }
}
