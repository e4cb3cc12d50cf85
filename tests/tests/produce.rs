//! A local node with `--produce-blocks` as users run it: a client pushes an asset and free
//! issues over CURVE (as bitmarkd's RPC relays them), the node holds them in its reservoir
//! across a SIGKILL, a proof of work verifies them and the node's producer confirms them in a
//! new block; a transfer of one of them, auto-verified on `local`, is confirmed in the next.

use bitmark_peer::transport::{Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::block::PackedBlock;
use bitmark_record::pay::{pay_nonce_height, proof_digest, proof_meets, scaled_difficulty};
use bitmark_record::transaction::{AssetData, BitmarkIssue, BitmarkTransferUnratified};
use bitmark_record::{genesis, Chain, Link, PayId, PayNonce, Transaction};
use bitmark_storage::testchain::{sign_record, test_accounts};
use bitmark_tests::{client_of, eventually, node_args, run_node, RunningNode};
use serde_json::{json, Value};
use std::time::Duration;

/// The seed `bitmark-node testchain` uses by default: its accounts sign our records.
const SEED: u64 = 1;

/// Push `push` and check the node's acknowledgement (`[cmd]["A"]`, sent before processing).
fn push(client: &mut ZmqClient, push: Push) {
    let command = push.command().to_vec();
    assert_eq!(client.request(&Request::Push(push)).unwrap(), Reply::Ack(command));
}

/// What `GET /transaction/<tx id>` says of a packed record.
fn tx_status(node: &RunningNode, packed: &[u8]) -> Value {
    let (code, body) = node.get(&format!("/transaction/{}", Link::of(packed).raw_hex()));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["status"].clone()
}

fn reservoir_of(node: &RunningNode) -> Value {
    node.status()["reservoir"].clone()
}

/// Wait until the node's height is `height`; then the tx ids of its block there.
fn block_at(node: &RunningNode, client: &mut ZmqClient, height: u64) -> Vec<Link> {
    assert!(eventually(|| node.status()["height"] == height), "{}\n{}", node.status(), node.log_text());
    let Reply::Block(block) = client.request(&Request::Block(height)).unwrap() else { panic!("no block {height}") };
    let parsed = PackedBlock::parse(&block, Chain::Local, u64::MAX / 2).unwrap();
    assert!(matches!(parsed.records[0].transaction, Transaction::BlockFoundation(_)));
    parsed.records.iter().map(|r| r.tx_id).collect()
}

/// A client nonce proving the free issues of `pay_id` at height `height` (the pay nonce of a
/// chain below 256 blocks is the genesis digest's).
fn prove(pay_id: &PayId, issues: usize, height: u64) -> Vec<u8> {
    assert_eq!(pay_nonce_height(height), 1);
    let pay_nonce = PayNonce::from_digest(&genesis::digest(Chain::Local));
    let difficulty = scaled_difficulty(issues, Chain::Local);
    (0u64..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|nonce| proof_meets(&proof_digest(pay_id, &pay_nonce, nonce), &difficulty))
        .unwrap()
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

    // An asset, then two free issues of it (nonce 0) as bitmarkd's RPC sends them:
    // [issues][packed issues][0x00].
    let accounts = test_accounts(SEED);
    let asset = AssetData {
        name: "produced".into(),
        fingerprint: "e2e-produce-blocks".into(),
        metadata: "".into(),
        registrant: accounts[0].account.clone(),
        signature: Vec::new(),
    };
    let asset_id = asset.asset_id();
    let packed_asset = sign_record(asset.into(), &accounts[0].key, None).unwrap();
    let issues: Vec<Vec<u8>> = [1usize, 2]
        .iter()
        .map(|&who| {
            let issue =
                BitmarkIssue { asset_id, owner: accounts[who].account.clone(), nonce: 0, signature: Vec::new() };
            sign_record(issue.into(), &accounts[who].key, None).unwrap()
        })
        .collect();
    let mut client = client_of(&node, &data);
    push(&mut client, Push::Assets(packed_asset.clone()));
    push(&mut client, Push::Other { command: b"issues".to_vec(), params: vec![issues.concat(), vec![0]] });
    // Acknowledged before processing: the reservoir has them once /status counts them.
    assert!(eventually(|| reservoir_of(&node)["pending"] == 2), "{}\n{}", node.status(), node.log_text());
    let (_, metrics) = node.get("/metrics");
    assert!(metrics.contains("bitmark_reservoir_items{state=\"pending\"} 2\n"), "{metrics}");
    assert_eq!(tx_status(&node, &issues[0]), "Pending");
    assert_eq!(tx_status(&node, b"never pushed"), "Unknown");
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
    let pay_id = PayId::new(&issues);
    let mut proof = pay_id.0.to_vec();
    proof.extend(prove(&pay_id, issues.len(), 3));
    let mut client = client_of(&node, &data);
    push(&mut client, Push::Proof(proof));
    let confirmed = block_at(&node, &mut client, 4);
    let issue_ids: Vec<Link> = issues.iter().map(|i| Link::of(i)).collect();
    assert_eq!(confirmed[1..], [vec![Link::of(&packed_asset)], issue_ids.clone()].concat());
    assert!(eventually(|| reservoir_of(&node) == json!({"pending": 0, "verified": 0})), "{}", node.status());
    assert_eq!(tx_status(&node, &issues[1]), "Confirmed");

    // A transfer of a confirmed issue is verified at once on `local`, and confirmed next.
    let transfer = BitmarkTransferUnratified {
        link: issue_ids[0],
        escrow: None,
        owner: accounts[3].account.clone(),
        signature: Vec::new(),
    };
    let transfer = sign_record(transfer.into(), &accounts[1].key, None).unwrap();
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
