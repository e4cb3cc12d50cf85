//! The bitmarkd peer wire layer: the codec ([`wire`]), ZeroMQ CURVE and in-memory transports
//! ([`transport`]), the request handler over injected chain, pool and peer-table views
//! ([`listener`]), upstream clients ([`upstream`]) and peer scoring ([`score`]). The announce
//! table ([`announce`]) and broadcast bus ([`bus`]); the connector builds on these. One
//! [`clock`] (monotonic and wall time, real or manual) serves them all.

pub mod announce;
pub mod bench;
pub mod bus;
pub mod clock;
pub mod error;
pub mod listener;
pub mod score;
pub mod testing;
pub mod transport;
pub mod upstream;
pub mod wire;

pub use error::PeerError;
