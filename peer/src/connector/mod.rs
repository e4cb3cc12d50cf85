//! The connector: bitmarkd's sync state machine (`docs/protocol.md#connector`), turning a set of
//! peers into a synced chain.
//!
//! ```text
//!  Connecting ──enough clients──► HighestBlock ──better chain──► ForkDetect ──► FetchBlocks ─┐
//!      ▲   (mode Resynchronise)      │ same chain                    │  ▲          │ pass done,│
//!      │                              ▼                               │  └──────────┘ more left  │
//!      └──too few clients──── Sampling ◄── Rebuild (mode Normal) ◄───┴── target reached ◄──────┘
//! ```
//!
//! * [`Connector`] ([`machine`]): the six [`State`]s, each carrying its data; elections
//!   ([`voting`]), chain comparison and fork detection ([`forks`]) as bitmarkd decides them.
//! * The fetch pipeline (modules `fetch` and `pass`): blocks from several agreeing peers at once,
//!   Argon2d digests on the [`Digester`]'s threads, one in-order writer.
//! * [`Clients`]: static and dynamic peers, driven by announce [`Command`]s.
//! * Seams: [`RemotePeer`] (the upstream client), [`LocalChain`] (the node's chain),
//!   [`Digester`] (the digest pool), [`Scoring`] and [`Events`] (the rest of the node).
//! * [`spawn`] runs it on its own thread; the simulation (`crate::sim`) drives it in virtual
//!   time. [`ModeHandle`] and [`ProgressHandle`] are what the node reads.
//!
//! # Where we differ from bitmarkd, and why
//!
//! Decisions other nodes can observe are bitmarkd's: the vote grouping, the quorum, the draw
//! comparison with its quirk, "taller wins whatever the digest", the equal-height tie-break,
//! fork protection at 60, when the mode changes. What changed:
//!
//! | bitmarkd | here |
//! |---|---|
//! | syncs from the *first voter* of the winning group to *its* height; a fresh network can elect an empty peer and never sync | the same group, but the tallest member is the source and its height the target ([`voting`]) |
//! | the order of groups in a draw is Go's random map order | ascending digest order: one of bitmarkd's possible outcomes, the same every time |
//! | fork detection walks down one `H` per block (up to the whole chain) | bisection within the protection window: ≤ 8 round trips, same fork point for an honest peer ([`forks`]) |
//! | one block per round trip from one peer; Argon2d on the connector's thread | several agreeing peers, one request in flight each, within a window of 64 blocks; digests on the digest pool; one in-order writer; the fetchers' threads are kept from pass to pass (at most twice `fetch_peers`), none is started per pass |
//! | 200 blocks per 15-s tick at most | after a pass of 200 the machine continues at once (commands are handled in between) |
//! | fast sync: the pivot (height − 1000) only sizes batches; fast path to the tip | the pivot is where fast sync stops: the last 1000 blocks are fully verified (what the pivot's comment in bitmarkd says it is for) |
//! | a failed forgery sample deletes the batch (up to 2000 blocks), restarts it, disables fast sync for good; a sample may pick an unstored block (≈1 % spurious failures) | rolls back to the last sample that passed (≤ 100 blocks), refetches with full verification, fast sync off until next in step; samples are taken among stored blocks, and also check the block's own Argon2d; which block is sampled is the operating system's generator's choice (bitmarkd: `math/rand`), so no peer can predict it |
//! | any error sends the machine to HighestBlock, and a refused fork loops HighestBlock ↔ ForkDetect without pause | errors in ForkDetect wait for the next tick; at most 16 steps per tick |
//! | a peer that serves bad blocks or cannot back its height is asked again and again | it is penalised through [`Scoring`] and left out of elections for `exclusion_secs`, only on evidence that survives a re-check of our own state: after a refused block the height is read again, and a block another writer (a push, the producer) stored meanwhile is skipped, a tip that moved ends the pass without blame (`pass`) |
//! | nothing notices a stalled sync | the watchdog logs an error and elects again after `stall_cycles` (8) without a block while behind |
//! | dials itself when announce names it | our own key is refused |
//! | `isSameChain` compares the source's cached digest even when it is of an older height, so a node that just caught up stays in resynchronisation until the upstream's next 30 s poll | the source is asked for its digest of our tip when the cache is of another height |
//!
//! # Wiring to the real upstream
//!
//! `crate::upstream::Upstream` implements [`RemotePeer`] through the mapping in [`remote`]; a
//! [`PeerFactory`] starts (or retargets) upstreams; `crate::score::ScoreBoard` implements
//! [`Scoring`] (`InvalidBlock` and `LyingAboutChain` are its offences of the same names); the
//! announce runner's `ConnectorCommand`s become [`Command`]s; the node's `ChainView::is_normal`
//! reads the [`ModeHandle`].

pub mod clients;
pub mod config;
pub mod driver;
pub(crate) mod fetch;
pub mod forks;
pub mod hooks;
pub mod local;
pub mod machine;
pub mod mode;
pub(crate) mod pass;
pub mod progress;
pub mod remote;
pub mod state;
pub mod upstream;
pub mod voting;
pub(crate) mod workers;

#[cfg(test)]
pub(crate) mod fakes;
#[cfg(test)]
mod tests;

pub use clients::{Client, ClientError, Clients, Command};
pub use config::ConnectorConfig;
pub use driver::{spawn, CommandSender, ConnectorHandle, QueueError, COMMAND_QUEUE};
pub use forks::{find_fork, ForkPoint, ForkSearch};
pub use hooks::{Events, Misbehaviour, NoEvents, NoScoring, Scoring};
pub use local::{BackendError, BlockDone, ChainError, Digester, HeaderDone, LocalChain, RolledBack};
pub use machine::{Connector, Parts, Pause};
pub use mode::{Mode, ModeHandle};
pub use progress::{Progress, ProgressHandle};
pub use remote::{PeerFactory, PeerKey, Remote, RemoteError, RemotePeer, RemoteState};
pub use state::State;
pub use voting::{elect, Election, Vote};

/// The log target of everything the connector says.
pub const TARGET: &str = "peer::connector";
