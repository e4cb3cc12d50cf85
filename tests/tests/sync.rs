//! Two real nodes on loopback, one syncing a 60-block local test chain from the other with full
//! verification: node A serves the chain standalone; node B starts empty with
//! `--connect A --min-clients 1 --sync-interval 1s`, elects A (quorum 1) within seconds, fetches
//! and verifies every block (59 Argon2d digests), and enters normal mode with A's tip. `/status`
//! and `/metrics` answer throughout, and the synced chain passes `check`.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_tests::{json_of, node_args, run_node, RunningNode};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Blocks of the test chain (genesis is block 1).
const HEIGHT: u64 = 60;
/// Full verification computes an Argon2d digest (about 0.3 s on a core in release, more in
/// debug builds on a busy machine) per block.
const SYNC_LIMIT: Duration = Duration::from_secs(300);
/// The shutdown promise.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// The value of an unlabelled sample in a Prometheus text.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_fresh_node_syncs_a_test_chain_from_another_node() {
    let tmp = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let out = run_node(&["testchain", "--blocks", &HEIGHT.to_string(), "--data-dir", data_a.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let a = RunningNode::start(&node_args(&data_a, &["--standalone"]), &tmp.path().join("a.log"));
    assert_eq!(a.ready["height"], HEIGHT);
    let a_digest = a.ready["digest"].as_str().unwrap().to_string();
    let connect = format!("{}@{}", a.ready["publicKey"].as_str().unwrap(), a.peer_addr());
    let b = RunningNode::start(
        &node_args(&data_b, &["--connect", &connect, "--min-clients", "1", "--sync-interval", "1s"]),
        &tmp.path().join("b.log"),
    );
    assert_eq!((&b.ready["height"], &b.ready["mode"]), (&Value::from(1), &Value::from("resynchronise")));

    // B's status and metrics answer at every poll while it syncs.
    let started = Instant::now();
    let mut heights = Vec::new();
    let mut status = b.status();
    while started.elapsed() < SYNC_LIMIT {
        status = b.status();
        let (code, metrics) = b.get("/metrics");
        assert_eq!(code, 200, "{metrics}");
        // Taken after the status: the chain may have grown in between, never shrunk.
        assert!(sample(&metrics, "bitmark_chain_height") >= status["height"].as_f64(), "{metrics}");
        heights.push(status["height"].as_u64().unwrap_or(0));
        if status["height"] == HEIGHT && status["digest"] == a_digest.as_str() && status["mode"] == "normal" {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(status["height"], HEIGHT, "not synced in {SYNC_LIMIT:?}: {status}\n{}", b.log_text());
    assert_eq!(status["digest"], a_digest.as_str(), "{status}");
    assert_eq!(status["mode"], "normal", "{status}");
    assert!(heights.windows(2).all(|w| w[0] <= w[1]), "height went down: {heights:?}");
    let sync = &status["sync"];
    assert_eq!((&sync["elected"], &sync["targetHeight"]), (&Value::from(HEIGHT), &Value::from(HEIGHT)), "{status}");
    let (_, metrics) = b.get("/metrics");
    assert_eq!(sample(&metrics, "bitmark_blocks_applied_total"), Some((HEIGHT - 1) as f64), "{metrics}");
    assert_eq!(sample(&metrics, "bitmark_mode_normal"), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, "bitmark_sync_elected_height"), Some(HEIGHT as f64), "{metrics}");
    // A served B's fetches.
    let (_, metrics) = a.get("/metrics");
    assert!(sample(&metrics, "bitmark_peer_requests_total{command=\"B\"}") >= Some((HEIGHT - 1) as f64), "{metrics}");

    for node in [b, a] {
        let (exit, took) = node.stop_with("TERM", STOP_LIMIT);
        assert!(exit.success() && took < STOP_LIMIT, "{exit:?} after {took:?}");
    }
    let check = run_node(&["check", "--data-dir", data_b.to_str().unwrap()], "");
    let report = json_of(&check);
    assert!(check.status.success(), "{report}");
    assert_eq!(report["height"], HEIGHT, "{report}");
}
