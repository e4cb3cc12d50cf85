//! The bitmarkd peer wire layer: the codec ([`wire`]), ZeroMQ CURVE and in-memory transports
//! ([`transport`]), the request handler over injected chain, pool and peer-table views
//! ([`listener`]), upstream clients ([`upstream`]), peer scoring ([`score`]) and the capture
//! hook and file format ([`capture`]). The announce table ([`announce`]), broadcast bus
//! ([`bus`]) and the sync state machine ([`connector`]) build on these. One [`clock`] (monotonic
//! and wall time, real or manual) serves them all.
//!
//! With the `test-utils` feature (tests and benchmarks only, never the product): fakes of the
//! listener's views (`testing`), a deterministic multi-node simulation (`sim`) and the
//! benchmarks built on them (`bench`).
//!
//! Each boundary callers match on has its own error: [`TransportError`] (moving a request and
//! its reply), [`UpstreamError`] (an upstream's calls; it wraps a `TransportError`),
//! [`AnnounceError`] (`peers.json`, the `nodes` setting, DNS) and [`BusError`] (a subscriber's
//! receive).

pub mod announce;
#[cfg(any(test, feature = "test-utils"))]
pub mod bench;
pub mod bus;
pub mod capture;
pub mod clock;
pub mod connector;
pub mod listener;
pub mod score;
#[cfg(any(test, feature = "test-utils"))]
pub mod sim;
#[cfg(any(test, feature = "test-utils"))]
pub mod testing;
pub mod transport;
pub mod upstream;
pub mod wire;

pub use announce::AnnounceError;
pub use bus::BusError;
pub use transport::TransportError;
pub use upstream::UpstreamError;
