//! Peer message captures: every exchange a node's transports complete, recorded to JSON Lines
//! files, and read back to inspect or replay.
//!
//! * [`format`]: the file format (records, header, parse and serialise; no I/O).
//! * [`writer`]: the [`Recorder`](writer::Recorder), the peer layer's [`Tap`] that hands each
//!   exchange to a bounded channel, and the writer thread that writes and rotates the files.
//! * [`reader`]: reading a file line by line, damaged lines reported, never fatal.
//! * [`inspect`]: a summary and listing of one session's files.
//! * [`replay`]: a session's inbound requests re-sent to a [`replay::Target`] (a live node over
//!   CURVE here; the node opens a data directory as another) and every reply compared.
//! * [`show`]: frames and commands shown to people.
//!
//! The hook itself ([`Tap`], [`Exchange`], [`Direction`]) belongs to `bitmark-peer`, whose
//! transports call it; this crate builds on it and the peer crate knows nothing of files.

pub mod format;
pub mod inspect;
pub mod reader;
pub mod replay;
pub mod show;
pub mod writer;

mod error;

pub use bitmark_peer::capture::{Direction, Exchange, Tap};
pub use error::{CaptureError, Result};
