//! `bitmark-node check --data-dir D`: re-verify a stored chain without changing anything.
//!
//! sled has no read-only mode, and opening a database runs its recovery, which "repairs" damage
//! by zeroing everything after it and may rewrite files even on a sound database. So the check
//! never opens the database it inspects: it copies it into a scratch directory (the system's
//! temporary directory, or `--scratch`) and opens the copy, under a shared lock on the data
//! directory (refused while a node runs there; nothing is written to it). Comparing the copy's
//! `db` file with the original afterwards shows whether sled's recovery dropped anything, and
//! the node's durable-tip record ([`bitmark_storage::tip_record`]) shows whether the database
//! holds fewer blocks than it once did.

use crate::error::{NodeError, Result};
use crate::lock::DataDirLock;
use crate::node::datadir;
use bitmark_record::Chain;
use bitmark_storage::tip_record::{self, Lowered};
use bitmark_storage::{database_path, CheckOptions, StoreOptions};
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;

/// sled's log file inside a database directory: the one file whose old bytes must survive.
const SLED_LOG: &str = "db";

/// Re-verify linkage, digests (recomputed with Argon2d when `recompute_digests`), merkle roots
/// and every index of a copy of the chain database in `data_dir`; the copy goes under `scratch`
/// (default: the system's temporary directory) and is deleted afterwards. Prints
/// `{"chain","height","digest","ok","problems","recorded","sledRecovery"}`.
pub fn run(data_dir: &Path, chain: Option<Chain>, recompute_digests: bool, scratch: Option<&Path>) -> Result<Value> {
    let chain = datadir::existing_chain(data_dir, chain)?;
    let _lock = DataDirLock::shared(data_dir)?;
    let original = database_path(data_dir, chain);
    let scratch_root = scratch.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let scratch = tempfile::Builder::new()
        .prefix("bitmark-check-")
        .tempdir_in(&scratch_root)
        .map_err(|e| NodeError::io(format!("scratch directory in {}", scratch_root.display()), e))?;
    let copy = scratch.path().join("chain.sled");
    copy_dir(&original, &copy)?;
    let store = datadir::open_at(&copy, chain, StoreOptions { validate_on_open: false, ..Default::default() })
        .map_err(|e| match e {
            NodeError::Database { what, error, recovery, .. } => {
                NodeError::Database { what, path: original.display().to_string(), error, recovery }
            }
            other => other,
        })?;
    let sled_recovery = changed_bytes(&original.join(SLED_LOG), &copy.join(SLED_LOG))?;
    let report = store.check(&CheckOptions { recompute_digests, ..Default::default() })?;
    let mut problems = report.problems;
    let record_path = tip_record::tip_record_path(data_dir, chain);
    let recorded = tip_record::read(&record_path).map_err(|e| NodeError::io(record_path.display(), e))?;
    if let Some(recorded) = recorded.as_ref().filter(|r| r.height > report.height) {
        let lowered = Lowered { recorded: recorded.clone(), height: report.height, path: record_path.clone() };
        problems.push(format!("{}; to recover: {}", lowered.describe(), datadir::CHAIN_RECOVERY));
    }
    Ok(json!({
        "chain": chain.name(),
        "height": report.height,
        "digest": report.digest.raw_hex(),
        "ok": problems.is_empty(),
        "problems": problems,
        "recorded": recorded.map(|r| json!({"height": r.height, "digest": r.digest, "recorded": r.recorded})),
        "sledRecovery": sled_recovery.map(|(offset, bytes)| json!({
            "file": original.join(SLED_LOG).display().to_string(),
            "offset": offset,
            "bytes": bytes,
            "meaning": "opening the database makes sled discard these bytes: a write torn by a crash, or damage; \
                        the running node does the same when it opens it",
        })),
    }))
}

/// Copy the directory `from` to `to`, recursively (a sled database is a directory of files
/// and a `blobs` directory).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| NodeError::io(to.display(), e))?;
    for entry in std::fs::read_dir(from).map_err(|e| NodeError::io(from.display(), e))? {
        let entry = entry.map_err(|e| NodeError::io(from.display(), e))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| NodeError::io(source.display(), e))?;
        if kind.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            std::fs::copy(&source, &target).map_err(|e| NodeError::io(source.display(), e))?;
        }
    }
    Ok(())
}

/// Where `copy` no longer holds `original`'s bytes, within the original's length: the first
/// changed offset and how many bytes changed; `None` when none did.
fn changed_bytes(original: &Path, copy: &Path) -> Result<Option<(u64, u64)>> {
    let open = |path: &Path| std::fs::File::open(path).map_err(|e| NodeError::io(path.display(), e));
    let (Ok(mut a), Ok(mut b)) = (open(original), open(copy)) else { return Ok(None) };
    let (mut first, mut changed, mut offset) = (None, 0u64, 0u64);
    let (mut left, mut right) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = a.read(&mut left).map_err(|e| NodeError::io(original.display(), e))?;
        if n == 0 {
            break;
        }
        let mut m = 0;
        while m < n {
            let got = b.read(right.get_mut(m..n).unwrap_or_default()).map_err(|e| NodeError::io(copy.display(), e))?;
            if got == 0 {
                break;
            }
            m += got;
        }
        for (i, (x, y)) in left.iter().zip(right.iter()).take(n).enumerate() {
            if x != y || i >= m {
                first.get_or_insert(offset + i as u64);
                changed += 1;
            }
        }
        offset += n as u64;
    }
    Ok(first.map(|f| (f, changed)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_bytes_finds_the_first_change_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8 + 1).collect();
        std::fs::write(&a, &bytes).unwrap();
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[7; 100]);
        std::fs::write(&b, &longer).unwrap();
        assert_eq!(changed_bytes(&a, &b).unwrap(), None, "growing is not a change");
        let mut zeroed = bytes.clone();
        zeroed[70_000..].fill(0);
        std::fs::write(&b, &zeroed).unwrap();
        assert_eq!(changed_bytes(&a, &b).unwrap(), Some((70_000, 130_000)));
        std::fs::write(&b, &bytes[..100]).unwrap();
        assert_eq!(changed_bytes(&a, &b).unwrap(), Some((100, 199_900)), "shortened");
    }
}
