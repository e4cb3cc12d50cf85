//! bitmarkd's client RPC over the real binary and a real TLS client (rustls, trusting only the
//! certificate the node made on first run):
//!
//! - the whole flow: on a local chain producing blocks, `Bitmarks.Create` registers an asset and
//!   issues two bitmarks, `Transaction.Status` goes `Pending` → `Confirmed` once the proof of
//!   work is in (`Bitmarks.Proof`), `Bitmark.Transfer` moves one, `Bitmark.Provenance` and
//!   `Owner.Bitmarks` show it, and a second node that synced answers the same provenance;
//!   replies are compared field by field, in Go's field order;
//! - the framing: exactly the bytes Go's `net/rpc/jsonrpc` client writes, several requests in
//!   one write, replies in order, byte-level shape;
//! - every bad input: malformed JSON, unknown methods, wrong parameter types, an oversize
//!   request, garbage instead of TLS, a slow client, more clients than `maximum_connections` —
//!   each gets bitmarkd's error reply or a closed connection while other clients, `/status`
//!   and the peer listener are answered;
//! - two clients trickling bytes to the status port do not deny `/status`.

use bitmark_peer::transport::Transport;
use bitmark_peer::wire::{Reply, Request};
use bitmark_record::assemble::sign_record;
use bitmark_record::pay::{proof_digest, proof_meets, scaled_difficulty};
use bitmark_record::transaction::BitmarkTransferUnratified;
use bitmark_record::{Chain, Link, PayId, PayNonce, Transaction};
use bitmark_tests::items::{accounts, asset_and_issues};
use bitmark_tests::rpc_client::{client_config, connect, keys, RpcClient};
use bitmark_tests::{client_of, eventually, node_args, run_node, within, RunningNode};
use rustls::pki_types::pem::PemObject;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A local chain of 3 blocks in `dir/name`.
fn chain(dir: &Path, name: &str) -> PathBuf {
    let data = dir.join(name);
    let out = run_node(&["testchain", "--blocks", "3", "--data-dir", data.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    data
}

fn rpc_addr(node: &RunningNode) -> SocketAddr {
    node.ready["rpc"]["listening"][0].as_str().and_then(|a| a.parse().ok()).expect("an RPC address")
}

fn certificate(node: &RunningNode) -> PathBuf {
    PathBuf::from(node.ready["rpc"]["certificate"].as_str().expect("the certificate path"))
}

fn client(node: &RunningNode) -> RpcClient {
    RpcClient::connect(rpc_addr(node), &certificate(node))
}

/// A record's JSON as a client sends it (bitmarkd's field names).
fn record_json(packed: &[u8]) -> Value {
    Transaction::unpack(packed, true).unwrap().0.to_json()
}

/// A client nonce meeting the difficulty of `count` free issues under `pay_id` and `pay_nonce`.
fn proof_nonce(pay_id: &PayId, pay_nonce: &PayNonce, count: usize) -> Vec<u8> {
    let difficulty = scaled_difficulty(count, Chain::Local);
    (0u64..)
        .map(|n| n.to_le_bytes().to_vec())
        .find(|nonce| proof_meets(&proof_digest(pay_id, pay_nonce, nonce), &difficulty))
        .unwrap()
}

fn status_of(client: &mut RpcClient, tx_id: &str) -> String {
    client.ok("Transaction.Status", json!({"txId": tx_id}))["status"].as_str().unwrap().to_string()
}

#[test]
fn a_client_registers_issues_transfers_and_reads_provenance_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let data = chain(tmp.path(), "a");
    let node = RunningNode::start(
        &node_args(&data, &["--standalone", "--produce-blocks", "1", "--rpc", "127.0.0.1:0"]),
        &tmp.path().join("a.log"),
    );
    assert_eq!(node.ready["rpc"]["certificateCreated"], true);
    assert_eq!(node.ready["rpc"]["fingerprint"].as_str().unwrap().len(), 64);
    let mut c = client(&node);

    let info = c.ok("Node.Info", json!({}));
    assert_eq!(
        keys(&info),
        [
            "chain",
            "mode",
            "block",
            "miner",
            "rpcs",
            "peers",
            "transactionCounters",
            "difficulty",
            "hashrate",
            "version",
            "uptime",
            "publicKey"
        ]
    );
    assert_eq!((info["chain"].as_str(), info["mode"].as_str()), (Some("local"), Some("Normal")));
    assert_eq!(info["block"]["height"], 3);
    assert_eq!(info["publicKey"], node.ready["publicKey"]);
    assert_eq!(info["rpcs"], 1);

    // An asset and two free issues of it, as bitmark-cli sends them.
    let (packed_asset, issues) = asset_and_issues("rpc", &[1, 2]);
    let created = c.ok(
        "Bitmarks.Create",
        json!({"assets": [record_json(&packed_asset)], "issues": issues.iter().map(|i| record_json(i)).collect::<Vec<_>>()}),
    );
    assert_eq!(keys(&created), ["assets", "issues", "payId", "payNonce", "difficulty"]);
    let asset_id = record_json(&issues[0])["assetId"].clone();
    assert_eq!(created["assets"], json!([{"id": asset_id, "duplicate": false}]));
    let issue_ids: Vec<String> = issues.iter().map(|i| Link::of(i).raw_hex()).collect();
    assert_eq!(created["issues"], json!([{"txId": issue_ids[0]}, {"txId": issue_ids[1]}]));
    assert_eq!(created["difficulty"].as_str().unwrap().len(), 64);
    assert_eq!(status_of(&mut c, &issue_ids[0]), "Pending");

    // The proof of work: accepted, then the producer confirms the issues.
    let pay_id = PayId::from_hex(created["payId"].as_str().unwrap()).unwrap();
    let pay_nonce = PayNonce::from_hex(created["payNonce"].as_str().unwrap()).unwrap();
    let nonce = proof_nonce(&pay_id, &pay_nonce, 2);
    let proof = c.ok("Bitmarks.Proof", json!({"payId": pay_id, "nonce": hex::encode(&nonce)}));
    assert_eq!(proof, json!({"status": "Accepted"}));
    assert!(eventually(|| status_of(&mut c, &issue_ids[0]) == "Confirmed"), "{}", node.log_text());
    assert_eq!(node.tx_state(&Link::of(&issues[0])), "Confirmed");
    let height = node.status()["height"].as_u64().unwrap();
    let (_, body) = node.get(&format!("/transaction/{}", issue_ids[0]));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["blockNumber"], height);

    // A transfer of the first bitmark from account 1 to account 3.
    let transfer = BitmarkTransferUnratified {
        link: Link::of(&issues[0]),
        escrow: None,
        owner: accounts()[3].account.clone(),
        signature: Vec::new(),
    };
    let packed_transfer = sign_record(transfer.into(), &accounts()[1].key, None).unwrap();
    let mut args = record_json(&packed_transfer);
    args["countersignature"] = json!("");
    let moved = c.ok("Bitmark.Transfer", args);
    assert_eq!(keys(&moved), ["txId", "bitmarkId", "payId", "payments"]);
    let transfer_id = Link::of(&packed_transfer).raw_hex();
    assert_eq!((moved["txId"].as_str(), moved["bitmarkId"].as_str()), (Some(&*transfer_id), Some(&*issue_ids[0])));
    assert!(eventually(|| status_of(&mut c, &transfer_id) == "Confirmed"), "{}", node.log_text());

    // The provenance: the transfer (owned now), the issue, the asset.
    let provenance = c.ok("Bitmark.Provenance", json!({"txId": transfer_id, "count": 10}));
    let entries = provenance["data"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{provenance}");
    assert_eq!(keys(&entries[0]), ["record", "isOwner", "txId", "inBlock", "data"]);
    assert_eq!(keys(&entries[2]), ["record", "isOwner", "inBlock", "assetId", "data"]);
    let records: Vec<(&str, bool)> =
        entries.iter().map(|e| (e["record"].as_str().unwrap(), e["isOwner"].as_bool().unwrap())).collect();
    assert_eq!(records, [("BitmarkTransferUnratified", true), ("BitmarkIssue", false), ("AssetData", false)]);
    assert_eq!(entries[1]["txId"], issue_ids[0]);
    assert_eq!(entries[2]["assetId"], asset_id);
    assert!(entries[0]["inBlock"].is_string(), "inBlock is a decimal string");
    assert_eq!(entries[0]["data"]["owner"], accounts()[3].account.to_base58());

    // The full history from the bitmark id: `isOwner` is left out when false.
    let full = c.ok("Bitmark.FullProvenance", json!({"bitmarkId": issue_ids[0]}));
    let full = full["data"].as_array().unwrap();
    assert_eq!(keys(&full[0]), ["record", "isOwner", "txId", "inBlock", "data"]);
    assert_eq!(keys(&full[1]), ["record", "txId", "inBlock", "data"]);
    assert_eq!(full[2]["record"], "AssetData");
    assert_eq!(c.error("Bitmark.FullProvenance", json!({"bitmarkId": transfer_id})), "transaction is not an issue");

    // The asset, and the block holding the issues, records decoded.
    let assets = c.ok("Assets.Get", json!({"fingerprints": ["e2e-rpc", "nobody"]}));
    assert_eq!(keys(&assets["assets"][0]), ["record", "confirmed", "id", "data"]);
    assert_eq!((assets["assets"][0]["confirmed"].as_bool(), &assets["assets"][0]["id"]), (Some(true), &asset_id));
    assert_eq!(assets["assets"][1], json!({"record": "", "confirmed": false, "data": null}));
    let dump = c.ok("Node.BlockDump", json!({"height": height.to_string(), "binary": true}));
    assert_eq!(keys(&dump["block"]), ["digest", "header", "transactions", "binary"]);
    let txs: Vec<&str> =
        dump["block"]["transactions"].as_array().unwrap().iter().map(|t| t["txId"].as_str().unwrap()).collect();
    assert!(txs.contains(&issue_ids[0].as_str()), "{dump}");
    assert_eq!(dump["block"]["header"]["number"], height.to_string());

    // What account 3 owns now.
    let owned = c.ok("Owner.Bitmarks", json!({"owner": accounts()[3].account.to_base58(), "Start": "0", "count": 10}));
    assert_eq!(keys(&owned), ["next", "data", "tx"]);
    // (Account 3 also holds bitmarks of the test chain.)
    let list = owned["data"].as_array().unwrap();
    let item = list.iter().find(|i| i["txId"] == transfer_id).unwrap_or_else(|| panic!("{owned}"));
    assert_eq!(keys(item), ["n", "txId", "issue", "item", "assetId"]);
    assert_eq!((item["txId"].as_str(), item["issue"].as_str()), (Some(&*transfer_id), Some(&*issue_ids[0])));
    assert_eq!((item["item"].as_str(), &item["assetId"]), (Some("Asset"), &asset_id));
    let tx = owned["tx"].as_object().unwrap();
    assert_eq!(keys(&tx[&transfer_id]), ["record", "txId", "inBlock", "data"]);
    assert_eq!(keys(&tx[asset_id.as_str().unwrap()]), ["record", "inBlock", "assetId", "data"]);
    assert!(tx[&transfer_id]["inBlock"].is_u64(), "a number here, unlike Provenance");
    let last = list.last().unwrap()["n"].as_str().unwrap().parse::<u64>().unwrap();
    assert_eq!(owned["next"], (last + 1).to_string());
    assert_eq!(keys(&tx[&issue_ids[0]]), ["record", "txId", "inBlock", "data"]);

    // A second node syncs from the first and answers the same provenance.
    let data_b = tmp.path().join("b");
    let connect = format!("{}@{}", node.ready["publicKey"].as_str().unwrap(), node.peer_addr());
    let follower = RunningNode::start(
        &node_args(
            &data_b,
            &["--connect", &connect, "--min-clients", "1", "--sync-interval", "1s", "--rpc", "127.0.0.1:0"],
        ),
        &tmp.path().join("b.log"),
    );
    let target = node.status()["height"].clone();
    assert!(
        eventually(|| {
            let s = follower.status();
            s["height"] == target && s["mode"] == "normal"
        }),
        "{}",
        follower.log_text()
    );
    let mut cb = client(&follower);
    assert_eq!(cb.ok("Bitmark.Provenance", json!({"txId": transfer_id, "count": 10})), provenance);
    assert_eq!(cb.ok("Node.Info", json!({}))["mode"], "Normal");
}

#[test]
fn go_clients_bytes_get_replies_in_order_with_gos_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let data = chain(tmp.path(), "a");
    let node =
        RunningNode::start(&node_args(&data, &["--standalone", "--rpc", "127.0.0.1:0"]), &tmp.path().join("a.log"));
    let mut c = client(&node);
    // What Go's jsonrpc client writes for three calls: `{"method":…,"params":[args],"id":N}`
    // and a newline each, here in one write.
    let unknown = "0".repeat(64);
    let request = format!(
        "{{\"method\":\"Node.Info\",\"params\":[{{}}],\"id\":0}}\n\
         {{\"method\":\"Transaction.Status\",\"params\":[{{\"txId\":\"{unknown}\"}}],\"id\":1}}\n\
         {{\"method\":\"BlockOwner.TxIDForBlock\",\"params\":[{{\"blockNumber\":99}}],\"id\":2}}\n"
    );
    c.send_raw(request.as_bytes());
    let first = c.read_line();
    assert!(
        first.starts_with("{\"id\":0,\"result\":{\"chain\":\"local\",\"mode\":\"Normal\",\"block\":{\"height\":3,"),
        "{first}"
    );
    assert!(first.ends_with(",\"error\":null}\n"), "{first:?}");
    assert!(first.contains("\"difficulty\":1,\"hashrate\":2.133,"), "Go's float form: {first}");
    assert_eq!(c.read_line(), "{\"id\":1,\"result\":{\"status\":\"Unknown\"},\"error\":null}\n");
    assert_eq!(c.read_line(), "{\"id\":2,\"result\":null,\"error\":\"block not found\"}\n");
    // The connection stays open for more.
    assert_eq!(c.ok("BlockOwner.TxIDForBlock", json!({"blockNumber": 2}))["txId"].as_str().map(str::len), Some(64));
}

#[test]
fn bad_input_gets_bitmarkds_errors_or_a_closed_connection_and_stalls_nobody() {
    let tmp = tempfile::tempdir().unwrap();
    let data = chain(tmp.path(), "a");
    let config = tmp.path().join("node.toml");
    std::fs::write(&config, "[client_rpc]\nmaximum_connections = 3\n").unwrap();
    let args = node_args(&data, &["--standalone", "--config", config.to_str().unwrap(), "--rpc", "127.0.0.1:0"]);
    let node = RunningNode::start(&args, &tmp.path().join("a.log"));
    let addr = rpc_addr(&node);
    let mut c = client(&node);

    // Unknown methods, missing and mistyped parameters: bitmarkd's (Go's) texts.
    assert_eq!(c.error("Foo.Bar", json!({})), "rpc: can't find service Foo.Bar");
    assert_eq!(c.error("Node.Nope", json!({})), "rpc: can't find method Node.Nope");
    assert_eq!(c.error("NodeInfo", json!({})), "rpc: service/method request ill-formed: NodeInfo");
    c.send_raw(b"{\"method\":\"Node.Info\",\"id\":9}");
    assert_eq!(c.read_line(), "{\"id\":9,\"result\":null,\"error\":\"jsonrpc: request body missing params\"}\n");
    c.send_raw(b"{\"method\":\"Node.Info\",\"params\":{},\"id\":10}");
    assert_eq!(
        c.read_line(),
        "{\"id\":10,\"result\":null,\"error\":\"json: cannot unmarshal object into Go value of type [1]interface {}\"}\n"
    );
    let owner = accounts()[1].account.to_base58();
    assert_eq!(
        c.error("Owner.Bitmarks", json!({"owner": owner, "Start": "0", "count": "5"})),
        "json: cannot unmarshal string into Go struct field BitmarksArguments.count of type int"
    );
    assert_eq!(
        c.error("Node.BlockDump", json!({"height": 2})),
        "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into uint64"
    );
    assert_eq!(c.error("Transaction.Status", json!({"txId": "beef"})), "not link");
    assert_eq!(c.error("Owner.Bitmarks", json!({"owner": owner, "count": 101})), "invalid count");
    assert_eq!(c.error("Bitmarks.Create", json!({})), "missing parameters");
    assert_eq!(c.error("Bitmarks.Proof", json!({"nonce": "00"})), "invalid nonce");
    assert_eq!(c.error("Share.Balance", json!({"owner": owner, "count": 0})), "invalid count");
    assert_eq!(c.ok("Node.Info", json!({}))["block"]["height"], 3, "the connection survives errors");

    // Malformed JSON and a non-string method close the connection without a reply.
    for garbage in [&b"{\"method\":\"Node.Info\",\"params\":[{}],\"id\":1,}"[..], b"{\"method\":5}", b"hello"] {
        let mut bad = client(&node);
        bad.send_raw(garbage);
        assert_eq!(bad.read_line(), "", "{}", String::from_utf8_lossy(garbage));
    }

    // A request over the size limit closes the connection.
    let mut big = client(&node);
    let mut huge = b"{\"method\":\"Node.BlockDecode\",\"params\":[{\"packed\":\"".to_vec();
    huge.resize(5 << 20, b'A');
    let tls = big_write(&mut big, &huge);
    assert!(tls, "the node stops reading an oversize request");
    assert_eq!(big.read_line(), "");

    // Garbage instead of TLS: the handshake fails and the connection closes.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest);
    assert!(!rest.starts_with(b"HTTP"), "no HTTP answer on the RPC port");

    // A slow client: half a request, then nothing. Others are answered meanwhile, and it is
    // closed once its request deadline passes.
    let mut slow = client(&node);
    slow.send_raw(b"{\"method\":\"Node.Info\",\"par");
    let started = Instant::now();
    assert_eq!(c.ok("Node.Info", json!({}))["chain"], "local");
    assert_eq!(node.status()["height"], 3, "the status port answers");
    let mut peer = client_of(&node, &data);
    assert_eq!(peer.request(&Request::Height).unwrap(), Reply::Height(3), "the peer listener answers");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(slow.read_line(), "", "closed at the request deadline");
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());

    // More clients than maximum_connections (3): c and two more are served, the fourth closed.
    let _second = client(&node);
    let _third = client(&node);
    let config = client_config(&certificate(&node));
    let refused = connect(addr, &config);
    assert!(refused.is_err(), "a fourth connection is closed");
    drop(_third);
    assert!(within(Duration::from_secs(5), || connect(addr, &config).is_ok()), "a slot frees when a client leaves");
    assert_eq!(c.ok("Node.Info", json!({}))["block"]["height"], 3);
}

/// Write `bytes` until the node stops taking them; true if it closed the connection.
fn big_write(client: &mut RpcClient, bytes: &[u8]) -> bool {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| client.send_raw(bytes)));
    result.is_err() || client.read_line().is_empty()
}

#[test]
fn two_trickling_clients_do_not_deny_status() {
    let tmp = tempfile::tempdir().unwrap();
    let data = chain(tmp.path(), "a");
    let node = RunningNode::start(&node_args(&data, &["--standalone"]), &tmp.path().join("a.log"));
    let addr = node.status_addr();
    // Two clients each send one byte of a request every 1.5 s (the old one-at-a-time server
    // with its per-read timeout served nobody else while they did).
    let tricklers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                for b in b"GET /status HTTP/1.1\r\n" {
                    if s.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1500));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(node.status()["height"], 3);
        assert!(started.elapsed() < Duration::from_secs(1), "/status took {:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(700));
    }
    drop(tricklers);
}

/// One HTTPS request (HTTP/1.1, `Connection: close`) to `addr`: status and body.
fn https(addr: SocketAddr, certificate: &Path, request: &str) -> (u16, String) {
    let mut tls = connect(addr, &client_config(certificate)).expect("TLS to the HTTPS API");
    tls.write_all(request.as_bytes()).unwrap();
    let mut text = Vec::new();
    let _ = tls.read_to_end(&mut text);
    let text = String::from_utf8_lossy(&text).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0), body.to_string())
}

#[test]
fn the_https_api_answers_bitmarkds_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = chain(tmp.path(), "a");
    let node = RunningNode::start(
        &node_args(&data, &["--standalone", "--rpc", "127.0.0.1:0", "--https-rpc", "127.0.0.1:0"]),
        &tmp.path().join("a.log"),
    );
    let addr: SocketAddr = node.ready["https"]["listening"][0].as_str().unwrap().parse().unwrap();
    let cert = certificate(&node);
    assert_eq!(node.ready["https"]["fingerprint"], node.ready["rpc"]["fingerprint"], "the pair is shared");
    let get = |path: &str| {
        https(addr, &cert, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
    };

    let (code, body) = get("/bitmarkd/details");
    assert_eq!(code, 200, "{body}");
    let details: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        keys(&details),
        [
            "chain",
            "mode",
            "block",
            "rpcs",
            "peers",
            "transactionCounters",
            "difficulty",
            "hashrate",
            "version",
            "uptime",
            "publicKey"
        ]
    );
    assert_eq!(details["block"]["count"]["local"], 3);
    assert_eq!(get("/bitmarkd/connections"), (200, "{\"connectedTo\":[]}".to_string()));
    let (code, peers) = get("/bitmarkd/peers?count=5");
    assert_eq!(code, 200);
    assert!(serde_json::from_str::<Value>(&peers).unwrap().is_array());
    assert_eq!(get("/nowhere"), (404, "{\"code\":404,\"error\":\"not found\"}".to_string()));
    assert_eq!(get("/bitmarkd/rpc").0, 405);

    let call = "{\"method\":\"Node.Info\",\"params\":[{}],\"id\":3}";
    let (code, body) = https(
        addr,
        &cert,
        &format!(
            "POST /bitmarkd/rpc HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{call}",
            call.len()
        ),
    );
    assert_eq!(code, 200);
    assert!(
        body.starts_with("{\"id\":3,\"result\":{\"chain\":\"local\"") && body.ends_with("\"error\":null}\n"),
        "{body}"
    );
}

/// bitmarkd's `gen-rpc-cert` makes an ECDSA P-521 key in SEC1 form (`EC PRIVATE KEY`) and a
/// self-signed certificate; openssl makes the same here, and the node must serve TLS with them
/// unchanged and report bitmarkd's fingerprint (SHA3-256 of the certificate's DER).
#[test]
fn a_bitmarkd_p521_certificate_pair_loads_unchanged() {
    use sha3::Digest;
    let tmp = tempfile::tempdir().unwrap();
    let data = chain(tmp.path(), "a");
    let (crt, key) = (data.join("bitmarkd-rpc.crt"), data.join("bitmarkd-rpc.key"));
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl").args(args).output().expect("openssl runs");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    openssl(&["ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", key.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&key).unwrap().starts_with("-----BEGIN EC PRIVATE KEY-----"));
    openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        key.to_str().unwrap(),
        "-out",
        crt.to_str().unwrap(),
        "-days",
        "30",
        "-subj",
        "/O=bitmarkd self signed cert for: rpc",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        // webpki (the test client) refuses a CA certificate as a server certificate.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
    ]);
    let config = tmp.path().join("node.toml");
    std::fs::write(&config, "[client_rpc]\ncertificate = \"bitmarkd-rpc.crt\"\nprivate_key = \"bitmarkd-rpc.key\"\n")
        .unwrap();
    let node = RunningNode::start(
        &node_args(&data, &["--standalone", "--config", config.to_str().unwrap(), "--rpc", "127.0.0.1:0"]),
        &tmp.path().join("a.log"),
    );
    assert_eq!(node.ready["rpc"]["certificateCreated"], false);
    let der = rustls::pki_types::CertificateDer::pem_file_iter(&crt).unwrap().next().unwrap().unwrap();
    assert_eq!(node.ready["rpc"]["fingerprint"], hex::encode(sha3::Sha3_256::digest(der.as_ref())));
    let mut c = RpcClient::connect(rpc_addr(&node), &crt);
    assert_eq!(c.ok("Node.Info", json!({}))["chain"], "local", "served over TLS signed with the P-521 key");
}
