//! Time for the reservoir: the node's one [`Clock`] (`bitmark_common::clock`), of which the
//! reservoir reads only the wall time ([`Clock::wall`]): its deadlines are persisted as absolute
//! times, so they must be wall time (not a monotonic counter from process start) for expiry to
//! survive a restart. Tests run expiry and rebroadcast in virtual time with the manual clock
//! (feature `test-utils`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(any(test, feature = "test-utils"))]
pub use bitmark_common::ManualClock;
pub use bitmark_common::{Clock, SystemClock};

/// Milliseconds since the Unix epoch (0 for times before it): how deadlines are kept and stored.
pub(crate) fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

/// A duration in milliseconds.
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
