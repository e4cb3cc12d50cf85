//! `bitmark-node bench reservoir`: free issues submitted to a real reservoir per second, beside
//! raw Ed25519 verifications per second of the same records, measured in the same run on the
//! same number of threads.
//!
//! The reservoir is the node's own: sled on disk in a temporary directory, opened over a block
//! store by [`crate::node::reservoir::open`] with the node's options (durable: flushed before
//! each submission returns), and fed through `process_issues`, the call a pushed `issues`
//! message reaches. Each submission is a group of `batch` issues (bitmarkd's RPC sends up to
//! 100 per call), one owner per issue. The reference is the signature check alone
//! (`Account::check_signature`, a thin wrapper over `ed25519-dalek`'s `verify`) over the same
//! records' signing messages: what no submission path that checks signatures can beat. The
//! reference is measured before and after the submissions and averaged, so that load from
//! elsewhere on the machine falls on both alike.

use crate::error::{NodeError, Result};
use crate::node::datadir::Databases;
use crate::node::reservoir as node_reservoir;
use crate::workload;
use bitmark_record::{Account, Chain, Transaction};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The owners of the benchmark's records are `workload::owner(SALT, i)`.
const SALT: u64 = 0xbe7c;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Issues submitted (at most 20 000, the reservoir's bound on pending free issues).
    pub items: usize,
    /// Issues per submission (1 to 100).
    pub batch: usize,
    /// Submitting (and verifying) threads.
    pub threads: usize,
}

/// One signature to check: the signer, the message, the signature.
struct Signed {
    account: Account,
    message: Vec<u8>,
    signature: Vec<u8>,
}

/// Run `work(i)` for every `i` below `n` on `threads` threads, each taking the next index.
fn on_threads<T: Send>(threads: usize, n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return done;
                        }
                        done.push((i, work(i)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

fn rate(count: usize, elapsed: Duration) -> Value {
    let seconds = elapsed.as_secs_f64();
    json!({"count": count, "seconds": seconds, "perSecond": if seconds > 0.0 { count as f64 / seconds } else { 0.0 }})
}

/// Verify every signature on `threads` threads; the time taken.
fn verify_all(signed: &[Signed], threads: usize) -> Result<Duration> {
    let started = Instant::now();
    let results = on_threads(threads, signed.len(), |i| {
        signed.get(i).is_some_and(|s| s.account.check_signature(&s.message, &s.signature).is_ok())
    });
    let elapsed = started.elapsed();
    if results.iter().all(|ok| *ok) {
        Ok(elapsed)
    } else {
        Err(NodeError::Input("bench reservoir: a generated signature did not verify".into()))
    }
}

/// Run the benchmark. The report: `items`, `batch`, `threads`, `reservoir` and `ed25519`
/// (`count`, `seconds`, `perSecond`) and `ratio` (reservoir over ed25519).
pub fn run(options: Options) -> Result<Value> {
    let Options { items, batch, threads } = options;
    if !(1..=bitmark_reservoir::MAXIMUM_PENDING_FREE_ISSUES).contains(&items) {
        return Err(NodeError::Input(format!(
            "--items must be 1 to {} (the reservoir's bound on pending free issues)",
            bitmark_reservoir::MAXIMUM_PENDING_FREE_ISSUES
        )));
    }
    if !(1..=bitmark_reservoir::MAXIMUM_ISSUES).contains(&batch) {
        return Err(NodeError::Input(format!("--batch must be 1 to {}", bitmark_reservoir::MAXIMUM_ISSUES)));
    }
    let threads = threads.max(1);
    let bad = |e: bitmark_record::Fault| NodeError::Input(format!("bench reservoir: {e}"));

    // The records and their signatures, made before anything is timed.
    let (asset_id, asset) = workload::asset(&workload::owner(SALT, 0), "bench reservoir").map_err(bad)?;
    let records = on_threads(threads, items, |i| workload::issue(asset_id, &workload::owner(SALT, i as u64 + 1), 0))
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(bad)?;
    let signed = records
        .iter()
        .map(|packed| {
            let (tx, _) = Transaction::unpack(packed, true)?;
            let Transaction::BitmarkIssue(issue) = &tx else {
                return Err(bitmark_record::Fault::TransactionIsNotAnIssue);
            };
            Ok(Signed {
                account: issue.owner.clone(),
                message: tx.signing_message()?,
                signature: tx.signature().to_vec(),
            })
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(bad)?;

    let before = verify_all(&signed, threads)?;

    let dir = tempfile::Builder::new()
        .prefix("bitmark-bench-reservoir-")
        .tempdir()
        .map_err(|e| NodeError::io("temporary directory", e))?;
    let store = std::sync::Arc::new(crate::node::datadir::open_store(
        dir.path(),
        Chain::Local,
        bitmark_storage::StoreOptions::default(),
    )?);
    let (hooks, _) = node_reservoir::open(dir.path(), &store)?;
    let reservoir = hooks.reservoir();
    reservoir.process_assets(&asset).map_err(|e| Databases::of(&hooks).reservoir(e))?;
    let batches: Vec<Vec<u8>> = records.chunks(batch).map(|c| c.concat()).collect();
    let started = Instant::now();
    let outcomes = on_threads(threads, batches.len(), |i| batches.get(i).map(|b| reservoir.process_issues(b)));
    let submitted = started.elapsed();
    // Every index is below `batches.len()`; a missing one would fail the count check below.
    if let Some(Err(e)) = outcomes.into_iter().flatten().find(|o| o.is_err()) {
        return Err(NodeError::Input(format!("bench reservoir: a submission was refused: {e}")));
    }
    let (pending, _) = reservoir.counters();
    if pending != items {
        return Err(NodeError::Input(format!("bench reservoir: {pending} of {items} issues held")));
    }

    let after = verify_all(&signed, threads)?;
    let reference = (before + after) / 2;
    let ours = submitted.as_secs_f64();
    let ratio = if ours > 0.0 { reference.as_secs_f64() / ours } else { 0.0 };
    Ok(json!({
        "items": items,
        "batch": batch,
        "threads": threads,
        "reservoir": rate(items, submitted),
        "ed25519": rate(items, reference),
        "ratio": ratio,
    }))
}

/// A human summary of a [`run`] report.
pub fn summary(report: &Value) -> String {
    let f = |path: &[&str]| path.iter().fold(report, |v, k| &v[*k]).as_f64().unwrap_or(0.0);
    format!(
        "reservoir: {} free issues in submissions of {}, {} threads, sled on disk, flushed per submission\n  \
         reservoir       {:>10.0} issues/s ({:.2} s)\n  \
         raw ed25519     {:>10.0} verifications/s ({:.2} s)\n  \
         ratio           {:>10.2}",
        f(&["items"]),
        f(&["batch"]),
        f(&["threads"]),
        f(&["reservoir", "perSecond"]),
        f(&["reservoir", "seconds"]),
        f(&["ed25519", "perSecond"]),
        f(&["ed25519", "seconds"]),
        f(&["ratio"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_holds_every_issue_and_reports_both_rates() {
        let report = run(Options { items: 30, batch: 7, threads: 2 }).unwrap();
        assert_eq!((report["items"].as_u64(), report["reservoir"]["count"].as_u64()), (Some(30), Some(30)));
        assert!(report["ed25519"]["perSecond"].as_f64().unwrap() > 0.0);
        assert!(report["ratio"].as_f64().unwrap() > 0.0);
        assert!(summary(&report).contains("ratio"));
        assert!(run(Options { items: 0, batch: 1, threads: 1 }).is_err());
        assert!(run(Options { items: 1, batch: 101, threads: 1 }).is_err());
    }
}
