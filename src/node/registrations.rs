//! Who registers with us: every inbound `R` is logged at info with the peer's key, its address
//! and the listeners it announces — the serving side's view of "is that node connected?".
//!
//! Peers re-register whenever their link is re-made, and a hostile one can register thousands
//! of keys, so the log is bounded: a key is logged when it is new or has not registered for
//! [`QUIET`], at most [`BURST`] lines per minute (the rest are counted and the count is logged
//! with the next line allowed), and at most [`MAX_KEYS`] keys are remembered.

use bitmark_common::lock;
use bitmark_peer::transport::{PeerInfo, Service};
use bitmark_peer::wire::{packed_address, Reply, Request};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::info;

const TARGET: &str = "node::peers";

/// A key that registers again within this is not logged again.
pub const QUIET: Duration = Duration::from_secs(600);
/// Lines logged per minute at most.
pub const BURST: u32 = 20;
/// Keys remembered; beyond, the one logged longest ago is forgotten.
pub const MAX_KEYS: usize = 1024;

#[derive(Default)]
struct Log {
    seen: HashMap<Vec<u8>, Instant>,
    window: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl Log {
    /// Whether to log `key` now, and how many lines were suppressed before it.
    fn admit(&mut self, key: &[u8], now: Instant) -> Option<u64> {
        if self.seen.get(key).is_some_and(|at| now.saturating_duration_since(*at) < QUIET) {
            return None;
        }
        if self.window.is_none_or(|start| now.saturating_duration_since(start) >= Duration::from_secs(60)) {
            self.window = Some(now);
            self.in_window = 0;
        }
        if self.in_window >= BURST {
            self.suppressed += 1;
            return None;
        }
        self.in_window += 1;
        if self.seen.len() >= MAX_KEYS && !self.seen.contains_key(key) {
            if let Some(oldest) = self.seen.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone()) {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(key.to_vec(), now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The listener's service wrapped to log registrations.
pub struct RegistrationLog {
    inner: Arc<dyn Service>,
    log: Mutex<Log>,
}

impl RegistrationLog {
    /// Log the registrations `inner` handles.
    pub fn new(inner: Arc<dyn Service>) -> RegistrationLog {
        RegistrationLog { inner, log: Mutex::new(Log::default()) }
    }
}

impl Service for RegistrationLog {
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply {
        if let Request::Register { public_key, listeners, .. } = &request {
            let admitted = lock(&self.log).admit(public_key, Instant::now());
            if let Some(suppressed) = admitted {
                let listeners: Vec<String> =
                    packed_address::unpack_all(listeners).iter().map(ToString::to_string).collect();
                info!(target: TARGET, key = %hex::encode(public_key), address = peer.address.as_deref().unwrap_or("?"),
                      listeners = ?listeners, not_shown_before = suppressed, "peer registered");
            }
        }
        self.inner.handle(peer, request)
    }
    fn answers_at_once(&self, request: &Request) -> bool {
        self.inner.answers_at_once(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_once_per_quiet_period_and_a_burst_per_minute() {
        let mut log = Log::default();
        let start = Instant::now();
        assert_eq!(log.admit(b"a", start), Some(0));
        assert_eq!(log.admit(b"a", start + Duration::from_secs(5)), None, "a re-registration");
        assert_eq!(log.admit(b"a", start + QUIET), Some(0), "after a quiet period");
        for i in 0..BURST + 5 {
            let admitted = log.admit(format!("k{i}").as_bytes(), start + QUIET);
            assert_eq!(admitted.is_some(), i < BURST - 1, "{i}");
        }
        assert_eq!(log.admit(b"z", start + QUIET + Duration::from_secs(60)), Some(6), "the suppressed are counted");
        let mut full = Log::default();
        for i in 0..MAX_KEYS + 10 {
            full.window = None;
            full.admit(&i.to_be_bytes(), start + Duration::from_millis(i as u64));
        }
        assert_eq!(full.seen.len(), MAX_KEYS);
    }
}
