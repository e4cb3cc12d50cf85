//! The bitmarkd peer wire layer: the codec ([`wire`]), ZeroMQ CURVE and in-memory transports
//! ([`transport`]), the request handler over injected chain, pool and peer-table views
//! ([`listener`]), upstream clients ([`upstream`]), peer scoring ([`score`]) and the capture
//! hook and file format ([`capture`]). The announce table ([`announce`]), broadcast bus
//! ([`bus`]), the sync state machine ([`connector`]) and a deterministic multi-node simulation
//! ([`sim`]) build on these. One [`clock`] (monotonic and wall time, real or manual) serves
//! them all.

pub mod announce;
pub mod bench;
pub mod bus;
pub mod capture;
pub mod clock;
pub mod connector;
pub mod error;
pub mod listener;
pub mod score;
#[cfg(any(test, feature = "test-utils"))]
pub mod sim;
pub mod testing;
pub mod transport;
pub mod upstream;
pub mod wire;

pub use error::PeerError;
