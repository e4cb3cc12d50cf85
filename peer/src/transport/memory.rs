//! An in-memory network for simulations: services registered under socket addresses, clients
//! that reach them through the same frame codec as the sockets, no threads and no libzmq.

use super::TransportError;
use super::{serve, PeerInfo, Service, Transport};
use crate::wire::{Reply, Request};
use bitmark_common::lock;
use bitmark_record::Chain;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

type Listeners = HashMap<SocketAddr, (Chain, Arc<dyn Service>)>;

/// The services reachable by address. Cloning shares the network.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    listeners: Arc<Mutex<Listeners>>,
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> MemoryNetwork {
        MemoryNetwork::default()
    }

    /// Serve `service` for `chain` at `addr`, replacing whatever was there.
    pub fn listen(&self, addr: SocketAddr, chain: Chain, service: Arc<dyn Service>) {
        self.lock().insert(addr, (chain, service));
    }

    /// Take the service at `addr` off the network: requests to it now time out.
    pub fn remove(&self, addr: SocketAddr) {
        self.lock().remove(&addr);
    }

    /// A client on `chain` for `addr`, seen by the service as coming from `name`.
    pub fn connect(&self, addr: SocketAddr, chain: Chain, name: &str) -> MemoryTransport {
        let peer = PeerInfo { address: Some(name.to_string()), routing_id: name.as_bytes().to_vec(), public_key: None };
        MemoryTransport { network: self.clone(), addr, chain, peer }
    }

    fn lock(&self) -> MutexGuard<'_, Listeners> {
        lock(&self.listeners)
    }
}

/// A client of one in-memory service.
pub struct MemoryTransport {
    network: MemoryNetwork,
    addr: SocketAddr,
    chain: Chain,
    peer: PeerInfo,
}

impl MemoryTransport {
    /// Deliver raw request frames and return the raw reply frames. With nothing listening at
    /// the address this is a [`TransportError::Timeout`], as a REQ socket to a dead peer gives.
    pub fn exchange<F: AsRef<[u8]>>(&self, frames: &[F]) -> Result<Vec<Vec<u8>>, TransportError> {
        let listener = self.network.lock().get(&self.addr).cloned();
        let (chain, service) = listener.ok_or(TransportError::Timeout)?;
        Ok(serve(service.as_ref(), chain, &self.peer, frames))
    }
}

impl Transport for MemoryTransport {
    fn request(&mut self, request: &Request) -> Result<Reply, TransportError> {
        let frames = self.exchange(&request.to_frames(self.chain))?;
        Reply::parse(&frames, request, self.chain)
    }
}
