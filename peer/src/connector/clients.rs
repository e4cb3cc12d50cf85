//! The set of peers the connector syncs from (`docs/protocol.md#connector-clients`): static clients
//! from the configuration, and dynamic clients announce asks for (`N1`..`P3`) and releases (`@D`).
//!
//! As bitmarkd: static clients are never released; a connect command for a peer we already
//! have leaves a static client alone and marks a dynamic one most recently used; otherwise the
//! least recently used dynamic client is replaced (bitmarkd retargets one of 25 idle upstreams
//! made at start; an empty slot here is an upstream bitmarkd has not yet pointed anywhere).
//! The address is the peer's first IPv4 listener, or its first IPv6 one when it has one and
//! `prefer_ipv6` is set.
//!
//! Different: our own key is refused (bitmarkd dials itself when announce names it,
//! `docs/protocol.md#connecting-to-self`); a released dynamic client is dropped rather than left
//! idle in its list position; and with dynamic connections disabled announce's commands are ignored
//! (bitmarkd makes its 25 dynamic upstreams and retargets them whatever `dynamic_connections` says:
//! the flag only decides whether having no static peer is an error).

use super::remote::{short_key, PeerFactory, PeerKey, Remote, RemoteError};
use super::TARGET;
use crate::wire::packed_address;
use bitmark_record::Fault;
use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use tracing::{debug, info, warn};

/// What announce asks of the connector (bitmarkd's Connector bus items).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Connect to a rebalance target; `slot` is the command name (`N1`..`P3`), for logs.
    Connect {
        /// The slot name.
        slot: String,
        /// The peer's key.
        public_key: PeerKey,
        /// Its packed listener addresses.
        listeners: Vec<u8>,
    },
    /// The peer expired from the announce table: drop a dynamic client to it (`@D`).
    Release {
        /// The peer's key.
        public_key: PeerKey,
    },
}

/// Why a client could not be set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// A bitmarkd fault (`AddressIsNil`, `ConnectingToSelfForbidden`, `NoConnectionsAvailable`).
    Fault(Fault),
    /// The client for `address` could not be made.
    Connect(SocketAddr, RemoteError),
    /// Several static clients failed (bitmarkd's `composite error: [..]`).
    Composite(Vec<ClientError>),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Fault(fault) => write!(f, "{fault}"),
            ClientError::Connect(address, e) => write!(f, "client: \"{address}\" error: {e}"),
            ClientError::Composite(all) => {
                let parts: Vec<String> = all.iter().map(ToString::to_string).collect();
                write!(f, "composite error: [{}]", parts.join(", "))
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// One client: the peer it talks to and the client itself.
#[derive(Clone)]
pub struct Client {
    /// The peer's key.
    pub key: PeerKey,
    /// Where it is.
    pub address: SocketAddr,
    /// The client.
    pub remote: Remote,
}

/// Static and dynamic clients.
pub struct Clients {
    own_key: PeerKey,
    prefer_ipv6: bool,
    max_dynamic: usize,
    factory: Box<dyn PeerFactory>,
    statics: Vec<Client>,
    /// Least recently used first.
    dynamics: VecDeque<Client>,
}

impl fmt::Debug for Clients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clients").field("static", &self.statics.len()).field("dynamic", &self.dynamics.len()).finish()
    }
}

impl Clients {
    /// Connect the static peers (bitmarkd's `initialise`): none while dynamic connections are
    /// disabled is `NoConnectionsAvailable`; our own key is `ConnectingToSelfForbidden`; every
    /// failure is collected.
    pub fn new(
        own_key: PeerKey,
        statics: &[(SocketAddr, PeerKey)],
        dynamic_enabled: bool,
        prefer_ipv6: bool,
        max_dynamic: usize,
        mut factory: Box<dyn PeerFactory>,
    ) -> Result<Clients, ClientError> {
        if statics.is_empty() && !dynamic_enabled {
            return Err(ClientError::Fault(Fault::NoConnectionsAvailable));
        }
        let mut errors = Vec::new();
        let mut clients = Vec::new();
        for &(address, key) in statics {
            if key == own_key {
                errors.push(ClientError::Fault(Fault::ConnectingToSelfForbidden));
                continue;
            }
            match factory.connect(address, key) {
                Ok(remote) => {
                    info!(target: TARGET, key = short_key(&key), %address, "static client");
                    clients.push(Client { key, address, remote });
                }
                Err(e) => errors.push(ClientError::Connect(address, e)),
            }
        }
        match errors.len() {
            0 => {}
            1 => return Err(errors.remove(0)),
            _ => return Err(ClientError::Composite(errors)),
        }
        let max_dynamic = if dynamic_enabled { max_dynamic } else { 0 };
        Ok(Clients { own_key, prefer_ipv6, max_dynamic, factory, statics: clients, dynamics: VecDeque::new() })
    }

    /// Every client: static ones, then dynamic ones from least to most recently used (the
    /// order bitmarkd's election visits them in).
    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.statics.iter().chain(self.dynamics.iter())
    }

    /// The client for `key`.
    pub fn find(&self, key: &PeerKey) -> Option<&Client> {
        self.iter().find(|c| &c.key == key)
    }

    /// Clients registered with their peer (bitmarkd's `getConnectedClientCount`).
    pub fn registered(&self) -> usize {
        self.iter().filter(|c| c.remote.snapshot().registered).count()
    }

    /// Static and dynamic clients.
    pub fn counts(&self) -> (usize, usize) {
        (self.statics.len(), self.dynamics.len())
    }

    /// Apply a command from announce.
    pub fn apply(&mut self, command: Command) -> Result<(), ClientError> {
        match command {
            Command::Connect { slot, public_key, listeners } => self.connect(&slot, public_key, &listeners),
            Command::Release { public_key } => {
                self.release(&public_key);
                Ok(())
            }
        }
    }

    /// bitmarkd's `connectUpstream`.
    fn connect(&mut self, slot: &str, key: PeerKey, listeners: &[u8]) -> Result<(), ClientError> {
        let (v4, v6) = packed_address::unpack46(listeners);
        let address = match (v4, v6) {
            (_, Some(v6)) if self.prefer_ipv6 => SocketAddr::V6(v6),
            (Some(v4), _) => SocketAddr::V4(v4),
            _ => return Err(ClientError::Fault(Fault::AddressIsNil)),
        };
        if key == self.own_key {
            return Err(ClientError::Fault(Fault::ConnectingToSelfForbidden));
        }
        if self.statics.iter().any(|c| c.key == key) {
            debug!(target: TARGET, slot, key = short_key(&key), "already a static client");
            return Ok(());
        }
        if let Some(i) = self.dynamics.iter().position(|c| c.key == key) {
            if let Some(client) = self.dynamics.remove(i) {
                self.dynamics.push_back(client);
            }
            return Ok(());
        }
        if self.max_dynamic == 0 {
            return Ok(());
        }
        let remote = self.factory.connect(address, key).map_err(|e| ClientError::Connect(address, e))?;
        info!(target: TARGET, slot, key = short_key(&key), %address, "dynamic client");
        if self.dynamics.len() >= self.max_dynamic {
            if let Some(old) = self.dynamics.pop_front() {
                debug!(target: TARGET, key = short_key(&old.key), "least recently used client replaced");
            }
        }
        self.dynamics.push_back(Client { key, address, remote });
        Ok(())
    }

    /// bitmarkd's `releaseServerKey`.
    fn release(&mut self, key: &PeerKey) {
        if self.statics.iter().any(|c| &c.key == key) {
            warn!(target: TARGET, key = short_key(key), "refuse to release a static peer");
            return;
        }
        if let Some(i) = self.dynamics.iter().position(|c| &c.key == key) {
            self.dynamics.remove(i);
            info!(target: TARGET, key = short_key(key), "peer released");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::fakes::{FakeChain, FakePeer};
    use std::sync::{Arc, Mutex};

    /// A factory over fake peers that records what it made.
    #[derive(Clone, Default)]
    struct Factory {
        made: Arc<Mutex<Vec<(SocketAddr, PeerKey)>>>,
        fail: bool,
    }

    impl PeerFactory for Factory {
        fn connect(&mut self, address: SocketAddr, key: PeerKey) -> Result<Remote, RemoteError> {
            if self.fail {
                return Err(RemoteError::Unavailable);
            }
            self.made.lock().unwrap().push((address, key));
            Ok(Arc::new(FakePeer::keyed(key, Arc::new(FakeChain::new(1)))))
        }
    }

    fn listeners(v4: bool, v6: bool) -> Vec<u8> {
        let mut addrs = Vec::new();
        if v4 {
            addrs.push("10.0.0.1:2136".parse().unwrap());
        }
        if v6 {
            addrs.push("[2001:db8::1]:2136".parse().unwrap());
        }
        packed_address::pack_all(&addrs)
    }

    fn connect(key: u8) -> Command {
        Command::Connect { slot: "N1".into(), public_key: [key; 32], listeners: listeners(true, true) }
    }

    fn keys(c: &Clients) -> Vec<u8> {
        c.iter().map(|c| c.key[0]).collect()
    }

    #[test]
    fn static_setup_errors_are_bitmarkd_s() {
        let f = || Box::new(Factory::default());
        assert_eq!(
            Clients::new([0; 32], &[], false, false, 25, f()).err(),
            Some(ClientError::Fault(Fault::NoConnectionsAvailable))
        );
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let e = Clients::new([0; 32], &[(addr, [0; 32]), (addr, [0; 32])], true, false, 25, f()).err().unwrap();
        assert_eq!(e.to_string(), "composite error: [connecting to self forbidden, connecting to self forbidden]");
        let failing = Box::new(Factory { fail: true, ..Factory::default() });
        let e = Clients::new([0; 32], &[(addr, [1; 32])], true, false, 25, failing).err().unwrap();
        assert_eq!(e.to_string(), "client: \"127.0.0.1:1\" error: not connected");
    }

    #[test]
    fn dynamic_clients_are_an_lru_of_bounded_size() {
        let factory = Factory::default();
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut c = Clients::new([0; 32], &[(addr, [9; 32])], true, false, 3, Box::new(factory.clone())).unwrap();
        for k in 1..=3 {
            c.apply(connect(k)).unwrap();
        }
        assert_eq!(keys(&c), [9, 1, 2, 3]);
        c.apply(connect(1)).unwrap();
        assert_eq!(keys(&c), [9, 2, 3, 1], "a known peer becomes most recently used");
        c.apply(connect(9)).unwrap();
        assert_eq!(keys(&c), [9, 2, 3, 1], "a static peer is left alone");
        c.apply(connect(4)).unwrap();
        assert_eq!(keys(&c), [9, 3, 1, 4], "the least recently used is replaced");
        c.apply(Command::Release { public_key: [9; 32] }).unwrap();
        c.apply(Command::Release { public_key: [3; 32] }).unwrap();
        assert_eq!(keys(&c), [9, 1, 4], "static peers are never released");
        assert_eq!(factory.made.lock().unwrap().len(), 5);
    }

    #[test]
    fn address_choice_and_refusals() {
        let factory = Factory::default();
        let mut c = Clients::new([0; 32], &[], true, true, 25, Box::new(factory.clone())).unwrap();
        c.apply(connect(1)).unwrap();
        assert_eq!(factory.made.lock().unwrap()[0].0, "[2001:db8::1]:2136".parse().unwrap());
        let v6_only = Command::Connect { slot: "X1".into(), public_key: [2; 32], listeners: listeners(false, true) };
        let mut v4_node = Clients::new([0; 32], &[], true, false, 25, Box::new(Factory::default())).unwrap();
        assert_eq!(v4_node.apply(v6_only), Err(ClientError::Fault(Fault::AddressIsNil)));
        assert_eq!(c.apply(connect(0)), Err(ClientError::Fault(Fault::ConnectingToSelfForbidden)));
    }
}
