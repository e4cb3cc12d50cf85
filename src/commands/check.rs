//! `bitmark-node check --data-dir D`: re-verify a stored chain.

use crate::error::Result;
use crate::node::datadir;
use bitmark_record::Chain;
use bitmark_storage::{CheckOptions, StoreOptions};
use serde_json::{json, Value};
use std::path::Path;

/// Re-verify linkage, digests (recomputed with Argon2d when `recompute_digests`), merkle roots
/// and every index against the blocks; `{"height","digest","ok","problems"}`. The store is
/// opened without bitmarkd's start-up validation so that problems are listed, not refused.
pub fn run(data_dir: &Path, chain: Option<Chain>, recompute_digests: bool) -> Result<Value> {
    let chain = datadir::detect_chain(data_dir, chain)?;
    let store = datadir::open_store(data_dir, chain, StoreOptions { validate_on_open: false, ..Default::default() })?;
    let report = store.check(&CheckOptions { recompute_digests, ..Default::default() })?;
    Ok(json!({
        "chain": chain.name(),
        "height": report.height,
        "digest": report.digest.raw_hex(),
        "ok": report.ok(),
        "problems": report.problems,
    }))
}
