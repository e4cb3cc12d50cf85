//! What the connector needs from the local node: the chain it extends ([`LocalChain`]) and the
//! Argon2d digest workers ([`Digester`]). The node implements both over its block store,
//! reservoir and digest pool; the simulation over bare block stores (`crate::sim`); the unit
//! tests with cheap stand-ins. Nothing here knows how the chain is stored.

use bitmark_record::header::{PackedHeader, HEADER_SIZE};
use bitmark_record::{BlockDigest, Fault};
use std::sync::mpsc;

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

/// What is done with a header's digest once computed.
pub type HeaderDone = Box<dyn FnOnce(BlockDigest) + Send>;

/// What is done with a block and its digest once computed (`None`: the block is too short to
/// have a header).
pub type BlockDone = Box<dyn FnOnce(Vec<u8>, Option<BlockDigest>) + Send>;

/// Computes block digests on threads of its own.
pub trait Digester: Send + Sync {
    /// How many digests it computes at once: the pipeline keeps that many blocks waiting.
    fn threads(&self) -> usize;

    /// Compute the digest of `header` and call `then` with it, on the digester's threads if it
    /// has any (so `then` must not wait for the digester), waiting while its queue is full.
    /// `then` is always called.
    fn digest_header(&self, header: PackedHeader, then: HeaderDone);

    /// [`Digester::digest_header`] for the header at the front of `block`, handing the block
    /// back with its digest.
    fn submit(&self, block: Vec<u8>, done: BlockDone) {
        match header_of(&block) {
            Some(header) => self.digest_header(header, Box::new(move |digest| done(block, Some(digest)))),
            None => done(block, None),
        }
    }

    /// The digest of the header at the front of each block, computed at once on the
    /// digester's threads; `None` for a block too short to have one.
    fn block_digests(&self, blocks: &[&[u8]]) -> Vec<Option<BlockDigest>> {
        let (reply, answers) = mpsc::channel();
        for (index, block) in blocks.iter().enumerate() {
            if let Some(header) = header_of(block) {
                let reply = reply.clone();
                self.digest_header(
                    header,
                    Box::new(move |digest| {
                        let _ = reply.send((index, digest));
                    }),
                );
            }
        }
        drop(reply);
        let mut out = vec![None; blocks.len()];
        for (index, digest) in answers.iter() {
            if let Some(slot) = out.get_mut(index) {
                *slot = Some(digest);
            }
        }
        out
    }
}

/// The header at the front of a packed block.
fn header_of(block: &[u8]) -> Option<PackedHeader> {
    block.get(..HEADER_SIZE).and_then(|h| h.try_into().ok())
}
