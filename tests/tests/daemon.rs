//! `bitmark-node run` as users run it: the real binary on loopback. A standalone node serves
//! its stored chain over CURVE, reports it on `/status` and `/metrics`, and stops cleanly on
//! SIGTERM and SIGINT keeping its keys and `peers.json`; a bad configuration is refused with
//! the field and the reason; a node with `--connect` registers with the other node.

use bitmark_node::keyfile::{self, KeyKind};
use bitmark_peer::transport::{CurveKeys, Transport};
use bitmark_peer::wire::{packed_address, Reply, Request};
use bitmark_record::{BlockDigest, Chain};
use bitmark_tests::{client_of, client_with_keys, eventually, json_of, node_args, run_node, RunningNode};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The shutdown promise.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// A local test chain of `height` in `dir`; its blocks and digests (index 0 is block 2).
fn test_chain(dir: &Path, height: u64) -> (Vec<Vec<u8>>, Vec<BlockDigest>) {
    let out = run_node(&["testchain", "--blocks", &height.to_string(), "--data-dir", dir.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let store = bitmark_node::node::datadir::open_store(dir, Chain::Local, Default::default()).unwrap();
    let blocks = (2..=height).map(|n| store.block(n).unwrap().unwrap()).collect();
    let digests = (2..=height).map(|n| store.digest_for(n).unwrap()).collect();
    (blocks, digests)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The value of an unlabelled or exactly-labelled sample in a Prometheus text.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_standalone_node_serves_reports_and_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    let (blocks, digests) = test_chain(&data, 4);
    let args = node_args(&data, &["--standalone"]);
    let node = RunningNode::start(&args, &tmp.path().join("node.log"));
    assert_eq!(node.ready["height"], 4);
    assert_eq!(node.ready["mode"], "normal");
    assert_eq!(node.ready["keysCreated"], true);
    let public = std::fs::read_to_string(data.join("peer.public")).unwrap();
    let private = std::fs::read_to_string(data.join("peer.private")).unwrap();

    // The chain over CURVE, byte for byte.
    let mut client = client_of(&node, &data);
    assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(4));
    for (i, n) in (2..=4u64).enumerate() {
        assert_eq!(client.request(&Request::Block(n)).unwrap(), Reply::Block(blocks[i].clone()), "B {n}");
        assert_eq!(client.request(&Request::Digest(n)).unwrap(), Reply::Digest(digests[i]), "H {n}");
    }
    assert_eq!(client.request(&Request::Block(5)).unwrap(), Reply::Error("block not found".into()));
    // Two peers register, each with the key it connects with: with ourselves that is enough
    // entries for bitmarkd to back them up.
    let register = |public_key: &[u8], port: u16| Request::Register {
        chain: Chain::Local,
        public_key: public_key.to_vec(),
        listeners: packed_address::pack_all(&[format!("127.0.0.1:{port}").parse().unwrap()]),
        timestamp: now(),
    };
    for port in [30001u16, 30002] {
        let keys = CurveKeys::generate().unwrap();
        let reply = client_with_keys(&node, &data, &keys).request(&register(&keys.public, port)).unwrap();
        assert!(matches!(reply, Reply::Registered { .. } | Reply::Error(_)), "{reply:?}");
    }
    // A third claims a key it does not hold: refused, and not stored.
    let reply = client.request(&register(&[3; 32], 30003)).unwrap();
    assert_eq!(reply, Reply::Error("invalid public key".into()));

    // /status and /metrics.
    let status = node.status();
    let tip = digests.last().unwrap().raw_hex();
    for (key, want) in [
        ("chain", json!("local")),
        ("height", json!(4)),
        ("digest", json!(tip)),
        ("mode", json!("normal")),
        ("state", json!("standalone")),
        ("upstreams", json!([])),
        ("peers", json!(3)),
        ("reservoir", json!({"pending": 0, "verified": 0})),
    ] {
        assert_eq!(status[key], want, "{key} in {status}");
    }
    assert_eq!(status["sync"]["localHeight"], 4);
    assert!(eventually(|| node.status()["incomingConnections"].as_u64() >= Some(1)), "{}", node.status());
    let (code, metrics) = node.get("/metrics");
    assert_eq!(code, 200);
    assert_eq!(sample(&metrics, "bitmark_chain_height"), Some(4.0), "{metrics}");
    assert_eq!(sample(&metrics, "bitmark_mode_normal"), Some(1.0));
    assert_eq!(sample(&metrics, "bitmark_peer_requests_total{command=\"N\"}"), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, "bitmark_peer_requests_total{command=\"B\"}"), Some(4.0));
    assert_eq!(sample(&metrics, "bitmark_peer_requests_total{command=\"R\"}"), Some(3.0));
    assert_eq!(sample(&metrics, "bitmark_errors_total{source=\"reply\",kind=\"block not found\"}"), Some(1.0));
    assert_eq!(sample(&metrics, "bitmark_peers_known"), Some(3.0));
    assert_eq!(node.get("/nope").0, 404);
    drop(client);

    // SIGTERM: a clean exit in time, keys kept and peers saved.
    let (exit, took) = node.stop_with("TERM", STOP_LIMIT);
    assert!(exit.success(), "{exit:?}");
    assert!(took < STOP_LIMIT, "{took:?}");
    assert_eq!(std::fs::read_to_string(data.join("peer.public")).unwrap(), public);
    assert_eq!(std::fs::read_to_string(data.join("peer.private")).unwrap(), private);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(data.join("peers.json")).unwrap()).unwrap();
    assert_eq!(saved.as_array().map(Vec::len), Some(2), "{saved}");

    // Restarted: the same keys, the peers restored; SIGINT stops it as cleanly.
    let node = RunningNode::start(&args, &tmp.path().join("node2.log"));
    assert_eq!(node.ready["keysCreated"], false);
    assert_eq!(node.ready["publicKey"], hex::encode(keyfile::parse(KeyKind::Public, &public).unwrap()));
    assert_eq!(node.status()["peers"], 3);
    let (exit, took) = node.stop_with("INT", STOP_LIMIT);
    assert!(exit.success() && took < STOP_LIMIT, "{exit:?} after {took:?}");
}

#[test]
fn a_bad_configuration_is_refused_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("node.toml");
    let data = tmp.path().to_str().unwrap();
    let cases: [(&str, &[&str], &str); 5] = [
        (
            "chain = \"local\"\n[peering]\nlisten_on = [\"127.0.0.1:0\"]\n",
            &[],
            "peering.listen_on: unknown field `listen_on`",
        ),
        ("chain = \"local\"\nmin_clients = 0\n", &[], "min_clients: must be at least 1"),
        ("chain = \"local\"\n", &["--connect", "abcd@127.0.0.1:1"], "--connect"),
        ("chain = \"local\"\ncapture_max_bytes = 100\n", &[], "capture_max_bytes: must be at least 4096"),
        (
            "chain = \"testing\"\n",
            &["--produce-blocks", "1"],
            "--produce-blocks: blocks can only be produced on the local",
        ),
    ];
    for (text, flags, want) in cases {
        std::fs::write(&config, text).unwrap();
        let mut args = vec!["run", "--config", config.to_str().unwrap(), "--data-dir", data];
        args.extend(flags);
        let out = run_node(&args, "");
        assert_eq!(out.status.code(), Some(1), "{text}");
        let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
        assert!(error.starts_with("configuration: ") && error.contains(want), "{text}: {error}");
    }
    // Nothing was started: no keys were made.
    assert!(!tmp.path().join("peer.public").exists());
}

#[test]
fn a_node_registers_with_the_peer_it_is_told_to_connect_to() {
    let tmp = tempfile::tempdir().unwrap();
    let (data_a, data_b) = (tmp.path().join("a"), tmp.path().join("b"));
    test_chain(&data_a, 4);
    let a = RunningNode::start(
        &[
            "--chain",
            "local",
            "--data-dir",
            data_a.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--status",
            "127.0.0.1:0",
            "--standalone",
        ],
        &tmp.path().join("a.log"),
    );
    let a_key = a.ready["publicKey"].as_str().unwrap().to_string();
    let connect = format!("{a_key}@{}", a.peer_addr());
    let b = RunningNode::start(
        &[
            "--chain",
            "local",
            "--data-dir",
            data_b.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--status",
            "127.0.0.1:0",
            "--connect",
            &connect,
            "--min-clients",
            "1",
        ],
        &tmp.path().join("b.log"),
    );
    assert_eq!(b.ready["height"], 1);
    let registered = eventually(|| {
        let upstreams = &b.status()["upstreams"];
        upstreams[0]["registered"] == true && upstreams[0]["remoteHeight"] == 4
    });
    let status = b.status();
    assert!(registered, "{status}\n{}", b.log_text());
    assert_eq!(status["upstreams"].as_array().map(Vec::len), Some(1));
    let upstream = &status["upstreams"][0];
    assert_eq!(upstream["address"], a.peer_addr().to_string());
    assert_eq!(upstream["key"], a_key);
    assert_eq!(upstream["score"], 0.0);
    // The connector runs (syncing A's chain is `sync.rs`'s test); progress shows A's height.
    let state = status["state"].as_str().unwrap_or_default().to_string();
    let states = ["Connecting", "HighestBlock", "ForkDetect", "FetchBlocks", "Rebuild", "Sampling"];
    assert!(states.contains(&state.as_str()), "{status}");
    assert_eq!(status["sync"]["targetHeight"], 4);
    let (_, metrics) = b.get("/metrics");
    assert_eq!(sample(&metrics, "bitmark_upstreams{state=\"registered\"}"), Some(1.0), "{metrics}");
    // A saw B's registration and polls.
    let (_, metrics) = a.get("/metrics");
    assert!(sample(&metrics, "bitmark_peer_requests_total{command=\"R\"}") >= Some(1.0), "{metrics}");
    assert!(sample(&metrics, "bitmark_peer_requests_total{command=\"N\"}") >= Some(1.0), "{metrics}");

    for node in [b, a] {
        let (exit, took) = node.stop_with("TERM", STOP_LIMIT);
        assert!(exit.success() && took < STOP_LIMIT, "{exit:?} after {took:?}");
    }
}

#[test]
fn a_node_stops_in_time_while_an_upstream_waits_on_a_dead_peer() {
    let tmp = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the upstream's registration attempt waits for its timeout.
    let connect = format!("{}@127.0.0.1:1", "ab".repeat(32));
    let node = RunningNode::start(
        &[
            "--chain",
            "local",
            "--data-dir",
            tmp.path().join("n").to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--connect",
            &connect,
        ],
        &tmp.path().join("n.log"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let (exit, took) = node.stop_with("TERM", STOP_LIMIT);
    assert!(exit.success() && took < STOP_LIMIT, "{exit:?} after {took:?}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tmp.path().join("n");
    let base = ["run", "--chain", "local", "--data-dir", data.to_str().unwrap(), "--standalone"];
    for (flags, want) in [
        (["--listen", "127.0.0.1:0", "--status", addr.as_str()], format!("status server on {addr}")),
        (["--listen", addr.as_str(), "--status", "127.0.0.1:0"], format!("bind tcp://{addr}")),
    ] {
        let args: Vec<&str> = base.iter().chain(flags.iter()).copied().collect();
        let out = run_node(&args, "");
        assert_eq!(out.status.code(), Some(1));
        let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(&want), "{error}");
    }
}
