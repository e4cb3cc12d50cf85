//! The crate's one error type.

use bitmark_record::Chain;

/// Why a peer operation failed. Wire-level *protocol* errors are not here: a request that
/// bitmarkd would answer with `["E"][text]` is answered that way ([`crate::wire::Reply::Error`]).
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// No reply within the receive timeout, or the request could not be queued within the send
    /// timeout (libzmq's EAGAIN). As in bitmarkd the REQ socket stays usable: REQ_RELAXED lets
    /// the next request go out and REQ_CORRELATE discards the late reply.
    #[error("timed out")]
    Timeout,
    /// There is no socket or no target: the client was never connected, or was closed.
    /// bitmarkd's `fault.NotConnected` text.
    #[error("not connected")]
    NotConnected,
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
    /// was wrong (bitmarkd's upstream treats these as `invalid peer response`).
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
    /// The listener or in-memory peer has shut down.
    #[error("transport shut down")]
    Shutdown,
    /// The transport was configured with something it cannot run with (no listen address,
    /// zero workers, libzmq without CURVE...).
    #[error("invalid transport configuration: {0}")]
    Config(String),
}

impl PeerError {
    /// Map a libzmq error from a send or receive: EAGAIN means the timeout passed.
    pub(crate) fn io(e: zmq::Error) -> PeerError {
        match e {
            zmq::Error::EAGAIN => PeerError::Timeout,
            e => PeerError::Zmq(e),
        }
    }
}
