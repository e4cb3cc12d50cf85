//! Three real nodes on loopback as a local network: node 0 serves a test chain standalone and
//! produces blocks; node 1 syncs from node 0; node 2 from nodes 0 and 1.
//!
//! - an asset and free issues pushed to node 2 reach all three reservoirs (relayed over the
//!   upstreams), their proof makes node 0 confirm them in a produced block, and that block
//!   reaches every node, emptying every reservoir;
//! - node 1 is SIGKILLed, the network moves on without it (a transfer confirmed in the next
//!   block), and node 1 restarted on the same data directory and port catches up to the new tip,
//!   node 2 re-registering with it;
//! - every chain passes `check` afterwards.
//!
//! Followers run the connector every second (`--sync-interval 1s`) so the test takes seconds.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_peer::transport::ZmqClient;
use bitmark_peer::wire::Push;
use bitmark_record::Link;
use bitmark_tests::items::{asset_and_issues, block_tx_ids, issues_push, proof_push, push, transfer};
use bitmark_tests::{client_of, eventually, json_of, run_node, RunningNode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The test chain node 0 starts with.
const HEIGHT: u64 = 3;
/// SIGTERM must stop a node within this (the daemon's promise).
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// One node of the network: where it keeps its data and how it was started.
struct Member {
    data: PathBuf,
    args: Vec<String>,
}

impl Member {
    /// A local-chain node in `root/name` listening on `listen`, with `extra` flags.
    fn new(root: &Path, name: &str, listen: &str, extra: &[String]) -> Member {
        let data = root.join(name);
        let mut args: Vec<String> = ["--chain", "local", "--data-dir", data.to_str().unwrap(), "--listen", listen]
            .into_iter()
            .map(String::from)
            .collect();
        args.extend(["--status".to_string(), "127.0.0.1:0".to_string()]);
        args.extend_from_slice(extra);
        Member { data, args }
    }

    /// Start it, logging to `<data>.<run>.log`.
    fn start(&self, run: usize) -> RunningNode {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        RunningNode::start(&args, &self.data.with_extension(format!("{run}.log")))
    }
}

/// `--connect` flags to `nodes` and the follower settings.
fn follower_of(nodes: &[&RunningNode]) -> Vec<String> {
    let mut args = Vec::new();
    for node in nodes {
        args.push("--connect".to_string());
        args.push(format!("{}@{}", node.ready["publicKey"].as_str().unwrap(), node.peer_addr()));
    }
    args.extend(["--min-clients", "1", "--sync-interval", "1s"].map(String::from));
    args
}

/// Wait until every node is in normal mode at `height` with one and the same tip; that tip.
fn converge(nodes: &[&RunningNode], height: u64) -> Value {
    let tip = |node: &RunningNode| {
        let s = node.status();
        (s["height"] == height && s["mode"] == "normal").then(|| s["digest"].clone())
    };
    let agreed = eventually(|| {
        let tips: Vec<Option<Value>> = nodes.iter().map(|n| tip(n)).collect();
        tips.iter().all(|t| t.is_some() && *t == tips[0])
    });
    let statuses: Vec<Value> = nodes.iter().map(|n| n.status()).collect();
    assert!(agreed, "no agreement on height {height}: {statuses:#?}\n{}", logs(nodes));
    statuses[0]["digest"].clone()
}

fn logs(nodes: &[&RunningNode]) -> String {
    nodes.iter().map(|n| n.log_text()).collect::<Vec<_>>().join("\n----\n")
}

fn reservoir_of(node: &RunningNode) -> Value {
    node.status()["reservoir"].clone()
}

/// Wait until every node's reservoir counts are `counts`.
fn reservoirs_are(nodes: &[&RunningNode], counts: Value) {
    let all = eventually(|| nodes.iter().all(|n| reservoir_of(n) == counts));
    let seen: Vec<Value> = nodes.iter().map(|n| reservoir_of(n)).collect();
    assert!(all, "reservoirs {seen:?}, wanted {counts} everywhere\n{}", logs(nodes));
}

/// The tx ids of block `height` on every node, checked to be the same; one copy.
fn block_everywhere(clients: &mut [ZmqClient], height: u64) -> Vec<Link> {
    let blocks: Vec<Vec<Link>> = clients.iter_mut().map(|c| block_tx_ids(c, height)).collect();
    assert!(blocks.windows(2).all(|w| w[0] == w[1]), "block {height} differs between nodes: {blocks:?}");
    blocks[0].clone()
}

#[test]
fn pushes_spread_blocks_are_confirmed_everywhere_and_a_killed_node_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let m0 =
        Member::new(tmp.path(), "node0", "127.0.0.1:0", &["--standalone", "--produce-blocks", "1"].map(String::from));
    let out = run_node(&["testchain", "--blocks", &HEIGHT.to_string(), "--data-dir", m0.data.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let n0 = m0.start(0);
    // Node 1 gets a fixed port (the one it is first given) so it can come back on it.
    let m1 = Member::new(tmp.path(), "node1", "127.0.0.1:0", &follower_of(&[&n0]));
    let n1 = m1.start(0);
    let m1 = Member::new(tmp.path(), "node1", &n1.peer_addr().to_string(), &follower_of(&[&n0]));
    let m2 = Member::new(tmp.path(), "node2", "127.0.0.1:0", &follower_of(&[&n0, &n1]));
    let n2 = m2.start(0);
    converge(&[&n0, &n1, &n2], HEIGHT);

    // An asset and two free issues pushed to node 2 only: node 2 relays them to nodes 0 and 1.
    let (asset, issues) = asset_and_issues("network", &[1, 2]);
    let mut client2 = client_of(&n2, &m2.data);
    push(&mut client2, Push::Assets(asset.clone()));
    push(&mut client2, issues_push(&issues));
    reservoirs_are(&[&n0, &n1, &n2], json!({"pending": 2, "verified": 0}));

    // The proof, again to node 2: node 0 verifies the issues and confirms them in block 4,
    // which the followers fetch; every reservoir is then empty.
    push(&mut client2, proof_push(&issues, HEIGHT));
    let tip4 = converge(&[&n0, &n1, &n2], HEIGHT + 1);
    let mut clients = vec![client_of(&n0, &m0.data), client_of(&n1, &m1.data), client2];
    let issue_ids: Vec<Link> = issues.iter().map(|i| Link::of(i)).collect();
    assert_eq!(block_everywhere(&mut clients, HEIGHT + 1)[1..], [vec![Link::of(&asset)], issue_ids.clone()].concat());
    reservoirs_are(&[&n0, &n1, &n2], json!({"pending": 0, "verified": 0}));

    // Node 1 dies; a transfer pushed to node 2 is confirmed in block 5 without it.
    let (exit, _) = n1.stop_with("KILL", STOP_LIMIT);
    assert!(!exit.success());
    let transfer = transfer(issue_ids[0], 1, 3);
    push(&mut clients[2], Push::Transfer(transfer.clone()));
    let tip5 = converge(&[&n0, &n2], HEIGHT + 2);
    assert_ne!(tip4, tip5);

    // Node 1 comes back where it was, on the same port, and catches up.
    let n1 = m1.start(1);
    assert_eq!(n1.ready["height"], HEIGHT + 1, "node 1 restarted from its own chain");
    assert_eq!(converge(&[&n0, &n1, &n2], HEIGHT + 2), tip5);
    clients[1] = client_of(&n1, &m1.data);
    assert_eq!(block_everywhere(&mut clients, HEIGHT + 2)[1..], [Link::of(&transfer)]);
    // Node 2's upstream to node 1 registered again with the restarted node.
    let n1_key = n1.ready["publicKey"].clone();
    let registered = || {
        let status = n2.status();
        let upstreams = status["upstreams"].as_array().cloned().unwrap_or_default();
        upstreams.iter().any(|u| u["key"] == n1_key && u["registered"] == true)
    };
    assert!(eventually(registered), "{}", n2.status());
    drop(clients);

    for (node, member) in [(n2, &m2), (n1, &m1), (n0, &m0)] {
        let (exit, took) = node.stop_with("TERM", STOP_LIMIT);
        assert!(exit.success() && took < STOP_LIMIT, "{exit:?} after {took:?}");
        let out = run_node(&["check", "--data-dir", member.data.to_str().unwrap()], "");
        let report = json_of(&out);
        assert!(out.status.success(), "{report}");
        assert_eq!(report["height"], HEIGHT + 2, "{report}");
    }
}
