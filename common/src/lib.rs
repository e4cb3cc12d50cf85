//! The two things every crate of the node shares and none of them owns: time ([`clock`]: the
//! one [`Clock`] trait, the system's clock and, for tests, a manual one) and locking that
//! survives a panicked holder ([`lock`](mod@lock)). It sits below every other crate, so the
//! storage, reservoir, peer and capture crates and the node all use the same ones.

pub mod clock;
pub mod lock;

#[cfg(any(test, feature = "test-utils"))]
pub use clock::ManualClock;
pub use clock::{unix_secs, Clock, SystemClock};
pub use lock::{lock, read, wait, wait_timeout, write};
