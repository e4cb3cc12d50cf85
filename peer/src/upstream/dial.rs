//! Opening links to a peer: the [`Dialer`] trait, over libzmq ([`ZmqDialer`]) and, with the
//! `test-utils` feature, the in-memory network (`MemoryDialer`).

use super::UpstreamConfig;
use crate::capture::Tap;
use crate::error::PeerError;
use crate::score::PeerKey;
use crate::transport::{ClientConfig, CurveKeys, Transport, ZmqClient};
#[cfg(any(test, feature = "test-utils"))]
use crate::transport::{MemoryNetwork, MemoryTransport};
use bitmark_record::Chain;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The peer an upstream talks to: its listener address and its public (CURVE server) key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The listener address.
    pub address: SocketAddr,
    /// Its public key: the CURVE server key, and the key it registers under.
    pub public_key: PeerKey,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", crate::score::hex(&self.public_key), self.address)
    }
}

/// Opens a fresh link to a target. Each registration attempt dials anew, as bitmarkd's
/// `Reconnect` makes a fresh socket: a libzmq REQ socket that reconnected by itself may keep
/// timing out (libzmq#172, `upstream/setup.go:221-223`).
pub trait Dialer: Send + 'static {
    /// The link: one request and one reply at a time.
    type Link: Transport + Send;
    /// A new link to `target`. It may not be usable yet (libzmq connects in the background);
    /// the first request says.
    fn dial(&mut self, target: &Target) -> Result<Self::Link, PeerError>;
}

/// How often libzmq retries a refused TCP connect while a registration attempt waits. The
/// attempt itself is bounded by [`UpstreamConfig::connect_timeout`], and between attempts there
/// is no socket at all, so this costs at most `connect_timeout / 1 s` connects per attempt.
pub const LINK_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// Dials CURVE REQ sockets ([`ZmqClient`]).
pub struct ZmqDialer {
    context: zmq::Context,
    config: ClientConfig,
    tap: Option<Arc<dyn Tap>>,
}

impl ZmqDialer {
    /// A dialer with exactly `config`.
    pub fn new(context: &zmq::Context, config: ClientConfig) -> ZmqDialer {
        ZmqDialer { context: context.clone(), config, tap: None }
    }

    /// Links dialled from now on show their exchanges to `tap` ([`ZmqClient::set_tap`]).
    pub fn with_tap(mut self, tap: Option<Arc<dyn Tap>>) -> ZmqDialer {
        self.tap = tap;
        self
    }

    /// A dialer for an upstream on `chain` with `keys`: sends wait at most
    /// `connect_timeout` (with IMMEDIATE set, that is the wait for the CURVE handshake),
    /// replies at most `request_timeout`.
    pub fn for_upstream(context: &zmq::Context, chain: Chain, keys: CurveKeys, config: &UpstreamConfig) -> ZmqDialer {
        let mut client = ClientConfig::new(chain, keys);
        client.send_timeout = config.connect_timeout;
        client.receive_timeout = config.request_timeout;
        client.reconnect_interval = LINK_RETRY_INTERVAL.min(config.connect_timeout);
        client.monitor_link = true;
        ZmqDialer::new(context, client)
    }
}

impl Dialer for ZmqDialer {
    type Link = ZmqClient;

    fn dial(&mut self, target: &Target) -> Result<ZmqClient, PeerError> {
        let mut client = ZmqClient::new(&self.context, self.config.clone());
        client.set_tap(self.tap.clone());
        client.connect(target.address, target.public_key)?;
        Ok(client)
    }
}

/// Dials services of a [`MemoryNetwork`]; the services see the upstream as `name`.
#[cfg(any(test, feature = "test-utils"))]
#[derive(Clone)]
pub struct MemoryDialer {
    network: MemoryNetwork,
    chain: Chain,
    name: String,
}

#[cfg(any(test, feature = "test-utils"))]
impl MemoryDialer {
    /// A dialer into `network` on `chain`, named `name`.
    pub fn new(network: &MemoryNetwork, chain: Chain, name: impl Into<String>) -> MemoryDialer {
        MemoryDialer { network: network.clone(), chain, name: name.into() }
    }
}

#[cfg(any(test, feature = "test-utils"))]
impl Dialer for MemoryDialer {
    type Link = MemoryTransport;

    fn dial(&mut self, target: &Target) -> Result<MemoryTransport, PeerError> {
        Ok(self.network.connect(target.address, self.chain, &self.name))
    }
}
