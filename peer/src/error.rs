//! The crate's one error type.

use bitmark_record::Chain;
use std::path::PathBuf;
use std::time::Instant;

/// Why a peer operation failed. Wire-level *protocol* errors are not here: a request that
/// bitmarkd would answer with `["E"][text]` is answered that way ([`crate::wire::Reply::Error`]).
///
/// Grouped by where they arise: transports (`Timeout` to `Config`), upstreams (`Remote` to
/// `UpstreamClosed`; `Timeout`, `NotConnected` and `BadReply` too), the broadcast bus
/// (`BusClosed`; `Timeout` too), `peers.json` (`Backup*`) and the DNS bootstrap (`NoResolver`,
/// `DnsLookup`, `BlankNodes`). Texts that bitmarkd also shows are bitmarkd's.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// No reply within the receive timeout, or the request could not be queued within the send
    /// timeout (libzmq's EAGAIN). As in bitmarkd the REQ socket stays usable: REQ_RELAXED lets
    /// the next request go out and REQ_CORRELATE discards the late reply. From an upstream
    /// call: no reply within the request timeout, or the call waited that long for the
    /// upstream's thread (the upstream then drops its registration and reconnects). From
    /// [`crate::bus::Subscriber::recv_timeout`]: nothing arrived in time.
    #[error("timed out")]
    Timeout,
    /// There is no socket or no target: the client was never connected, or was closed; or an
    /// upstream is not registered with its target (yet, or any more), so nothing is sent.
    /// bitmarkd's `fault.NotConnected` text.
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
    UpstreamClosed,

    /// The link cannot carry a request: the socket monitor saw why (a failed CURVE handshake).
    #[error("link failed: {0}")]
    LinkFailed(String),

    /// The broadcast bus is closed (or gone) and the subscriber's queue is empty.
    #[error("bus closed")]
    BusClosed,

    /// Reading or writing `peers.json` failed.
    #[error("peers.json {path}: {source}")]
    BackupIo {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// `peers.json` does not start with a JSON value.
    #[error("peers.json: {0}")]
    BackupJson(#[source] serde_json::Error),
    /// The JSON value of `peers.json` is neither an array nor `null`.
    #[error("peers.json: not a list")]
    BackupNotAList,

    /// No DNS resolver is configured for the TXT bootstrap.
    #[error("no DNS resolver configured")]
    NoResolver,
    /// The DNS resolver failed (the text says how).
    #[error("DNS lookup: {0}")]
    DnsLookup(String),
    /// The `nodes` setting is empty (bitmarkd's text).
    #[error("nodes cannot be blank choose from: none, chain or sub.domain.tld")]
    BlankNodes,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts others see: bitmarkd's where bitmarkd has one, else unchanged from before the
    /// upstream, bus, backup and lookup errors were folded in here.
    #[test]
    fn texts() {
        let cases: [(PeerError, &str); 13] = [
            (PeerError::Timeout, "timed out"),
            (PeerError::Disconnected, "connection lost"),
            (PeerError::NotConnected, "not connected"),
            (PeerError::BadReply("short".into()), "invalid peer response: short"),
            (PeerError::Remote("nope".into()), "remote error: nope"),
            (PeerError::BlockNotFound, "block not found"),
            (PeerError::Banned { until: Instant::now() }, "peer banned"),
            (PeerError::ConnectingToSelf, "connecting to self forbidden"),
            (PeerError::UpstreamClosed, "upstream closed"),
            (PeerError::BusClosed, "bus closed"),
            (PeerError::NoResolver, "no DNS resolver configured"),
            (PeerError::DnsLookup("SERVFAIL".into()), "DNS lookup: SERVFAIL"),
            (PeerError::BlankNodes, "nodes cannot be blank choose from: none, chain or sub.domain.tld"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
        assert_eq!(PeerError::BlockNotFound.to_string(), bitmark_record::Fault::BlockNotFound.to_string());
        assert_eq!(PeerError::NotConnected.to_string(), bitmark_record::Fault::NotConnected.to_string());
        assert_eq!(
            PeerError::ConnectingToSelf.to_string(),
            bitmark_record::Fault::ConnectingToSelfForbidden.to_string()
        );
        let io = PeerError::BackupIo { path: "/x/peers.json".into(), source: std::io::ErrorKind::NotFound.into() };
        assert!(io.to_string().starts_with("peers.json /x/peers.json: "));
        assert_eq!(PeerError::BackupNotAList.to_string(), "peers.json: not a list");
    }
}
