//! Time as the upstream sees it: a monotonic instant for its schedules and unix seconds for the
//! `R` timestamp, behind a trait so tests and simulations can run in virtual time.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time.
pub trait Clock: Send + Sync {
    /// Now, for deadlines and intervals.
    fn now(&self) -> Instant;
    /// Now as unix seconds, for timestamps sent on the wire.
    fn unix_seconds(&self) -> u64;
}

/// The system clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_seconds(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
    }
}

/// A clock that moves only when told to: virtual time for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    unix_start: u64,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at `unix_start` seconds.
    pub fn new(unix_start: u64) -> ManualClock {
        ManualClock { start: Instant::now(), unix_start, elapsed: Mutex::new(Duration::ZERO) }
    }

    /// Move time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut elapsed = self.lock();
        *elapsed = elapsed.saturating_add(by);
    }

    /// Move time forward to `at`, if it is later than now.
    pub fn advance_to(&self, at: Instant) {
        let mut elapsed = self.lock();
        *elapsed = (*elapsed).max(at.saturating_duration_since(self.start));
    }

    fn lock(&self) -> MutexGuard<'_, Duration> {
        self.elapsed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.lock()
    }

    fn unix_seconds(&self) -> u64 {
        self.unix_start.saturating_add(self.lock().as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(1_000);
        let t0 = clock.now();
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - t0, Duration::from_secs(90));
        assert_eq!(clock.unix_seconds(), 1_090);
        clock.advance_to(t0 + Duration::from_secs(30));
        assert_eq!(clock.now() - t0, Duration::from_secs(90), "never backwards");
        clock.advance_to(t0 + Duration::from_secs(100));
        assert_eq!(clock.unix_seconds(), 1_100);
    }
}
