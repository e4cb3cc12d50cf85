//! The data directory: finding and opening the chain database in it. The daemon opens its store
//! here, and so do the commands that work on a stored chain (`check`, `reservoir`, `testchain`,
//! `replay`). Every failure to open names the database and says how to recover.

use crate::error::{NodeError, Result};
use bitmark_record::Chain;
use bitmark_storage::{database_path, BlockStore, ChainDb, OpenOptions, StorageError, StoreOptions};
use std::path::Path;

/// What to do about a chain database that cannot be opened.
pub const CHAIN_RECOVERY: &str =
    "restore it from a backup, or move it aside and start the node to sync the chain again from its peers";

/// The chain whose database is in `data_dir`: `chain` when given, else the one chain that has
/// a database there.
pub fn detect_chain(data_dir: &Path, chain: Option<Chain>) -> Result<Chain> {
    match chain {
        Some(c) => Ok(c),
        None => existing_chain(data_dir, None),
    }
}

/// Like [`detect_chain`], but a chain given must have its database in `data_dir` too: for
/// commands that only read, and so must not create one.
pub fn existing_chain(data_dir: &Path, chain: Option<Chain>) -> Result<Chain> {
    let found: Vec<Chain> = Chain::ALL.into_iter().filter(|c| database_path(data_dir, *c).exists()).collect();
    if let Some(c) = chain {
        if found.contains(&c) {
            return Ok(c);
        }
        let here = match found.as_slice() {
            [] => "none is here".to_string(),
            others => {
                let names: Vec<&str> = others.iter().map(|c| c.name()).collect();
                format!("there is one of {} (pass --chain {})", names.join(", "), names.join(" or --chain "))
            }
        };
        return Err(NodeError::Input(format!("{}: no {c} chain database: {here}", data_dir.display())));
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(NodeError::Input(format!("{}: no chain database here", data_dir.display()))),
        _ => Err(NodeError::Input(format!("{}: several chain databases here; pass --chain", data_dir.display()))),
    }
}

/// Open (creating if missing) the block store of `chain` in `data_dir`.
pub fn open_store(data_dir: &Path, chain: Chain, options: StoreOptions) -> Result<BlockStore> {
    std::fs::create_dir_all(data_dir).map_err(|e| NodeError::io(data_dir.display(), e))?;
    open_at(&database_path(data_dir, chain), chain, options)
}

/// Open the block store of `chain` whose database is at `path` (creating it if missing).
pub fn open_at(path: &Path, chain: Chain, options: StoreOptions) -> Result<BlockStore> {
    ChainDb::open(path, &OpenOptions::default())
        .and_then(|db| BlockStore::open(db, chain, options))
        .map_err(|e| chain_open_error(path, e))
}

/// A chain database that would not open: which one, what is wrong, and the recovery step.
pub fn chain_open_error(path: &Path, e: StorageError) -> NodeError {
    NodeError::Database {
        what: "chain database",
        path: path.display().to_string(),
        error: e.to_string(),
        recovery: CHAIN_RECOVERY,
    }
}
