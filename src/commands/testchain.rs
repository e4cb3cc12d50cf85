//! `bitmark-node testchain`: a valid, deterministic local chain for tests and the demo, built
//! through the same `apply` path that sync uses.

use crate::error::{NodeError, Result};
use crate::lock::DataDirLock;
use crate::node::datadir::{self, Databases};
use crate::progress;
use bitmark_record::Chain;
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::{tip_record_path, StoreOptions};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Instant;

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

/// Build the chain into a fresh data directory and report `{"chain","height","digest",
/// "blocks","seconds","blocksPerSecond"}`. A progress bar shows on stderr when it is a terminal.
pub fn run(data_dir: &Path, options: Options) -> Result<Value> {
    if options.chain != Chain::Local {
        return Err(NodeError::Input(
            "testchain builds only the local chain (its blocks carry no proof of work)".into(),
        ));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| NodeError::io(data_dir.display(), e))?;
    let _lock = DataDirLock::exclusive(data_dir)?;
    let store_options =
        StoreOptions { tip_record: Some(tip_record_path(data_dir, options.chain)), ..StoreOptions::default() };
    let store = datadir::open_store(data_dir, options.chain, store_options)?;
    if store.height() > 1 {
        return Err(NodeError::Input(format!(
            "{}: already holds a chain at height {}; use an empty directory",
            data_dir.display(),
            store.height()
        )));
    }
    let config = TestChainConfig { seed: options.seed, txs_per_block: options.txs_per_block, ..Default::default() };
    let started = Instant::now();
    let bar = progress::bar(options.blocks, "blocks");
    bar.set_position(store.height());
    let databases = Databases::of_store(&store);
    TestChain::new(config)
        .extend(&store, options.blocks, |applied| bar.set_position(applied.number))
        .map_err(|e| databases.chain(e))?;
    bar.finish_and_clear();
    store.db().flush().map_err(|e| databases.chain(e))?;
    store.record_tip().map_err(|e| NodeError::io("durable-tip record", e))?;
    let seconds = started.elapsed().as_secs_f64();
    let built = store.height().saturating_sub(1);
    Ok(json!({
        "chain": options.chain.name(),
        "height": store.height(),
        "digest": store.tip().digest.raw_hex(),
        "blocks": built,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "blocksPerSecond": ((built as f64 / seconds.max(1e-9)) * 100.0).round() / 100.0,
    }))
}
