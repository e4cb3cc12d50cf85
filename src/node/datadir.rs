//! The data directory: finding and opening the chain database in it. The daemon opens its store
//! here, and so do the commands that work on a stored chain (`check`, `reservoir`, `testchain`,
//! `replay`).

use crate::error::{NodeError, Result};
use bitmark_record::Chain;
use bitmark_storage::{database_path, BlockStore, ChainDb, OpenOptions, StoreOptions};
use std::path::Path;

/// The chain whose database is in `data_dir`: `chain` when given, else the one chain that has
/// a database there.
pub fn detect_chain(data_dir: &Path, chain: Option<Chain>) -> Result<Chain> {
    if let Some(c) = chain {
        return Ok(c);
    }
    let found: Vec<Chain> = Chain::ALL.into_iter().filter(|c| database_path(data_dir, *c).exists()).collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(NodeError::Input(format!("{}: no chain database here", data_dir.display()))),
        _ => Err(NodeError::Input(format!("{}: several chain databases here; pass --chain", data_dir.display()))),
    }
}

/// Open (creating if missing) the block store of `chain` in `data_dir`.
pub fn open_store(data_dir: &Path, chain: Chain, options: StoreOptions) -> Result<BlockStore> {
    std::fs::create_dir_all(data_dir).map_err(|e| NodeError::io(data_dir.display(), e))?;
    let db = ChainDb::open(&database_path(data_dir, chain), &OpenOptions::default())?;
    Ok(BlockStore::open(db, chain, options)?)
}
