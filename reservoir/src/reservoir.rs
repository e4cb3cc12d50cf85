//! The reservoir itself: construction and reload from sled, the asset cache API, status
//! queries, counters and payment reports.

use crate::assets::Cached;
use crate::clock::{millis, Clock, SystemClock};
use crate::error::Result;
use crate::payment::{AutoVerify, PaymentDetail, PaymentVerifier, RequirePayment};
use crate::persist::Store;
use crate::pool::{Group, GroupKind, Orphan, Pool};
use crate::schedule::Schedule;
use crate::state::ConfirmedState;
use crate::RESERVOIR_TIMEOUT;
use bitmark_common::{lock, write};
use bitmark_record::transaction::AssetData;
use bitmark_record::{AssetId, Chain, Link, PayId, Transaction};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Receives the reservoir's rebroadcasts: a command (`"transfer"`, `"issues"`, `"assets"`,
/// `"proof"`) and its payload, for the peer layer to send to its subscribers.
pub type Broadcaster = Arc<dyn Fn(&str, &[u8]) + Send + Sync>;

/// How a reservoir is run.
#[derive(Clone)]
pub struct Options {
    /// Decides payments.
    pub verifier: Arc<dyn PaymentVerifier>,
    /// Source of time.
    pub clock: Arc<dyn Clock>,
    /// Flush sled to disk before a submit returns (default true). Turning it off keeps writes
    /// ordered and atomic but lets a crash lose the last half second of accepted items.
    pub durable: bool,
    /// The most memory sled's page cache of a database opened by path ([`Reservoir::open`])
    /// may take (default [`DEFAULT_CACHE_BYTES`]). sled's own default is 1 GiB, which a
    /// reservoir never needs: everything it holds is also in memory in its pool, and sled reads
    /// it back only on open.
    pub cache_bytes: u64,
}

/// The default cap of the reservoir database's page cache: 16 MiB, room for bitmarkd's bound
/// of 20 000 pending free issues several times over (a pending issue takes well under 1 KiB
/// in sled).
pub const DEFAULT_CACHE_BYTES: u64 = 16 << 20;

impl Options {
    /// bitmarkd's defaults for a chain: auto-verify on `local` and `testing`, payments required
    /// on `bitmark`; the system clock; durable submits.
    pub fn for_chain(chain: Chain) -> Options {
        let verifier: Arc<dyn PaymentVerifier> =
            if chain.is_testing() { Arc::new(AutoVerify) } else { Arc::new(RequirePayment) };
        Options { verifier, clock: Arc::new(SystemClock), durable: true, cache_bytes: DEFAULT_CACHE_BYTES }
    }

    /// Replace the verifier.
    pub fn verifier(mut self, verifier: Arc<dyn PaymentVerifier>) -> Options {
        self.verifier = verifier;
        self
    }

    /// Replace the clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Options {
        self.clock = clock;
        self
    }
}

/// A transaction's state as the reservoir sees it (`TransactionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionState {
    /// Neither held nor confirmed.
    Unknown,
    /// Waiting for payment or proof.
    Pending,
    /// Paid or proven, waiting for a block.
    Verified,
    /// In a stored block.
    Confirmed,
}

impl TransactionState {
    /// bitmarkd's text.
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionState::Unknown => "Unknown",
            TransactionState::Pending => "Pending",
            TransactionState::Verified => "Verified",
            TransactionState::Confirmed => "Confirmed",
        }
    }
}

/// Sizes of the reservoir's parts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Pending records (bitmarkd's first counter: `len(pendingIndex)`).
    pub pending: usize,
    /// Verified records (second counter: `len(verifiedIndex)`).
    pub verified: usize,
    /// Pending free issue records.
    pub pending_free_issues: usize,
    /// Pending paid issue records.
    pub pending_paid_issues: usize,
    /// Pending single-record groups (transfers, shares, grants, swaps).
    pub pending_transactions: usize,
    /// Groups (pay ids) held.
    pub groups: usize,
    /// Cached unconfirmed assets.
    pub assets: usize,
    /// Payments waiting for their record.
    pub orphan_payments: usize,
}

/// What reopening found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Groups restored.
    pub groups: usize,
    /// Cached assets restored.
    pub assets: usize,
    /// Pending groups dropped because they expired while the node was down.
    pub expired: usize,
    /// Groups dropped because the chain confirmed or invalidated them meanwhile.
    pub invalidated: usize,
    /// Entries that could not be decoded (removed).
    pub corrupt: usize,
}

/// What caching an asset did (`asset.Cache`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetOutcome {
    /// The asset id.
    pub asset_id: AssetId,
    /// The packed record when it is new here (to be broadcast); `None` for an asset already
    /// cached or confirmed.
    pub packed: Option<Vec<u8>>,
}

/// The reservoir of unconfirmed assets, issues and transfers.
///
/// Every operation takes one lock over the in-memory state and writes what it changed to sled
/// as one batch before releasing it; submits then flush sled to disk before returning, so an
/// acknowledged record survives a crash. Signature checks and chain reads that need no
/// reservoir state run outside the lock.
pub struct Reservoir {
    pub(crate) chain: Chain,
    pub(crate) state: Arc<dyn ConfirmedState>,
    pub(crate) verifier: Arc<dyn PaymentVerifier>,
    pub(crate) clock: Arc<dyn Clock>,
    durable: bool,
    pub(crate) store: Store,
    pool: Mutex<Pool>,
    pub(crate) broadcaster: RwLock<Option<Broadcaster>>,
    pub(crate) schedule: Mutex<Schedule>,
    /// Keeps a database opened by path alive.
    _db: Option<sled::Db>,
    /// Where that database is, to name it in errors.
    path: Option<PathBuf>,
}

/// Name of the sled tree used when the reservoir opens its own database.
pub const TREE_NAME: &str = "reservoir";

impl Reservoir {
    /// Open (or create) a reservoir database in directory `path`, its page cache capped at
    /// `options.cache_bytes`, and reload it: see [`Reservoir::with_tree`].
    pub fn open(
        path: impl AsRef<Path>,
        chain: Chain,
        state: Arc<dyn ConfirmedState>,
        options: Options,
    ) -> Result<(Reservoir, LoadReport)> {
        let db = sled::Config::new().path(path.as_ref()).cache_capacity(options.cache_bytes).open()?;
        let tree = db.open_tree(TREE_NAME)?;
        let (mut reservoir, report) = Reservoir::build(tree, Some(db), chain, state, options)?;
        reservoir.path = Some(path.as_ref().to_path_buf());
        Ok((reservoir, report))
    }

    /// The directory of the database it opened (`None` when it was given a tree): what an
    /// error the operator reads names.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Use `tree` (of a database the caller opened) and reload what it holds: pending groups
    /// that expired while the node was down are dropped, then everything is re-checked against
    /// the confirmed chain as after a block (confirmed issues and spent links go).
    pub fn with_tree(
        tree: sled::Tree,
        chain: Chain,
        state: Arc<dyn ConfirmedState>,
        options: Options,
    ) -> Result<(Reservoir, LoadReport)> {
        Reservoir::build(tree, None, chain, state, options)
    }

    fn build(
        tree: sled::Tree,
        db: Option<sled::Db>,
        chain: Chain,
        state: Arc<dyn ConfirmedState>,
        options: Options,
    ) -> Result<(Reservoir, LoadReport)> {
        let now = millis(options.clock.wall());
        let r = Reservoir {
            chain,
            state,
            verifier: options.verifier,
            clock: options.clock,
            durable: options.durable,
            store: Store::new(tree)?,
            pool: Mutex::new(Pool::new()),
            broadcaster: RwLock::new(None),
            schedule: Mutex::new(Schedule::starting(now)),
            _db: db,
            path: None,
        };
        let report = r.load(now)?;
        Ok((r, report))
    }

    /// Reload from sled (see [`Reservoir::with_tree`]).
    fn load(&self, now: u64) -> Result<LoadReport> {
        let loaded = self.store.load(self.chain.is_testing())?;
        let mut report = LoadReport { corrupt: loaded.corrupt.len(), ..LoadReport::default() };
        let mut pool = self.lock();
        for (id, asset) in loaded.assets {
            pool.assets.restore(id, asset);
        }
        for (pay_id, group) in loaded.groups {
            if !group.verified && group.expires_at <= now {
                report.expired += 1;
                pool.dirty.groups.insert(pay_id);
                continue;
            }
            pool.insert(pay_id, group);
        }
        let orphan_timeout = crate::clock::ms(RESERVOIR_TIMEOUT);
        for (pay_id, orphan) in loaded.orphans {
            if orphan.received_at.saturating_add(orphan_timeout) <= now {
                pool.dirty.orphans.insert(pay_id);
            } else {
                pool.orphans.insert(pay_id, orphan);
            }
        }
        // Only removals need writing; restored entries are already stored.
        let removed: Vec<PayId> = pool.dirty.groups.iter().filter(|p| !pool.groups.contains_key(p)).copied().collect();
        pool.dirty.groups = removed.into_iter().collect();
        pool.recount_asset_refs();
        for id in pool.assets.ids() {
            if self.state.asset_block(&id)?.is_some() {
                pool.assets.remove(&id);
                pool.dirty.assets.insert(id);
            }
        }
        let pool_ref = &mut *pool;
        pool_ref.assets.rearm_unreferenced(now, &mut pool_ref.dirty.assets);
        let before = pool.groups.len();
        self.rescan(&mut pool, now)?;
        report.invalidated = before - pool.groups.len();
        self.sweep_assets(&mut pool, now);
        report.groups = pool.groups.len();
        report.assets = pool.assets.len();
        self.store.write(&mut pool)?;
        drop(pool);
        self.store.flush()?;
        Ok(report)
    }

    /// The chain this reservoir serves.
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// Lock the state (a poisoned lock is recovered: every operation leaves the state
    /// consistent before anything that could panic).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Pool> {
        lock(&self.pool)
    }

    /// A new `group` under `pay_id` is verified on arrival when its payment was seen before it
    /// (an orphaned payment, taken from `pool`) or payments are auto-verified, and what is
    /// offered is acceptable. Whether it was.
    pub(crate) fn verify_on_arrival(&self, pool: &mut Pool, pay_id: PayId, group: &mut Group) -> bool {
        let orphan = pool.orphans.get(&pay_id).map(|o| o.detail.clone());
        if !(orphan.is_some() || self.verifier.auto_verify())
            || !self.verifier.acceptable(orphan.as_ref(), &group.payments)
        {
            return false;
        }
        group.verified = true;
        if pool.orphans.remove(&pay_id).is_some() {
            pool.dirty.orphans.insert(pay_id);
        }
        true
    }

    /// Now, in ms since the epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        millis(self.clock.wall())
    }

    /// Make accepted writes durable (when configured to).
    pub(crate) fn sync(&self) -> Result<()> {
        if self.durable {
            self.store.flush()?;
        }
        Ok(())
    }

    /// Flush sled to disk now.
    pub fn flush(&self) -> Result<()> {
        self.store.flush()
    }

    /// Set the receiver of rebroadcasts.
    pub fn set_broadcaster(&self, broadcaster: Broadcaster) {
        *write(&self.broadcaster) = Some(broadcaster);
    }

    /// Cache an unconfirmed asset (`asset.Cache`), durably before returning. The record's
    /// pack/signature faults (signed by its registrant) come first; an asset already confirmed
    /// is reported with no packed bytes and not cached; re-sending the same asset extends its
    /// timeout; different data under a cached id is `assets already registered`.
    pub fn cache_asset(&self, asset: &AssetData) -> Result<AssetOutcome> {
        let outcome = self.cache_asset_unsynced(asset)?;
        self.sync()?;
        Ok(outcome)
    }

    pub(crate) fn cache_asset_unsynced(&self, asset: &AssetData) -> Result<AssetOutcome> {
        let tx = Transaction::AssetData(asset.clone());
        let packed = tx.pack(&asset.registrant)?;
        Transaction::unpack(&packed, self.chain.is_testing())?;
        let asset_id = asset.asset_id();
        if self.state.asset_block(&asset_id)?.is_some() {
            return Ok(AssetOutcome { asset_id, packed: None });
        }
        let now = self.now_ms();
        let mut pool = self.lock();
        let cached = pool.assets.insert(asset_id, asset.clone(), packed.clone(), now)?;
        pool.dirty.assets.insert(asset_id);
        self.store.write(&mut pool)?;
        Ok(AssetOutcome { asset_id, packed: (cached == Cached::New).then_some(packed) })
    }

    /// Whether an asset is confirmed or cached (`asset.Exists`).
    pub fn asset_exists(&self, asset_id: &AssetId) -> Result<bool> {
        if self.state.asset_block(asset_id)?.is_some() {
            return Ok(true);
        }
        Ok(self.lock().assets.contains(asset_id))
    }

    /// The packed record of a cached asset (`asset.Get`).
    pub fn cached_asset(&self, asset_id: &AssetId) -> Option<Vec<u8>> {
        self.lock().assets.get(asset_id).map(|a| a.packed.clone())
    }

    /// The state of a transaction (`TransactionStatus`).
    pub fn transaction_status(&self, tx_id: &Link) -> Result<TransactionState> {
        {
            let pool = self.lock();
            if pool.pending_index.contains_key(tx_id) {
                return Ok(TransactionState::Pending);
            }
            if pool.verified_index.contains_key(tx_id) {
                return Ok(TransactionState::Verified);
            }
        }
        if self.state.has_transaction(tx_id)? {
            return Ok(TransactionState::Confirmed);
        }
        Ok(TransactionState::Unknown)
    }

    /// bitmarkd's `ReadCounters`: (pending records, verified records).
    pub fn counters(&self) -> (usize, usize) {
        let pool = self.lock();
        (pool.pending_index.len(), pool.verified_index.len())
    }

    /// Sizes of every part.
    pub fn stats(&self) -> Stats {
        let pool = self.lock();
        Stats {
            pending: pool.pending_index.len(),
            verified: pool.verified_index.len(),
            pending_free_issues: pool.pending_free_count,
            pending_paid_issues: pool.pending_paid_count,
            pending_transactions: pool.pending_transactions,
            groups: pool.groups.len(),
            assets: pool.assets.len(),
            orphan_payments: pool.orphans.len(),
        }
    }

    /// A currency watcher saw a payment carrying `pay_id` (`SetTransferVerified`): a pending
    /// transfer-like record or paid issue group it satisfies becomes verified; otherwise it is
    /// kept as an orphan payment for a record yet to come (for one reservoir timeout — bitmarkd
    /// keeps orphans forever). Returns whether something was verified. Durable on return.
    pub fn payment_detected(&self, pay_id: &PayId, detail: PaymentDetail) -> Result<bool> {
        let now = self.now_ms();
        let mut pool = self.lock();
        let acceptable = match pool.pending(pay_id) {
            Some(g) if g.kind != GroupKind::FreeIssues => self.verifier.acceptable(Some(&detail), &g.payments),
            _ => false,
        };
        if acceptable {
            pool.verify(pay_id, None);
        } else {
            pool.orphans.insert(*pay_id, Orphan { detail, received_at: now });
            pool.dirty.orphans.insert(*pay_id);
        }
        self.store.write(&mut pool)?;
        drop(pool);
        self.sync()?;
        Ok(acceptable)
    }

    /// Stop block selection ([`Self::fetch_verified`] returns nothing) while the block store
    /// changes the chain (`Disable`).
    pub fn disable(&self) {
        self.lock().enabled = false;
    }

    /// Allow block selection again (`Enable`).
    pub fn enable(&self) {
        self.lock().enabled = true;
    }

    /// Tx ids of every held record with its state (pending or verified), in arrival order.
    pub fn held(&self) -> Vec<(Link, TransactionState)> {
        let pool = self.lock();
        pool.ordered(|_| true)
            .iter()
            .filter_map(|p| pool.groups.get(p))
            .flat_map(|g| {
                let s = if g.verified { TransactionState::Verified } else { TransactionState::Pending };
                g.items.iter().map(move |i| (i.tx_id, s))
            })
            .collect()
    }
}
