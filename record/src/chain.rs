//! Chain names and what depends on them (chain/chains.go, mode/mode.go).

use crate::fault::Fault;
use std::fmt;
use std::str::FromStr;

/// One of bitmarkd's three chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chain {
    /// The live network, `bitmark`.
    Bitmark,
    /// The public test network, `testing`.
    Testing,
    /// A private local network, `local`: testing genesis, no proof-of-work check on blocks.
    Local,
}

impl Chain {
    /// All chains, for CLI help and tests.
    pub const ALL: [Chain; 3] = [Chain::Bitmark, Chain::Testing, Chain::Local];

    /// bitmarkd's name for the chain, as sent in `I` replies and checked in `R` requests.
    pub fn name(self) -> &'static str {
        match self {
            Chain::Bitmark => "bitmark",
            Chain::Testing => "testing",
            Chain::Local => "local",
        }
    }

    /// `mode.IsTesting()`: test-network accounts and addresses are required.
    pub fn is_testing(self) -> bool {
        !matches!(self, Chain::Bitmark)
    }

    /// Whether block digests must meet the header difficulty (`local` skips the check).
    pub fn checks_proof_of_work(self) -> bool {
        !matches!(self, Chain::Local)
    }
}

impl fmt::Display for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Chain {
    type Err = Fault;
    /// bitmarkd's names only; anything else is `InvalidChain`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Chain::ALL.into_iter().find(|c| c.name() == s).ok_or(Fault::InvalidChain)
    }
}
