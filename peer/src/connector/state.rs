//! The six states of bitmarkd's connector (`connector_state.go`), each carrying what bitmarkd
//! keeps in connector fields while in it.

use super::voting::Election;
use std::fmt;

/// Where the connector is.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum State {
    /// Waiting for enough registered clients. Sets the mode to Resynchronise.
    #[default]
    Connecting,
    /// Electing the chain to follow.
    HighestBlock,
    /// Finding where our chain and the elected one part. `None` after a run of failed
    /// elections in Sampling (bitmarkd then has height 0 and goes straight to Rebuild).
    ForkDetect {
        /// The election that found a better chain.
        election: Option<Election>,
    },
    /// Fetching and storing blocks up to the elected height.
    FetchBlocks {
        /// The election being followed.
        election: Election,
        /// The next block to fetch.
        next: u64,
        /// bitmarkd's fast-sync pivot: the elected height less 1000 (0 below that).
        pivot: u64,
    },
    /// In step: sets the mode to Normal.
    Rebuild,
    /// Watching for a better chain.
    Sampling {
        /// Failed elections in a row.
        samples: u32,
    },
}

impl State {
    /// bitmarkd's name for the state.
    pub fn name(&self) -> &'static str {
        match self {
            State::Connecting => "Connecting",
            State::HighestBlock => "HighestBlock",
            State::ForkDetect { .. } => "ForkDetect",
            State::FetchBlocks { .. } => "FetchBlocks",
            State::Rebuild => "Rebuild",
            State::Sampling { .. } => "Sampling",
        }
    }

    /// The election being acted on, if any.
    pub fn election(&self) -> Option<&Election> {
        match self {
            State::ForkDetect { election } => election.as_ref(),
            State::FetchBlocks { election, .. } => Some(election),
            _ => None,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
