//! A deterministic simulation of bitmark nodes syncing, for the connector's scenario tests and
//! the sync benchmark.
//!
//! * Each node has a real [`BlockStore`](bitmark_storage::BlockStore) in a temporary sled
//!   database, a real [`Connector`](crate::connector::Connector) and the real listener
//!   [`Handler`](crate::listener::Handler).
//! * Nodes talk over the [`MemoryNetwork`](crate::transport::MemoryNetwork), so every request
//!   goes through the real wire codec both ways: we chose this over calling the other stores
//!   directly because it exercises exactly what a peer would see, and costs nothing next to
//!   Argon2d. A node's client of another ([`SimLink`]) polls `N` and `H` every 30 s as the
//!   upstream does and implements [`RemotePeer`](crate::connector::RemotePeer).
//! * Misbehaviour sits on the server side ([`Behaviour`]: claim a height, serve corrupt or
//!   foreign blocks, fall silent), partitions and silence on the links ([`Control`]).
//! * Time is virtual: [`Sim::tick`] advances 15 s, polls what is due and runs each connector
//!   until it waits, in node order. Timeouts are immediate. The connectors' random choices are
//!   seeded. Within a fetch pass the pipeline's threads race, but only for which peer serves
//!   which block; what ends up stored, and every decision, is the same on every run.
//! * Test chains come from the storage crate's generator ([`chains`]); Argon2d is computed when
//!   a chain is built and again by each syncing node (full verification), never to load a
//!   node.

pub mod bench;
pub mod chains;
pub mod control;
pub mod link;
pub mod network;
pub mod node;
pub mod store;

#[cfg(test)]
mod scenarios;

pub use control::Control;
pub use link::{LinkFactory, SimLink};
pub use network::{Node, Reports, Sim, POLL_INTERVAL};
pub use node::{Adversary, Behaviour, StoreView};
