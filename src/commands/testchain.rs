//! `bitmark-node testchain`: a valid, deterministic local chain for tests and the demo, built
//! through the same `apply` path that sync uses.
//!
//! With a cache directory the blocks come from the generated-chain cache
//! (`bitmark_storage::chain_cache`), made and saved there first if it lacks them, and are then
//! stored with their known digests: a 5 000-block chain costs its hour of Argon2d once per
//! machine, and seconds per data directory after that.

use crate::error::{NodeError, Result};
use crate::lock::DataDirLock;
use crate::node::datadir::{self, Databases};
use crate::progress;
use bitmark_record::Chain;
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::{
    chain_cache, database_path, tip_record_path, BlockStore, ChainDb, Durability, OpenOptions, StoreOptions,
};
use indicatif::ProgressBar;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The environment variable naming the generated-chain cache directory.
pub const CACHE_ENV: &str = "BITMARK_CHAIN_CACHE";

/// What to build.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// The chain: only `local` (blocks carry no proof of work).
    pub chain: Chain,
    /// Target height; genesis is block 1.
    pub blocks: u64,
    /// Seed of the accounts and every choice: same seed, same bytes.
    pub seed: u64,
    /// Records per block besides the foundation record.
    pub txs_per_block: usize,
}

impl Options {
    fn config(&self) -> TestChainConfig {
        TestChainConfig { seed: self.seed, txs_per_block: self.txs_per_block, ..TestChainConfig::default() }
    }
}

/// The cache directory to use when none is given: `$BITMARK_CHAIN_CACHE`, else `testchains`
/// in the cargo target directory this executable was built in (the nearest ancestor directory
/// holding a `CACHEDIR.TAG`), else in the system's temporary directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().skip(1).find(|d| d.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf));
    target.unwrap_or_else(std::env::temp_dir).join("testchains")
}

/// Build the chain into a fresh data directory and report `{"chain","height","digest",
/// "blocks","seconds","blocksPerSecond"}`. A progress bar shows on stderr when it is a terminal.
pub fn run(data_dir: &Path, options: Options) -> Result<Value> {
    run_cached(data_dir, options, None)
}

/// As [`run`], taking the blocks from the generated-chain cache in `cache` (and adding what it
/// lacks to it) when one is given; the report then names the file used (`"cache"`).
pub fn run_cached(data_dir: &Path, options: Options, cache: Option<&Path>) -> Result<Value> {
    if options.chain != Chain::Local {
        return Err(NodeError::Input(
            "testchain builds only the local chain (its blocks carry no proof of work)".into(),
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| NodeError::io(data_dir.display(), e))?;
    let _lock = DataDirLock::exclusive(data_dir)?;
    let started = Instant::now();
    let bar = progress::bar(options.blocks, "blocks");
    let store = match cache {
        None => {
            let store_options =
                StoreOptions { tip_record: Some(tip_record_path(data_dir, options.chain)), ..StoreOptions::default() };
            let store = datadir::open_store(data_dir, options.chain, store_options)?;
            refuse_non_empty(data_dir, &store)?;
            bar.set_position(store.height());
            TestChain::new(options.config())
                .extend(&store, options.blocks, |a| bar.set_position(a.number))
                .map_err(|e| Databases::of_store(&store).chain(e))?;
            store
        }
        Some(dir) => {
            let blocks = cached_blocks(dir, options, &bar)?;
            bar.set_message("stored");
            store_blocks(data_dir, &blocks, |n| bar.set_position(n))?
        }
    };
    bar.finish_and_clear();
    seal(&store)?;
    let seconds = started.elapsed().as_secs_f64();
    let built = store.height().saturating_sub(1);
    let mut report = json!({
        "chain": options.chain.name(),
        "height": store.height(),
        "digest": store.tip().digest.raw_hex(),
        "blocks": built,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "blocksPerSecond": ((built as f64 / seconds.max(1e-9)) * 100.0).round() / 100.0,
    });
    if let Some(dir) = cache {
        if let Some(map) = report.as_object_mut() {
            map.insert("cache".into(), json!(chain_cache::path_for(dir, &options.config()).display().to_string()));
        }
    }
    Ok(report)
}

/// The blocks of `options`' chain from the generated-chain cache in `dir`, made and added
/// there first if it lacks them; `bar` shows the heights.
pub fn cached_blocks(dir: &Path, options: Options, bar: &ProgressBar) -> Result<Vec<chain_cache::Block>> {
    bar.set_message("from the cache");
    chain_cache::generate(dir, options.config(), options.blocks, |p| bar.set_position(p.number))
        .map_err(|e| NodeError::Io(format!("generated-chain cache {}: {e}", dir.display())))
}

/// Make what [`store_blocks`] stored durable, and record the tip for the node's start-up check.
pub fn seal(store: &BlockStore) -> Result<()> {
    store.db().flush().map_err(|e| Databases::of_store(store).chain(e))?;
    store.record_tip().map_err(|e| NodeError::io("durable-tip record", e))
}

fn refuse_non_empty(data_dir: &Path, store: &BlockStore) -> Result<()> {
    if store.height() > 1 {
        return Err(NodeError::Input(format!(
            "{}: already holds a chain at height {}; use an empty directory",
            data_dir.display(),
            store.height()
        )));
    }
    Ok(())
}

/// Store `blocks` (with their digests: every check but Argon2d) in `data_dir`'s local chain
/// database, committed in the background and flushed by the caller once at the end rather than
/// after every block; `progress` sees each height stored. The caller holds the data
/// directory's lock.
pub fn store_blocks(data_dir: &Path, blocks: &[chain_cache::Block], progress: impl Fn(u64)) -> Result<BlockStore> {
    store_blocks_with(data_dir, blocks, Durability::Background, progress)
}

/// As [`store_blocks`] with `durability` (the node's own is a flush per commit).
pub fn store_blocks_with(
    data_dir: &Path,
    blocks: &[chain_cache::Block],
    durability: Durability,
    progress: impl Fn(u64),
) -> Result<BlockStore> {
    let options = OpenOptions { durability, ..OpenOptions::default() };
    let path = database_path(data_dir, Chain::Local);
    let store_options =
        StoreOptions { tip_record: Some(tip_record_path(data_dir, Chain::Local)), ..StoreOptions::default() };
    let store = ChainDb::open(&path, &options)
        .and_then(|db| BlockStore::open(db, Chain::Local, store_options))
        .map_err(|e| datadir::chain_open_error(&path, e))?;
    refuse_non_empty(data_dir, &store)?;
    for (block, digest) in blocks {
        let applied = store.apply_with_digest(block, *digest).map_err(|e| Databases::of_store(&store).chain(e))?;
        progress(applied.number);
    }
    Ok(store)
}
