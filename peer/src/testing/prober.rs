//! An honest client asking `N` at a steady pace while something else attacks the node: the
//! yardstick of the hostile-peer tests. Every answer is checked against the height the node
//! must report, and every latency is kept, so a test can say both "the node kept answering
//! correctly" and how long answers took under that attack.

use crate::transport::Transport;
use crate::wire::{Reply, Request};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the prober saw.
#[derive(Clone, Debug, Default)]
pub struct ProbeReport {
    /// The latency of each correct answer, in the order asked.
    pub latencies: Vec<Duration>,
    /// Each probe that failed (an error or a wrong answer), described.
    pub failures: Vec<String>,
}

impl ProbeReport {
    /// Probes sent.
    pub fn probes(&self) -> usize {
        self.latencies.len() + self.failures.len()
    }

    /// The `p`-th percentile (0..=100) of the answered probes' latencies, nearest rank; zero
    /// when none was answered.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied().unwrap_or_default()
    }

    /// The slowest answer.
    pub fn max(&self) -> Duration {
        self.latencies.iter().max().copied().unwrap_or_default()
    }

    /// One line for a test's output: probes, median, p99 and max latency.
    pub fn summary(&self, label: &str) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "{label}: {} probes, {} failed; N latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.probes(),
            self.failures.len(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            ms(self.max()),
        )
    }

    /// Print the summary to stderr and panic unless at least `min_probes` probes were sent and
    /// every one got the right height.
    pub fn assert_all_answered(&self, label: &str, min_probes: usize) {
        eprintln!("{}", self.summary(label));
        assert!(self.failures.is_empty(), "{label}: {} probes failed: {:?}", self.failures.len(), self.failures);
        assert!(self.probes() >= min_probes, "{label}: only {} probes sent", self.probes());
    }
}

/// A thread asking `N` every `interval` until [`Prober::finish`].
pub struct Prober {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<ProbeReport>,
}

impl Prober {
    /// Start asking `N` over `client`, expecting `height` every time. A probe that times out
    /// (the client's own timeout) is a failure, so the client's timeout is the bound a test
    /// asserts on.
    pub fn start<T: Transport + Send + 'static>(mut client: T, height: u64, interval: Duration) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut report = ProbeReport::default();
            while !stopped.load(Ordering::SeqCst) {
                let asked = Instant::now();
                match client.request(&Request::Height) {
                    Ok(Reply::Height(h)) if h == height => report.latencies.push(asked.elapsed()),
                    Ok(reply) => report.failures.push(format!("wrong answer {reply:?}")),
                    Err(e) => report.failures.push(format!("{e} after {:?}", asked.elapsed())),
                }
                std::thread::sleep(interval);
            }
            report
        });
        Prober { stop, thread }
    }

    /// Stop after the probe in flight and return what was seen.
    pub fn finish(self) -> ProbeReport {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_else(|_| ProbeReport {
            failures: vec!["the prober thread panicked".into()],
            ..ProbeReport::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakePool, Fixture};
    use crate::transport::MemoryNetwork;
    use bitmark_record::Chain;

    #[test]
    fn percentiles() {
        let report = ProbeReport { latencies: (1..=100).rev().map(Duration::from_millis).collect(), failures: vec![] };
        assert_eq!(report.percentile(50.0), Duration::from_millis(50));
        assert_eq!(report.percentile(99.0), Duration::from_millis(99));
        assert_eq!(report.max(), Duration::from_millis(100));
        assert_eq!(ProbeReport::default().percentile(99.0), Duration::ZERO);
    }

    #[test]
    fn counts_wrong_heights_and_silence() {
        let fixture = Fixture::new(Chain::Local, 3, FakePool::default());
        let network = MemoryNetwork::new();
        let addr = "10.0.0.1:1".parse().unwrap();
        network.listen(addr, Chain::Local, fixture.handler.clone());
        let right = Prober::start(network.connect(addr, Chain::Local, "a"), 4, Duration::from_millis(1));
        let wrong = Prober::start(network.connect(addr, Chain::Local, "b"), 5, Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(30));
        let (right, wrong) = (right.finish(), wrong.finish());
        right.assert_all_answered("right", 1);
        assert!(wrong.latencies.is_empty() && !wrong.failures.is_empty(), "{wrong:?}");
        assert!(std::panic::catch_unwind(|| wrong.assert_all_answered("wrong", 1)).is_err());
    }
}
