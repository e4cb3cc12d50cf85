//! What moving a request and its reply can fail with: libzmq, a listen address, a timeout, a
//! reply that does not answer the request. Used by both transports, the wire codec's reply
//! parser ([`crate::wire::Reply::parse`]) and the simulation's links. An upstream wraps it
//! ([`crate::upstream::UpstreamError::Transport`]).

use bitmark_record::Chain;

/// Why a request could not be carried or its reply read. Wire-level *protocol* errors are not
/// here: a request that bitmarkd would answer with `["E"][text]` is answered that way
/// ([`crate::wire::Reply::Error`]). Texts that bitmarkd also shows are bitmarkd's.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// No reply within the receive timeout, or the request could not be queued within the send
    /// timeout (libzmq's EAGAIN). As in bitmarkd the REQ socket stays usable: REQ_RELAXED lets
    /// the next request go out and REQ_CORRELATE discards the late reply. From an upstream
    /// call: no reply within the request timeout, or the call waited that long for the
    /// upstream's thread (the upstream then drops its registration and reconnects).
    #[error("timed out")]
    Timeout,
    /// There is no socket: the client was never connected, or was closed (bitmarkd's
    /// `fault.NotConnected` text).
    #[error("not connected")]
    NotConnected,
    /// The connection carrying a request went down before the reply came. libzmq does not
    /// send the request again, so the client gives it up at once instead of waiting out the
    /// receive timeout; a link that broke is not the peer's fault, so it is no offence.
    #[error("connection lost")]
    Disconnected,
    /// libzmq refused an operation (socket creation, an option, connect...).
    #[error("zmq: {0}")]
    Zmq(zmq::Error),
    /// A listen endpoint could not be bound (in use, no such address...).
    #[error("bind {endpoint}: {source}")]
    Bind {
        /// The endpoint, as given to libzmq.
        endpoint: String,
        /// libzmq's reason.
        source: zmq::Error,
    },
    /// The remote's reply is not a well-formed answer to the request sent; the text says what
    /// was wrong (bitmarkd's upstream treats these as `invalid peer response`). An upstream
    /// penalises the peer for it.
    #[error("invalid peer response: {0}")]
    BadReply(String),
    /// An `R` reply names another chain (bitmarkd: "connection refused").
    #[error("connection refused.  expected chain: {expected} but received: {received}")]
    ChainMismatch {
        /// Our chain.
        expected: Chain,
        /// The chain frame received, Go-quoted.
        received: String,
    },
    /// A message with no frames: nothing to send (bitmarkd's client panics here).
    #[error("empty message")]
    EmptyMessage,
    /// The transport was configured with something it cannot run with (no listen address,
    /// zero workers, libzmq without CURVE...).
    #[error("invalid transport configuration: {0}")]
    Config(String),
    /// The link cannot carry a request: the socket monitor saw why (a failed CURVE handshake).
    #[error("link failed: {0}")]
    LinkFailed(String),
}

impl TransportError {
    /// Map a libzmq error from a send or receive: EAGAIN means the timeout passed.
    pub(crate) fn io(e: zmq::Error) -> TransportError {
        match e {
            zmq::Error::EAGAIN => TransportError::Timeout,
            e => TransportError::Zmq(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts others see (logs, `/status`, command errors): bitmarkd's where it has one.
    #[test]
    fn texts() {
        let cases: [(TransportError, &str); 8] = [
            (TransportError::Timeout, "timed out"),
            (TransportError::Disconnected, "connection lost"),
            (TransportError::NotConnected, "not connected"),
            (TransportError::BadReply("short".into()), "invalid peer response: short"),
            (TransportError::EmptyMessage, "empty message"),
            (TransportError::Config("no listen address".into()), "invalid transport configuration: no listen address"),
            (TransportError::LinkFailed("handshake".into()), "link failed: handshake"),
            (
                TransportError::ChainMismatch { expected: Chain::Local, received: "\"bitmark\"".into() },
                "connection refused.  expected chain: local but received: \"bitmark\"",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
        assert_eq!(TransportError::NotConnected.to_string(), bitmark_record::Fault::NotConnected.to_string());
        assert!(matches!(TransportError::io(zmq::Error::EAGAIN), TransportError::Timeout));
        assert_eq!(TransportError::io(zmq::Error::EINVAL).to_string(), format!("zmq: {}", zmq::Error::EINVAL));
    }
}
