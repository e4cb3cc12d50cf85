//! Where the announce code gets the time from. Everything time-dependent takes a [`Clock`] (or
//! an explicit `now`), so tests drive bitmarkd's 2/7/11/55-minute rules in virtual time with a
//! [`ManualClock`] instead of sleeping.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time. Wall time (not `Instant`) because announcement timestamps are
/// unix seconds exchanged with other nodes.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> ManualClock {
        ManualClock { now: Mutex::new(start) }
    }

    /// A clock standing at `secs` unix seconds.
    pub fn at_unix(secs: u64) -> ManualClock {
        ManualClock::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    /// Put the clock at `to` (backwards too: wall clocks can be stepped back).
    pub fn set(&self, to: SystemTime) {
        *self.lock() = to;
    }

    fn lock(&self) -> MutexGuard<'_, SystemTime> {
        self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix(1_000);
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_000));
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_millis(1_001_500));
        clock.set(UNIX_EPOCH);
        assert_eq!(clock.now(), UNIX_EPOCH);
        assert!(SystemClock.now() > UNIX_EPOCH);
    }
}
