//! The integrity check: re-verify the stored chain block by block (numbering, linkage, stored
//! digests, optionally Argon2d again, merkle roots, foundation records) and check that the
//! indexes are exactly what replaying the blocks produces.
//!
//! The replay runs every block through [`BlockStore::apply_with_digest`] into a temporary
//! database, then every pool is compared byte for byte — except the owner-list positions in
//! `N`, `L` and `D`, which after a rollback legitimately differ from a straight replay (bitmarkd
//! never reuses list positions). For those the check is that `D` names the same (owner, item)
//! pairs as the replay, that every `D` row points at an `L` row holding its item, that there
//! are no other `L` rows, and that `N` is above every position in use.

use crate::db::ChainDb;
use crate::digest_pool::DigestPool;
use crate::error::{hex_of, Result};
use crate::pool::Pool;
use crate::pools::Pools;
use crate::read::PoolRead;
use crate::store::{BlockStore, StoreOptions, STORED_BLOCK_NOW};
use bitmark_common::Clock;
use bitmark_record::block::PackedBlock;
use bitmark_record::header::{self, DigestSource, PackedHeader, HEADER_SIZE};
use bitmark_record::{genesis, BlockDigest};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Problems reported per pool before the rest are summarised.
const MAX_DIFFS_PER_POOL: usize = 5;

/// What [`BlockStore::check`] does.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Recompute every block's Argon2d digest (about 0.3 s per block per thread) instead of
    /// trusting the `2` pool for linkage.
    pub recompute_digests: bool,
    /// Threads for recomputing digests.
    pub threads: usize,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { recompute_digests: true, threads: crate::digest_pool::default_threads() }
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// The height the store reports.
    pub height: u64,
    /// The tip digest.
    pub digest: BlockDigest,
    /// Everything found wrong, one sentence each; empty when the chain is sound.
    pub problems: Vec<String>,
}

impl CheckReport {
    /// True when no problem was found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl BlockStore {
    /// Re-verify the whole stored chain; see the module documentation.
    pub fn check(&self, options: &CheckOptions) -> Result<CheckReport> {
        let _writer = self.lock_writer();
        let tip = self.tip();
        let mut problems = Vec::new();
        let pools = self.pools();
        let last = pools.last_block_number()?.unwrap_or(genesis::BLOCK_NUMBER);
        if last != tip.height {
            problems.push(format!("height is {} but the last stored block is {last}", tip.height));
        }

        // Blocks, in order, with their stored digests.
        let mut blocks: Vec<(u64, Vec<u8>, Option<BlockDigest>)> = Vec::new();
        for number in header::MINIMUM_BLOCK_NUMBER..=last {
            match pools.block(number)? {
                None => problems.push(format!("block {number} is missing")),
                Some(packed) => blocks.push((number, packed, pools.block_digest(number)?)),
            }
        }
        if pools.count(Pool::Blocks)? != blocks.len() {
            problems.push("blocks are stored outside 2..=height".to_string());
        }
        let recomputed = if options.recompute_digests {
            let headers: Vec<PackedHeader> =
                blocks.iter().filter_map(|(_, b, _)| b.get(..HEADER_SIZE).and_then(|h| h.try_into().ok())).collect();
            Some(DigestPool::new(options.threads).digests(&headers))
        } else {
            None
        };

        let mut previous = genesis::digest(self.chain);
        let mut digests = Vec::with_capacity(blocks.len());
        for (i, (number, packed, stored)) in blocks.iter().enumerate() {
            let computed = recomputed.as_ref().and_then(|r| r.get(i).copied());
            let digest = self.check_block(*number, packed, *stored, computed, &previous, &mut problems);
            previous = digest;
            digests.push(digest);
        }
        if blocks.last().is_some_and(|(n, _, _)| *n == tip.height) && previous != tip.digest {
            problems.push("the tip digest is not the last block's digest".to_string());
        }

        self.check_indexes(&blocks, &digests, &mut problems)?;
        Ok(CheckReport { height: tip.height, digest: tip.digest, problems })
    }

    /// Check one block; returns the digest to link the next block to.
    fn check_block(
        &self,
        number: u64,
        packed: &[u8],
        stored: Option<BlockDigest>,
        computed: Option<BlockDigest>,
        previous: &BlockDigest,
        problems: &mut Vec<String>,
    ) -> BlockDigest {
        let header = match header::extract(packed, 0, DigestSource::Skip, STORED_BLOCK_NOW) {
            Ok((h, _, _)) => h,
            Err(e) => {
                problems.push(format!("block {number}: header: {e}"));
                return stored.unwrap_or_default();
            }
        };
        if header.number != number {
            problems.push(format!("block {number}: header says number {}", header.number));
        }
        if header.previous_block != *previous {
            problems.push(format!("block {number}: previous block digest does not match block {}", number - 1));
        }
        if stored.is_none() {
            problems.push(format!("block {number}: no stored digest"));
        }
        if let (Some(s), Some(c)) = (stored, computed) {
            if s != c {
                problems.push(format!("block {number}: stored digest {s} is not the Argon2d digest {c}"));
            }
        }
        if let (Some(c), false) = (computed, self.chain == bitmark_record::Chain::Local) {
            if !c.is_valid_by_difficulty(&header.difficulty, self.chain) {
                problems.push(format!("block {number}: digest does not meet its difficulty"));
            }
        }
        match PackedBlock::parse(packed, self.chain, STORED_BLOCK_NOW) {
            Err(e) => problems.push(format!("block {number}: records: {e}")),
            Ok(block) => {
                if let Err(e) = block.check_merkle_root() {
                    problems.push(format!("block {number}: {e}"));
                }
                if let Err(e) = block.foundation() {
                    problems.push(format!("block {number}: {e}"));
                }
            }
        }
        computed.or(stored).unwrap_or_default()
    }

    /// Replay the blocks into a scratch database and compare every pool.
    fn check_indexes(
        &self,
        blocks: &[(u64, Vec<u8>, Option<BlockDigest>)],
        digests: &[BlockDigest],
        problems: &mut Vec<String>,
    ) -> Result<()> {
        let scratch = ChainDb::temporary()?;
        let options = StoreOptions { clock: Arc::new(StoredBlockClock), validate_on_open: false, tip_record: None };
        let replay = BlockStore::open(scratch, self.chain, options)?;
        for ((number, packed, _), digest) in blocks.iter().zip(digests) {
            if let Err(e) = replay.apply_with_digest(packed, *digest) {
                problems.push(format!("block {number}: does not replay: {e}"));
                return Ok(());
            }
        }
        for pool in Pool::ALL {
            if matches!(pool, Pool::OwnerNextCount | Pool::OwnerList | Pool::OwnerTxIndex | Pool::TestData) {
                continue;
            }
            compare_pool(pool, &self.pools().entries(pool)?, &replay.pools().entries(pool)?, problems);
        }
        compare_ownership(self.pools(), replay.pools(), problems)
    }
}

/// Report keys missing, unexpected or different in `actual` compared with `expected`.
fn compare_pool(
    pool: Pool,
    actual: &[(Vec<u8>, Vec<u8>)],
    expected: &[(Vec<u8>, Vec<u8>)],
    problems: &mut Vec<String>,
) {
    let actual: BTreeMap<&[u8], &[u8]> = actual.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
    let expected: BTreeMap<&[u8], &[u8]> = expected.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
    let mut diffs = Vec::new();
    for (k, v) in &expected {
        match actual.get(k) {
            None => diffs.push(format!("pool {pool}: missing {}", hex_of(k))),
            Some(a) if a != v => diffs.push(format!("pool {pool}: {} holds the wrong value", hex_of(k))),
            Some(_) => {}
        }
    }
    for k in actual.keys().filter(|k| !expected.contains_key(*k)) {
        diffs.push(format!("pool {pool}: unexpected {}", hex_of(k)));
    }
    summarise(pool, diffs, problems);
}

fn summarise(pool: Pool, mut diffs: Vec<String>, problems: &mut Vec<String>) {
    let extra = diffs.len().saturating_sub(MAX_DIFFS_PER_POOL);
    diffs.truncate(MAX_DIFFS_PER_POOL);
    problems.extend(diffs);
    if extra > 0 {
        problems.push(format!("pool {pool}: {extra} more differences"));
    }
}

/// Split an `owner ‖ tail` key whose tail has `tail` bytes.
fn split_tail(key: &[u8], tail: usize) -> Option<(&[u8], &[u8])> {
    key.len().checked_sub(tail).filter(|&at| at > 0).map(|at| key.split_at(at))
}

/// `D` rows: (owner, tx id) → index bytes.
type OwnerRows = BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>>;

/// `D` as (owner, tx id) → index.
fn owner_rows(pools: &Pools) -> Result<OwnerRows> {
    Ok(pools
        .entries(Pool::OwnerTxIndex)?
        .into_iter()
        .filter_map(|(k, v)| split_tail(&k, 32).map(|(o, t)| ((o.to_vec(), t.to_vec()), v)))
        .collect())
}

/// The ownership check described in the module documentation.
fn compare_ownership(actual: &Pools, expected: &Pools, problems: &mut Vec<String>) -> Result<()> {
    let rows = owner_rows(actual)?;
    let expected_rows: BTreeSet<(Vec<u8>, Vec<u8>)> = owner_rows(expected)?.into_keys().collect();
    let actual_rows: BTreeSet<(Vec<u8>, Vec<u8>)> = rows.keys().cloned().collect();
    let mut diffs: Vec<String> = expected_rows
        .difference(&actual_rows)
        .map(|(o, t)| format!("pool {}: missing {}{}", Pool::OwnerTxIndex, hex_of(o), hex_of(t)))
        .chain(
            actual_rows
                .difference(&expected_rows)
                .map(|(o, t)| format!("pool {}: unexpected {}{}", Pool::OwnerTxIndex, hex_of(o), hex_of(t))),
        )
        .collect();

    let list: BTreeMap<Vec<u8>, Vec<u8>> = actual.entries(Pool::OwnerList)?.into_iter().collect();
    let next: BTreeMap<Vec<u8>, Vec<u8>> = actual.entries(Pool::OwnerNextCount)?.into_iter().collect();
    for ((owner, tx), index) in &rows {
        let list_key = [owner.as_slice(), index.as_slice()].concat();
        if list.get(&list_key) != Some(tx) {
            diffs.push(format!("pool {}: {} does not hold {}", Pool::OwnerList, hex_of(&list_key), hex_of(tx)));
        }
        let below_next = next
            .get(owner)
            .and_then(|n| Some(u64::from_be_bytes(n.as_slice().try_into().ok()?)))
            .zip(index.as_slice().try_into().ok().map(u64::from_be_bytes))
            .is_some_and(|(n, i)| i < n);
        if !below_next {
            diffs.push(format!(
                "pool {}: {} is not above position {}",
                Pool::OwnerNextCount,
                hex_of(owner),
                hex_of(index)
            ));
        }
    }
    if list.len() != rows.len() {
        diffs.push(format!("pool {}: {} entries for {} owned items", Pool::OwnerList, list.len(), rows.len()));
    }
    summarise(Pool::OwnerTxIndex, diffs, problems);
    Ok(())
}

/// The clock of a replay of stored blocks: its wall time stands at [`STORED_BLOCK_NOW`], so no
/// stored block is refused for a timestamp "in the future" of the machine running the check.
struct StoredBlockClock;

impl Clock for StoredBlockClock {
    fn instant(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        UNIX_EPOCH.checked_add(Duration::from_secs(STORED_BLOCK_NOW)).unwrap_or_else(SystemTime::now)
    }

    fn unix_seconds(&self) -> u64 {
        STORED_BLOCK_NOW
    }
}
