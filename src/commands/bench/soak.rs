//! `bitmark-node bench soak`: a real node receiving a steady stream of pushes for a long time
//! must not grow after warm-up — every queue between the socket and the reservoir is bounded.
//!
//! The node runs standalone on a fresh local chain with a block producer (`--produce-blocks
//! 1`). After one asset is confirmed, a CURVE client pushes as fast as the node acknowledges:
//!
//! * once a second (`new_every`), a new group of paid issues, verified at once on `local` and
//!   confirmed in the next produced block — so the node keeps doing the whole path (checks,
//!   reservoir, bus, block production, confirmation);
//! * in between, the asset's first issue again, which the node refuses after checking its
//!   signature (`transaction already exists`) — the flood: the listener acknowledges pushes
//!   before processing them, so a client can always push faster than they are processed, and
//!   the listener must drop what its bounded queue cannot hold rather than keep it.
//!
//! Its resident memory (`VmRSS`) and the size of its data directory on disk (the chain and
//! reservoir databases) are sampled every `interval`. After the warm-up (the first quarter of
//! the run, at least 10 s) the samples are cut in two halves: the growth of the mean resident
//! size from the first half to the second, less the growth of the databases meanwhile, must
//! stay within 4 MiB or 5 % of what the node holds beyond its fixed allocations, whichever is
//! larger. The databases are the reference: sled caches what the node writes (up to its cache
//! capacity), so memory that grows with the stored chain is expected, and memory that grows
//! beyond it is what a queue or a leak would show. With `new_every` off, nothing the node keeps
//! grows at all, and neither may its memory.
//!
//! The fixed allocations are the producer's Argon2d hasher, 128 MiB allocated once and kept
//! ([`FIXED_BYTES`]): a slack of 5 % of the whole resident size (about 141 MiB) would be 7 MiB,
//! wide enough for a leak of 100 KB/s to pass a 180-s run (its halves' means differ by
//! 6.75 MB); net of the hasher it is the 4 MiB floor, which that leak exceeds. `--simulate-leak
//! 100000` adds such a leak to the samples before judging them, to show it.

use super::super::child_node::ChildNode;
use super::{push, wait_until_held};
use crate::error::{NodeError, Result};
use crate::workload;
use bitmark_peer::transport::{Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::{Chain, Link};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The owners of the soak's records are `workload::owner(SALT, i)`.
const SALT: u64 = 0x50a4;
/// Paid issues per new group.
const GROUP: u64 = 10;
/// Growth allowed after warm-up: at least this many bytes...
const SLACK_BYTES: f64 = 4.0 * (1 << 20) as f64;
/// ...or this fraction of the resident size beyond [`FIXED_BYTES`], whichever is larger.
const SLACK_FRACTION: f64 = 0.05;
/// Allocated once and kept, so no part of the slack: the producer's Argon2d hasher.
pub const FIXED_BYTES: u64 = super::ARGON2D_BYTES;

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// How long the stream lasts.
    pub seconds: u64,
    /// Between two memory samples.
    pub interval: Duration,
    /// Between two new groups of paid issues (`None`: the flood alone, so that nothing the
    /// node keeps grows at all).
    pub new_every: Option<Duration>,
    /// Bytes per second added to every resident sample before judging (`t × rate` at `t`
    /// seconds): what the verdict would be had the node leaked that much.
    pub simulated_leak: Option<u64>,
}

/// One memory sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Seconds since the stream started.
    pub at: f64,
    /// Resident bytes.
    pub rss: u64,
    /// Bytes the data directory takes on disk.
    pub disk: u64,
}

/// The verdict on a run's samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verdict {
    /// Samples before this many seconds are the warm-up.
    pub warmup: f64,
    /// Mean resident bytes of the first and second halves after warm-up.
    pub first: f64,
    /// See `first`.
    pub second: f64,
    /// Growth of the mean data-directory size between the same halves.
    pub disk_growth: f64,
    /// Least-squares slope of the resident size after warm-up, bytes per minute.
    pub slope_per_minute: f64,
    /// `second - first - disk_growth` (a shrinking database excuses nothing).
    pub excess: f64,
    /// The growth allowed: 4 MiB or 5 % of `first - fixed`, whichever is larger.
    pub slack: f64,
    /// `excess` within `slack`.
    pub bounded: bool,
}

/// Judge `samples` from a run of `seconds` (see the module documentation), `fixed` bytes of
/// the resident size being allocations made once. Too few samples after warm-up (fewer than
/// 4) is not a pass.
pub fn judge(samples: &[Sample], seconds: f64, fixed: u64) -> Verdict {
    let warmup = (seconds / 4.0).max(10.0_f64.min(seconds / 2.0));
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= warmup).collect();
    let mean_of = |part: &[&Sample], f: fn(&Sample) -> f64| {
        if part.is_empty() {
            0.0
        } else {
            part.iter().map(|s| f(s)).sum::<f64>() / part.len() as f64
        }
    };
    let rss: fn(&Sample) -> f64 = |s| s.rss as f64;
    let disk: fn(&Sample) -> f64 = |s| s.disk as f64;
    let (head, tail) = after.split_at(after.len() / 2);
    let (first, second) = (mean_of(head, rss), mean_of(tail, rss));
    let disk_growth = mean_of(tail, disk) - mean_of(head, disk);
    let n = after.len() as f64;
    let (mt, mr) = (after.iter().map(|s| s.at).sum::<f64>() / n.max(1.0), mean_of(&after, rss));
    let (num, den) = after
        .iter()
        .fold((0.0, 0.0), |(num, den), s| (num + (s.at - mt) * (s.rss as f64 - mr), den + (s.at - mt) * (s.at - mt)));
    let slope_per_minute = if den > 0.0 { 60.0 * num / den } else { 0.0 };
    let excess = second - first - disk_growth.max(0.0);
    let slack = SLACK_BYTES.max(SLACK_FRACTION * (first - fixed as f64).max(0.0));
    let bounded = after.len() >= 4 && excess <= slack;
    Verdict { warmup, first, second, disk_growth, slope_per_minute, excess, slack, bounded }
}

/// `samples` with a leak of `rate` bytes per second added.
pub fn with_leak(samples: &[Sample], rate: u64) -> Vec<Sample> {
    samples.iter().map(|s| Sample { rss: s.rss.saturating_add((s.at * rate as f64) as u64), ..*s }).collect()
}

/// Bytes the files under `path` take on disk (allocated blocks, as `du` counts them).
fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

fn bad(e: bitmark_record::Fault) -> NodeError {
    NodeError::Input(format!("bench soak: {e}"))
}

/// Confirm an asset on the node: the asset, a free issue of it, and the issue's proof. Returns
/// the issue (already confirmed: the flood's payload).
fn confirm_asset(node: &ChildNode, client: &mut ZmqClient) -> Result<(bitmark_record::AssetId, Vec<u8>)> {
    let (asset_id, asset) = workload::asset(&workload::owner(SALT, 0), "bench soak").map_err(bad)?;
    push(client, Push::Assets(asset))?;
    let issue = workload::issue(asset_id, &workload::owner(SALT, 1), 0).map_err(bad)?;
    push(client, Push::Issues(issue.clone()))?;
    let tx_id = Link::of(&issue);
    wait_until_held(node, &tx_id)?;
    let height = node.get("/status").and_then(|s| s["height"].as_u64()).unwrap_or(1);
    let nonce = workload::pay_nonce(Chain::Local, height, |n| match client.request(&Request::Digest(n)) {
        Ok(Reply::Digest(d)) => Some(d),
        _ => None,
    })
    .ok_or_else(|| NodeError::Io("bench soak: no pay nonce".into()))?;
    push(client, Push::Proof(workload::proof(Chain::Local, &[&issue], &nonce)))?;
    let path = format!("/transaction/{}", tx_id.raw_hex());
    let deadline = Instant::now() + Duration::from_secs(30);
    while node.get(&path).is_none_or(|v| v["status"] != "Confirmed") {
        if Instant::now() > deadline {
            return Err(NodeError::Io("bench soak: the asset was never confirmed".into()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((asset_id, issue))
}

/// Run the soak. The report: `seconds`, `pushes`, `newIssues`, `height` (at the end),
/// `reservoir` (at the end), `samples` (`at`, `rssBytes`, `diskBytes`, as measured), `warmupSeconds`,
/// `firstHalfBytes`, `secondHalfBytes`, `diskGrowthBytes`, `slopeBytesPerMinute` (these with
/// the simulated leak, if any), `fixedBytes`, `excessBytes`, `slackBytes`,
/// `simulatedLeakBytesPerSecond`, `bounded` and `ok` (false makes the command exit 1).
pub fn run(options: Options) -> Result<Value> {
    let dir = tempfile::Builder::new()
        .prefix("bitmark-bench-soak-")
        .tempdir()
        .map_err(|e| NodeError::io("temporary directory", e))?;
    let data = dir.path().join("node");
    let args = ["--chain", "local", "--listen", "127.0.0.1:0", "--status", "127.0.0.1:0"]
        .into_iter()
        .map(String::from)
        .chain(["--standalone", "--produce-blocks", "1", "--data-dir"].into_iter().map(String::from))
        .chain([data.display().to_string()]);
    let mut node = ChildNode::start(args, &dir.path().join("node.log"))?;
    let mut client = node.client(Chain::Local)?;
    let (asset_id, flood) = confirm_asset(&node, &mut client)?;
    let payer = workload::owner(SALT, 2);

    let interval = options.interval.max(Duration::from_millis(100));
    let length = Duration::from_secs(options.seconds.max(1));
    let started = Instant::now();
    let (mut next_group, mut next_sample) = (started, started);
    let (mut pushes, mut nonce) = (0u64, 0u64);
    let mut samples = Vec::new();
    while started.elapsed() < length {
        let now = Instant::now();
        if now >= next_sample {
            let rss = node.memory()?.rss;
            samples.push(Sample { at: started.elapsed().as_secs_f64(), rss, disk: disk_usage(&data) });
            next_sample += interval;
        }
        let payload = if let Some(every) = options.new_every.filter(|_| now >= next_group) {
            next_group += every;
            let group = (0..GROUP)
                .map(|_| {
                    nonce += 1;
                    workload::issue(asset_id, &payer, nonce)
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(bad)?;
            group.concat()
        } else {
            flood.clone()
        };
        push(&mut client, Push::Issues(payload))?;
        pushes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    // The last groups are confirmed within a couple of produced blocks.
    let status = node.wait_for(Duration::from_secs(30), |s| s["reservoir"]["verified"] == 0)?;
    node.stop();

    let judged = match options.simulated_leak {
        Some(rate) => with_leak(&samples, rate),
        None => samples.clone(),
    };
    let verdict = judge(&judged, seconds, FIXED_BYTES);
    Ok(json!({
        "seconds": seconds,
        "pushes": pushes,
        "pushesPerSecond": pushes as f64 / seconds.max(1e-9),
        "newIssues": nonce,
        "height": status["height"],
        "reservoir": status["reservoir"],
        "samples": samples.iter().map(|s| json!({"at": s.at, "rssBytes": s.rss, "diskBytes": s.disk})).collect::<Vec<_>>(),
        "warmupSeconds": verdict.warmup,
        "firstHalfBytes": verdict.first,
        "secondHalfBytes": verdict.second,
        "diskGrowthBytes": verdict.disk_growth,
        "slopeBytesPerMinute": verdict.slope_per_minute,
        "fixedBytes": FIXED_BYTES,
        "excessBytes": verdict.excess,
        "slackBytes": verdict.slack,
        "simulatedLeakBytesPerSecond": options.simulated_leak,
        "bounded": verdict.bounded,
        "ok": verdict.bounded,
    }))
}

/// A human summary of a [`run`] report: about ten of the samples, and the verdict.
pub fn summary(report: &Value) -> String {
    let f = |k: &str| report[k].as_f64().unwrap_or(0.0);
    let mib = |b: f64| b / (1 << 20) as f64;
    let samples = report["samples"].as_array().cloned().unwrap_or_default();
    let step = samples.len().div_ceil(10).max(1);
    let mut out = format!(
        "soak: {:.0} s of pushes ({:.0}/s; {} new paid issues confirmed up to height {})\n  resident memory:",
        f("seconds"),
        f("pushesPerSecond"),
        report["newIssues"],
        report["height"],
    );
    for s in samples.iter().step_by(step).chain(samples.last()) {
        let g = |k: &str| s[k].as_f64().unwrap_or(0.0);
        out += &format!(
            "\n    {:>7.1} s {:>8.1} MiB (databases {:.1} MiB)",
            g("at"),
            mib(g("rssBytes")),
            mib(g("diskBytes"))
        );
    }
    if let Some(rate) = report["simulatedLeakBytesPerSecond"].as_f64() {
        out += &format!("\n  judged with a simulated leak of {:.0} KB/s added to every sample", rate / 1000.0);
    }
    out += &format!(
        "\n  after {:.0} s of warm-up: {:.1} MiB then {:.1} MiB (slope {:+.2} MiB/min; databases {:+.1} MiB)\
         \n  growth beyond the databases {:+.2} MiB, allowed {:.2} MiB (4 MiB or 5 % beyond the {:.0} MiB \
         of fixed allocations): {}",
        f("warmupSeconds"),
        mib(f("firstHalfBytes")),
        mib(f("secondHalfBytes")),
        mib(f("slopeBytesPerMinute")),
        mib(f("diskGrowthBytes")),
        mib(f("excessBytes")),
        mib(f("slackBytes")),
        mib(f("fixedBytes")),
        if report["bounded"] == true { "bounded" } else { "GROWING (or too few samples)" },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(rss: impl Fn(f64) -> f64) -> Vec<Sample> {
        grown(rss, |_| 0.0)
    }

    fn grown(rss: impl Fn(f64) -> f64, disk: impl Fn(f64) -> f64) -> Vec<Sample> {
        (0..120).map(|i| Sample { at: i as f64, rss: rss(i as f64) as u64, disk: disk(i as f64) as u64 }).collect()
    }

    #[test]
    fn flat_memory_is_bounded_and_a_leak_is_not() {
        let base = 40.0 * (1 << 20) as f64;
        let flat = judge(&samples(|t| base + if t < 20.0 { -(20.0 - t) * 1e6 } else { (t % 3.0) * 1e5 }), 120.0, 0);
        assert!(flat.bounded && flat.slope_per_minute.abs() < 1e6, "{flat:?}");
        assert_eq!(flat.warmup, 30.0);
        // 100 kB/s: 4.5 MB between the halves' means, above the 4 MiB slack.
        let leak = judge(&samples(|t| base + t * 1e5), 120.0, 0);
        assert!(!leak.bounded && (leak.slope_per_minute - 6e6).abs() < 1e3, "{leak:?}");
        assert!(!judge(&samples(|_| base)[..3], 3.0, 0).bounded, "too few samples");
        // The same growth with the databases growing as fast is the cache following the data.
        let cached = judge(&grown(|t| base + t * 1e5, |t| t * 1e5), 120.0, 0);
        assert!(cached.bounded && (cached.disk_growth - 4.5e6).abs() < 1e3, "{cached:?}");
        // A database that shrinks (sled reclaiming segments) excuses nothing.
        assert!(!judge(&grown(|t| base + t * 1e5, |t| 1e7 - t * 1e5), 120.0, 0).bounded);
    }

    /// A producing node as `make soak` measures it (141 MiB resident, 128 MiB of which is the
    /// producer's hasher), sampled every second for 180 s.
    fn producing_node(leak: u64) -> Verdict {
        let base = 141.0 * (1 << 20) as f64;
        let flat: Vec<Sample> = (0..180)
            .map(|i| Sample { at: i as f64, rss: (base + f64::from(i % 5) * 2e5) as u64, disk: 40 << 20 })
            .collect();
        judge(&with_leak(&flat, leak), 180.0, FIXED_BYTES)
    }

    #[test]
    fn a_leak_of_100_kb_per_second_fails_a_producing_nodes_soak() {
        let flat = producing_node(0);
        assert!(flat.bounded, "{flat:?}");
        // The slack is the 4 MiB floor: 5 % of the 13 MiB beyond the hasher is less.
        assert_eq!(flat.slack, SLACK_BYTES);
        // 100 KB/s: the halves' means (after 45 s of warm-up) are 67.5 s apart, 6.75 MB; 5 %
        // of the whole 141 MiB (7.05 MiB) would have let it through.
        let leak = producing_node(100_000);
        assert!(!leak.bounded, "{leak:?}");
        assert!((leak.excess - 6.75e6).abs() < 5e4, "{leak:?}");
        assert!(leak.excess < SLACK_FRACTION * leak.first);
    }
}
