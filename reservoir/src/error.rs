//! The crate's one error type.

use bitmark_record::Fault;

/// An error from the confirmed chain state behind [`crate::ConfirmedState`] (a database read
/// failed, or held something bitmarkd could not have written). Boxed so that any store can
/// report its own error type through the seam.
pub type StateError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in the reservoir.
///
/// Refusals of a submitted record are [`ReservoirError::Fault`] with bitmarkd's exact text:
/// those texts go back to peers and RPC clients. The other variants are local failures.
#[derive(Debug, thiserror::Error)]
pub enum ReservoirError {
    /// bitmarkd's refusal, with its text (e.g. "asset not found").
    #[error(transparent)]
    Fault(#[from] Fault),
    /// Reading the confirmed chain state failed.
    #[error("confirmed state: {0}")]
    State(StateError),
    /// The block store refused or failed to change the chain through [`crate::ChainHooks`]
    /// (a refused block carries bitmarkd's fault inside).
    #[error(transparent)]
    Storage(#[from] bitmark_storage::StorageError),
    /// The reservoir's sled tree failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// Reading or writing a `reservoir.cache` file failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A `reservoir.cache` file is malformed, with bitmarkd's message where it has one
    /// ("expected BOF: …", "abort, read invalid tag: 0x..").
    #[error("{0}")]
    CacheFile(String),
}

impl ReservoirError {
    /// The bitmarkd fault, when this is one (the reservoir's own refusal, or the block store's
    /// refusal of a block).
    pub fn fault(&self) -> Option<Fault> {
        match self {
            ReservoirError::Fault(f) => Some(*f),
            ReservoirError::Storage(e) => e.fault(),
            _ => None,
        }
    }
}

impl From<StateError> for ReservoirError {
    fn from(e: StateError) -> Self {
        ReservoirError::State(e)
    }
}

/// Result with [`ReservoirError`].
pub type Result<T, E = ReservoirError> = std::result::Result<T, E>;
