//! `bitmark-node reservoir {import,export}`: move unconfirmed transactions between a node's
//! reservoir and bitmarkd's `reservoir.cache` v1.0 file, so a node can be migrated from bitmarkd
//! (import) or back (export). The node must not be running: both databases are opened here.

use crate::error::Result;
use crate::lock::DataDirLock;
use crate::node::datadir;
use crate::node::reservoir;
use bitmark_record::Chain;
use bitmark_storage::StoreOptions;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Re-submit every record of `file` through the reservoir's normal checks and report
/// `{"restored","proofsAccepted","errors":[..]}` (records that fail are skipped and listed in
/// bitmarkd's wording).
pub fn import(data_dir: &Path, chain: Option<Chain>, file: &Path) -> Result<Value> {
    let (hooks, _lock) = open(data_dir, chain)?;
    let report = hooks.reservoir().import_cache_file(file).map_err(reservoir::node_error)?;
    Ok(json!({
        "file": file.display().to_string(),
        "restored": report.restored,
        "proofsAccepted": report.proofs_accepted,
        "errors": report.errors,
    }))
}

/// Write what the reservoir holds to `file` (mode 0600) and report the counts written.
pub fn export(data_dir: &Path, chain: Option<Chain>, file: &Path) -> Result<Value> {
    let (hooks, _lock) = open(data_dir, chain)?;
    let reservoir = hooks.reservoir();
    reservoir.export_cache_file(file).map_err(reservoir::node_error)?;
    let (pending, verified) = reservoir.counters();
    Ok(json!({ "file": file.display().to_string(), "pending": pending, "verified": verified }))
}

/// The reservoir over the chain in `data_dir`, locked against a node running there.
fn open(data_dir: &Path, chain: Option<Chain>) -> Result<(bitmark_reservoir::ChainHooks, DataDirLock)> {
    let chain = datadir::detect_chain(data_dir, chain)?;
    let lock = DataDirLock::exclusive(data_dir)?;
    let store = Arc::new(datadir::open_store(data_dir, chain, StoreOptions::default())?);
    Ok((reservoir::open(data_dir, &store)?.0, lock))
}
