//! What a link does to the bytes it carries.

use std::time::Duration;

/// The character of a link, the same both ways.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// One-way delay: a round trip costs twice this.
    pub delay: Duration,
    /// Each chunk is delayed by up to this much more (uniform), never overtaking an earlier
    /// chunk of its connection.
    pub jitter: Duration,
    /// Bytes per second each way, per connection; none: unlimited.
    pub bandwidth: Option<u64>,
    /// Faults the link injects by itself.
    pub faults: Faults,
}

impl Shape {
    /// A link whose round trip is `rtt` (one-way delay `rtt / 2`), no jitter, no limit.
    pub fn rtt(rtt: Duration) -> Shape {
        Shape { delay: rtt / 2, ..Shape::default() }
    }

    /// With jitter of up to `jitter` per chunk.
    pub fn with_jitter(self, jitter: Duration) -> Shape {
        Shape { jitter, ..self }
    }

    /// With a bandwidth of `bytes_per_second` each way.
    pub fn with_bandwidth(self, bytes_per_second: u64) -> Shape {
        Shape { bandwidth: Some(bytes_per_second.max(1)), ..self }
    }

    /// With `faults`.
    pub fn with_faults(self, faults: Faults) -> Shape {
        Shape { faults, ..self }
    }

    /// The round-trip time without jitter.
    pub fn round_trip(&self) -> Duration {
        self.delay * 2
    }

    /// How long `bytes` take to pass at the bandwidth.
    pub(crate) fn serialisation(&self, bytes: usize) -> Duration {
        match self.bandwidth {
            Some(rate) => Duration::from_secs_f64(bytes as f64 / rate.max(1) as f64),
            None => Duration::ZERO,
        }
    }
}

/// Faults a link injects at random moments: each interval is drawn uniformly between half and
/// one and a half times its mean, from a generator seeded by `seed`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    /// Mean time between stalls; none: no stalls.
    pub stall_every: Option<Duration>,
    /// How long each stall lasts: nothing is delivered either way meanwhile.
    pub stall_for: Duration,
    /// Mean time between resets of every open connection; none: no resets.
    pub reset_every: Option<Duration>,
    /// Seed of the intervals and of the jitter.
    pub seed: u64,
}

impl Faults {
    /// Whether any fault is scheduled.
    pub fn any(&self) -> bool {
        self.stall_every.is_some() || self.reset_every.is_some()
    }
}

/// A small, fixed generator (SplitMix64): the same seed gives the same faults in every build.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6e65_7465_6d00_0001)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, max]`.
    pub(crate) fn up_to(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.unit())
    }

    /// Uniform in `[mean / 2, 3 mean / 2]`.
    pub(crate) fn around(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(0.5 + self.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_compose_and_draws_stay_in_range() {
        let shape = Shape::rtt(Duration::from_millis(300))
            .with_jitter(Duration::from_millis(10))
            .with_bandwidth(1000)
            .with_faults(Faults { stall_every: Some(Duration::from_secs(5)), ..Faults::default() });
        assert_eq!((shape.delay, shape.round_trip()), (Duration::from_millis(150), Duration::from_millis(300)));
        assert_eq!(shape.serialisation(500), Duration::from_millis(500));
        assert_eq!(Shape::default().serialisation(1 << 30), Duration::ZERO);
        assert!(shape.faults.any() && !Faults::default().any());
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let d = rng.around(Duration::from_secs(2));
            assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(3), "{d:?}");
            assert!(rng.up_to(Duration::from_millis(10)) <= Duration::from_millis(10));
        }
        let (mut a, mut b) = (Rng::new(1), Rng::new(1));
        assert_eq!((a.next(), a.next()), (b.next(), b.next()));
    }
}
