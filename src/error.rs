//! The node's error type: everything a command can fail with.

use bitmark_record::Fault;

/// Errors of the `bitmark-node` binary. Chain-format errors keep bitmarkd's fault text, because
/// the CLI prints them as `{"error": "<text>"}` for tools that compare with bitmarkd.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A bitmarkd fault, printed with bitmarkd's exact text.
    #[error(transparent)]
    Fault(#[from] Fault),
    /// The chain database failed or refused something (bitmarkd's fault text where it has one).
    #[error(transparent)]
    Storage(#[from] bitmark_storage::StorageError),
    /// Input that is not what the command expects (bad hex, bad JSON shape...).
    #[error("{0}")]
    Input(String),
    /// A file or terminal operation failed; the string says which file.
    #[error("{0}")]
    Io(String),
    /// libzmq on this machine cannot do what bitmarkd peers require.
    #[error("{0}")]
    Zmq(String),
    /// The configuration cannot be run with: which field, and why.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A database would not open or failed: which one, why, and what to do about it.
    #[error("{what} {path}: {error}; to recover: {recovery}")]
    Database {
        /// `chain database` or `reservoir database`.
        what: &'static str,
        /// Its directory.
        path: String,
        /// What went wrong.
        error: String,
        /// The recovery step.
        recovery: &'static str,
    },
    /// The peer layer failed (binding, connecting...).
    #[error(transparent)]
    Peer(#[from] bitmark_peer::PeerError),
    /// A capture could not be recorded, read or replayed.
    #[error(transparent)]
    Capture(#[from] bitmark_capture::CaptureError),
}

impl NodeError {
    /// An I/O error with the path or action it concerns.
    pub fn io(what: impl std::fmt::Display, e: std::io::Error) -> NodeError {
        NodeError::Io(format!("{what}: {e}"))
    }
}

/// Result alias for the binary.
pub type Result<T, E = NodeError> = std::result::Result<T, E>;
