//! The capture crate's errors. The texts are the ones the node prints (`{"error": "<text>"}`).

use bitmark_peer::TransportError;

/// What recording, reading, inspecting or replaying a capture can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A line of a capture file that is not one of the format's lines (not JSON, bad hex, a
    /// header of another format version, a request with no frames).
    #[error("capture line: {0}")]
    Line(String),
    /// A file or the writer thread failed: the path or action, and why.
    #[error("{0}")]
    Io(String),
    /// Something that cannot be replayed or inspected: no capture header, another chain, a bad
    /// target address.
    #[error("{0}")]
    Input(String),
    /// The peer transport failed (connecting to a live node).
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl CaptureError {
    /// An I/O error with the path or action it concerns.
    pub fn io(what: impl std::fmt::Display, e: std::io::Error) -> CaptureError {
        CaptureError::Io(format!("{what}: {e}"))
    }
}

/// Result alias of the capture crate.
pub type Result<T, E = CaptureError> = std::result::Result<T, E>;
