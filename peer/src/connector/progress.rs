//! What the connector reports about itself (for the node's status output and metrics), and
//! the stall watchdog.

use super::mode::Mode;
use bitmark_common::lock;
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A snapshot of the connector's progress.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Progress {
    /// The state machine's state (`Connecting` .. `Sampling`).
    pub state: &'static str,
    /// The mode the connector last set.
    pub mode: &'static str,
    /// Our height.
    pub height: u64,
    /// The height last elected (bitmarkd's `peer.BlockHeight()`); 0 before any election.
    pub target: u64,
    /// Our height when the current catch-up began.
    pub sync_start: u64,
    /// Blocks stored in this catch-up.
    pub done: u64,
    /// Blocks this catch-up needs in all (`target - sync_start`).
    pub total: u64,
    /// Blocks per second over this catch-up.
    pub rate: f64,
    /// Registered clients at the last count (bitmarkd's `clientCount`).
    pub clients: usize,
    /// Times the watchdog found sync stalled.
    pub stalls: u64,
}

impl Default for Progress {
    fn default() -> Progress {
        Progress {
            state: "Connecting",
            mode: Mode::Resynchronise.name(),
            height: 0,
            target: 0,
            sync_start: 0,
            done: 0,
            total: 0,
            rate: 0.0,
            clients: 0,
            stalls: 0,
        }
    }
}

impl Progress {
    /// Whether a better chain is known and not yet reached.
    pub fn behind(&self) -> bool {
        self.target > self.height
    }
}

/// A shared view of [`Progress`], updated by the connector as it goes (per block while
/// fetching). Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct ProgressHandle(Arc<Mutex<Progress>>);

impl ProgressHandle {
    /// The current progress.
    pub fn get(&self) -> Progress {
        self.lock().clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Progress)) {
        f(&mut self.lock());
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        lock(&self.0)
    }
}

/// Measures a catch-up's rate: blocks stored since it began over the time since.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateMeter {
    started: Instant,
    start_height: u64,
}

impl RateMeter {
    /// A catch-up from `height`, beginning now (real time: a rate in virtual time means
    /// nothing).
    pub fn new(height: u64) -> RateMeter {
        RateMeter { started: Instant::now(), start_height: height }
    }

    /// Where it began.
    pub fn start_height(&self) -> u64 {
        self.start_height
    }

    /// Blocks per second at `height`.
    pub fn rate(&self, height: u64) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs <= 0.0 {
            0.0
        } else {
            height.saturating_sub(self.start_height) as f64 / secs
        }
    }
}

/// Notices when we are behind and our height has not moved for too long.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Watchdog {
    height: u64,
    since: Option<Instant>,
}

impl Watchdog {
    /// Look at `height` at `now`; true when behind and stuck for `limit` (the watch re-arms).
    pub fn stalled(&mut self, now: Instant, height: u64, behind: bool, limit: Duration) -> bool {
        if !behind {
            self.since = None;
            self.height = height;
            return false;
        }
        match self.since {
            Some(since) if height <= self.height => {
                if now.saturating_duration_since(since) >= limit {
                    self.since = Some(now);
                    return true;
                }
                false
            }
            _ => {
                self.height = height;
                self.since = Some(now);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_fires_only_when_behind_and_stuck() {
        let t0 = Instant::now();
        let s = |n| t0 + Duration::from_secs(n);
        let limit = Duration::from_secs(120);
        let mut w = Watchdog::default();
        assert!(!w.stalled(s(0), 10, true, limit));
        assert!(!w.stalled(s(100), 10, true, limit));
        assert!(w.stalled(s(120), 10, true, limit));
        assert!(!w.stalled(s(130), 10, true, limit), "re-armed");
        assert!(!w.stalled(s(200), 11, true, limit), "progress resets it");
        assert!(!w.stalled(s(319), 11, true, limit));
        assert!(w.stalled(s(320), 11, true, limit));
        assert!(!w.stalled(s(1000), 11, false, limit), "not behind");
        assert!(!w.stalled(s(1001), 11, true, limit));
    }
}
