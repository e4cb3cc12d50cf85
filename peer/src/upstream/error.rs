//! What an upstream's calls fail with: the link's own errors ([`TransportError`], wrapped), and
//! the upstream's state (not registered, banned, closed) or the peer's answer (a block it does
//! not have, an error where none is expected). Texts that bitmarkd also shows are bitmarkd's.

use crate::transport::TransportError;
use std::time::Instant;

/// Why an upstream call or a start failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The link failed, timed out, or the reply was not an answer to the request
    /// ([`TransportError::Timeout`] also when the call waited the request timeout for the
    /// upstream's thread; [`TransportError::BadReply`] for a reply of the wrong kind, for which
    /// the peer is penalised).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// Not registered with a target (yet, or any more): nothing is sent (bitmarkd's
    /// `fault.NotConnected` text).
    #[error("not connected")]
    NotConnected,
    /// The peer answered `["E"][text]` where an error is possible but not a "not found" (to
    /// `N` or a push, where bitmarkd never sends one). The peer is penalised.
    #[error("remote error: {0}")]
    Remote(String),
    /// The peer answered `B` or `H` with an `["E"]` reply, whatever its text, as bitmarkd's
    /// upstream reads it (bitmarkd's `fault.BlockNotFound` text). Not an offence.
    #[error("block not found")]
    BlockNotFound,
    /// The peer is banned by the score table until the given time: no link to it until then.
    #[error("peer banned")]
    Banned {
        /// The end of the ban.
        until: Instant,
    },
    /// An upstream was pointed at our own key (bitmarkd lets the rebalance connect a node to
    /// itself, `docs/protocol.md#connecting-to-self`; bitmarkd's text).
    #[error("connecting to self forbidden")]
    ConnectingToSelf,
    /// The upstream has been closed.
    #[error("upstream closed")]
    Closed,
    /// The upstream's thread could not be started.
    #[error("cannot start upstream thread: {0}")]
    Thread(#[source] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::Fault;

    /// The texts others see (logs, `/status`): bitmarkd's where bitmarkd has one; a transport
    /// error reads as the transport's.
    #[test]
    fn texts() {
        let cases: [(UpstreamError, &str); 8] = [
            (UpstreamError::NotConnected, "not connected"),
            (UpstreamError::Remote("nope".into()), "remote error: nope"),
            (UpstreamError::BlockNotFound, "block not found"),
            (UpstreamError::Banned { until: Instant::now() }, "peer banned"),
            (UpstreamError::ConnectingToSelf, "connecting to self forbidden"),
            (UpstreamError::Closed, "upstream closed"),
            (TransportError::Timeout.into(), "timed out"),
            (TransportError::BadReply("short".into()).into(), "invalid peer response: short"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
        assert_eq!(UpstreamError::BlockNotFound.to_string(), Fault::BlockNotFound.to_string());
        assert_eq!(UpstreamError::NotConnected.to_string(), Fault::NotConnected.to_string());
        assert_eq!(UpstreamError::ConnectingToSelf.to_string(), Fault::ConnectingToSelfForbidden.to_string());
    }
}
