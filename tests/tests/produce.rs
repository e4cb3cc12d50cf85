//! A local node with `--produce-blocks` as users run it: a client pushes an asset and free
//! issues over CURVE (as bitmarkd's RPC relays them), the node holds them in its reservoir
//! across a SIGKILL, a proof of work verifies them and the node's producer confirms them in a
//! new block; a transfer of one of them, auto-verified on `local`, is confirmed in the next.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_peer::transport::ZmqClient;
use bitmark_peer::wire::Push;
use bitmark_record::Link;
use bitmark_tests::items::{asset_and_issues, block_tx_ids, issues_push, proof_push, push, transfer};
use bitmark_tests::{client_of, eventually, node_args, run_node, RunningNode};
use serde_json::{json, Value};
use std::time::Duration;

fn reservoir_of(node: &RunningNode) -> Value {
    node.status()["reservoir"].clone()
}

/// Wait until the node's height is `height`; then the tx ids of its block there.
fn block_at(node: &RunningNode, client: &mut ZmqClient, height: u64) -> Vec<Link> {
    assert!(eventually(|| node.status()["height"] == height), "{}\n{}", node.status(), node.log_text());
    block_tx_ids(client, height)
}

#[test]
fn pushed_issues_survive_a_kill_and_are_confirmed_in_produced_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    let out = run_node(&["testchain", "--blocks", "3", "--data-dir", data.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let args = node_args(&data, &["--standalone", "--produce-blocks", "1"]);
    let node = RunningNode::start(&args, &tmp.path().join("node.log"));
    assert_eq!(node.ready["reservoir"], json!({"pending": 0, "verified": 0}));
    let producer = node.ready["producer"].as_str().expect("a producer account").to_string();
    assert!(data.join("producer.private").is_file());
    assert!(data.join("local-reservoir.sled").is_dir());

    // An asset, then two free issues of it (nonce 0) as bitmarkd's RPC sends them.
    let (packed_asset, issues) = asset_and_issues("produced", &[1, 2]);
    let mut client = client_of(&node, &data);
    push(&mut client, Push::Assets(packed_asset.clone()));
    push(&mut client, issues_push(&issues));
    // Acknowledged before processing: the reservoir has them once /status counts them.
    assert!(eventually(|| reservoir_of(&node)["pending"] == 2), "{}\n{}", node.status(), node.log_text());
    let (_, metrics) = node.get("/metrics");
    assert!(metrics.contains("bitmark_reservoir_items{state=\"pending\"} 2\n"), "{metrics}");
    assert_eq!(node.tx_state(&Link::of(&issues[0])), "Pending");
    assert_eq!(node.tx_state(&Link::of(b"never pushed")), "Unknown");
    assert_eq!(node.get("/transaction/not-a-tx-id").0, 400);
    // Pending items make no block.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(node.status()["height"], 3);
    drop(client);

    // Killed outright, restarted: the reservoir is as it was.
    let (exit, _) = node.stop_with("KILL", Duration::from_secs(5));
    assert!(!exit.success());
    let node = RunningNode::start(&args, &tmp.path().join("node2.log"));
    assert_eq!(node.ready["reservoir"], json!({"pending": 2, "verified": 0}), "{}", node.log_text());
    assert_eq!(node.ready["producer"], producer, "the same producer key");

    // The proof verifies the issues; the next round confirms them with their asset.
    let mut client = client_of(&node, &data);
    push(&mut client, proof_push(&issues, 3));
    let confirmed = block_at(&node, &mut client, 4);
    let issue_ids: Vec<Link> = issues.iter().map(|i| Link::of(i)).collect();
    assert_eq!(confirmed[1..], [vec![Link::of(&packed_asset)], issue_ids.clone()].concat());
    assert!(eventually(|| reservoir_of(&node) == json!({"pending": 0, "verified": 0})), "{}", node.status());
    assert_eq!(node.tx_state(&Link::of(&issues[1])), "Confirmed");

    // A transfer of a confirmed issue is verified at once on `local`, and confirmed next.
    let transfer = transfer(issue_ids[0], 1, 3);
    push(&mut client, Push::Transfer(transfer.clone()));
    assert_eq!(block_at(&node, &mut client, 5)[1..], [Link::of(&transfer)]);
    assert!(eventually(|| reservoir_of(&node) == json!({"pending": 0, "verified": 0})), "{}", node.status());
    let (_, metrics) = node.get("/metrics");
    assert!(metrics.contains("bitmark_blocks_produced_total 2\n"), "{metrics}");
    assert!(metrics.contains("bitmark_reservoir_items{state=\"verified\"} 0\n"), "{metrics}");
    drop(client);
    let log = node.log_text();
    assert!(log.contains("produced a block") && !log.contains("ERROR") && !log.contains("WARN"), "{log}");

    let (exit, took) = node.stop_with("TERM", Duration::from_secs(5));
    assert!(exit.success() && took < Duration::from_secs(5), "{exit:?} after {took:?}");
    // The chain checks out, produced blocks included.
    let out = run_node(&["check", "--data-dir", data.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
