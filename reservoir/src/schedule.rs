//! Time-driven work: expiring pending records (every 5 min), examining cached assets (every
//! minute), rebroadcasting verified records (every 33 min 45 s). [`Reservoir::run_due`] does
//! whatever is due by the reservoir's clock, so tests drive it in virtual time;
//! [`Reservoir::spawn_background`] calls it from a thread in real time.

use crate::clock::ms;
use crate::error::{ReservoirError, Result};
use crate::pool::{GroupKind, Pool};
use crate::reservoir::Reservoir;
use crate::{EXPIRATION_CHECK_INTERVAL, REBROADCAST_INTERVAL, RESERVOIR_TIMEOUT};
use bitmark_common::{lock, read};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How often cached assets are examined (bitmarkd's expiry timer idles at one minute).
pub const ASSET_CHECK_INTERVAL: Duration = Duration::from_secs(60);

/// When each periodic job is next due (ms since the epoch).
pub(crate) struct Schedule {
    expiry: u64,
    assets: u64,
    rebroadcast: u64,
}

impl Schedule {
    /// Every job one interval after `now`.
    pub fn starting(now: u64) -> Schedule {
        Schedule {
            expiry: now + ms(EXPIRATION_CHECK_INTERVAL),
            assets: now + ms(ASSET_CHECK_INTERVAL),
            rebroadcast: now + ms(REBROADCAST_INTERVAL),
        }
    }
}

/// What [`Reservoir::run_due`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DueReport {
    /// Pending groups expired (0 if the sweep was not due).
    pub expired: usize,
    /// Cached assets dropped.
    pub assets_dropped: usize,
    /// Messages rebroadcast.
    pub rebroadcast: usize,
}

/// Stops the background thread when dropped.
pub struct Background {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Reservoir {
    /// Run every periodic job that is due by the clock: the expiry sweep, the asset
    /// examination, the rebroadcast. Each is next due one interval after it ran.
    pub fn run_due(&self) -> Result<DueReport> {
        let now = self.now_ms();
        let (expiry, assets, rebroadcast) = {
            let mut s = lock(&self.schedule);
            let due = (now >= s.expiry, now >= s.assets, now >= s.rebroadcast);
            if due.0 {
                s.expiry = now + ms(EXPIRATION_CHECK_INTERVAL);
            }
            if due.1 {
                s.assets = now + ms(ASSET_CHECK_INTERVAL);
            }
            if due.2 {
                s.rebroadcast = now + ms(REBROADCAST_INTERVAL);
            }
            due
        };
        let mut report = DueReport::default();
        if expiry || assets {
            let mut pool = self.lock();
            if expiry {
                report.expired = self.expire(&mut pool, now);
            }
            if assets {
                report.assets_dropped = self.sweep_assets(&mut pool, now);
            }
            self.store.write(&mut pool)?;
        }
        if rebroadcast {
            report.rebroadcast = self.rebroadcast();
        }
        Ok(report)
    }

    /// Expire now, whatever the schedule: pending groups past their deadline and orphan
    /// payments older than the reservoir timeout. Returns the groups expired.
    pub fn expire_now(&self) -> Result<usize> {
        let now = self.now_ms();
        let mut pool = self.lock();
        let n = self.expire(&mut pool, now);
        self.store.write(&mut pool)?;
        Ok(n)
    }

    /// The expiry sweep (`deleteExpiredItems`): verified records never expire.
    fn expire(&self, pool: &mut Pool, now: u64) -> usize {
        let expired = pool.ordered(|g| !g.verified && g.expires_at <= now);
        for p in &expired {
            pool.remove(p, now);
        }
        let timeout = ms(RESERVOIR_TIMEOUT);
        let old: Vec<_> = pool
            .orphans
            .iter()
            .filter(|(_, o)| o.received_at.saturating_add(timeout) <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in old {
            pool.orphans.remove(&p);
            pool.dirty.orphans.insert(p);
        }
        expired.len()
    }

    /// Examine cached assets whose deadline passed; returns how many were dropped.
    pub(crate) fn sweep_assets(&self, pool: &mut Pool, now: u64) -> usize {
        let (changed, dropped) = pool.assets.sweep(now);
        let n = dropped.len();
        pool.dirty.assets.extend(changed);
        pool.dirty.assets.extend(dropped);
        n
    }

    /// Send every verified record to the broadcaster now (bitmarkd's rebroadcaster; pending
    /// records are not rebroadcast): a transfer-like record as `"transfer"`; a paid issue group
    /// as `"issues"`; a free issue group as `"assets"` (its cached assets, if any), `"issues"`
    /// and `"proof"` (pay id ‖ the client's whole nonce). Returns the messages sent.
    pub fn rebroadcast(&self) -> usize {
        let Some(send) = read(&self.broadcaster).clone() else { return 0 };
        let mut messages: Vec<(&'static str, Vec<u8>)> = Vec::new();
        {
            let pool = self.lock();
            for kind in [GroupKind::Transaction, GroupKind::FreeIssues, GroupKind::PaidIssues] {
                for p in pool.ordered(|g| g.verified && g.kind == kind) {
                    let Some(g) = pool.groups.get(&p) else { continue };
                    match kind {
                        GroupKind::Transaction => messages.push(("transfer", g.packed())),
                        GroupKind::PaidIssues => messages.push(("issues", g.packed())),
                        GroupKind::FreeIssues => {
                            let assets: Vec<u8> = g
                                .asset_ids()
                                .filter_map(|id| pool.assets.get(&id))
                                .flat_map(|a| a.packed.iter().copied())
                                .collect();
                            if !assets.is_empty() {
                                messages.push(("assets", assets));
                            }
                            messages.push(("issues", g.packed()));
                            let mut proof = p.0.to_vec();
                            proof.extend_from_slice(&g.nonce);
                            messages.push(("proof", proof));
                        }
                    }
                }
            }
        }
        for (command, payload) in &messages {
            send(command, payload);
        }
        messages.len()
    }

    /// Run [`Self::run_due`] from a thread, checking once a second, until the returned handle
    /// is dropped. Errors go to `on_error` (the node logs them, naming the database).
    pub fn spawn_background(self: &Arc<Self>, on_error: impl Fn(ReservoirError) + Send + 'static) -> Background {
        let (tx, rx) = mpsc::channel::<()>();
        let reservoir = Arc::clone(self);
        let handle = thread::spawn(move || loop {
            if let Err(e) = reservoir.run_due() {
                on_error(e);
            }
            match rx.recv_timeout(Duration::from_secs(1)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => break,
            }
        });
        Background { stop: Some(tx), handle: Some(handle) }
    }
}
