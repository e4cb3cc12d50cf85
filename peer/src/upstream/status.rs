//! What an upstream reports about itself.

use super::dial::Target;
use bitmark_record::BlockDigest;
use std::time::{Duration, Instant};

/// Where an upstream is in its life (see the diagram in the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// No target.
    Idle,
    /// Not registered; the next registration attempt is due at `next_attempt`.
    Connecting {
        /// Consecutive failed attempts so far.
        failures: u32,
        /// When the next attempt is due.
        next_attempt: Instant,
    },
    /// Registered with the target; polling it.
    Registered {
        /// When the next `N`+`H` poll is due.
        next_poll: Instant,
    },
    /// The target is banned; no link until the ban ends.
    Banned {
        /// The end of the ban.
        until: Instant,
    },
    /// Closed for good.
    Closed,
}

impl LinkState {
    /// When something is next due, if anything is.
    pub fn due(&self) -> Option<Instant> {
        match *self {
            LinkState::Connecting { next_attempt, .. } => Some(next_attempt),
            LinkState::Registered { next_poll } => Some(next_poll),
            LinkState::Banned { until } => Some(until),
            LinkState::Idle | LinkState::Closed => None,
        }
    }
}

/// A snapshot of an upstream, for the connector's decisions and the node's status output.
#[derive(Clone, Debug, PartialEq)]
pub struct UpstreamStatus {
    /// `upstream@<n>`, for logs.
    pub name: String,
    /// The peer it is pointed at.
    pub target: Option<Target>,
    /// Its state.
    pub state: LinkState,
    /// The height the peer last answered to `N`.
    pub remote_height: Option<u64>,
    /// Our height when the peer was last asked for its digest of it.
    pub local_height: Option<u64>,
    /// The peer's digest of `local_height` (`None` when it had no block there).
    pub remote_digest_of_local_height: Option<BlockDigest>,
    /// When the peer last answered anything.
    pub last_response: Option<Instant>,
    /// The peer's misbehaviour points ([`crate::score`]).
    pub score: f64,
    /// Why the link last failed (cannot connect, a failed CURVE handshake, no reply, a refused
    /// registration, a ban...), kept after it recovers; cleared by a retarget.
    pub last_error: Option<String>,
    /// When that was.
    pub last_error_at: Option<Instant>,
}

impl UpstreamStatus {
    /// Whether it is registered with its target (bitmarkd's `IsConnected`).
    pub fn is_registered(&self) -> bool {
        matches!(self.state, LinkState::Registered { .. })
    }

    /// Whether the peer answered within `window` before `now` (bitmarkd's `ActiveInThePast`,
    /// which the connector's election uses with 60 s).
    pub fn active_within(&self, window: Duration, now: Instant) -> bool {
        self.last_response.is_some_and(|at| now.saturating_duration_since(at) < window)
    }
}
