//! Peer discovery (bitmarkd's `announce` package, `docs/protocol.md#peer-discovery`): who the other
//! nodes are, which of them to connect to, and telling the network about ourselves.
//!
//! * [`peers`]: the peer table, sorted by key, with bitmarkd's rules (future timestamps
//!   clamped, 55-minute expiry, 7-minute relay threshold), static peers, `Random`,
//!   `UpdateTime`, `Expire` and the 11-target `ReBalance` ([`rebalance`]).
//! * [`rpcs`]: the RPC server table.
//! * [`plausible`]: what we refuse that bitmarkd stores (keys that are not 32 bytes or are ours,
//!   listener bytes that do not unpack).
//! * [`backup`]: `peers.json` in bitmarkd's format.
//! * [`txt`], [`bootstrap`] and [`resolver`]: DNS TXT node records, the `nodes` setting and
//!   the real DNS lookup.
//! * [`AnnounceError`]: what `peers.json`, the `nodes` setting and DNS lookups fail with.
//! * [`announcer`]: all of it behind one lock, implementing the listener's
//!   [`PeerTable`](crate::listener::PeerTable) and the upstreams'
//!   [`Liveness`](crate::upstream::Liveness), with the periodic pass as a pure state machine
//!   (`tick(now) -> Vec<Action>`); [`runner`] drives it on a thread.
//!
//! # Where we differ from bitmarkd
//!
//! In the crate's one table of differences, `peer/README.md` (rows marked "announce").

pub mod announcer;
pub mod backup;
pub mod bootstrap;
mod error;
pub mod peers;
pub mod plausible;
pub mod rebalance;
pub mod resolver;
pub mod rpcs;
pub mod runner;
pub mod timing;
pub mod txt;

#[cfg(test)]
mod tests;

pub use announcer::{Action, Announcer, Command, ConnectorCommand, RestoreReport, TableLimits};
pub use bootstrap::{Bootstrap, FixedRecords, NodeLookup, Nodes, NotConfigured};
pub use error::AnnounceError;
pub use peers::{AddOutcome, Origin, PeerBook, PeerRecord, PublicKey, Refusal, Target};
pub use rebalance::Slot;
pub use resolver::SystemLookup;
pub use rpcs::{Fingerprint, RpcBook, RpcNode, RpcRecord};
pub use runner::{ActionSink, CommandSender, Runner, RunnerConfig};
