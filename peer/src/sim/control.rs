//! What the simulation controls globally: the virtual clock, nodes that have fallen silent,
//! and links cut by a partition.

use bitmark_common::lock;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The simulation's clock and network faults.
#[derive(Debug)]
pub struct Control {
    start: Instant,
    elapsed: Mutex<Duration>,
    down: Mutex<HashSet<usize>>,
    cut: Mutex<HashSet<(usize, usize)>>,
}

impl Default for Control {
    fn default() -> Control {
        Control {
            start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
            down: Mutex::new(HashSet::new()),
            cut: Mutex::new(HashSet::new()),
        }
    }
}

impl Control {
    /// Virtual now.
    pub fn now(&self) -> Instant {
        self.start + *lock(&self.elapsed)
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        *lock(&self.elapsed)
    }

    /// Move virtual time on.
    pub fn advance(&self, by: Duration) {
        *lock(&self.elapsed) += by;
    }

    /// Make node `index` answer nothing (or answer again).
    pub fn set_down(&self, index: usize, down: bool) {
        if down {
            lock(&self.down).insert(index);
        } else {
            lock(&self.down).remove(&index);
        }
    }

    /// Cut (or restore) the links between `a` and `b`, both ways.
    pub fn set_cut(&self, a: usize, b: usize, cut: bool) {
        let mut links = lock(&self.cut);
        for pair in [(a, b), (b, a)] {
            if cut {
                links.insert(pair);
            } else {
                links.remove(&pair);
            }
        }
    }

    /// Restore every link.
    pub fn heal(&self) {
        lock(&self.cut).clear();
    }

    /// Whether a request from `from` to `to` goes unanswered.
    pub fn blocked(&self, from: usize, to: usize) -> bool {
        lock(&self.down).contains(&to) || lock(&self.cut).contains(&(from, to))
    }
}
