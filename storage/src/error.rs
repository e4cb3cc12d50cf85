//! The crate's one error type.

use crate::pool::Pool;
use bitmark_record::Fault;

/// Everything that can go wrong in chain storage.
///
/// Validation failures are [`StorageError::Fault`] with bitmarkd's exact fault text (they travel
/// to peers and RPC clients); the other variants are local: the database itself failed or holds
/// data bitmarkd could not have written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A bitmarkd fault: the block or record is invalid, with bitmarkd's text.
    #[error(transparent)]
    Fault(#[from] Fault),
    /// sled failed (I/O, or sled's own corruption detection at open).
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value has a shape bitmarkd never writes (bitmarkd would panic here).
    #[error("corrupt {pool} entry {key}: {reason}")]
    Corrupt {
        /// The pool holding the bad entry.
        pool: Pool,
        /// The key after the prefix, hex.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The version key holds other than 4 bytes; bitmarkd refuses to open (storage/setup.go:293).
    #[error("incompatible database version length: expected: 4  actual: {0}")]
    VersionLength(usize),
    /// A file beside the database could not be read or written (the generated-chain cache).
    #[error("{0}")]
    Io(String),
}

impl StorageError {
    /// The bitmarkd fault, when this is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StorageError::Fault(f) => Some(*f),
            _ => None,
        }
    }

    /// A corruption error for `pool` at `key` (the full key; the prefix is dropped for display).
    pub(crate) fn corrupt(pool: Pool, key: &[u8], reason: impl Into<String>) -> StorageError {
        let body = key.get(1..).unwrap_or_default();
        StorageError::Corrupt { pool, key: hex_of(body), reason: reason.into() }
    }
}

/// Lower-case hex, for messages.
pub(crate) fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Result with [`StorageError`].
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
