//! `bitmark-node bench table FILE...`: the JSON reports of the other benches as one Markdown
//! table — each figure, the reference measured in the same run, and their ratio — which is
//! what `scripts/benchmarks.sh` (`make bench`) prints for `BENCHMARKS.md`.

use serde_json::Value;

/// One row: what was measured, the figure, the reference, figure over reference.
struct Row {
    what: String,
    figure: String,
    reference: String,
    ratio: f64,
}

fn num(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(0.0)
}

fn ratio(figure: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        figure / reference
    } else {
        0.0
    }
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1 << 20) as f64)
}

/// The rows of one report, recognised by its shape (none for an unknown one).
fn rows(r: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    if r.get("pipeline").is_some() {
        let limit = num(r, &["argon2d", "blocksPerSecond"]);
        let (slowest, fastest) =
            (num(r, &["argon2d", "minBlocksPerSecond"]), num(r, &["argon2d", "maxBlocksPerSecond"]));
        let (before, after) = (num(r, &["argon2d", "before", "digests"]), num(r, &["argon2d", "after", "digests"]));
        for (name, key) in [("pipeline", "pipeline"), ("bitmarkd's shape", "bitmarkdShape")] {
            let rate = num(r, &[key, "blocksPerSecond"]);
            rows.push(Row {
                what: format!("sync {} blocks from {} peers, {name}", r["height"], r["peers"]),
                figure: format!("{rate:.2} blocks/s"),
                reference: format!(
                    "Argon2d limit {limit:.2} blocks/s ({} threads; {before:.0} + {after:.0} digests before and \
                     after: rounds {slowest:.2}–{fastest:.2}, ±{:.1} %; ratio {:.2}–{:.2})",
                    r["threads"],
                    100.0 * num(r, &["argon2d", "relativeSpread"]),
                    ratio(rate, fastest),
                    ratio(rate, slowest),
                ),
                ratio: ratio(rate, limit),
            });
        }
    }
    if r.get("nodeInfo").is_some() {
        let (ours, echo) = (num(r, &["nodeInfo", "requestsPerSecond"]), num(r, &["echo", "requestsPerSecond"]));
        rows.push(Row {
            what: format!("client RPC, `Node.Info` from {} TLS clients", r["clients"]),
            figure: format!("{ours:.0} requests/s"),
            reference: format!("bare tokio + rustls echo {echo:.0} requests/s"),
            ratio: ratio(ours, echo),
        });
        let (create, reservoir) = (num(r, &["create", "perSecond"]), num(r, &["reservoir", "perSecond"]));
        let create_field = |key: &str| r.get("create").and_then(|c| c.get(key)).cloned().unwrap_or(Value::Null);
        rows.push(Row {
            what: format!(
                "client RPC, `Bitmarks.Create` of {} free issues in groups of {}, {} clients",
                create_field("issues"),
                create_field("batch"),
                create_field("threads")
            ),
            figure: format!("{create:.0} issues/s"),
            reference: format!("bench reservoir {reservoir:.0} issues/s"),
            ratio: ratio(create, reservoir),
        });
    }
    if r.get("listener").is_some() && r.get("echo").is_some() {
        let (ours, echo) = (num(r, &["listener", "requestsPerSecond"]), num(r, &["echo", "requestsPerSecond"]));
        rows.push(Row {
            what: format!("listener, `N` from {} CURVE clients", r["clients"]),
            figure: format!("{ours:.0} requests/s"),
            reference: format!("bare libzmq CURVE echo {echo:.0} requests/s"),
            ratio: ratio(ours, echo),
        });
    }
    if r.get("ed25519").is_some() {
        let (ours, raw) = (num(r, &["reservoir", "perSecond"]), num(r, &["ed25519", "perSecond"]));
        rows.push(Row {
            what: format!(
                "reservoir, {} free issues in groups of {}, {} threads",
                r["items"], r["batch"], r["threads"]
            ),
            figure: format!("{ours:.0} issues/s"),
            reference: format!("raw Ed25519 verify {raw:.0}/s"),
            ratio: ratio(ours, raw),
        });
    }
    let sync = &r["sync"];
    if sync.is_object() {
        let (peak, argon2d) = (num(sync, &["syncing", "peakBytes"]), num(sync, &["argon2dBytes"]));
        rows.push(Row {
            what: format!(
                "peak memory, node {} {} blocks ({:.0} s)",
                if sync["fastSync"] == true { "fast-syncing" } else { "syncing" },
                sync["blocks"],
                num(sync, &["syncSeconds"])
            ),
            figure: mib(peak),
            reference: format!(
                "Argon2d working set {}, computed ({} digest threads × 128 MiB), not measured",
                mib(argon2d),
                sync["digestThreads"]
            ),
            ratio: ratio(peak, argon2d),
        });
        let disk = &sync["disk"];
        if disk.is_object() {
            let (allocated, raw) = (num(disk, &["allocatedBytesPerBlock"]), num(disk, &["rawBytesPerBlock"]));
            rows.push(Row {
                what: format!("disk per block, the synced chain's database ({} blocks)", sync["blocks"]),
                figure: format!("{allocated:.0} bytes allocated ({:.0} in files)", num(disk, &["fileBytesPerBlock"])),
                reference: format!("raw packed block {raw:.0} bytes"),
                ratio: ratio(allocated, raw),
            });
        }
    }
    let pending = &r["pending"];
    if pending.is_object() {
        let (peak, idle) = (num(pending, &["holding", "peakBytes"]), num(pending, &["idle", "peakBytes"]));
        rows.push(Row {
            what: format!(
                "peak memory, node holding {} pending issues ({:.0} bytes each)",
                pending["issues"],
                num(pending, &["bytesPerIssue"])
            ),
            figure: mib(peak),
            reference: format!("the same node idle {}", mib(idle)),
            ratio: ratio(peak, idle),
        });
    }
    if r.get("samples").is_some() {
        let (first, second) = (num(r, &["firstHalfBytes"]), num(r, &["secondHalfBytes"]));
        let disk = num(r, &["diskGrowthBytes"]).max(0.0);
        let verdict = if r["bounded"] == true { "bounded" } else { "GROWING" };
        let leak = r["simulatedLeakBytesPerSecond"]
            .as_f64()
            .map(|rate| format!(", a leak of {:.0} KB/s simulated", rate / 1000.0))
            .unwrap_or_default();
        rows.push(Row {
            what: format!(
                "resident memory, soak of {:.0} s at {:.0} pushes/s ({} new issues{leak}): {verdict}",
                num(r, &["seconds"]),
                num(r, &["pushesPerSecond"]),
                r["newIssues"]
            ),
            figure: format!("{} (second half)", mib(second)),
            reference: format!(
                "{} (first half after warm-up) + {} (databases' growth); {} more allowed, {} beyond them \
                 (slack net of {} fixed)",
                mib(first),
                mib(disk),
                mib(num(r, &["slackBytes"])),
                mib(num(r, &["excessBytes"])),
                mib(num(r, &["fixedBytes"])),
            ),
            ratio: ratio(second, first + disk),
        });
    }
    rows
}

/// The Markdown table of `reports`.
pub fn table(reports: &[Value]) -> String {
    let mut out = String::from("| measured | figure | reference (same run) | ratio |\n|---|---:|---|---:|\n");
    for row in reports.iter().flat_map(rows) {
        out += &format!("| {} | {} | {} | {:.2} |\n", row.what, row.figure, row.reference, row.ratio);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_report_becomes_rows_with_its_ratio() {
        let listener =
            json!({"clients": 4, "listener": {"requestsPerSecond": 500.0}, "echo": {"requestsPerSecond": 1000.0}});
        let reservoir = json!({"items": 10, "batch": 5, "threads": 2, "reservoir": {"perSecond": 30.0}, "ed25519": {"perSecond": 120.0}});
        let memory = json!({"pending": {"issues": 5, "bytesPerIssue": 100.0, "holding": {"peakBytes": 3 << 20}, "idle": {"peakBytes": 2 << 20}}});
        let text = table(&[listener, reservoir, memory, json!({"unknown": 1})]);
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.contains("| 500 requests/s | bare libzmq CURVE echo 1000 requests/s | 0.50 |"), "{text}");
        assert!(text.contains("| 30 issues/s | raw Ed25519 verify 120/s | 0.25 |"), "{text}");
        assert!(text.contains("| 3.0 MiB | the same node idle 2.0 MiB | 1.50 |"), "{text}");
        let sync = json!({"height": 6, "peers": 2, "threads": 2, "pipeline": {"blocksPerSecond": 5.0},
            "bitmarkdShape": {"blocksPerSecond": 2.5},
            "argon2d": {"blocksPerSecond": 5.0, "minBlocksPerSecond": 4.0, "maxBlocksPerSecond": 6.25,
                "relativeSpread": 0.1, "before": {"digests": 16}, "after": {"digests": 16}}});
        let synced = json!({"sync": {"blocks": 500, "syncSeconds": 77.0, "digestThreads": 2,
            "argon2dBytes": 256 << 20, "syncing": {"peakBytes": 512 << 20},
            "disk": {"allocatedBytesPerBlock": 9000.0, "fileBytesPerBlock": 12000.0, "rawBytesPerBlock": 3000.0}}});
        let text = table(&[sync, synced]);
        assert!(
            text.contains("| 5.00 blocks/s | Argon2d limit 5.00 blocks/s (2 threads; 16 + 16 digests before and after: rounds 4.00–6.25, ±10.0 %; ratio 0.80–1.25) | 1.00 |"),
            "{text}"
        );
        assert!(text.contains("| 512.0 MiB | Argon2d working set 256.0 MiB, computed (2 digest threads × 128 MiB), not measured | 2.00 |"), "{text}");
        assert!(text.contains("| disk per block, the synced chain's database (500 blocks) | 9000 bytes allocated (12000 in files) | raw packed block 3000 bytes | 3.00 |"), "{text}");
        let soak = json!({"samples": [], "seconds": 180.0, "pushesPerSecond": 3600.0, "newIssues": 1800,
            "firstHalfBytes": 144 << 20, "secondHalfBytes": 150 << 20, "diskGrowthBytes": 1 << 20,
            "slackBytes": 4 << 20, "excessBytes": 5 << 20, "fixedBytes": 128 << 20,
            "simulatedLeakBytesPerSecond": 100000, "bounded": false});
        let text = table(&[soak]);
        assert!(text.contains("(1800 new issues, a leak of 100 KB/s simulated): GROWING | 150.0 MiB (second half) | 144.0 MiB (first half after warm-up) + 1.0 MiB (databases' growth); 4.0 MiB more allowed, 5.0 MiB beyond them (slack net of 128.0 MiB fixed) |"), "{text}");
    }
}
