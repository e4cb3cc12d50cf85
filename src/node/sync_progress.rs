//! Sync progress in the log: while the node catches up, every [`LOG_EVERY`] one line with its
//! height, the elected target, the rate and the time left — what `/status` carries under
//! `sync` too ([`eta`]). Between a fork point and "reached the elected height" an operator
//! otherwise sees nothing. When the log goes to a file and stderr is a terminal, a progress
//! bar ([`crate::progress`]) shows the same there.

use super::sync::Synchroniser;
use bitmark_peer::connector::Progress;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::info;

const TARGET: &str = "node::sync";

/// Between two progress lines.
pub const LOG_EVERY: Duration = Duration::from_secs(5);
/// Between two updates of the progress bar.
const BAR_EVERY: Duration = Duration::from_secs(1);

/// The time left in a catch-up at its rate so far; `None` when not behind or no rate yet.
pub fn eta(progress: &Progress) -> Option<Duration> {
    let left = progress.target.checked_sub(progress.height).filter(|n| *n > 0)?;
    (progress.rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / progress.rate))
}

/// The progress line's words, for the log: "height 120 of 500, 4.2 blocks/s, about 1m 30s left".
pub fn describe(progress: &Progress) -> String {
    let left = eta(progress).map_or_else(
        || "time left unknown".to_string(),
        |d| format!("about {} left", humantime::format_duration(Duration::from_secs(d.as_secs()))),
    );
    format!("height {} of {}, {:.1} blocks/s, {left}", progress.height, progress.target, progress.rate)
}

/// The logging thread.
pub struct SyncProgressLog {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<()>,
}

impl SyncProgressLog {
    /// Log `sync`'s progress every `every` while it is behind its elected target; with `bar`,
    /// also draw it on stderr (updated every second).
    pub fn spawn(sync: Arc<dyn Synchroniser>, every: Duration, bar: bool) -> std::io::Result<SyncProgressLog> {
        let (stop, stopped) = mpsc::channel();
        let handle = std::thread::Builder::new().name("sync-progress".into()).spawn(move || {
            let tick = if bar { BAR_EVERY.min(every) } else { every };
            let drawn = bar.then(|| crate::progress::bar(0, "sync"));
            let mut since_log = Duration::ZERO;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                since_log += tick;
                let Some(p) = sync.progress() else { continue };
                if let Some(drawn) = &drawn {
                    drawn.set_length(p.target.max(p.height));
                    drawn.set_position(p.height);
                    drawn.set_message(p.state);
                }
                if p.behind() && since_log >= every {
                    since_log = Duration::ZERO;
                    info!(target: TARGET, height = p.height, target = p.target, blocks_per_second = p.rate,
                          eta_seconds = eta(&p).map(|d| d.as_secs()), "syncing: {}", describe(&p));
                }
            }
            if let Some(drawn) = drawn {
                drawn.finish_and_clear();
            }
        })?;
        Ok(SyncProgressLog { stop, handle })
    }

    /// Stop the thread.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_from_the_rate_so_far() {
        let p = Progress { height: 100, target: 500, rate: 4.0, ..Progress::default() };
        assert_eq!(eta(&p), Some(Duration::from_secs(100)));
        assert_eq!(describe(&p), "height 100 of 500, 4.0 blocks/s, about 1m 40s left");
        assert_eq!(eta(&Progress { rate: 0.0, ..p.clone() }), None);
        assert_eq!(eta(&Progress { height: 500, ..p }), None);
    }
}
