//! Message capture: the hook the transports call with every exchange they complete ([`Tap`]).
//!
//! The transports know both sides of an exchange at one place: the listener when it hands a
//! reply to its ROUTER (on a worker thread, or on the socket thread for parse errors, full
//! queues and dropped pushes), the [`ZmqClient`](crate::transport::ZmqClient) when a request it
//! sent is answered or fails. There they call the tap, if one is set; without one the cost is
//! an `Option` check and nothing is copied. The tap is called on the hot path: an
//! implementation must only hand the exchange on (the node's recorder copies it into a bounded
//! channel for a writer thread, or drops and counts it when the channel is full), never block.
//!
//! The file format, recording, rotation, reading and replay are the `bitmark-capture` crate's,
//! which builds on this hook; the transports only know the hook.

use crate::transport::PeerInfo;

/// Which way an exchange went, seen from the recording node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A request our listener received, and the reply it sent.
    In,
    /// A request one of our upstreams sent, and the reply it received.
    Out,
}

impl Direction {
    /// `in` or `out`, as in capture files.
    pub fn name(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// One completed exchange, borrowed from the transport that saw it.
#[derive(Clone, Copy, Debug)]
pub struct Exchange<'a> {
    /// In (listener) or out (upstream).
    pub direction: Direction,
    /// The other side: for the listener, the remote IP (no port), the routing id and the
    /// CURVE client key when the listener runs its ZAP handler; for an upstream, the target's
    /// `IP:PORT` and server key.
    pub peer: &'a PeerInfo,
    /// The request frames as they were on the wire after the REQ envelope: the chain frame
    /// first. For the listener these are the frames received (at most the 24 it keeps).
    pub request: &'a [Vec<u8>],
    /// The reply frames, or `None` when there was none (a timeout, a failed send, a panicking
    /// service).
    pub reply: Option<&'a [Vec<u8>]>,
    /// Why there is no reply.
    pub error: Option<&'a str>,
    /// A push the listener acknowledged without processing it because its queue was full:
    /// the acknowledgement went out, the item was never looked at.
    pub dropped: bool,
}

/// Sees every exchange of the transports it is given to. Called from the listener's socket
/// and worker threads and from every upstream thread at once, so it must be cheap and never
/// block; it must not panic.
pub trait Tap: Send + Sync {
    /// One exchange has completed.
    fn exchange(&self, exchange: &Exchange<'_>);
}
