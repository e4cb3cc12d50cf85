//! What the connector needs from the local node: the chain it extends ([`LocalChain`]) and the
//! Argon2d digest workers ([`Digester`]). The node implements both over its block store,
//! reservoir and digest pool; the simulation over bare block stores (`crate::sim`); the unit
//! tests with cheap stand-ins. Nothing here knows how the chain is stored.

use bitmark_record::{BlockDigest, Fault};

/// A failure of the local chain that is nobody else's fault (its database, or the reservoir
/// kept in step with it), boxed so that any store can report its own error type.
pub type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// Why the local chain did not do what the connector asked.
///
/// Only [`ChainError::Invalid`] can be evidence against a peer, and only once the connector
/// has re-checked its own state (the chain may have moved under a fetch).
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// bitmarkd's fault: the block was refused (its text says why), or a read found no such
    /// block (`BlockNotFound`).
    #[error(transparent)]
    Invalid(#[from] Fault),
    /// The local chain itself failed.
    #[error("local chain: {0}")]
    Backend(#[source] BackendError),
}

impl ChainError {
    /// A [`ChainError::Backend`] from any error.
    pub fn backend(error: impl Into<BackendError>) -> ChainError {
        ChainError::Backend(error.into())
    }
}

/// A block removed from the local chain by [`LocalChain::rollback_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolledBack {
    /// Its number.
    pub number: u64,
    /// Its digest.
    pub digest: BlockDigest,
    /// How many records it held, foundation records included.
    pub transactions: usize,
}

/// The local chain. Writes come from one thread at a time (the connector's), reads from any;
/// other writers (pushed and produced blocks) may extend the chain between two calls.
pub trait LocalChain: Send + Sync {
    /// Number of the last block (1 = only genesis).
    fn height(&self) -> u64;
    /// Digest of block `n` (the genesis digest for `n <= 1`); `BlockNotFound` above the tip.
    fn digest(&self, n: u64) -> Result<BlockDigest, ChainError>;
    /// The packed block `n`, if stored.
    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, ChainError>;
    /// Validate and store the next block, whose Argon2d digest is `digest` (full verification:
    /// proof of work, link to the tip, every record).
    fn apply(&self, block: &[u8], digest: BlockDigest) -> Result<(), ChainError>;
    /// Fast sync: store the next block taking its digest from `next.previousBlock`, without the
    /// proof-of-work and link checks. Returns the digest stored.
    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<BlockDigest, ChainError>;
    /// Remove every block above `height` (bitmarkd's `DeleteDownToBlock(height + 1)`),
    /// returning them, highest first. An error means the removal, or what must follow it
    /// (telling the reservoir), failed: the connector then reads the height again rather than
    /// trusting any list of what was removed.
    fn rollback_to(&self, height: u64) -> Result<Vec<RolledBack>, ChainError>;
}

/// Computes block digests, many at a time.
pub trait Digester: Send + Sync {
    /// The digest of the header at the front of each block; `None` for a block too short to
    /// have one.
    fn block_digests(&self, blocks: &[&[u8]]) -> Vec<Option<BlockDigest>>;
    /// How many digests it computes at once: the pipeline keeps that many blocks waiting.
    fn threads(&self) -> usize;
}
