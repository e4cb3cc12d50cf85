//! What the connector tells the rest of the node: misbehaviour for the score table, the
//! "reconnect" request to announce, and the blocks a fork switch removed.

use super::local::RolledBack;
use super::remote::PeerKey;
use std::fmt;

/// Misbehaviour the connector sees while syncing. The names are those of the score table's
/// offences (`crate::score::Offence`), which weighs them; timeouts and malformed replies are
/// the upstream's to report, as it sees them first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// The peer served a block that failed validation (header, proof of work, records).
    InvalidBlock,
    /// The peer's answers contradict each other: it claimed a height and cannot serve a block
    /// below it, or served a block whose digest is not the one it gives for that height.
    LyingAboutChain,
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Misbehaviour::InvalidBlock => "sent an invalid block",
            Misbehaviour::LyingAboutChain => "contradicted its own chain",
        })
    }
}

/// Where penalties go: the score table shared with the upstreams, which decides about bans (a
/// banned peer's upstream stops registering, so it stops voting).
pub trait Scoring: Send + Sync {
    /// `key` misbehaved.
    fn report(&self, key: &PeerKey, what: Misbehaviour);
}

/// A [`Scoring`] that drops everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoScoring;

impl Scoring for NoScoring {
    fn report(&self, _key: &PeerKey, _what: Misbehaviour) {}
}

/// Other things the connector announces.
pub trait Events: Send + Sync {
    /// Too few clients are registered: ask announce to rebalance now (bitmarkd's
    /// `Announce.Send("reconnect")` from the Connecting state).
    fn reconnect(&self) {}
    /// A block was rolled back to follow a better chain. bitmarkd drops its transactions from
    /// the reservoir; the node decides (it may put them back as unconfirmed).
    fn rolled_back(&self, _block: RolledBack) {}
    /// Block `number` was fetched and stored (for metrics; bitmarkd does not rebroadcast
    /// fetched blocks, and neither do we).
    fn block_stored(&self, _number: u64) {}
}

/// [`Events`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl Events for NoEvents {}
