//! `bitmark-node testchain`: a valid, deterministic local chain for tests and the demo, built
//! through the same `apply` path that sync uses.

use crate::error::{NodeError, Result};
use crate::node::datadir;
use bitmark_record::Chain;
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::StoreOptions;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
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
/// "blocks","seconds","blocksPerSecond"}`. Progress goes to stderr when it is a terminal.
pub fn run(data_dir: &Path, options: Options) -> Result<Value> {
    if options.chain != Chain::Local {
        return Err(NodeError::Input(
            "testchain builds only the local chain (its blocks carry no proof of work)".into(),
        ));
    }
    let store = datadir::open_store(data_dir, options.chain, StoreOptions::default())?;
    if store.height() > 1 {
        return Err(NodeError::Input(format!(
            "{}: already holds a chain at height {}; use an empty directory",
            data_dir.display(),
            store.height()
        )));
    }
    let config = TestChainConfig { seed: options.seed, txs_per_block: options.txs_per_block, ..Default::default() };
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    TestChain::new(config).extend(&store, options.blocks, |applied| {
        if terminal {
            let rate = (applied.number - 1) as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprint!("\rblock {}/{} ({rate:.1} blocks/s)   ", applied.number, options.blocks);
            let _ = std::io::stderr().flush();
        }
    })?;
    if terminal {
        eprintln!();
    }
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
