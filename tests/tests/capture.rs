//! Peer message capture and replay with the real binary.
//!
//! The fixture `tests/captures/sync.jsonl` was recorded on node A serving the deterministic
//! chain `testchain --blocks 6 --seed 7` (standalone) while node B synced it and a client
//! pushed an asset and issues to A (re-record it with `record_the_sync_fixture`, below). The
//! tests rebuild the same chain and replay the capture against it: no differences, locally
//! and against a live node; against a shorter chain the differing replies are listed and the
//! exit status is 1; damaged lines are reported with their line numbers. A live node started
//! with `--capture` records exactly what a client sent and received.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_capture::format::{parse_line, Line};
use bitmark_capture::Direction;
use bitmark_node::keyfile::{self, KeyKind};
use bitmark_peer::transport::{ClientConfig, CurveKeys, Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::Chain;
use bitmark_tests::items::{asset_and_issues, issues_push, push};
use bitmark_tests::{eventually, json_of, node_args, run_node, within, workspace_root, RunningNode};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The recorded chain: `testchain --blocks BLOCKS --seed SEED`.
const BLOCKS: u64 = 6;
const SEED: u64 = 7;
const STOP_LIMIT: Duration = Duration::from_secs(5);

fn fixture() -> PathBuf {
    workspace_root().join("tests/captures/sync.jsonl")
}

fn test_chain(dir: &Path, blocks: u64) {
    let out = run_node(
        &[
            "testchain",
            "--blocks",
            &blocks.to_string(),
            "--seed",
            &SEED.to_string(),
            "--data-dir",
            dir.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// `bitmark-node replay <capture> <args> --json`: exit code and report.
fn replay(capture: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["replay", capture.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let out = run_node(&all, "");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), json_of(&out))
}

/// A CURVE client of `node` with known keys.
fn client(node: &RunningNode, data: &Path, keys: &CurveKeys) -> ZmqClient {
    let server_key = keyfile::read(KeyKind::Public, &data.join("peer.public")).unwrap();
    let mut config = ClientConfig::new(Chain::Local, keys.clone());
    config.send_timeout = Duration::from_secs(20);
    config.receive_timeout = Duration::from_secs(20);
    let mut client = ZmqClient::new(&zmq::Context::new(), config);
    client.connect(node.peer_addr(), server_key).unwrap();
    client
}

#[test]
fn the_fixture_replays_without_differences_on_the_same_chain_locally_and_live() {
    // The fixture holds what the issue asks of it: a sync and pushes, all answered.
    let out = run_node(&["capture", "inspect", fixture().to_str().unwrap(), "--json", "--no-list"], "");
    let summary = json_of(&out);
    assert!(out.status.success(), "{summary}");
    for command in ["R", "N", "H", "B", "assets", "issues"] {
        assert!(summary["commands"][command]["in"].as_u64() > Some(0), "no inbound {command}: {summary}");
    }
    assert_eq!(summary["damaged"], Value::Array(vec![]), "{summary}");
    assert_eq!(summary["files"][0]["header"]["height"], BLOCKS, "{summary}");

    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("a");
    test_chain(&data, BLOCKS);
    let (code, report) = replay(&fixture(), &["--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["different"], 0, "{report}");
    assert_eq!(report["equal"], report["compared"], "{report}");
    assert_eq!(report["compared"], summary["directions"]["in"], "every inbound request compared: {report}");

    // The same against a live node serving the chain, over CURVE.
    let node = RunningNode::start(&node_args(&data, &["--standalone"]), &tmp.path().join("node.log"));
    let target = format!("tcp://{}", node.peer_addr());
    let key = data.join("peer.public");
    let (code, report) = replay(&fixture(), &["--target", &target, "--server-key", key.to_str().unwrap()]);
    assert_eq!((code, &report["different"]), (Some(0), &Value::from(0)), "{report}");
    assert_eq!(report["compared"], summary["directions"]["in"], "{report}");
    // --filter and --from/--to pick what is sent.
    let (code, report) = replay(
        &fixture(),
        &["--target", &target, "--server-key", key.to_str().unwrap(), "--filter", "N", "--filter", "B", "--to", "12"],
    );
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        report["compared"].as_u64().unwrap() + report["skipped"].as_u64().unwrap(),
        summary["directions"]["in"].as_u64().unwrap(),
        "{report}"
    );
    assert!(report["skippedBy"]["filter"].as_u64() > Some(0) && report["skippedBy"]["range"].as_u64() > Some(0));
    let (exit, _) = node.stop_with("TERM", STOP_LIMIT);
    assert!(exit.success());
}

#[test]
fn against_another_chain_the_differing_replies_are_listed_and_the_exit_status_is_1() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("short");
    test_chain(&data, 3);
    let (code, report) = replay(&fixture(), &["--data-dir", data.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{report}");
    assert!(report["different"].as_u64() > Some(0), "{report}");
    let differences = report["differences"].as_array().unwrap();
    assert_eq!(differences.len() as u64, report["different"].as_u64().unwrap());
    // A's height was 6, this chain's is 3.
    let height = differences.iter().find(|d| d["command"] == "N").expect("an N difference");
    assert_eq!(height["expected"], serde_json::json!(["\"N\"", "0000000000000006"]), "{height}");
    assert_eq!(height["got"], serde_json::json!(["\"N\"", "0000000000000003"]), "{height}");
    // Block 6 was served; it is not here.
    let block = differences.iter().find(|d| d["command"] == "B" && d["got"][0] == "\"E\"").expect("a B difference");
    assert_eq!(block["got"][1], "\"block not found\"", "{block}");
    assert_eq!(block["expected"][0], "\"B\"", "{block}");
    assert!(block["expected"][1].as_str().unwrap().contains(" bytes)"), "abbreviated: {block}");
    assert!(differences.iter().all(|d| d["seq"].as_u64().is_some() && d["rule"].is_string()), "{report}");

    // The readable report lists them too.
    let out = run_node(&["replay", fixture().to_str().unwrap(), "--data-dir", data.to_str().unwrap()], "");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("seq ") && text.contains(" N (exact): expected [\"N\", 0000000000000006]"), "{text}");
    assert!(text.trim_end().ends_with("DIFFERENT"), "{text}");
}

#[test]
fn damaged_lines_are_reported_with_their_line_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture()).unwrap();
    let mut lines: Vec<String> = text.lines().take(12).map(str::to_owned).collect();
    // Line 3: truncated JSON. Line 5: a hex digit that is not one. Line 12 (the last): cut off.
    let half = lines[2].len() / 2;
    lines[2].truncate(half);
    lines[4] = lines[4].replacen("\"request\":[\"6c", "\"request\":[\"zc", 1);
    lines[11].truncate(20);
    let damaged = tmp.path().join("damaged.jsonl");
    std::fs::write(&damaged, lines.join("\n")).unwrap();

    let out = run_node(&["capture", "inspect", damaged.to_str().unwrap(), "--json"], "");
    assert!(out.status.success());
    let summary = json_of(&out);
    let found: Vec<(u64, String)> = summary["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["line"].as_u64().unwrap(), d["reason"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(found.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [3, 5, 12], "{summary}");
    assert!(found[0].1.contains("EOF"), "{found:?}");
    assert!(found[1].1.contains("bad hex"), "{found:?}");
    assert_eq!(summary["records"], 8, "the other lines are read: {summary}");

    let data = tmp.path().join("a");
    test_chain(&data, 2);
    let (_, report) = replay(&damaged, &["--data-dir", data.to_str().unwrap()]);
    let lines: Vec<&Value> = report["damaged"].as_array().unwrap().iter().map(|d| &d["line"]).collect();
    assert_eq!(lines, [3, 5, 12], "{report}");
    let out = run_node(&["capture", "inspect", damaged.to_str().unwrap()], "");
    assert!(String::from_utf8_lossy(&out.stdout).contains("damaged.jsonl:5: capture line: bad hex"));
}

#[test]
fn a_node_records_what_a_client_sent_and_received() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    let capture = tmp.path().join("live.jsonl");
    let args = node_args(&data, &["--standalone", "--capture", capture.to_str().unwrap()]);
    let node = RunningNode::start(&args, &tmp.path().join("node.log"));
    assert_eq!(node.ready["capture"], capture.to_str().unwrap());
    let keys = CurveKeys::generate().unwrap();
    let mut client = client(&node, &data, &keys);
    let requests: Vec<Vec<Vec<u8>>> = vec![
        Request::Info.to_frames(Chain::Local),
        Request::Height.to_frames(Chain::Local),
        Request::Digest(1).to_frames(Chain::Local),
        Request::Block(1).to_frames(Chain::Local),
        vec![b"bitmark".to_vec(), b"N".to_vec()],
        Request::Push(Push::Transfer(vec![1, 2, 3])).to_frames(Chain::Local),
    ];
    let mut exchanges = Vec::new();
    for request in requests {
        client.send_unprefixed(&request).unwrap();
        exchanges.push((request, client.receive().unwrap()));
    }
    assert_eq!(exchanges[4].1[0], b"E", "refused on the listener's socket thread");
    drop(client);
    let (exit, _) = node.stop_with("TERM", STOP_LIMIT);
    assert!(exit.success());

    let text = std::fs::read_to_string(&capture).unwrap();
    let lines: Vec<Line> = text.lines().map(|l| parse_line(l.as_bytes()).unwrap()).collect();
    let Line::Header(header) = &lines[0] else { panic!("no header: {text}") };
    assert_eq!((header.format, header.chain.as_str(), header.height), (1, "local", 1));
    assert_eq!(hex::encode(&header.node_key), node_key(&data));
    assert_eq!((header.mode.as_str(), header.part, header.first_seq), ("normal", 0, 1));
    assert!(header.tool.starts_with("bitmark-node "));
    let records: Vec<_> = lines.iter().filter_map(|l| if let Line::Exchange(r) = l { Some(r) } else { None }).collect();
    assert_eq!(records.len(), exchanges.len(), "{text}");
    for (seq, (record, (request, reply))) in records.iter().zip(&exchanges).enumerate() {
        assert_eq!(record.seq, seq as u64 + 1);
        assert_eq!(record.dir, Direction::In);
        assert_eq!(&record.request, request);
        assert_eq!(record.reply.as_ref(), Some(reply));
        assert_eq!(record.peer.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(record.peer.key.as_deref(), Some(keys.public.as_slice()), "the client's CURVE key");
    }
    assert!(matches!(lines.last(), Some(Line::End(end)) if end.records == 6 && end.dropped == 0), "{text}");
}

fn node_key(data: &Path) -> String {
    hex::encode(keyfile::read(KeyKind::Public, &data.join("peer.public")).unwrap())
}

/// Re-record `tests/captures/sync.jsonl`: `cargo test -p bitmark-tests --test capture --
/// --ignored record_the_sync_fixture` (about a minute: B's first election waits for the
/// connector's cycle). Node A serves `testchain --blocks 6 --seed 7` standalone with
/// `--capture`; a client asks `I` and `N` and pushes an asset and two issues; node B syncs
/// from A; then both stop and A's capture replaces the fixture.
#[test]
#[ignore = "re-records the committed fixture"]
fn record_the_sync_fixture() {
    let tmp = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));
    test_chain(&data_a, BLOCKS);
    let capture = tmp.path().join("sync.jsonl");
    let a = RunningNode::start(
        &node_args(&data_a, &["--standalone", "--capture", capture.to_str().unwrap()]),
        &tmp.path().join("a.log"),
    );
    let mut client = client(&a, &data_a, &CurveKeys::generate().unwrap());
    assert!(matches!(client.request(&Request::Info).unwrap(), Reply::Info(_)));
    assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(BLOCKS));
    let (packed_asset, issues) = asset_and_issues("captured", &[1, 2]);
    push(&mut client, Push::Assets(packed_asset));
    push(&mut client, issues_push(&issues));

    let connect = format!("{}@{}", a.ready["publicKey"].as_str().unwrap(), a.peer_addr());
    let b = RunningNode::start(
        &node_args(&data_b, &["--connect", &connect, "--min-clients", "1", "--sync-interval", "1s"]),
        &tmp.path().join("b.log"),
    );
    let synced = || {
        let status = b.status();
        status["height"] == BLOCKS && status["mode"] == "normal"
    };
    assert!(within(Duration::from_secs(180), synced), "B did not sync\n{}", b.log_text());
    assert!(eventually(|| a.status()["height"] == BLOCKS));
    drop(client);
    for node in [b, a] {
        let (exit, _) = node.stop_with("TERM", STOP_LIMIT);
        assert!(exit.success());
    }
    let size = std::fs::metadata(&capture).unwrap().len();
    assert!(size < 300_000, "the fixture must stay small: {size} bytes");
    std::fs::create_dir_all(fixture().parent().unwrap()).unwrap();
    std::fs::copy(&capture, fixture()).unwrap();
    println!("recorded {} ({size} bytes)", fixture().display());
}
