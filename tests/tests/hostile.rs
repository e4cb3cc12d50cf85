//! Hostile peers against a real node process: push floods into the real reservoir, upstreams
//! that accept connections and never answer, and an upstream serving a forged, taller chain.
//! Throughout each attack an honest client asks `N` every 20 ms ([`Prober`]); every probe must
//! get the node's height within the client's timeout (20 s), and the latencies are printed
//! (`--nocapture`) for the README's figures. Attacks on the listener alone (garbage, oversize,
//! plaintext, other chains, registration floods, reconnect storms) are in `peer/tests/hostile.rs`.
//!
//! Counts are small so the file runs in seconds; `make soak` runs the `#[ignore]`d larger ones.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_peer::listener::{ChainView, Handler, NoRelay};
use bitmark_peer::testing::{FakePeers, FakePool, Prober};
use bitmark_peer::transport::{CurveKeys, ListenerConfig, ListenerLimits, Transport, ZmqClient, ZmqListener};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::assemble::sign_record;
use bitmark_record::transaction::{AssetData, BitmarkIssue};
use bitmark_record::{genesis, BlockDigest, BlockHeader, Chain, Fault, PrivateKey};
use bitmark_storage::testchain::test_accounts;
use bitmark_tests::{client_of, eventually, json_of, node_args, run_node, within, RunningNode};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the honest client asks.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);
/// The shutdown promise.
const STOP_LIMIT: Duration = Duration::from_secs(5);

/// The syncing nodes here run the connector every second (`--sync-interval 1s`): the second
/// round after start is the first that can fetch a block.
const SYNC_LIMIT: Duration = Duration::from_secs(30);

/// A fresh data directory under `tmp` holding a `blocks`-high local test chain (1: genesis only).
fn chain_dir(tmp: &Path, name: &str, blocks: u64) -> PathBuf {
    let data = tmp.join(name);
    if blocks > 1 {
        let out = run_node(&["testchain", "--blocks", &blocks.to_string(), "--data-dir", data.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
    data
}

/// The pending reservoir items `node` reports on `/status`.
fn pending(node: &RunningNode) -> u64 {
    node.status()["reservoir"]["pending"].as_u64().unwrap_or(u64::MAX)
}

/// Stop `node` within the shutdown promise and check its chain.
fn stop_and_check(node: RunningNode, data: &Path) {
    let log = node.log_text();
    let (exit, took) = node.stop_with("TERM", STOP_LIMIT);
    eprintln!("stopped in {took:?}");
    assert!(exit.success() && took < STOP_LIMIT, "{exit:?} after {took:?}");
    assert!(!log.contains("panicked"), "{log}");
    let check = run_node(&["check", "--data-dir", data.to_str().unwrap()], "");
    assert!(check.status.success(), "{}", json_of(&check));
}

/// Deterministic junk (xorshift), no dependency.
struct Junk(u64);

impl Junk {
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 as u8
            })
            .collect()
    }
}

/// A registered asset and `groups` groups of `size` free issues of it (each issue owned by a
/// fresh account), as packed records: what an honest RPC would push.
struct ValidItems {
    asset: Vec<u8>,
    groups: Vec<Vec<u8>>,
}

impl ValidItems {
    fn new(groups: usize, size: usize) -> ValidItems {
        let registrant = &test_accounts(1)[0];
        let asset = AssetData {
            name: "flood".into(),
            fingerprint: "hostile-push-flood".into(),
            metadata: "".into(),
            registrant: registrant.account.clone(),
            signature: Vec::new(),
        };
        let asset_id = asset.asset_id();
        let asset = sign_record(asset.into(), &registrant.key, None).unwrap();
        let groups = (0..groups)
            .map(|g| {
                (0..size)
                    .flat_map(|i| {
                        let mut seed = [0x77u8; 32];
                        seed[..8].copy_from_slice(&((g * size + i) as u64).to_le_bytes());
                        let owner = PrivateKey::from_ed25519_seed(seed, true);
                        let account = owner.account().expect("an ed25519 key has an account");
                        let issue = BitmarkIssue { asset_id, owner: account, nonce: 0, signature: Vec::new() };
                        sign_record(issue.into(), &owner, None).unwrap()
                    })
                    .collect()
            })
            .collect();
        ValidItems { asset, groups }
    }
}

/// Push and check the acknowledgement, which every push gets whatever becomes of it.
fn push(client: &mut ZmqClient, push: Push) {
    let command = push.command().to_vec();
    assert_eq!(client.request(&Request::Push(push)).unwrap(), Reply::Ack(command));
}

/// Pushes a flooder sends before reading any acknowledgement.
const PIPELINE: usize = 250;

/// A CURVE DEALER connected to `node` (server key from `<data>/peer.public`): unlike a REQ
/// client it can send many requests without waiting for the replies.
fn dealer_of(node: &RunningNode, data: &Path) -> zmq::Socket {
    use bitmark_node::keyfile::{self, KeyKind};
    let server_key = keyfile::read(KeyKind::Public, &data.join("peer.public")).expect("peer.public");
    let own = CurveKeys::generate().unwrap();
    let socket = zmq::Context::new().socket(zmq::DEALER).unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(20_000).unwrap();
    socket.set_curve_publickey(&own.public).unwrap();
    socket.set_curve_secretkey(&own.secret).unwrap();
    socket.set_curve_serverkey(&server_key).unwrap();
    socket.connect(&format!("tcp://{}", node.peer_addr())).unwrap();
    socket
}

/// Send every push in `batch` at once, then read as many replies: each must acknowledge one
/// of them (`[""][command]["A"]`; replies may come in another order than the pushes).
fn pipeline(dealer: &zmq::Socket, batch: &[Push]) {
    for item in batch {
        let frames = [vec![vec![]], Request::Push(item.clone()).to_frames(Chain::Local)].concat();
        dealer.send_multipart(frames, 0).unwrap();
    }
    let mut acks: Vec<Vec<u8>> = (0..batch.len())
        .map(|_| {
            let reply = dealer.recv_multipart(0).expect("every push acknowledged");
            match &reply[..] {
                [empty, command, ack] if empty.is_empty() && ack == b"A" => command.clone(),
                _ => panic!("not an acknowledgement: {reply:?}"),
            }
        })
        .collect();
    let mut sent: Vec<Vec<u8>> = batch.iter().map(|p| p.command().to_vec()).collect();
    acks.sort();
    sent.sort();
    assert_eq!(acks, sent);
}

/// A header linked to `previous` claiming height `n`, over records that cannot make a block.
fn forged_block(n: u64, previous: BlockDigest) -> Vec<u8> {
    let base = genesis::base_record(Chain::Local);
    let header = BlockHeader {
        version: 1,
        transaction_count: 2,
        number: n,
        previous_block: previous,
        timestamp: bitmark_peer::clock::unix_secs(std::time::SystemTime::now()),
        ..genesis::header(Chain::Local)
    };
    [header.pack().as_slice(), base, base].concat()
}

fn push_flood(soaking: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let height = 3;
    let data = chain_dir(tmp.path(), "node", height);
    let node = RunningNode::start(&node_args(&data, &["--standalone"]), &tmp.path().join("node.log"));
    let tip = node.ready["digest"].as_str().and_then(|d| BlockDigest::from_raw_hex(d).ok()).expect("tip digest");
    let probe = Prober::start(client_of(&node, &data), height, PROBE_INTERVAL);

    // The soak run goes past the reservoir's 20 000 pending free issues.
    let (groups, size) = if soaking { (205, 100) } else { (10, 10) };
    let valid = ValidItems::new(groups, size);
    let expected = (groups * size).min(bitmark_reservoir::MAXIMUM_PENDING_FREE_ISSUES) as u64;
    let mut client = client_of(&node, &data);
    push(&mut client, Push::Assets(valid.asset.clone()));
    // Pushes are processed on two workers: retry the first group until the asset is in.
    assert!(
        eventually(|| {
            push(&mut client, Push::Issues(valid.groups[0].clone()));
            pending(&node) == size as u64
        }),
        "{}",
        node.log_text()
    );

    // The flood: junk of every kind, the valid groups over and over, and now and then a block
    // that links to our tip but cannot be valid, from several connections at once. Such a block
    // costs the node an Argon2d digest (about 0.3 s of a core) before it can be refused, so
    // its few copies fill the push workers and the queue behind them: the flood also runs
    // into the push queue's bound (pushes acknowledged and dropped).
    let per_thread = if soaking { 25_000 } else { 1_000 };
    let largest = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let (node, data, valid, largest) = (&node, &data, &valid, &largest);
            scope.spawn(move || {
                let mut junk = Junk(0x9e37_79b9_7f4a_7c15 ^ t);
                let dealer = dealer_of(node, data);
                let items = (0..per_thread).map(|i| match i % 8 {
                    0 => Push::Issues(junk.bytes(200)),
                    1 => Push::Transfer(junk.bytes(150)),
                    2 => Push::Block(junk.bytes(300)),
                    3 if i % 200 == 3 => Push::Block(forged_block(height + 1, tip)),
                    3 => Push::Block(junk.bytes(100)),
                    4 => Push::Assets(junk.bytes(120)),
                    5 => Push::Proof(junk.bytes(60)),
                    _ => Push::Issues(valid.groups[i % valid.groups.len()].clone()),
                });
                let items: Vec<Push> = items.collect();
                for batch in items.chunks(PIPELINE) {
                    pipeline(&dealer, batch);
                    largest.fetch_max(pending(node), Ordering::SeqCst);
                }
            });
        }
    });
    // Some valid pushes may have been dropped by a full push queue (acknowledged all the same):
    // push each group once more from a quiet connection, which the queue always takes.
    for group in &valid.groups {
        push(&mut client, Push::Issues(group.clone()));
    }
    assert!(eventually(|| pending(&node) == expected), "{} != {expected}\n{}", node.status(), node.log_text());
    let largest = largest.load(Ordering::SeqCst).max(pending(&node));
    let status = node.status();
    assert_eq!(status["height"], height, "{status}");
    let report = probe.finish();
    let dropped = node.log_text().matches("push queue full: acknowledged and dropped").count();
    eprintln!(
        "push flood: {} pushes, {dropped} dropped by the full push queue; reservoir peaked at {largest} pending of \
         {expected} distinct",
        4 * per_thread
    );
    assert!(largest <= expected, "the reservoir counted {largest} > {expected} distinct valid issues");
    report.assert_all_answered(&format!("push flood ({} pushes from 4 connections)", 4 * per_thread), 1);
    stop_and_check(node, &data);
}

#[test]
fn push_flood_is_acknowledged_and_the_reservoir_counts_each_item_once() {
    push_flood(false);
}

#[test]
#[ignore = "soak: make soak"]
fn soak_push_flood_past_the_reservoir_limit() {
    push_flood(true);
}

/// A TCP listener that accepts every connection and then neither reads nor writes.
struct Sink {
    addr: SocketAddr,
    held: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let held = Arc::new(Mutex::new(Vec::new()));
        let kept = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                kept.lock().unwrap().push(stream);
            }
        });
        Sink { addr, held }
    }
}

/// A CURVE ROUTER that completes the handshake, reads every request and never replies.
struct Mute {
    addr: SocketAddr,
    key: [u8; 32],
    received: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Mute {
    fn start() -> Mute {
        let context = zmq::Context::new();
        let keys = CurveKeys::generate().unwrap();
        let socket = context.socket(zmq::ROUTER).unwrap();
        socket.set_curve_server(true).unwrap();
        socket.set_curve_secretkey(&keys.secret).unwrap();
        socket.set_linger(0).unwrap();
        socket.set_rcvtimeo(100).unwrap();
        socket.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = socket.get_last_endpoint().unwrap().unwrap();
        let addr = endpoint.trim_start_matches("tcp://").parse().unwrap();
        let (received, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (counter, stopped) = (received.clone(), stop.clone());
        std::thread::spawn(move || {
            let _context = context;
            while !stopped.load(Ordering::SeqCst) {
                if socket.recv_multipart(0).is_ok() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Mute { addr, key: keys.public, received, stop }
    }
}

impl Drop for Mute {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn upstreams_that_never_answer_do_not_hold_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let height = 3;
    let data = chain_dir(tmp.path(), "node", height);
    let (sink, mute) = (Sink::start(), Mute::start());
    let sink_key = CurveKeys::generate().unwrap().public;
    let connect =
        [format!("{}@{}", hex::encode(sink_key), sink.addr), format!("{}@{}", hex::encode(mute.key), mute.addr)];
    let args = node_args(
        &data,
        &["--connect", &connect[0], "--connect", &connect[1], "--min-clients", "1", "--sync-interval", "1s"],
    );
    let node = RunningNode::start(&args, &tmp.path().join("node.log"));
    let probe = Prober::start(client_of(&node, &data), height, PROBE_INTERVAL);

    // Both are dialled: the sink holds a TCP connection, the mute peer has our `R`.
    assert!(eventually(|| !sink.held.lock().unwrap().is_empty()), "{}", node.log_text());
    assert!(eventually(|| mute.received.load(Ordering::SeqCst) > 0), "{}", node.log_text());
    // Serve a while with both registrations hanging.
    std::thread::sleep(Duration::from_secs(2));
    let status = node.status();
    let upstreams = status["upstreams"].as_array().expect("upstreams");
    let dialled: Vec<&Value> = upstreams.iter().filter(|u| !u["address"].is_null()).collect();
    assert_eq!(dialled.len(), 2, "{status}");
    assert!(dialled.iter().all(|u| u["registered"] == false), "{status}");
    assert_eq!((&status["height"], &status["mode"]), (&Value::from(height), &Value::from("resynchronise")));
    let report = probe.finish();
    report.assert_all_answered("silent upstreams (TCP sink and mute ROUTER)", 1);
    stop_and_check(node, &data);
}

/// A peer serving a chain taller than ours whose blocks cannot be valid: its own genesis is
/// ours, its digests are consistent with its blocks' links, its blocks are forgeries.
struct ForgedChain {
    height: u64,
}

impl ForgedChain {
    fn digest_of(&self, n: u64) -> BlockDigest {
        if n <= 1 {
            genesis::digest(Chain::Local)
        } else {
            BlockDigest([n as u8; 32])
        }
    }
}

impl ChainView for ForgedChain {
    fn height(&self) -> u64 {
        self.height
    }
    fn digest(&self, n: u64) -> Result<BlockDigest, Fault> {
        (n <= self.height).then(|| self.digest_of(n)).ok_or(Fault::BlockNotFound)
    }
    fn genesis_digest(&self) -> BlockDigest {
        genesis::digest(Chain::Local)
    }
    fn block(&self, n: u64) -> Option<Vec<u8>> {
        (2..=self.height).contains(&n).then(|| forged_block(n, self.digest_of(n - 1)))
    }
    fn is_normal(&self) -> bool {
        true
    }
    fn chain(&self) -> Chain {
        Chain::Local
    }
}

#[test]
fn a_forged_taller_chain_is_not_adopted_and_its_peer_is_penalised() {
    let tmp = tempfile::tempdir().unwrap();
    let context = zmq::Context::new();
    let keys = CurveKeys::generate().unwrap();
    let handler = Handler::new(
        "forger",
        Arc::new(ForgedChain { height: 40 }),
        Arc::new(FakePool::default()),
        Arc::new(FakePeers::default()),
        Arc::new(NoRelay),
    );
    let config = ListenerConfig {
        chain: Chain::Local,
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        secret_key: keys.secret,
        limits: ListenerLimits::default(),
    };
    let forger = ZmqListener::start(&context, config, Arc::new(handler)).unwrap();
    let connect = format!("{}@{}", hex::encode(keys.public), forger.local_addrs()[0]);

    let data = chain_dir(tmp.path(), "node", 1);
    let args = node_args(&data, &["--connect", &connect, "--min-clients", "1", "--sync-interval", "1s"]);
    let node = RunningNode::start(&args, &tmp.path().join("node.log"));
    let probe = Prober::start(client_of(&node, &data), 1, PROBE_INTERVAL);

    // The node elects the taller chain, fetches block 2, refuses it and penalises the sender.
    let upstream = || {
        let status = node.status();
        status["upstreams"].as_array().and_then(|u| u.iter().find(|u| u["key"] == hex::encode(keys.public)).cloned())
    };
    let penalised =
        within(SYNC_LIMIT, || upstream().is_some_and(|u| u["score"].as_f64() > Some(0.0) || u["state"] == "banned"));
    assert!(penalised, "{}\n{}", node.status(), node.log_text());
    let status = node.status();
    assert_eq!(status["height"], 1, "{status}");
    assert_eq!(status["mode"], "resynchronise", "{status}");
    eprintln!("forged chain: upstream after refusal {}", upstream().unwrap_or_default());
    assert!(node.log_text().contains("invalid block"), "{}", node.log_text());
    probe.finish().assert_all_answered("forged taller chain", 1);
    stop_and_check(node, &data);
    forger.shutdown();
}
