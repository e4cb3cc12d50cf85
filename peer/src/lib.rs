//! The bitmarkd peer wire layer: the codec ([`wire`]), ZeroMQ CURVE and in-memory transports
//! ([`transport`]), and the request handler over injected chain, pool and peer-table views
//! ([`listener`]). Upstream clients, the announce table and the connector build on these.

pub mod connector;
pub mod error;
pub mod listener;
pub mod sim;
pub mod testing;
pub mod transport;
pub mod wire;

pub use error::PeerError;
