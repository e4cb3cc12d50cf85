//! `bitmark-node testnet` on the real binary: three nodes, an 8-block chain built for node 0, the
//! other two syncing it over CURVE; the command exits 0 once all three report node 0's height and
//! tip digest, and leaves no node running.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_tests::{json_of, run_node};

#[test]
fn a_three_node_testnet_converges_on_an_eight_block_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let out = run_node(&["testnet", "--nodes", "3", "--blocks", "8", "--dir", dir.to_str().unwrap()], "");
    let summary = json_of(&out);
    assert!(out.status.success(), "{summary}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(summary["converged"], true, "{summary}");
    assert_eq!(summary["height"], 8, "{summary}");
    assert_eq!(summary["nodes"], 3, "{summary}");
    assert!(summary.get("running").is_none(), "{summary}");
    // Every node shut down cleanly: each log ends with the node's shutdown line.
    for i in 0..3 {
        let log = std::fs::read_to_string(dir.join(format!("node{i}/node.log"))).unwrap();
        assert!(log.contains("shut down"), "node {i} did not shut down cleanly:\n{log}");
    }
}
