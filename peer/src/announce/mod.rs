//! Peer discovery (bitmarkd's `announce` package, protocol.md §3): who the other nodes are,
//! which of them to connect to, and telling the network about ourselves.
//!
//! * [`peers`]: the peer table, sorted by key, with bitmarkd's rules (future timestamps
//!   clamped, 55-minute expiry, 7-minute relay threshold), static peers, `Random`,
//!   `UpdateTime`, `Expire` and the 11-target `ReBalance` ([`rebalance`]).
//! * [`rpcs`]: the RPC server table.
//! * [`plausible`]: what we refuse that bitmarkd stores (keys that are not 32 bytes or are ours,
//!   listener bytes that do not unpack).
//! * [`backup`]: `peers.json` in bitmarkd's format.
//! * [`txt`] and [`bootstrap`]: DNS TXT node records and the `nodes` setting.
//! * [`announcer`]: all of it behind one lock, implementing the listener's
//!   [`PeerTable`](crate::listener::PeerTable), with the periodic pass as a pure state machine
//!   (`tick(now) -> Vec<Action>`); [`runner`] drives it on a thread.
//!
//! # Where we differ from bitmarkd
//!
//! Copied on purpose (visible to other nodes): the timings, the clamping of future timestamps,
//! the strict 55-minute expiry (`t + 55 min < now`, with now's sub-second part), the 7-minute
//! rule (peers: `new - old < 7 min` refuses; RPCs: refreshed always, relayed if the old time is
//! more than 7 minutes ago), the rebalance targets and their consecutive-duplicate rule, the
//! `peers.json` format and its validity rules, the TXT record rules and faults, and the bus
//! dedup hash.
//!
//! | bitmarkd | here |
//! |---|---|
//! | stores any key and any listener bytes; announcing our own key overwrites our entry | 32-byte keys, not ours; 1-4 complete listener records with a port and a specified address, stored in the 19-byte form ([`plausible`]) |
//! | tables grow without bound | 10 000 peers, 1 000 RPCs by default; a full table evicts its oldest learned entry for a newer one ([`TableLimits`]) |
//! | `Random` makes 5 blind draws and fails ~13% of the time with 3 entries | draws among eligible entries: fails only when there is none |
//! | with only itself in the table, rebalance asks to connect to itself | never targets itself |
//! | a replayed, expired `rpc` announcement refreshes a known entry | refused |
//! | one bad `peers.json` entry loses the whole file (a truncated one panics) | bad entries are skipped and reported; written atomically, only entries bitmarkd can read back |
//! | our own entry keeps its start-up time | refreshed at each self-announcement |
//! | `nodes = none` refuses to start; a failed TXT lookup at start-up is fatal | no bootstrap; failures are retried after 5 minutes |
//! | a TXT `a=` with an empty item (`a=1.2.3.4;`) panics | `InvalidIpAddress` |
//! | a TTL of a few seconds means a lookup every few seconds | at least a minute apart |
//! | `peers.json` is written only at shutdown | also every 11 minutes by the runner |
//! | the Announce queue's sends block | [`runner::CommandSender::send`] never blocks (a full queue drops and counts) |
//! | static peers live only in the connector | also pinned in the table (no expiry, no eviction, configured listeners kept) |
//!
//! Evicting an entry under the bound sends no `@D` release: eviction takes the entry refreshed
//! least recently, and a connected peer is refreshed by every 30-second poll, so it goes only
//! under a flood of more fresh keys than the table holds within 30 seconds.

pub mod announcer;
pub mod backup;
pub mod bootstrap;
pub mod peers;
pub mod plausible;
pub mod rebalance;
pub mod rpcs;
pub mod runner;
pub mod timing;
pub mod txt;

#[cfg(test)]
mod tests;

pub use announcer::{Action, Announcer, Command, ConnectorCommand, RestoreReport, TableLimits};
pub use bootstrap::{Bootstrap, FixedRecords, NodeLookup, Nodes, NotConfigured};
pub use peers::{AddOutcome, Origin, PeerBook, PeerRecord, PublicKey, Refusal, Target};
pub use rebalance::Slot;
pub use rpcs::{Fingerprint, RpcBook, RpcNode, RpcRecord};
pub use runner::{ActionSink, CommandSender, Runner, RunnerConfig};
