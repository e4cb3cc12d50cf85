//! Time for the peer layer: the node's one [`Clock`] (`bitmark_common::clock`), named here so
//! the peer layer and its users import it from one place. Everything time-dependent takes a
//! clock (or a "now" read from one): monotonic time for deadlines, intervals, back-off and bans;
//! wall time for the unix-second timestamps exchanged with other nodes and bitmarkd's expiry
//! rules. Tests and the simulation use the manual clock (feature `test-utils`).

#[cfg(any(test, feature = "test-utils"))]
pub use bitmark_common::ManualClock;
pub use bitmark_common::{unix_secs, Clock, SystemClock};
