//! Reconnect back-off: exponential with jitter and a cap.
//!
//! bitmarkd retries a dead peer every 2 minutes for ever (libzmq's fixed `RECONNECT_IVL`), and
//! libraries with fast fixed retries have caused reconnect storms and memory growth in other
//! nodes (bitmarkd#112). Doubling from a short first delay finds a peer that restarts quickly;
//! the cap keeps a long-dead peer at one attempt per few minutes; the jitter keeps the 25
//! upstreams of a node (and the nodes of a network that lost a common peer) from retrying in
//! lock-step.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Delays between registration attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the second attempt (the first is immediate).
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 2 s doubling to 5 min: a restarting peer is found within seconds, a dead one costs one
    /// attempt per 5 minutes (bitmarkd: one per 2 minutes, whatever happened).
    fn default() -> Backoff {
        Backoff { initial: Duration::from_secs(2), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The un-jittered delay after `failures` consecutive failed attempts (`failures >= 1`):
    /// `initial * 2^(failures-1)`, at most `max`.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }

    /// The delay after `failures` consecutive failures, "equal jitter": uniformly in
    /// `[ceiling/2, ceiling]`, so it still grows geometrically but never lines up.
    pub fn delay(&self, failures: u32, jitter: &mut Jitter) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        half + half.mul_f64(jitter.unit())
    }
}

/// A small pseudo-random source for jitter (splitmix64): not for anything secret, only to
/// spread retries. Seeded from the process's random hasher keys unless a seed is given, so tests
/// can be deterministic.
#[derive(Clone, Debug)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A source with a random seed.
    pub fn random() -> Jitter {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x6269_746d_6172_6b21);
        Jitter::seeded(hasher.finish())
    }

    /// A source with a fixed seed.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter { state: seed }
    }

    /// The next value, uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // The top 53 bits as a fraction.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let backoff = Backoff::default();
        let secs: Vec<u64> = (1..=10).map(|k| backoff.ceiling(k).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(300));
        assert_eq!(backoff.ceiling(0), Duration::from_secs(2));
    }

    #[test]
    fn jitter_stays_in_the_upper_half_and_spreads() {
        let backoff = Backoff::default();
        let mut jitter = Jitter::seeded(7);
        for failures in 1..12 {
            let ceiling = backoff.ceiling(failures);
            let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(failures, &mut jitter)).collect();
            assert!(delays.iter().all(|d| *d >= ceiling / 2 && *d <= ceiling), "{failures}: {delays:?}");
            let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
            assert!(distinct.len() > 150, "jitter spreads retries");
        }
    }

    #[test]
    fn seeded_jitter_is_repeatable_and_random_differs() {
        let a: Vec<f64> = (0..5)
            .map({
                let mut j = Jitter::seeded(1);
                move |_| j.unit()
            })
            .collect();
        let b: Vec<f64> = (0..5)
            .map({
                let mut j = Jitter::seeded(1);
                move |_| j.unit()
            })
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|x| (0.0..1.0).contains(x)));
        assert_ne!(Jitter::random().unit(), Jitter::random().unit());
    }
}
