//! The benches that run real node processes, in miniature (the full runs are `make bench` and
//! `make soak`): `bench memory` reads the peak memory of a node syncing a chain and of one
//! holding pending issues; `bench soak` streams pushes at a producing node and samples its
//! memory; `bench scale` has real nodes sync a chain in each mode, directly and through an
//! emulated link. No figure is asserted here, only that each run did what its report says.

use bitmark_tests::{json_of, run_node};

#[test]
fn bench_memory_measures_a_syncing_node_and_one_holding_pending_issues() {
    let out = run_node(&["bench", "memory", "--blocks", "3", "--pending", "250", "--json"], "");
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let sync = &report["sync"];
    assert_eq!(sync["blocks"], 3, "{report}");
    let peak = |v: &serde_json::Value| v["peakBytes"].as_u64().unwrap_or(0);
    assert!(peak(&sync["syncing"]) >= peak(&sync["idle"]) && peak(&sync["idle"]) > 0, "{report}");
    assert!(peak(&sync["serving"]) > 0, "{report}");
    let pending = &report["pending"];
    assert_eq!(pending["issues"], 250, "{report}");
    assert!(peak(&pending["holding"]) >= peak(&pending["idle"]), "{report}");
    // The summary names both parts.
    let out = run_node(&["bench", "memory", "--blocks", "0", "--pending", "1"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("holding 1 pending issues") && !text.contains("syncing"), "{text}");
}

#[test]
fn bench_soak_streams_pushes_at_a_producing_node_and_samples_its_memory() {
    let out = run_node(&["bench", "soak", "--seconds", "4", "--interval", "200ms", "--json"], "");
    let report = json_of(&out);
    assert!(report.get("error").is_none(), "{report}");
    let samples = report["samples"].as_array().expect("samples");
    assert!(samples.len() >= 10 && samples.iter().all(|s| s["rssBytes"].as_u64() > Some(0)), "{report}");
    // The new groups were confirmed in produced blocks; the flood was pushed besides them.
    let new_issues = report["newIssues"].as_u64().unwrap_or(0);
    assert!(new_issues >= 10 && report["pushes"].as_u64() > Some(new_issues / 10), "{report}");
    assert!(report["height"].as_u64() >= Some(3), "{report}");
    assert_eq!(report["reservoir"]["verified"], 0, "{report}");
    assert!(report["bounded"].is_boolean() && report["ok"] == report["bounded"], "{report}");
}

#[test]
fn bench_scale_syncs_in_every_mode_directly_and_through_an_emulated_link() {
    let out =
        run_node(&["bench", "scale", "--blocks", "5", "--peers", "2", "--rtt", "0,40ms", "--tail", "2", "--json"], "");
    let report = json_of(&out);
    assert!(out.status.success(), "{report}");
    let runs = report["runs"].as_array().expect("runs");
    let modes: Vec<(&str, u64)> =
        runs.iter().map(|r| (r["mode"].as_str().unwrap_or(""), r["rttMs"].as_u64().unwrap_or(0))).collect();
    let expected = [("full", 0), ("fast", 0), ("bitmarkd", 0), ("full", 40), ("fast", 40), ("bitmarkd", 40)];
    assert_eq!(modes, expected, "{report}");
    for run in runs {
        assert_eq!(run["to"], 5, "{run}");
        // The fully verified modes start with all but the tail stored; fast sync from genesis.
        let from = if run["mode"] == "fast" { 1 } else { 3 };
        assert_eq!(run["from"], from, "{run}");
        assert!(run["peakBytes"].as_u64() > Some(0) && run["blocksPerSecond"].as_f64() > Some(0.0), "{run}");
        // Through the relays when there is a round trip, else directly.
        assert_eq!(run["relayedBytes"].as_u64() > Some(0), run["rttMs"] != 0, "{run}");
        assert_eq!(run["disk"].is_object(), run["mode"] == "fast", "{run}");
    }
    let bitmarkd = runs.iter().filter(|r| r["mode"] == "bitmarkd");
    assert!(bitmarkd.clone().count() == 2 && bitmarkd.into_iter().all(|r| r["speedupOverBitmarkd"] == 1.0), "{report}");
    assert!(report["reference"]["blocksPerSecond"].as_f64() > Some(0.0), "{report}");
    assert!(report["argon2d"]["blocksPerSecond"].as_f64() > Some(0.0), "{report}");
    // The summary is the at-scale table.
    let out = run_node(&["bench", "scale", "--blocks", "3", "--peers", "1", "--rtt", "0", "--mode", "bitmarkd"], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("| bitmarkd | 0 ms | 1..3 |"), "{text}");
}
