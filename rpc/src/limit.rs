//! bitmarkd's per-service rate limits (`rpc/ratelimit`, `golang.org/x/time/rate`): a token
//! bucket refilled at `rate` per second up to `burst`. A request reserves its tokens at once
//! (the bucket may go negative, queueing later requests behind it) and is delayed until they
//! are due; asking for more than `burst` is refused with `rate limiting`. The delay is slept
//! on the runtime (`tokio::time::sleep`), never on a worker thread.

use bitmark_record::Fault;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One service's bucket.
#[derive(Debug)]
pub struct Limiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Limiter {
    /// A full bucket of `burst` tokens refilled at `rate` per second.
    pub fn new(rate: f64, burst: usize) -> Limiter {
        let burst = burst as f64;
        Limiter { rate, burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// A limiter that never delays (benchmarks of the RPC path itself), still refusing more
    /// than `burst` at once.
    pub fn unlimited(burst: usize) -> Limiter {
        Limiter::new(f64::INFINITY, burst)
    }

    /// Reserve `n` tokens now; how long the caller must wait for them. `rate limiting` when
    /// `n` exceeds the burst.
    pub fn reserve(&self, n: usize, now: Instant) -> Result<Duration, Fault> {
        let n = n as f64;
        if n > self.burst {
            return Err(Fault::RateLimiting);
        }
        if self.rate.is_infinite() {
            return Ok(Duration::ZERO);
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = *state;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.rate).min(self.burst) - n;
        *state = (tokens, now.max(last));
        if tokens >= 0.0 || self.rate <= 0.0 {
            return Ok(Duration::ZERO);
        }
        Ok(Duration::from_secs_f64(-tokens / self.rate))
    }

    /// `ratelimit.Limit`: one token, waiting for it.
    pub async fn limit(&self) -> Result<(), Fault> {
        let delay = self.reserve(1, Instant::now())?;
        sleep(delay).await;
        Ok(())
    }

    /// `ratelimit.LimitN`: `count` tokens; a count outside `1..=maximum` is charged one token
    /// and refused with `invalid count`.
    pub async fn limit_n(&self, count: i64, maximum: usize) -> Result<(), Fault> {
        let valid = usize::try_from(count).ok().filter(|c| (1..=maximum).contains(c));
        let delay = self.reserve(valid.unwrap_or(1), Instant::now())?;
        sleep(delay).await;
        valid.map(|_| ()).ok_or(Fault::InvalidCount)
    }
}

async fn sleep(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_queues_and_refuses_as_x_time_rate() {
        let start = Instant::now();
        let limiter = Limiter::new(200.0, 100);
        assert_eq!(limiter.reserve(100, start), Ok(Duration::ZERO));
        // Empty: the next token is due in 1/200 s, and the one after in 2/200 s.
        assert_eq!(limiter.reserve(1, start), Ok(Duration::from_secs_f64(0.005)));
        assert_eq!(limiter.reserve(1, start), Ok(Duration::from_secs_f64(0.010)));
        assert_eq!(limiter.reserve(101, start), Err(Fault::RateLimiting));
        // A second later the bucket is full again.
        assert_eq!(limiter.reserve(100, start + Duration::from_secs(2)), Ok(Duration::ZERO));
    }

    #[tokio::test]
    async fn counts_outside_the_range_are_invalid() {
        let limiter = Limiter::new(200.0, 100);
        assert_eq!(limiter.limit_n(0, 100).await, Err(Fault::InvalidCount));
        assert_eq!(limiter.limit_n(101, 100).await, Err(Fault::InvalidCount));
        assert_eq!(limiter.limit_n(5, 100).await, Ok(()));
    }
}
