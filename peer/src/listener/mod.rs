//! The peer listener's request handler: bitmarkd's `processOne` and `processSubscription`
//! over injected views ([`ChainView`], [`PoolView`], [`PeerTable`], [`Relay`]). It is a
//! [`Service`](crate::transport::Service), so any transport can serve it.

mod handler;
mod views;

#[cfg(test)]
mod tests;

pub use handler::Handler;
pub use views::{ChainView, NoRelay, PeerEntry, PeerTable, PoolView, Relay};
