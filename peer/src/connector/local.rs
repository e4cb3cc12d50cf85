//! What the connector needs from the local node: the chain it extends ([`LocalChain`],
//! implemented for the [`BlockStore`]) and the Argon2d digest workers ([`Digester`], implemented
//! for the [`DigestPool`]). Tests implement both with cheap stand-ins.

use bitmark_record::BlockDigest;
use bitmark_storage::{BlockStore, DigestPool, StorageError, UndoneBlock};

/// The local chain. Writes come from one thread at a time (the connector's), reads from any.
pub trait LocalChain: Send + Sync {
    /// Number of the last block (1 = only genesis).
    fn height(&self) -> u64;
    /// Digest of block `n` (the genesis digest for `n <= 1`); `BlockNotFound` above the tip.
    fn digest(&self, n: u64) -> Result<BlockDigest, StorageError>;
    /// The packed block `n`, if stored.
    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, StorageError>;
    /// Validate and store the next block, whose Argon2d digest is `digest` (full verification:
    /// proof of work, link to the tip, every record).
    fn apply(&self, block: &[u8], digest: BlockDigest) -> Result<(), StorageError>;
    /// Fast sync: store the next block taking its digest from `next.previousBlock`, without the
    /// proof-of-work and link checks. Returns the digest stored.
    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<BlockDigest, StorageError>;
    /// Remove every block above `height` (bitmarkd's `DeleteDownToBlock(height + 1)`),
    /// returning them, highest first.
    fn rollback_to(&self, height: u64) -> Result<Vec<UndoneBlock>, StorageError>;
}

impl LocalChain for BlockStore {
    fn height(&self) -> u64 {
        BlockStore::height(self)
    }

    fn digest(&self, n: u64) -> Result<BlockDigest, StorageError> {
        self.digest_for(n)
    }

    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, StorageError> {
        BlockStore::block(self, n)
    }

    fn apply(&self, block: &[u8], digest: BlockDigest) -> Result<(), StorageError> {
        self.apply_with_digest(block, digest).map(|_| ())
    }

    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<BlockDigest, StorageError> {
        BlockStore::apply_fast(self, block, next).map(|a| a.digest)
    }

    fn rollback_to(&self, height: u64) -> Result<Vec<UndoneBlock>, StorageError> {
        let mut undone = Vec::new();
        BlockStore::rollback_to(self, height, |b| undone.push(b))?;
        Ok(undone)
    }
}

/// Computes block digests, many at a time.
pub trait Digester: Send + Sync {
    /// The digest of the header at the front of each block; `None` for a block too short to
    /// have one.
    fn block_digests(&self, blocks: &[&[u8]]) -> Vec<Option<BlockDigest>>;
    /// How many digests it computes at once: the pipeline keeps that many blocks waiting.
    fn threads(&self) -> usize;
}

impl Digester for DigestPool {
    fn block_digests(&self, blocks: &[&[u8]]) -> Vec<Option<BlockDigest>> {
        DigestPool::block_digests(self, blocks)
    }

    fn threads(&self) -> usize {
        DigestPool::threads(self)
    }
}
