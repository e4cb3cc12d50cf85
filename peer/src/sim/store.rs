//! The storage crate behind the connector's seams, for simulations and tests: a bare
//! [`BlockStore`] is a [`LocalChain`] and the [`DigestPool`] a [`Digester`]. The node goes
//! through its reservoir's hooks instead (`src/node/sync.rs`), which is why these live here.

use crate::connector::{ChainError, Digester, HeaderDone, LocalChain, RolledBack};
use bitmark_record::header::PackedHeader;
use bitmark_record::BlockDigest;
use bitmark_storage::{BlockStore, DigestPool, StorageError, UndoneBlock};

/// A storage error as the connector reads it: a fault is the block's, anything else the store's.
pub fn chain_error(e: StorageError) -> ChainError {
    match e {
        StorageError::Fault(fault) => ChainError::Invalid(fault),
        other => ChainError::backend(other),
    }
}

/// What the connector is told of a block a rollback removed.
pub fn rolled_back(block: &UndoneBlock) -> RolledBack {
    RolledBack { number: block.number, digest: block.digest, transactions: block.records.len() }
}

impl LocalChain for BlockStore {
    fn height(&self) -> u64 {
        BlockStore::height(self)
    }

    fn digest(&self, n: u64) -> Result<BlockDigest, ChainError> {
        self.digest_for(n).map_err(chain_error)
    }

    fn block(&self, n: u64) -> Result<Option<Vec<u8>>, ChainError> {
        BlockStore::block(self, n).map_err(chain_error)
    }

    fn apply(&self, block: &[u8], digest: BlockDigest) -> Result<(), ChainError> {
        self.apply_with_digest(block, digest).map(|_| ()).map_err(chain_error)
    }

    fn apply_fast(&self, block: &[u8], next: &[u8]) -> Result<BlockDigest, ChainError> {
        BlockStore::apply_fast(self, block, next).map(|a| a.digest).map_err(chain_error)
    }

    fn rollback_to(&self, height: u64) -> Result<Vec<RolledBack>, ChainError> {
        let mut undone = Vec::new();
        BlockStore::rollback_to(self, height, |b| undone.push(rolled_back(&b))).map_err(chain_error)?;
        Ok(undone)
    }
}

impl Digester for DigestPool {
    fn threads(&self) -> usize {
        DigestPool::threads(self)
    }

    fn digest_header(&self, header: PackedHeader, then: HeaderDone) {
        self.digest_then(header, then);
    }
}
