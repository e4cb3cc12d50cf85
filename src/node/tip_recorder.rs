//! Keeps the durable-tip record ([`bitmark_storage::tip_record`]) in step with the chain: every
//! [`RECORD_EVERY`] and once more at shutdown, after the last flush. Rollbacks lower the record
//! themselves, before they remove a block.

use bitmark_storage::BlockStore;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::warn;

const TARGET: &str = "node";

/// Between two records: the blocks stored in the last interval before a crash are not guarded.
pub const RECORD_EVERY: Duration = Duration::from_secs(1);

/// The recording thread.
pub struct TipRecorderThread {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<()>,
}

impl TipRecorderThread {
    /// Record `store`'s tip every `every` until stopped.
    pub fn spawn(store: Arc<BlockStore>, every: Duration) -> std::io::Result<TipRecorderThread> {
        let (stop, stopped) = mpsc::channel();
        let handle = std::thread::Builder::new().name("tip-recorder".into()).spawn(move || {
            let mut failing = false;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let result = store.record_tip();
                // Said once when it starts failing, not every second.
                if let (Err(e), false) = (&result, failing) {
                    warn!(target: TARGET, error = %e, "cannot write the durable-tip record");
                }
                failing = result.is_err();
            }
        })?;
        Ok(TipRecorderThread { stop, handle })
    }

    /// Stop the thread (the caller records the final tip after flushing the store).
    pub fn stop(self) {
        let _ = self.stop.send(());
        drop(self.handle.join());
    }
}
