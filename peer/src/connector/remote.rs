//! What the connector needs from each remote peer: the seam the real upstream client
//! (`crate::upstream::Upstream`, `docs/protocol.md#upstream-clients`) implements, and that the
//! simulation and the tests implement in memory.
//!
//! The real upstream maps onto it one to one:
//!
//! | here | `Upstream` |
//! |---|---|
//! | [`RemotePeer::snapshot`] | `status()`: `target`, `is_registered()`, `remote_height`, `local_height`, `remote_digest_of_local_height`, `last_response` |
//! | [`RemotePeer::get_block_data`] | `get_block_data(n)` |
//! | [`RemotePeer::remote_digest_of_height`] | `remote_digest_of_height(n)` |
//! | [`RemoteError`] | `UpstreamError`: `BlockNotFound` → `NotFound`, `Timeout` → `Timeout`, `NotConnected`/`Banned`/`Closed` → `Unavailable`, `BadReply`/`Remote` → `Malformed`, the rest → `Unavailable` |
//! | [`PeerFactory::connect`] | `Upstream::start(..)` + `retarget(Target { address, public_key })` (or a kept idle upstream retargeted); dropping the `Arc` closes it |

pub use crate::score::PeerKey;
use bitmark_record::BlockDigest;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Short hex of a key for logs: the first 8 bytes.
pub fn short_key(key: &PeerKey) -> String {
    key.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Why a request to a remote failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The peer answered that it has no such block (any `["E"]` reply to `B` or `H`, as
    /// bitmarkd reads it).
    #[error("block not found")]
    NotFound,
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// Not registered, no target, banned or closed: nothing was sent.
    #[error("not connected")]
    Unavailable,
    /// The answer was not a well-formed reply to the request.
    #[error("invalid peer response: {0}")]
    Malformed(String),
}

/// A snapshot of what a client knows about its peer, refreshed by the client's own polls
/// (bitmarkd's upstream polls `N` and `H` every 30 s).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteState {
    /// A name for logs (`upstream@<n>`).
    pub name: String,
    /// The peer it is pointed at; `None` for an idle dynamic client.
    pub key: Option<PeerKey>,
    /// Registered with the peer (bitmarkd's `IsConnected`).
    pub registered: bool,
    /// The peer's height at the last `N` poll (bitmarkd's `CachedRemoteHeight`).
    pub height: Option<u64>,
    /// Our height when the peer was last asked for its digest of it (`LocalHeight`).
    pub local_height: Option<u64>,
    /// The peer's digest of `local_height` (`CachedRemoteDigestOfLocalHeight`); `None` when it
    /// had none (bitmarkd then still votes, with the zero digest).
    pub digest_of_local_height: Option<BlockDigest>,
    /// When the peer last answered anything.
    pub last_response: Option<Instant>,
}

impl RemoteState {
    /// bitmarkd's `ActiveInThePast(window)`: the peer answered within `window` before `now`.
    pub fn active_within(&self, window: Duration, now: Instant) -> bool {
        self.last_response.is_some_and(|at| now.saturating_duration_since(at) < window)
    }

    /// The height bitmarkd votes with (0 when never polled).
    pub fn vote_height(&self) -> u64 {
        self.height.unwrap_or(0)
    }

    /// The digest bitmarkd votes with: the cached one, or all zeros.
    pub fn vote_digest(&self) -> BlockDigest {
        self.digest_of_local_height.unwrap_or_default()
    }
}

/// One remote peer as the connector uses it. Calls block until answered or timed out; they may
/// come from several threads at once (the fetch pipeline runs one fetcher per peer), and an
/// implementation serialises them if its link allows one request at a time (a REQ socket).
pub trait RemotePeer: Send + Sync {
    /// What the client currently knows, without a request.
    fn snapshot(&self) -> RemoteState;
    /// The peer's digest of block `n` (`H`).
    fn remote_digest_of_height(&self, n: u64) -> Result<BlockDigest, RemoteError>;
    /// The packed block `n` (`B`), unchecked.
    fn get_block_data(&self, n: u64) -> Result<Vec<u8>, RemoteError>;
}

/// A shared remote.
pub type Remote = Arc<dyn RemotePeer>;

impl fmt::Debug for dyn RemotePeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.snapshot();
        write!(f, "{}", s.name)?;
        if let Some(key) = s.key {
            write!(f, "({})", short_key(&key))?;
        }
        Ok(())
    }
}

/// Creates clients for the peers announce asks the connector to connect to, and for the static
/// peers of the configuration.
pub trait PeerFactory: Send {
    /// A client for the peer `public_key` at `address`, registering in the background.
    /// Dropping the returned client closes it.
    fn connect(&mut self, address: SocketAddr, public_key: PeerKey) -> Result<Remote, RemoteError>;
}
