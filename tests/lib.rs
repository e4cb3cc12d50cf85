//! Shared helpers for the end-to-end tests in `tests/tests/it/`: build and locate the real
//! `bitmark-node` binary, run it, and read the repository's test data.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The workspace root (the directory holding the root Cargo.toml).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

/// The `bitmark-node` binary, built once per test process with the same cargo that runs the
/// tests (integration tests of another package cannot depend on a binary directly).
pub fn node_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--bin", "bitmark-node", "--manifest-path"])
            .arg(workspace_root().join("Cargo.toml"))
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building bitmark-node failed");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
        target.join("debug").join("bitmark-node")
    })
}

/// Have the kernel kill the child started by `command` when the thread that starts it ends
/// (`PR_SET_PDEATHSIG`), so that a test killed half-way leaves no node behind. Every test
/// starts its children from the thread that owns them for their whole life.
pub fn tied_to_parent(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Run the binary with `args`, feeding `stdin`, and return its output.
pub fn run_node(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = tied_to_parent(&mut Command::new(node_binary()))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bitmark-node starts");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("stdin accepts input");
    }
    child.wait_with_output().expect("bitmark-node finishes")
}

/// stdout of a run, parsed as the one JSON object every command prints.
pub fn json_of(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}): {text}"))
}

/// Directories [`repository_files`] never enters: build output, git, fuzzing corpora and
/// artifacts, anything hidden.
const SKIP_DIRS: [&str; 5] = ["target", ".git", "corpus", "artifacts", "node_modules"];

/// Every file under `dir` whose name ends with `suffix` (`.rs`, `.md`, `Cargo.toml`), for the
/// tests that check the repository's own text.
pub fn repository_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let (path, name) = (entry.path(), entry.file_name().to_string_lossy().into_owned());
        if path.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) && !name.starts_with('.') {
                found.extend(repository_files(&path, suffix));
            }
        } else if name.ends_with(suffix) {
            found.push(path);
        }
    }
    found
}

/// The lines of a Markdown text outside its fenced code blocks.
pub fn prose_lines(markdown: &str) -> impl Iterator<Item = &str> {
    let mut in_block = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            return false;
        }
        !in_block
    })
}

/// Every vector in `testdata/bitmarkd-vectors.json`.
pub fn vectors() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(workspace_root().join("testdata/bitmarkd-vectors.json")).expect("vector file");
    serde_json::from_str(&text).expect("vector JSON")
}

/// A `bitmark-node run` child process, with the JSON line it printed when it came up.
pub struct RunningNode {
    child: std::process::Child,
    /// The start-up report (`listening`, `status`, `publicKey`, `height`...).
    pub ready: serde_json::Value,
    /// Where its stderr (the log) goes.
    pub log: PathBuf,
}

/// How long a node may take to come up or to answer.
pub const NODE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl RunningNode {
    /// Start `bitmark-node run` with `args`, logging to `log`, and wait for its ready line.
    /// Panics (with the log) if it exits or says nothing within [`NODE_TIMEOUT`].
    pub fn start(args: &[&str], log: &Path) -> RunningNode {
        use std::io::BufRead;
        let log_file = std::fs::File::create(log).expect("log file");
        let mut child = tied_to_parent(&mut Command::new(node_binary()))
            .arg("run")
            .args(args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("bitmark-node starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(NODE_TIMEOUT).unwrap_or_default();
        let ready: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no ready line ({e}): {line:?}\n{}", std::fs::read_to_string(log).unwrap_or_default())
        });
        assert!(ready.get("error").is_none(), "node refused to start: {ready}");
        RunningNode { child, ready, log: log.to_path_buf() }
    }

    /// The first listener address.
    pub fn peer_addr(&self) -> std::net::SocketAddr {
        self.ready["listening"][0].as_str().and_then(|a| a.parse().ok()).expect("a listener address")
    }

    /// The status server address.
    pub fn status_addr(&self) -> std::net::SocketAddr {
        self.ready["status"].as_str().and_then(|a| a.parse().ok()).expect("a status address")
    }

    /// `GET path` on the status server: status code and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.status_addr(), path)
    }

    /// `/status`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let (code, body) = self.get("/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("status JSON")
    }

    /// What `GET /transaction/<tx id>` says of `tx_id`: bitmarkd's status texts (`Pending`,
    /// `Verified`, `Confirmed`, `Unknown`).
    pub fn tx_state(&self, tx_id: &bitmark_record::Link) -> String {
        let (code, body) = self.get(&format!("/transaction/{}", tx_id.raw_hex()));
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("transaction JSON");
        v["status"].as_str().unwrap_or_default().to_string()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `signal` (`TERM`, `INT`) and wait up to `limit` for the exit; the exit status and
    /// how long it took. Panics with the log if it does not exit in time.
    pub fn stop_with(
        mut self,
        signal: &str,
        limit: std::time::Duration,
    ) -> (std::process::ExitStatus, std::time::Duration) {
        let sent = std::time::Instant::now();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, sent.elapsed());
            }
            if sent.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "no exit within {limit:?} of SIG{signal}\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        // A test that failed half-way must not leave a node running.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A one-shot HTTP/1.0 `GET`: status code and body.
pub fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, NODE_TIMEOUT).expect("status server reachable");
    stream.set_read_timeout(Some(NODE_TIMEOUT)).expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").expect("request sent");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("response read");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, body.to_string())
}

/// Wait until `condition` holds, for at most [`NODE_TIMEOUT`]; false if it never did.
pub fn eventually(condition: impl FnMut() -> bool) -> bool {
    within(NODE_TIMEOUT, condition)
}

/// Wait until `condition` holds, for at most `limit` (polled every 100 ms); false if it never
/// did.
pub fn within(limit: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// `run` arguments for a local-chain node in `data` listening and reporting status on free
/// loopback ports, followed by `extra`.
pub fn node_args<'a>(data: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--chain",
        "local",
        "--data-dir",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--status",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    args
}

/// A CURVE client of `node`, whose server key is read from `<data_dir>/peer.public` as a peer
/// would (and checked against the key the node announced when it came up), with 20 s send and
/// receive timeouts.
pub fn client_of(node: &RunningNode, data_dir: &Path) -> bitmark_peer::transport::ZmqClient {
    client_with_keys(node, data_dir, &bitmark_peer::transport::CurveKeys::generate().expect("keys"))
}

/// [`client_of`] connecting with the key pair `keys` (the key its `R` must claim).
pub fn client_with_keys(
    node: &RunningNode,
    data_dir: &Path,
    keys: &bitmark_peer::transport::CurveKeys,
) -> bitmark_peer::transport::ZmqClient {
    use bitmark_node::keyfile::{self, KeyKind};
    use bitmark_peer::transport::{ClientConfig, ZmqClient};
    let server_key = keyfile::read(KeyKind::Public, &data_dir.join("peer.public")).expect("peer.public");
    assert_eq!(hex::encode(server_key), node.ready["publicKey"], "peer.public is the key the node uses");
    let mut config = ClientConfig::new(bitmark_record::Chain::Local, keys.clone());
    config.receive_timeout = std::time::Duration::from_secs(20);
    config.send_timeout = std::time::Duration::from_secs(20);
    let mut client = ZmqClient::new(&zmq::Context::new(), config);
    client.connect(node.peer_addr(), server_key).expect("connect");
    client
}

/// Records the tests push: assets, free issues and their proofs, signed by the accounts of the
/// test chain (`bitmark-node testchain` uses seed 1 unless told otherwise).
pub mod items {
    use bitmark_peer::transport::{Transport, ZmqClient};
    use bitmark_peer::wire::{Push, Reply, Request};
    use bitmark_record::assemble::sign_record;
    use bitmark_record::pay::{pay_nonce_height, proof_digest, proof_meets, scaled_difficulty};
    use bitmark_record::transaction::{AssetData, BitmarkIssue};
    use bitmark_record::{genesis, Chain, PayId, PayNonce};
    use bitmark_storage::testchain::{test_accounts, TestAccount};

    /// The seed `bitmark-node testchain` uses by default.
    pub const SEED: u64 = 1;

    /// The test chain's accounts for [`SEED`].
    pub fn accounts() -> Vec<TestAccount> {
        test_accounts(SEED)
    }

    /// Push `push` and check the node's acknowledgement (`[cmd]["A"]`, sent before processing).
    pub fn push(client: &mut ZmqClient, push: Push) {
        let command = push.command().to_vec();
        assert_eq!(client.request(&Request::Push(push)).unwrap(), Reply::Ack(command));
    }

    /// A packed asset registered by account 0, named `name`, and one free issue of it (nonce
    /// 0) for each account index in `owners`, signed by that owner.
    pub fn asset_and_issues(name: &str, owners: &[usize]) -> (Vec<u8>, Vec<Vec<u8>>) {
        let accounts = accounts();
        let asset = AssetData {
            name: name.into(),
            fingerprint: format!("e2e-{name}").into(),
            metadata: "".into(),
            registrant: accounts[0].account.clone(),
            signature: Vec::new(),
        };
        let asset_id = asset.asset_id();
        let packed_asset = sign_record(asset.into(), &accounts[0].key, None).unwrap();
        let issues = owners
            .iter()
            .map(|&who| {
                let issue =
                    BitmarkIssue { asset_id, owner: accounts[who].account.clone(), nonce: 0, signature: Vec::new() };
                sign_record(issue.into(), &accounts[who].key, None).unwrap()
            })
            .collect();
        (packed_asset, issues)
    }

    /// The tx ids of block `height` as `client`'s node serves it (`B`), after checking that
    /// it parses and starts with a foundation record.
    pub fn block_tx_ids(client: &mut ZmqClient, height: u64) -> Vec<bitmark_record::Link> {
        use bitmark_record::{block::PackedBlock, Transaction};
        let reply = client.request(&Request::Block(height)).unwrap();
        let Reply::Block(block) = reply else { panic!("no block {height}: {reply:?}") };
        let parsed = PackedBlock::parse(&block, Chain::Local, u64::MAX / 2).unwrap();
        assert!(matches!(parsed.records[0].transaction, Transaction::BlockFoundation(_)));
        parsed.records.iter().map(|r| r.tx_id).collect()
    }

    /// A packed unratified transfer of `link` from account `from` (its owner, who signs) to
    /// account `to`.
    pub fn transfer(link: bitmark_record::Link, from: usize, to: usize) -> Vec<u8> {
        use bitmark_record::transaction::BitmarkTransferUnratified;
        let accounts = accounts();
        let record = BitmarkTransferUnratified {
            link,
            escrow: None,
            owner: accounts[to].account.clone(),
            signature: Vec::new(),
        };
        sign_record(record.into(), &accounts[from].key, None).unwrap()
    }

    /// Free issues as bitmarkd's RPC relays them: `[issues][packed issues][0x00]`.
    pub fn issues_push(issues: &[Vec<u8>]) -> Push {
        Push::Other { command: b"issues".to_vec(), params: vec![issues.concat(), vec![0]] }
    }

    /// The `proof` push verifying the free `issues` on a local chain of `height` blocks:
    /// the pay id and a client nonce found by trying 0, 1, 2... (the pay nonce of a chain below
    /// 256 blocks is the genesis digest's).
    pub fn proof_push(issues: &[Vec<u8>], height: u64) -> Push {
        assert_eq!(pay_nonce_height(height), 1, "proofs on chains over 255 blocks are not supported here");
        let pay_id = PayId::new(issues);
        let pay_nonce = PayNonce::from_digest(&genesis::digest(Chain::Local));
        let difficulty = scaled_difficulty(issues.len(), Chain::Local);
        let nonce = (0u64..)
            .map(|n| n.to_le_bytes().to_vec())
            .find(|nonce| proof_meets(&proof_digest(&pay_id, &pay_nonce, nonce), &difficulty))
            .unwrap();
        Push::Proof([pay_id.0.to_vec(), nonce].concat())
    }
}

/// A client of bitmarkd's client RPC as Go's `net/rpc/jsonrpc` client talks to it: TLS (real
/// rustls, trusting only the node's own certificate), one JSON object per request followed by
/// a newline, one reply line per request.
pub mod rpc_client {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use serde_json::{json, Value};
    use std::io::{BufRead, BufReader, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    /// A TLS stream to the node.
    pub type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

    /// A rustls client configuration trusting exactly the certificate in `certificate_pem`.
    pub fn client_config(certificate_pem: &Path) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(certificate_pem).expect("certificate file") {
            roots.add(cert.expect("certificate PEM")).expect("a usable root");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("protocols")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// Connect over TLS to `addr` (the certificate is for `localhost`).
    pub fn connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> std::io::Result<Tls> {
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        let name = ServerName::try_from("localhost").expect("a name");
        let connection = rustls::ClientConnection::new(Arc::clone(config), name).map_err(std::io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        // Drive the handshake now, so a refused connection shows here.
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(tls)
    }

    /// A connected client with Go's sequence numbers.
    pub struct RpcClient {
        reader: BufReader<Tls>,
        next_id: u64,
    }

    impl RpcClient {
        /// Connect to `addr` trusting `certificate_pem`.
        pub fn connect(addr: SocketAddr, certificate_pem: &Path) -> RpcClient {
            let tls = connect(addr, &client_config(certificate_pem)).expect("TLS connection to the RPC");
            RpcClient { reader: BufReader::new(tls), next_id: 0 }
        }

        /// Write raw bytes.
        pub fn send_raw(&mut self, bytes: &[u8]) {
            let tls = self.reader.get_mut();
            tls.write_all(bytes).expect("request written");
            tls.flush().expect("flushed");
        }

        /// The next reply line, exactly as sent; empty at the end of the stream.
        pub fn read_line(&mut self) -> String {
            let mut line = String::new();
            let _ = self.reader.read_line(&mut line);
            line
        }

        /// Call `method` with `args` as Go's client does; the whole reply object.
        pub fn call(&mut self, method: &str, args: Value) -> Value {
            let id = self.next_id;
            self.next_id += 1;
            let request = json!({"method": method, "params": [args], "id": id});
            self.send_raw(format!("{request}\n").as_bytes());
            let line = self.read_line();
            let reply: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply to {method} ({e}): {line:?}"));
            assert_eq!(reply["id"], id, "{line}");
            reply
        }

        /// The result of `method`, panicking with the error if it failed.
        pub fn ok(&mut self, method: &str, args: Value) -> Value {
            let reply = self.call(method, args);
            assert!(reply["error"].is_null(), "{method}: {reply}");
            reply["result"].clone()
        }

        /// The error text of `method`, panicking if it succeeded.
        pub fn error(&mut self, method: &str, args: Value) -> String {
            let reply = self.call(method, args);
            assert!(reply["result"].is_null(), "{method}: {reply}");
            reply["error"].as_str().unwrap_or_else(|| panic!("{method}: {reply}")).to_string()
        }
    }

    /// The keys of a JSON object, in order (Go writes struct fields in declaration order).
    pub fn keys(value: &Value) -> Vec<&str> {
        value.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
    }
}
