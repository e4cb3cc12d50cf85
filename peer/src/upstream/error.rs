//! What an upstream call can end in.

use crate::error::PeerError;
use std::time::Instant;

/// Why an upstream call failed. Transport failures keep their [`PeerError`]; the rest are the
/// outcomes a caller (the connector) acts on differently.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No reply within the request timeout, or the call waited that long for the upstream's
    /// thread. The upstream drops its registration and reconnects.
    #[error("timed out")]
    Timeout,
    /// No target, or not registered with it (yet, or any more): nothing is sent.
    #[error("not connected")]
    NotConnected,
    /// The reply is not a well-formed answer to the request (bitmarkd's
    /// `invalid peer response`). The peer is penalised.
    #[error("invalid peer response: {0}")]
    BadReply(String),
    /// The peer answered `["E"][text]` where an error is possible but not a "not found".
    #[error("remote error: {0}")]
    Remote(String),
    /// The peer answered `B` or `H` with any `["E"]` reply, as bitmarkd reads it.
    #[error("block not found")]
    BlockNotFound,
    /// The peer is banned by the score table until the given time.
    #[error("peer banned")]
    Banned {
        /// The end of the ban.
        until: Instant,
    },
    /// The target is ourselves (bitmarkd lets the rebalance connect a node to itself, §8
    /// item 10; bitmarkd's text).
    #[error("connecting to self forbidden")]
    ConnectingToSelf,
    /// The upstream has been closed.
    #[error("upstream closed")]
    Closed,
    /// A transport failure other than a timeout (libzmq refused an operation...).
    #[error(transparent)]
    Transport(PeerError),
}

impl From<PeerError> for UpstreamError {
    fn from(e: PeerError) -> UpstreamError {
        match e {
            PeerError::Timeout => UpstreamError::Timeout,
            PeerError::NotConnected => UpstreamError::NotConnected,
            PeerError::BadReply(what) => UpstreamError::BadReply(what),
            e => UpstreamError::Transport(e),
        }
    }
}
