//! What a node says about its peering: an upstream that cannot work says why in `/status`
//! (a wrong `--connect` key reads "server key mismatch or peer is not a bitmarkd node") and in
//! the log once, not at every attempt; the serving node logs who registers, with the key; a
//! syncing node logs its progress.

use bitmark_tests::{eventually, node_args, run_node, RunningNode};
use std::path::Path;
use std::time::Duration;

fn test_chain(dir: &Path, height: u64) {
    let out = run_node(&["testchain", "--blocks", &height.to_string(), "--data-dir", dir.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn an_upstream_with_the_wrong_key_says_so_in_status() {
    let tmp = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let a = RunningNode::start(&node_args(&data_a, &["--standalone"]), &tmp.path().join("a.log"));
    // A valid key, but not A's.
    let wrong = format!("{}@{}", "5f".repeat(32), a.peer_addr());
    let b = RunningNode::start(
        &node_args(&data_b, &["--connect", &wrong, "--min-clients", "1", "--sync-interval", "500ms"]),
        &tmp.path().join("b.log"),
    );
    let mut upstream = serde_json::Value::Null;
    let said = eventually(|| {
        upstream = b.status()["upstreams"][0].clone();
        upstream["lastError"].as_str().is_some_and(|e| e.contains("server key mismatch or peer is not a bitmarkd node"))
    });
    assert!(said, "{upstream}\n{}", b.log_text());
    assert_eq!(upstream["state"], "connecting");
    assert_eq!(upstream["registered"], false);
    assert!(upstream["lastErrorSecondsAgo"].is_u64(), "{upstream}");
    // A few more attempts (2 s, 4 s apart): the log says it once.
    std::thread::sleep(Duration::from_secs(7));
    let log = b.log_text();
    let lines = log.lines().filter(|l| l.contains("upstream link failed")).count();
    assert_eq!(lines, 1, "{log}");
    let below = log.lines().filter(|l| l.contains("WARN") && l.contains("below minimum client count")).count();
    assert_eq!(below, 1, "said once, not every interval:\n{log}");
}

#[test]
fn the_serving_node_logs_registrations_and_the_follower_its_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));
    test_chain(&data_a, 8);
    let a = RunningNode::start(&node_args(&data_a, &["--standalone"]), &tmp.path().join("a.log"));
    let connect = format!("{}@{}", a.ready["publicKey"].as_str().unwrap(), a.peer_addr());
    let b = RunningNode::start(
        &node_args(&data_b, &["--connect", &connect, "--min-clients", "1", "--sync-interval", "500ms"]),
        &tmp.path().join("b.log"),
    );
    let b_key = b.ready["publicKey"].as_str().unwrap().to_string();
    assert!(eventually(|| b.status()["height"] == 8), "{}", b.log_text());
    let upstream = &b.status()["upstreams"][0];
    assert_eq!(upstream["remoteHeight"], 8);
    assert!(upstream["lastResponseSecondsAgo"].is_u64() && upstream["lastError"].is_null(), "{upstream}");
    let registered =
        a.log_text().lines().any(|l| l.contains("INFO") && l.contains("peer registered") && l.contains(&b_key));
    assert!(registered, "{}", a.log_text());
    let status = b.status();
    assert!(status["sync"].get("etaSeconds").is_some(), "{status}");
}
