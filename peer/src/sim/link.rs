//! A simulated upstream: one node's client of another, over the in-memory network and the real
//! wire codec, polling `N` and `H` as bitmarkd's upstream does.

use super::control::Control;
use crate::connector::{PeerFactory, PeerKey, Remote, RemoteError, RemotePeer, RemoteState};
use crate::transport::TransportError;
use crate::transport::{MemoryNetwork, MemoryTransport, Transport};
use crate::wire::{Reply, Request};
use bitmark_common::lock;
use bitmark_record::{BlockDigest, Chain};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Node `from`'s client of node `to`.
pub struct SimLink {
    from: usize,
    to: usize,
    transport: Mutex<MemoryTransport>,
    control: Arc<Control>,
    state: Mutex<RemoteState>,
}

impl SimLink {
    /// A client from node `from` to node `to` (key `key`, listening at `address`); not yet
    /// registered until its first poll.
    pub fn new(
        network: &MemoryNetwork,
        control: Arc<Control>,
        (from, to): (usize, usize),
        address: SocketAddr,
        key: PeerKey,
    ) -> SimLink {
        let transport = network.connect(address, Chain::Local, &format!("node{from}"));
        let state = RemoteState { name: format!("upstream@{from}->{to}"), key: Some(key), ..RemoteState::default() };
        SimLink { from, to, transport: Mutex::new(transport), control, state: Mutex::new(state) }
    }

    /// The node this client talks to.
    pub fn to(&self) -> usize {
        self.to
    }

    /// bitmarkd's 30-s poll: `N`, then `H` of our height. A peer that does not answer loses
    /// its registration (the real upstream re-registers once it answers again).
    pub fn poll(&self, local_height: u64) {
        let height = match self.exchange(&Request::Height) {
            Ok(Reply::Height(h)) => h,
            Ok(_) | Err(_) => {
                lock(&self.state).registered = false;
                return;
            }
        };
        let digest = match self.exchange(&Request::Digest(local_height)) {
            Ok(Reply::Digest(d)) => Some(d),
            _ => None,
        };
        let mut s = lock(&self.state);
        s.registered = true;
        s.height = Some(height);
        s.local_height = Some(local_height);
        s.digest_of_local_height = digest;
        s.last_response = Some(self.control.now());
    }

    fn exchange(&self, request: &Request) -> Result<Reply, RemoteError> {
        if self.control.blocked(self.from, self.to) {
            return Err(RemoteError::Timeout);
        }
        let reply = lock(&self.transport).request(request).map_err(|e| match e {
            TransportError::Timeout => RemoteError::Timeout,
            TransportError::BadReply(what) => RemoteError::Malformed(what),
            _ => RemoteError::Unavailable,
        })?;
        lock(&self.state).last_response = Some(self.control.now());
        Ok(reply)
    }
}

impl RemotePeer for SimLink {
    fn snapshot(&self) -> RemoteState {
        lock(&self.state).clone()
    }

    fn remote_height(&self) -> Result<u64, RemoteError> {
        match self.exchange(&Request::Height)? {
            Reply::Height(h) => Ok(h),
            other => Err(RemoteError::Malformed(format!("{other:?}"))),
        }
    }

    fn remote_digest_of_height(&self, n: u64) -> Result<BlockDigest, RemoteError> {
        match self.exchange(&Request::Digest(n))? {
            Reply::Digest(d) => Ok(d),
            Reply::Error(_) => Err(RemoteError::NotFound),
            other => Err(RemoteError::Malformed(format!("{other:?}"))),
        }
    }

    fn get_block_data(&self, n: u64) -> Result<Vec<u8>, RemoteError> {
        match self.exchange(&Request::Block(n))? {
            Reply::Block(b) => Ok(b),
            Reply::Error(_) => Err(RemoteError::NotFound),
            other => Err(RemoteError::Malformed(format!("{other:?}"))),
        }
    }
}

/// Makes [`SimLink`]s from one node, by the address of the node asked for.
pub struct LinkFactory {
    /// The node the links start from.
    pub from: usize,
    /// The network.
    pub network: MemoryNetwork,
    /// The simulation's control.
    pub control: Arc<Control>,
    /// Node index by listening address.
    pub nodes: HashMap<SocketAddr, usize>,
    /// Every link made, so the simulation can poll them.
    pub made: Arc<Mutex<Vec<Arc<SimLink>>>>,
}

impl PeerFactory for LinkFactory {
    fn connect(&mut self, address: SocketAddr, public_key: PeerKey) -> Result<Remote, RemoteError> {
        let to = *self.nodes.get(&address).ok_or(RemoteError::Unavailable)?;
        let link =
            Arc::new(SimLink::new(&self.network, Arc::clone(&self.control), (self.from, to), address, public_key));
        lock(&self.made).push(Arc::clone(&link));
        Ok(link)
    }
}
