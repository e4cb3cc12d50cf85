//! A link emulator in userspace: a TCP relay per link that adds delay and jitter, limits
//! bandwidth, stalls or resets connections, and cuts and heals the link on command.
//!
//! Why in userspace: the kernel's `netem` queueing discipline would do this for every packet,
//! but it is not available everywhere (this project's machines have network namespaces and no
//! `sch_netem`), and changing qdiscs needs root. A relay needs neither: node B is told to
//! connect to the relay's address instead of node A's, and everything between them passes
//! through it.
//!
//! ```text
//!   node B ──TCP──► Link (127.0.0.1:port) ──delay, jitter, bandwidth, faults──► node A
//! ```
//!
//! * [`Netem`] owns the emulator's tokio runtime (one worker thread); [`Netem::link`] starts a
//!   relay to an upstream address and returns its [`Link`].
//! * [`Shape`]: the one-way delay and jitter, the bandwidth, and the [`Faults`] a link injects
//!   on its own (stalls and resets at random intervals, seeded). It can be changed while the
//!   link runs ([`Link::set_shape`]).
//! * [`Link::cut`] and [`Link::heal`]: a partition. A cut link behaves as a black hole, as a
//!   real partition does: nothing is delivered either way, new connections are accepted but
//!   not carried through, and what was sent waits (bounded) until the link heals, as TCP
//!   retransmissions would deliver it.
//! * [`Link::stall`] pauses delivery for a while; [`Link::reset`] aborts every open
//!   connection with a TCP reset.
//! * [`regions`]: round-trip times between nodes placed in regions (20 ms inside a region,
//!   80–150 ms between, by default), for test networks.
//!
//! What it models and what not: per-byte delay (each chunk read is delivered `delay + jitter`
//! after it was read, never before an earlier chunk), serialisation at the bandwidth, and a
//! connection set-up costing a round trip. Loss appears only as what TCP makes of it — delay
//! (a stall) or a broken connection (a reset) — since a relay sits above TCP.
//!
//! Everything listens on loopback (or on an address the caller gives) and stops when the
//! [`Link`] or the [`Netem`] is dropped; the runtime's thread belongs to the process, so
//! nothing outlives it.

mod connection;
mod faults;
mod link;
pub mod regions;
mod shape;

pub use link::{Link, LinkStats, Netem};
pub use shape::{Faults, Shape};
