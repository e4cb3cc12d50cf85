//! Upstream clients: one per remote peer, as bitmarkd's `peer/upstream`
//! (`docs/protocol.md#upstream-clients`).
//!
//! An upstream registers with its peer (`R`), polls its height (`N`) and its digest of our
//! height (`H`) every 30 s, pushes broadcast items to it, and answers the connector's
//! `get_block_data` and `remote_digest_of_height`. It is built in two layers:
//!
//! * [`Session`]: the protocol and its state machine, synchronous and single-threaded, over
//!   any [`Dialer`] (libzmq or the in-memory network) and any [`Clock`]. Simulations and the
//!   virtual-time tests drive it step by step ([`Session::next_due`], [`Session::run_due`]).
//! * [`Upstream`]: a thread that owns a `Session` (libzmq sockets are not thread-safe, and REQ
//!   allows one request at a time), with typed calls from other threads, a bounded queue of
//!   broadcast items ([`PushQueue`], a [`BroadcastSink`](crate::bus::BroadcastSink) that
//!   [`Upstream::subscribe`] attaches to the [`Bus`](crate::bus::Bus)) and a [`UpstreamStatus`]
//!   snapshot.
//!
//! # States
//!
//! ```text
//!            retarget                 R answered                 timeout / link error
//!   Idle ─────────────► Connecting ──────────────► Registered ──────────────────────┐
//!    ▲     release         │  ▲  R failed:                │ poll N, H every 30 s     │
//!    └─────────────────────┘  └─ back-off ◄───────────────┼──────────────────────────┘
//!                          banned │                       │ banned
//!                                 ▼                       ▼
//!                               Banned ──── ban over ───► Connecting
//! ```
//!
//! # Where we differ from bitmarkd, and why
//!
//! In the crate's one table of differences, `peer/README.md` (rows marked "upstream").

mod backoff;
mod dial;
mod error;
mod handle;
mod session;
mod status;

#[cfg(test)]
mod tests;

pub use backoff::{Backoff, Jitter};
#[cfg(any(test, feature = "test-utils"))]
pub use dial::MemoryDialer;
pub use dial::{Dialer, Target, ZmqDialer, LINK_RETRY_INTERVAL};
pub use error::UpstreamError;
pub use handle::{PushQueue, Upstream};
pub use session::Session;
pub use status::{LinkState, UpstreamStatus};

use crate::bus::DEFAULT_CAPACITY;
use crate::clock::Clock;
use crate::listener::{ChainView, PeerTable};
use crate::score::ScoreBoard;
use std::sync::Arc;
use std::time::Duration;

/// Timings and bounds of an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// How long to wait for a reply, and how long a caller waits for its call in all
    /// (bitmarkd's `connectorTimeout`, 60 s). Shorter gives up on peers serving large blocks
    /// over slow links; longer stalls the connector on dead peers.
    pub request_timeout: Duration,
    /// How long a request may wait to be sent, which with libzmq's IMMEDIATE is the wait for a
    /// connection and its CURVE handshake (20 s; bitmarkd: 60 s). A handshake is three round
    /// trips, well under a second on any live link; a dead peer holds the upstream's thread
    /// for this long per attempt.
    pub connect_timeout: Duration,
    /// Time between `N`+`H` polls (bitmarkd's `cycleInterval`, 30 s). The connector's voters
    /// must have answered within 60 s, so this must stay well under that.
    pub poll_interval: Duration,
    /// Delays between registration attempts.
    pub backoff: Backoff,
    /// Broadcast items waiting to be pushed (bitmarkd: 1000). A slow peer loses the newest
    /// items beyond this, except that a block may take the last slot.
    pub queue_capacity: usize,
}

impl Default for UpstreamConfig {
    fn default() -> UpstreamConfig {
        UpstreamConfig {
            request_timeout: crate::transport::options::REQUEST_TIMEOUT,
            connect_timeout: Duration::from_secs(20),
            poll_interval: Duration::from_secs(30),
            backoff: Backoff::default(),
            queue_capacity: DEFAULT_CAPACITY,
        }
    }
}

/// What we register as: our public key and packed listener addresses, sent in every `R`
/// (bitmarkd's `receptors.ID()` and `SelfListener()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Our public key (the CURVE public key of our listener).
    pub public_key: Vec<u8>,
    /// Our packed listener addresses (may be empty: we then are not connectable).
    pub listeners: Vec<u8>,
}

/// Told when a peer answers a poll, so the announce table keeps peers we are connected to from
/// expiring (bitmarkd's `Announce.Send("updatetime", key)`,
/// `docs/protocol.md#keeping-connected-peers-alive`).
pub trait Liveness: Send + Sync {
    /// `public_key` answered `N` just now.
    fn responded(&self, public_key: &[u8]);
}

impl<F: Fn(&[u8]) + Send + Sync> Liveness for F {
    fn responded(&self, public_key: &[u8]) {
        self(public_key)
    }
}

/// A [`Liveness`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLiveness;

impl Liveness for NoLiveness {
    fn responded(&self, _public_key: &[u8]) {}
}

/// What an upstream uses of the rest of the node; shared by all upstreams.
#[derive(Clone)]
pub struct UpstreamEnv {
    /// What we register as.
    pub identity: Identity,
    /// Our chain: its name goes in every request, its height in the `H` poll.
    pub chain: Arc<dyn ChainView>,
    /// Where the peer named in an `R` reply goes (`announce.AddPeer`).
    pub peers: Arc<dyn PeerTable>,
    /// Told of every answered poll.
    pub liveness: Arc<dyn Liveness>,
    /// Where offences are reported and bans looked up.
    pub scores: Arc<ScoreBoard>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}
