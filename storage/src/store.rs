//! The block store: the chain database plus bitmarkd's in-memory chain state (tip, current
//! difficulty, digest cache), with one writer at a time.

use crate::db::ChainDb;
use crate::digest_pool::DigestPool;
use crate::error::{Result, StorageError};
use crate::pools::Pools;
use crate::read::PoolRead;
use crate::tip::{DigestCache, Tip};
use crate::tip_record::{self, Lowered, TipRecorder};
use bitmark_common::{lock, read, write};
use bitmark_common::{Clock, SystemClock};
use bitmark_record::header::{self, BlockHeader, DigestSource};
use bitmark_record::{difficulty, genesis, BlockDigest, Chain, Difficulty, Fault};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Unix seconds by the system clock (the record's timestamps are for people, not for checks).
fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// "Now" used when re-reading blocks that are already stored: their timestamps were checked
/// when they arrived and must not be refused later because the clock went back.
pub(crate) const STORED_BLOCK_NOW: u64 = u64::MAX / 4;

/// How many of the last blocks [`BlockStore::open`] re-validates (`BlockValidationCounts`).
/// More makes start-up slower (each block costs an Argon2d hash unless its digest is stored);
/// fewer lets a damaged index go unnoticed longer.
pub const STARTUP_VALIDATION_BLOCKS: u64 = 10;

/// Settings of a block store.
#[derive(Clone)]
pub struct StoreOptions {
    /// Source of "now" for the header timestamp check (at most 5 minutes ahead); injected so
    /// tests can run in virtual time.
    pub clock: Arc<dyn Clock>,
    /// Re-validate the indexes of the last [`STARTUP_VALIDATION_BLOCKS`] blocks at open, as
    /// bitmarkd does (an error refuses to open).
    pub validate_on_open: bool,
    /// The durable-tip record ([`crate::tip_record`]): compared with the database at open
    /// ([`BlockStore::lowered`]), lowered before every rollback, and written by
    /// [`BlockStore::record_tip`]. `None` (the default) keeps no record.
    pub tip_record: Option<std::path::PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { clock: Arc::new(SystemClock), validate_on_open: true, tip_record: None }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("validate_on_open", &self.validate_on_open)
            .field("tip_record", &self.tip_record)
            .finish_non_exhaustive()
    }
}

/// The chain state bitmarkd keeps in memory (`blockheader` and `difficulty.Current`).
#[derive(Clone, Copy)]
pub(crate) struct State {
    pub(crate) tip: Tip,
    pub(crate) difficulty: Difficulty,
}

/// The block store. Reads may run concurrently; `apply*` and `rollback_to` take one writer lock,
/// like bitmarkd's block package lock, so blocks go in strictly one at a time.
pub struct BlockStore {
    pub(crate) db: ChainDb,
    pub(crate) chain: Chain,
    pub(crate) state: RwLock<State>,
    pub(crate) writer: Mutex<()>,
    pub(crate) digests: DigestCache,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) recorder: Option<TipRecorder>,
    lowered: Option<Lowered>,
}

impl std::fmt::Debug for BlockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockStore").field("chain", &self.chain).field("tip", &self.tip()).finish_non_exhaustive()
    }
}

impl BlockStore {
    /// Open a block store over `db` for `chain`: find the last block, optionally re-validate
    /// the indexes of the last blocks ([`BlockStore::validate_recent`]), set the tip, and set
    /// the current difficulty from the stored blocks as bitmarkd does at start-up.
    pub fn open(db: ChainDb, chain: Chain, options: StoreOptions) -> Result<BlockStore> {
        let genesis_tip = Tip::genesis(genesis::digest(chain));
        let store = BlockStore {
            db,
            chain,
            state: RwLock::new(State { tip: genesis_tip, difficulty: Difficulty::ONE }),
            writer: Mutex::new(()),
            digests: DigestCache::default(),
            clock: options.clock,
            recorder: options.tip_record.clone().map(TipRecorder::new),
            lowered: None,
        };
        if options.validate_on_open {
            store.validate_recent(STARTUP_VALIDATION_BLOCKS)?;
        }
        let tip = store.tip_from_pools()?;
        let mut store = store;
        store.lowered = options.tip_record.and_then(|path| match tip_record::read(&path) {
            Ok(Some(recorded)) if recorded.height > tip.height => {
                Some(Lowered { recorded, height: tip.height, path })
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(target: "storage", path = %path.display(), error = %e, "the durable-tip record cannot be read; it will be rewritten");
                None
            }
        });
        if let (Some(recorder), Some(_)) = (&store.recorder, &store.lowered) {
            recorder.keep_until_moved(tip.height);
        }
        let difficulty =
            if header::is_difficulty_applied_version(tip.version) && tip.height > difficulty::ADJUST_TIMESPAN_BLOCKS {
                store.adjusted_difficulty(tip.height, Difficulty::ONE)?
            } else {
                Difficulty::ONE
            };
        store.set_state(State { tip, difficulty });
        Ok(store)
    }

    /// When the database came back lower at open than its durable-tip record says
    /// ([`StoreOptions::tip_record`]): what was recorded and what is left.
    pub fn lowered(&self) -> Option<&Lowered> {
        self.lowered.as_ref()
    }

    /// Write the tip to the durable-tip record, if the store keeps one and the tip moved since
    /// the last write. Takes the writer lock, so it never records a tip a rollback in progress
    /// is about to remove.
    pub fn record_tip(&self) -> std::io::Result<()> {
        let Some(recorder) = &self.recorder else { return Ok(()) };
        let _writer = self.lock_writer();
        // The error names the record's file: the operator reading it must know which one.
        recorder
            .record_tip(&self.tip(), unix_now())
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", recorder.path().display())))
    }

    /// Lower the durable-tip record to `height` before a rollback to it (the caller holds the
    /// writer lock). A failure is logged, not fatal: it can only cause a false alarm later.
    pub(crate) fn record_before_rollback(&self, height: u64) {
        let Some(recorder) = &self.recorder else { return };
        if height >= self.tip().height {
            return;
        }
        let digest = if height <= genesis::BLOCK_NUMBER {
            Some(genesis::digest(self.chain))
        } else {
            self.stored_digest(height)
        };
        let digest = digest.map(|d| d.raw_hex()).unwrap_or_default();
        if let Err(e) = recorder.record(height, &digest, unix_now()) {
            tracing::warn!(target: "storage", path = %recorder.path().display(), error = %e,
                           "cannot lower the durable-tip record before a rollback");
        }
    }

    /// The chain this store holds.
    pub fn chain(&self) -> Chain {
        self.chain
    }

    /// The database.
    pub fn db(&self) -> &ChainDb {
        &self.db
    }

    /// The committed pools.
    pub fn pools(&self) -> &Pools {
        self.db.pools()
    }

    /// The tip: height, digest, version and timestamp of the last block (genesis when empty).
    pub fn tip(&self) -> Tip {
        self.state().tip
    }

    /// The height: number of the last block (1 when only genesis).
    pub fn height(&self) -> u64 {
        self.tip().height
    }

    /// bitmarkd's `difficulty.Current`: what a version-5 block must carry outside `local`.
    pub fn difficulty(&self) -> Difficulty {
        self.state().difficulty
    }

    /// The packed block `number` (`B` pool); `None` for genesis (never stored) and unknown
    /// numbers, like bitmarkd's `B` request.
    pub fn block(&self, number: u64) -> Result<Option<Vec<u8>>> {
        self.pools().block(number)
    }

    /// `DigestForBlock`: the genesis digest for numbers ≤ 1; else the cache, the `2` pool, or
    /// Argon2d of the stored header; `BlockNotFound` when there is no such block. Takes no
    /// lock: what it reads goes into the cache only if no rollback came meanwhile
    /// ([`DigestCache`]).
    pub fn digest_for(&self, number: u64) -> Result<BlockDigest> {
        if number <= genesis::BLOCK_NUMBER {
            return Ok(genesis::digest(self.chain));
        }
        // Taken before the pools are read: a rollback in between makes the insert a no-op.
        let generation = self.digests.generation();
        if let Some(d) = self.digests.get(number) {
            return Ok(d);
        }
        let digest = match self.pools().block_digest(number)?.filter(|d| !d.is_empty()) {
            Some(d) => d,
            None => {
                let packed = self.pools().block(number)?.ok_or(Fault::BlockNotFound)?;
                header::compute_header_hash(&packed)?
            }
        };
        self.digests.insert_at(generation, number, digest);
        Ok(digest)
    }

    /// Digests of many stored blocks, computing missing ones on `pool`.
    pub fn digests_for(&self, numbers: &[u64], pool: &DigestPool) -> Result<Vec<BlockDigest>> {
        let mut known = Vec::with_capacity(numbers.len());
        let mut missing = Vec::new();
        for &n in numbers {
            let stored = if n <= genesis::BLOCK_NUMBER {
                Some(genesis::digest(self.chain))
            } else {
                self.digests.get(n).or(self.pools().block_digest(n)?.filter(|d| !d.is_empty()))
            };
            if stored.is_none() {
                let packed = self.pools().block(n)?.ok_or(Fault::BlockNotFound)?;
                let head = packed.get(..header::HEADER_SIZE).ok_or(Fault::InvalidBlockHeaderSize)?;
                missing.push(<header::PackedHeader>::try_from(head).map_err(|_| Fault::InvalidBlockHeaderSize)?);
            }
            known.push(stored);
        }
        let mut computed = pool.digests(&missing).into_iter();
        Ok(known.into_iter().map(|k| k.or_else(|| computed.next()).unwrap_or_default()).collect())
    }

    /// The header of stored block `number` (`BlockNotFound` when absent).
    pub fn header(&self, number: u64) -> Result<BlockHeader> {
        if number <= genesis::BLOCK_NUMBER {
            return Ok(genesis::header(self.chain));
        }
        let packed = self.pools().block(number)?.ok_or(Fault::BlockNotFound)?;
        let (h, _, _) = header::extract(&packed, 0, DigestSource::Skip, STORED_BLOCK_NOW)?;
        Ok(h)
    }

    pub(crate) fn state(&self) -> State {
        *read(&self.state)
    }

    pub(crate) fn set_state(&self, state: State) {
        *write(&self.state) = state;
    }

    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, ()> {
        lock(&self.writer)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.unix_seconds()
    }

    /// Look up a stored digest for [`DigestSource::Stored`] (errors read as "not stored").
    pub(crate) fn stored_digest(&self, number: u64) -> Option<BlockDigest> {
        self.pools().block_digest(number).ok().flatten()
    }

    /// The tip as the pools say: the last `B` block, or genesis.
    pub(crate) fn tip_from_pools(&self) -> Result<Tip> {
        let Some(last) = self.pools().last_block_number()? else {
            return Ok(Tip::genesis(genesis::digest(self.chain)));
        };
        let packed = self.pools().block(last)?.ok_or(Fault::BlockNotFound)?;
        let lookup = |n: u64| self.stored_digest(n);
        let (h, digest, _) = header::extract(&packed, 0, DigestSource::Stored(&lookup), STORED_BLOCK_NOW)?;
        if h.number != last {
            return Err(StorageError::corrupt(
                crate::Pool::Blocks,
                &crate::pool::block_key(crate::Pool::Blocks, last),
                format!("holds block {}", h.number),
            ));
        }
        Ok(Tip { height: h.number, digest, version: h.version, timestamp: h.timestamp })
    }

    /// `AdjustDifficultyAtBlock(height)`: the difficulty after the adjustment at `height`,
    /// from the timestamps of the previous period's first and last blocks and the value of the
    /// base block (`BlockNotFound`, `BlockEndEarlierThanBegin`). Heights ≤ 2 keep `current`.
    pub(crate) fn adjusted_difficulty(&self, height: u64, current: Difficulty) -> Result<Difficulty> {
        if height <= header::MINIMUM_BLOCK_NUMBER {
            return Ok(current);
        }
        let (begin, end) = difficulty::prev_timespan_blocks(height);
        let (begin_ts, end_ts) = (self.header(begin)?.timestamp, self.header(end)?.timestamp);
        if end_ts <= begin_ts {
            return Err(Fault::BlockEndEarlierThanBegin.into());
        }
        let base = self.header(difficulty::difficulty_base_block(height))?.difficulty.value();
        let mut next = current;
        next.set_value(difficulty::next_difficulty(end_ts - begin_ts, base));
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testchain::{TestChain, TestChainConfig};

    fn temporary() -> BlockStore {
        BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap()
    }

    fn generate(store: &BlockStore, seed: u64, height: u64) {
        TestChain::new(TestChainConfig { seed, txs_per_block: 1, ..Default::default() })
            .extend(store, height, |_| ())
            .unwrap();
    }

    /// Store `block` (with `digest`) as block 5 in place of the one there.
    fn replace_tip(store: &BlockStore, (block, digest): &(Vec<u8>, BlockDigest)) {
        store.rollback_to(4, |_| ()).unwrap();
        store.apply_with_digest(block, *digest).unwrap();
    }

    /// `H 5` read while block 5 is rolled back and replaced: the reader read the old block
    /// before the rollback, and puts its digest in the cache after it, before or after the new
    /// block 5 is stored. Either way `H 5` then answers the new block's digest. The reader's
    /// read is made slow (block 5's `2` row is removed, so the digest is Argon2d of the stored
    /// header) and the rollback comes a third of a digest into it; an attempt where the reader
    /// did not straddle the rollback (it finished before, or started after and found no
    /// block) is made again.
    #[test]
    fn a_digest_read_across_a_rollback_never_comes_back() {
        let a = temporary();
        generate(&a, 3, 5);
        let b = temporary();
        for n in 2..=4 {
            b.apply_with_digest(&a.block(n).unwrap().unwrap(), a.digest_for(n).unwrap()).unwrap();
        }
        generate(&b, 4, 5);
        let version = |s: &BlockStore| (s.block(5).unwrap().unwrap(), s.digest_for(5).unwrap());
        let (old, new) = (version(&a), version(&b));
        assert_ne!(old.1, new.1);

        let store = Arc::new(temporary());
        for n in 2..=5 {
            store.apply_with_digest(&a.block(n).unwrap().unwrap(), a.digest_for(n).unwrap()).unwrap();
        }
        let started = std::time::Instant::now();
        header::compute_header_hash(&old.0).unwrap();
        let into_the_read = started.elapsed() / 3;
        for stale_insert_after_reapply in [false, true] {
            let mut raced = false;
            for _attempt in 0..5 {
                replace_tip(&store, &old);
                let mut ws = store.pools().write_set();
                ws.delete_block_digest(5);
                ws.commit().unwrap();
                store.digests.clear();
                let reader = {
                    let store = Arc::clone(&store);
                    std::thread::spawn(move || store.digest_for(5))
                };
                std::thread::sleep(into_the_read);
                let finished_early = reader.is_finished();
                // The `2` row back, so that the rollback does not hash block 5 itself.
                let mut ws = store.pools().write_set();
                ws.put_block_digest(5, &old.1);
                ws.commit().unwrap();
                store.rollback_to(4, |_| ()).unwrap();
                let read = if stale_insert_after_reapply {
                    store.apply_with_digest(&new.0, new.1).unwrap();
                    reader.join().unwrap()
                } else {
                    let read = reader.join().unwrap();
                    store.apply_with_digest(&new.0, new.1).unwrap();
                    read
                };
                assert_eq!(
                    store.digest_for(5).unwrap(),
                    new.1,
                    "stale insert after re-apply: {stale_insert_after_reapply}"
                );
                if read.ok() == Some(old.1) && !finished_early {
                    raced = true;
                    break;
                }
            }
            assert!(raced, "the reader never read the old block before the rollback");
        }
    }
}
