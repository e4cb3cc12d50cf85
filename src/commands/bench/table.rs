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
        let reference = format!("Argon2d limit {limit:.2} blocks/s ({} threads)", r["threads"]);
        for (name, key) in [("pipeline", "pipeline"), ("bitmarkd's shape", "bitmarkdShape")] {
            let rate = num(r, &[key, "blocksPerSecond"]);
            rows.push(Row {
                what: format!("sync {} blocks from {} peers, {name}", r["height"], r["peers"]),
                figure: format!("{rate:.2} blocks/s"),
                reference: reference.clone(),
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
        rows.push(Row {
            what: format!(
                "client RPC, `Bitmarks.Create` of {} free issues in groups of {}, {} clients",
                r["create"]["issues"], r["create"]["batch"], r["create"]["threads"]
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
            what: format!("peak memory, node syncing {} blocks ({:.0} s)", sync["blocks"], num(sync, &["syncSeconds"])),
            figure: mib(peak),
            reference: format!("Argon2d working set {} ({} × 128 MiB)", mib(argon2d), sync["digestThreads"]),
            ratio: ratio(peak, argon2d),
        });
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
        rows.push(Row {
            what: format!(
                "resident memory, soak of {:.0} s at {:.0} pushes/s ({} new issues): {verdict}",
                num(r, &["seconds"]),
                num(r, &["pushesPerSecond"]),
                r["newIssues"]
            ),
            figure: format!("{} (second half)", mib(second)),
            reference: format!("{} (first half after warm-up) + {} (databases' growth)", mib(first), mib(disk)),
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
    }
}
