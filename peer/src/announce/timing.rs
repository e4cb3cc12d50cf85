//! bitmarkd's announcement timings (`announce/parameter/parameter.go`) and the arithmetic on
//! announced timestamps (`announce/helper/helper.go`), shared by the peer and RPC tables.
//!
//! Announced timestamps are whole unix seconds; "now" keeps its sub-second part, as Go's
//! `time.Now()` does, so the boundaries below are exactly bitmarkd's: an entry stamped `t` is
//! still alive at `t + 55 min` and gone a nanosecond later.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Delay from start-up to the first self-announcement and expiry pass. Shorter would announce
/// before the listener and upstreams are up; longer leaves a fresh node unknown for longer.
pub const INITIAL_DELAY: Duration = Duration::from_secs(2 * 60);

/// Period of self-announcement, expiry and rebalance. Other nodes expire us after
/// [`EXPIRY`] = 5 intervals, so this must stay well below that.
pub const INTERVAL: Duration = Duration::from_secs(11 * 60);

/// An entry whose timestamp is older than this is refused or removed. Must exceed
/// [`INTERVAL`] by several periods, or peers vanish between two of their announcements.
pub const EXPIRY: Duration = Duration::from_secs(5 * 11 * 60);

/// A known entry is updated (and relayed) only if the new timestamp is at least this much newer.
/// This is what stops announcements from circulating forever; shorter means more relay traffic.
pub const REBROADCAST: Duration = Duration::from_secs(7 * 60);

/// The point in time an announced unix timestamp stands for, as bitmarkd's
/// `ResetFutureTimestampToNow` computes it: a timestamp in the future becomes `now` (with its
/// sub-second part). `None` for a timestamp Go reads as negative (`>= 2^63`), which lies before
/// 1970 and so is always expired.
pub fn announced_at(timestamp: u64, now: SystemTime) -> Option<SystemTime> {
    if i64::try_from(timestamp).is_err() {
        return None;
    }
    match UNIX_EPOCH.checked_add(Duration::from_secs(timestamp)) {
        Some(at) if at <= now => Some(at),
        // In the future, or too far in it to represent: clamp.
        _ => Some(now),
    }
}

/// bitmarkd's `IsExpiredAfterDuration(at, EXPIRY)`: `at + 55 min` is strictly before `now`.
pub fn is_expired(at: SystemTime, now: SystemTime) -> bool {
    at.checked_add(EXPIRY).is_some_and(|deadline| deadline < now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn future_timestamps_clamp_to_now() {
        let now = at(1_000_000) + Duration::from_millis(250);
        assert_eq!(announced_at(2_000_000, now), Some(now));
        assert_eq!(announced_at(u64::MAX >> 1, now), Some(now));
        assert_eq!(announced_at(999_000, now), Some(at(999_000)));
        // bitmarkd helper_test: a past timestamp is kept to the second.
        assert_eq!(announced_at(1_000_000, now), Some(at(1_000_000)));
        // Go reads these as negative: before 1970.
        assert_eq!(announced_at(1 << 63, now), None);
        assert_eq!(announced_at(u64::MAX, now), None);
    }

    #[test]
    fn expiry_boundary_is_strict() {
        let t = at(10_000);
        assert!(!is_expired(t, t + EXPIRY));
        assert!(is_expired(t, t + EXPIRY + Duration::from_nanos(1)));
        // bitmarkd helper_test with our 55 minutes: 59 s short is alive, 1 s over is not.
        assert!(!is_expired(t, t + EXPIRY - Duration::from_secs(59)));
        assert!(is_expired(t, t + EXPIRY + Duration::from_secs(1)));
    }

    #[test]
    fn constants_are_bitmarkds() {
        assert_eq!(INITIAL_DELAY.as_secs(), 120);
        assert_eq!(INTERVAL.as_secs(), 660);
        assert_eq!(EXPIRY.as_secs(), 3_300);
        assert_eq!(REBROADCAST.as_secs(), 420);
    }
}
