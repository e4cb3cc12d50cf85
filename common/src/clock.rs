//! The node's one source of time. Everything time-dependent takes a [`Clock`] (or an explicit
//! "now" read from one), so tests and simulations run bitmarkd's 30-second polls, its
//! 2/7/11/55-minute announcement rules and the reservoir's 45-minute expiry in virtual time with
//! a `ManualClock` (feature `test-utils`) instead of sleeping.
//!
//! Two kinds of time, because they answer different questions:
//! * [`Clock::instant`], monotonic: deadlines, intervals, back-off, bans. It never goes back,
//!   so a stepped system clock cannot stall a schedule or end a ban early.
//! * [`Clock::wall`], wall-clock time: announcement timestamps are unix seconds exchanged with
//!   other nodes and compared with theirs, bitmarkd's expiry rules are on wall time, the
//!   reservoir persists its deadlines as wall time (so they survive a restart), and the block
//!   store refuses headers more than 5 minutes ahead of it. It can be stepped, backwards too.

#[cfg(any(test, feature = "test-utils"))]
use crate::lock::lock;
#[cfg(any(test, feature = "test-utils"))]
use std::sync::{Mutex, MutexGuard};
#[cfg(any(test, feature = "test-utils"))]
use std::time::Duration;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of monotonic and wall-clock time.
pub trait Clock: Send + Sync {
    /// Now, for deadlines and intervals.
    fn instant(&self) -> Instant;

    /// Now on the wall clock, for timestamps exchanged with other nodes.
    fn wall(&self) -> SystemTime;

    /// [`Clock::wall`] as whole unix seconds (the `R` and announcement timestamps).
    fn unix_seconds(&self) -> u64 {
        unix_secs(self.wall())
    }
}

/// Whole unix seconds of `t` (Go's `Unix()`); 0 for times before 1970.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The operating system's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Where a [`ManualClock`] stands.
#[cfg(any(test, feature = "test-utils"))]
#[derive(Clone, Copy, Debug)]
struct Reading {
    /// Time passed since the clock was made (monotonic).
    elapsed: Duration,
    /// The wall time.
    wall: SystemTime,
}

/// A clock that moves only when told to, for tests and simulations. Advancing moves both
/// kinds of time together; [`ManualClock::set_wall`] steps only the wall clock, as an operator
/// or NTP stepping the system clock would.
#[cfg(any(test, feature = "test-utils"))]
#[derive(Debug)]
pub struct ManualClock {
    /// The instant standing for the clock's start: a real `Instant` (they cannot be made
    /// otherwise), after which only `elapsed` counts.
    origin: Instant,
    reading: Mutex<Reading>,
}

#[cfg(any(test, feature = "test-utils"))]
impl ManualClock {
    /// A clock whose wall time stands at `wall`.
    pub fn new(wall: SystemTime) -> ManualClock {
        ManualClock { origin: Instant::now(), reading: Mutex::new(Reading { elapsed: Duration::ZERO, wall }) }
    }

    /// A clock whose wall time stands at `secs` unix seconds.
    pub fn at_unix(secs: u64) -> ManualClock {
        ManualClock::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Move both kinds of time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut reading = self.lock();
        reading.elapsed = reading.elapsed.saturating_add(by);
        reading.wall = reading.wall.checked_add(by).unwrap_or(reading.wall);
    }

    /// Move forward to the instant `at` (both kinds of time, by the same amount), if it is
    /// later than now; never backwards.
    pub fn advance_to(&self, at: Instant) {
        let by = at.saturating_duration_since(self.instant());
        self.advance(by);
    }

    /// Step the wall clock to `to`, backwards too; the monotonic time does not move.
    pub fn set_wall(&self, to: SystemTime) {
        self.lock().wall = to;
    }

    fn lock(&self) -> MutexGuard<'_, Reading> {
        lock(&self.reading)
    }
}

#[cfg(any(test, feature = "test-utils"))]
impl Clock for ManualClock {
    fn instant(&self) -> Instant {
        self.origin + self.lock().elapsed
    }

    fn wall(&self) -> SystemTime {
        self.lock().wall
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix(1_000);
        let t0 = clock.instant();
        assert_eq!(clock.instant(), t0);
        assert_eq!(clock.wall(), UNIX_EPOCH + Duration::from_secs(1_000));
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.wall(), UNIX_EPOCH + Duration::from_millis(1_001_500));
        assert_eq!(clock.instant() - t0, Duration::from_millis(1_500));
        assert_eq!(clock.unix_seconds(), 1_001);
    }

    #[test]
    fn advance_to_moves_both_and_never_back() {
        let clock = ManualClock::at_unix(1_000);
        let t0 = clock.instant();
        clock.advance(Duration::from_secs(90));
        clock.advance_to(t0 + Duration::from_secs(30));
        assert_eq!(clock.instant() - t0, Duration::from_secs(90), "never backwards");
        assert_eq!(clock.unix_seconds(), 1_090);
        clock.advance_to(t0 + Duration::from_secs(100));
        assert_eq!(clock.instant() - t0, Duration::from_secs(100));
        assert_eq!(clock.unix_seconds(), 1_100);
    }

    #[test]
    fn stepping_the_wall_clock_leaves_the_monotonic_time() {
        let clock = ManualClock::at_unix(1_000);
        let t0 = clock.instant();
        clock.set_wall(UNIX_EPOCH);
        assert_eq!(clock.wall(), UNIX_EPOCH);
        assert_eq!(clock.unix_seconds(), 0);
        assert_eq!(clock.instant(), t0);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.unix_seconds(), 5);
        assert_eq!(clock.instant() - t0, Duration::from_secs(5));
    }

    #[test]
    fn the_system_clock_is_after_1970() {
        assert!(SystemClock.wall() > UNIX_EPOCH);
        assert!(SystemClock.unix_seconds() > 1_600_000_000);
        assert!(SystemClock.instant() <= Instant::now());
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(unix_secs(UNIX_EPOCH + Duration::from_millis(5_999)), 5);
    }
}
