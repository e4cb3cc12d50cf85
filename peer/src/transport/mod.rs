//! Moving requests and replies: libzmq with CURVE ([`ZmqListener`], [`ZmqClient`]) and, with the
//! `test-utils` feature, an in-memory network for tests and simulations (`MemoryNetwork`),
//! behind one server-side trait ([`Service`]) and one client-side trait ([`Transport`]).

mod client;
mod connection_events;
mod error;
mod keys;
mod lanes;
#[cfg(any(test, feature = "test-utils"))]
mod memory;
mod monitor;
pub use monitor::LinkEvents;
pub mod options;
mod owed;
mod readiness;
mod zap;
mod zmq_listener;

pub use client::{ClientConfig, ZmqClient};
pub use error::TransportError;
pub use keys::CurveKeys;
#[cfg(any(test, feature = "test-utils"))]
pub use memory::{MemoryNetwork, MemoryTransport};
pub use zmq_listener::{ListenerConfig, ListenerLimits, ZmqListener};

use crate::wire::{Reply, Request};
use bitmark_record::Chain;

/// What a transport knows about the sender of a request. Only `public_key` is authenticated
/// (by CURVE). bitmarkd accepts every key and never binds it to the key a peer claims
/// (`docs/protocol.md#unauthenticated-announcements`); we accept every key too, but an `R` must
/// claim the key its connection authenticated with (the handler refuses it otherwise).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// The remote IP as libzmq reports it (`Peer-Address` metadata, no port), or the name an
    /// in-memory peer was given.
    pub address: Option<String>,
    /// The routing id of the connection on our ROUTER socket (assigned by libzmq, or the
    /// identity the client set); distinguishes connections from the same address.
    pub routing_id: Vec<u8>,
    /// The CURVE key of the connection as libzmq authenticated it: the client's key (known
    /// while the listener's ZAP handler runs, which it always does unless another listener of
    /// the same context holds the handler; libzmq tells a server the client key through ZAP
    /// alone), or for an upstream's exchange the server key it dialled. `None` over the
    /// in-memory transport and in replays from a file.
    pub public_key: Option<Vec<u8>>,
}

/// The server side: answers one parsed request. Called from several worker threads at once,
/// so it must be `Sync`; it must not panic (a panic costs the requester its reply).
pub trait Service: Send + Sync {
    /// The reply to `request` from `peer`.
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply;

    /// Whether [`Service::handle`] answers `request` at once: from memory, without I/O, without
    /// waiting on a lock held for long. The libzmq listener answers such a request on its socket
    /// thread instead of handing it to a worker and the reply back, which costs two thread
    /// wake-ups per request (most of what `N` cost beside a bare CURVE echo); anything slow there
    /// would hold up every connection. `false` (through the workers) unless a service says so.
    fn answers_at_once(&self, _request: &Request) -> bool {
        false
    }
}

/// The client side: one request, one reply, as over a REQ socket.
pub trait Transport {
    /// Send `request` and read the reply, checked against the request
    /// ([`Reply::parse`]). A remote `["E"][text]` is `Ok(Reply::Error)`.
    fn request(&mut self, request: &Request) -> Result<Reply, TransportError>;

    /// After a request failed: what is known to be wrong with the link itself (no connection,
    /// a failed CURVE handshake), if anything. `None` by default.
    fn link_problem(&mut self) -> Option<String> {
        None
    }
}

/// The server side of one exchange on frames: parse as bitmarkd's listener does, let `service`
/// answer what parses, and encode the reply. Both transports go through here, so the in-memory
/// network exercises the same codec paths as the sockets.
pub fn serve<F: AsRef<[u8]>>(service: &dyn Service, chain: Chain, peer: &PeerInfo, frames: &[F]) -> Vec<Vec<u8>> {
    match Request::parse(frames, chain) {
        Ok(request) => service.handle(peer, request),
        Err(reply) => reply,
    }
    .to_frames()
}
