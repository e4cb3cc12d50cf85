//! Round-trip times of a network spread over regions: nodes are placed in regions in turn
//! (node `i` in region `i mod count`); two nodes of one region are `inside` apart, two of
//! different regions a round trip drawn once per pair of regions between `between.0` and
//! `between.1` (seeded, so a network is the same on every run).

use crate::shape::Rng;
use std::time::Duration;

/// Regions and the round-trip times within and between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regions {
    /// How many regions (1: every node in one region).
    pub count: usize,
    /// Round trip between two nodes of one region.
    pub inside: Duration,
    /// Lowest and highest round trip between two regions.
    pub between: (Duration, Duration),
    /// Seed of the draws between regions.
    pub seed: u64,
}

impl Default for Regions {
    /// Three regions: 20 ms inside, 80–150 ms between.
    fn default() -> Regions {
        Regions {
            count: 3,
            inside: Duration::from_millis(20),
            between: (Duration::from_millis(80), Duration::from_millis(150)),
            seed: 1,
        }
    }
}

impl Regions {
    /// The region of node `node`.
    pub fn region_of(&self, node: usize) -> usize {
        node % self.count.max(1)
    }

    /// The round trip between nodes `a` and `b`.
    pub fn rtt(&self, a: usize, b: usize) -> Duration {
        self.rtt_between_regions(self.region_of(a), self.region_of(b))
    }

    /// The round trip between regions `a` and `b`.
    pub fn rtt_between_regions(&self, a: usize, b: usize) -> Duration {
        if a == b {
            return self.inside;
        }
        let (low, high) = (self.between.0.min(self.between.1), self.between.0.max(self.between.1));
        let (first, second) = (a.min(b) as u64, a.max(b) as u64);
        let mut rng = Rng::new(self.seed ^ first.wrapping_mul(0x1000_0000_01b3) ^ second.rotate_left(32));
        low + (high - low).mul_f64(rng.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_are_symmetric_seeded_and_within_bounds() {
        let regions = Regions::default();
        assert_eq!((regions.region_of(0), regions.region_of(4)), (0, 1));
        assert_eq!(regions.rtt(0, 3), Duration::from_millis(20), "same region");
        for a in 0..3 {
            for b in 0..3 {
                let rtt = regions.rtt_between_regions(a, b);
                assert_eq!(rtt, regions.rtt_between_regions(b, a));
                if a != b {
                    assert!(rtt >= Duration::from_millis(80) && rtt <= Duration::from_millis(150), "{rtt:?}");
                }
            }
        }
        let other = Regions { seed: 2, ..regions };
        assert_ne!(
            (1..3).map(|b| regions.rtt_between_regions(0, b)).collect::<Vec<_>>(),
            (1..3).map(|b| other.rtt_between_regions(0, b)).collect::<Vec<_>>()
        );
        let one = Regions { count: 1, ..regions };
        assert_eq!(one.rtt(0, 5), one.inside);
    }
}
