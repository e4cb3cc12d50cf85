//! The crash loop: a node that syncs and accepts pushes is killed with SIGKILL at random moments,
//! again and again, and restarted on the same data directory each time.
//!
//! * Node A serves a small local chain standalone and produces a block every second from its
//!   verified items (`--produce-blocks 1`), so the chain keeps growing.
//! * Node B syncs from A (`--connect A --min-clients 1`, a 500 ms connector interval so that it
//!   is back in normal mode about 1.5 s after a restart) and receives pushes from a client:
//!   free issues, one new owner each. Half of them are also pushed to A with their proof of
//!   work, so A confirms them in a block that B must sync; the others stay pending in B.
//! * B is killed at a random moment: while starting up (before its ready line), while catching
//!   up with A, or in normal mode while pushes are being processed.
//!
//! What must hold, after every kill:
//!
//! * `bitmark-node check --data-dir B` passes, at a height no lower than any B reported;
//! * B's height never goes backward (its ready line after the restart, every `/status` poll);
//! * every acknowledged push is still in B's reservoir or in one of its blocks, and a confirmed
//!   one stays confirmed.
//!
//! **Acknowledged** means that B answered `GET /transaction/<tx id>` with `Pending`,
//! `Verified` or `Confirmed`. The peer protocol's acknowledgement, `[cmd]["A"]`, is sent for
//! every push before it is processed (bitmarkd's behaviour), so it promises nothing; the
//! status endpoint flushes the reservoir before it reports an item held, which is the promise
//! tested here.
//!
//! The seed of the random moments is printed (and in every failure message); set
//! `CRASH_LOOP_SEED` to repeat a run and `CRASH_LOOP_KILLS` to change the number of kills.
//! The default run kills 20 times (about 30 s); the `#[ignore]`d one 100 times (about two
//! minutes, `make soak`).

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_node::workload;
use bitmark_peer::transport::{Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::{AssetId, Chain, Link};
use bitmark_tests::items::push;
use bitmark_tests::{client_of, eventually, json_of, node_args, node_binary, run_node, RunningNode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The owners of this test's records are `workload::owner(SALT, i)`.
const SALT: u64 = 0xc4a5;
/// How long B runs before a kill, at most (at least [`MIN_WINDOW`]).
const MAX_WINDOW: Duration = Duration::from_millis(2200);
const MIN_WINDOW: Duration = Duration::from_millis(100);
/// One kill in this many happens during start-up, before the ready line.
const STARTUP_KILL_EVERY: u64 = 5;
/// Connections asking B about the acknowledged pushes after a restart.
const VERIFIERS: usize = 8;

/// xorshift64*: the random moments, repeatable from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(self.below(span + 1))
    }
}

/// [`RunningNode::tx_state`] of every id in `ids`, asked over a few connections at once: the status server
/// answers one at a time, but a connection already waiting is accepted at once.
fn tx_states(node: &RunningNode, ids: &[Link]) -> Vec<(Link, String)> {
    let chunk = ids.len().div_ceil(VERIFIERS).max(1);
    std::thread::scope(|s| {
        let asks: Vec<_> = ids
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|id| (*id, node.tx_state(id))).collect::<Vec<_>>()))
            .collect();
        asks.into_iter().flat_map(|a| a.join().expect("a status query")).collect()
    })
}

fn height_of(node: &RunningNode) -> u64 {
    node.status()["height"].as_u64().unwrap_or(0)
}

/// Node A with its client, and the asset every issue is of.
struct Server {
    node: RunningNode,
    client: ZmqClient,
    asset_id: AssetId,
}

impl Server {
    /// A local chain of 3 blocks, served standalone with a producer; then an asset and its
    /// first issue, proven, confirmed in block 4.
    fn start(dir: &Path) -> Server {
        let data = dir.join("a");
        let out = run_node(&["testchain", "--blocks", "3", "--data-dir", data.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let node =
            RunningNode::start(&node_args(&data, &["--standalone", "--produce-blocks", "1"]), &dir.join("a.log"));
        let client = client_of(&node, &data);
        let (asset_id, asset) = workload::asset(&workload::owner(SALT, 0), "crash loop").unwrap();
        let mut server = Server { node, client, asset_id };
        push(&mut server.client, Push::Assets(asset));
        let first = workload::issue(asset_id, &workload::owner(SALT, 1), 0).unwrap();
        server.confirm(&first);
        assert!(eventually(|| height_of(&server.node) >= 4), "{}", server.node.log_text());
        server
    }

    /// Push a free issue and, once A holds it, its proof: A's producer confirms it.
    fn confirm(&mut self, issue: &[u8]) {
        push(&mut self.client, Push::Issues(issue.to_vec()));
        let tx_id = Link::of(issue);
        assert!(eventually(|| self.node.tx_state(&tx_id) != "Unknown"), "A refused an issue");
        let height = height_of(&self.node);
        let client = &mut self.client;
        let nonce = workload::pay_nonce(Chain::Local, height, |n| match client.request(&Request::Digest(n)) {
            Ok(Reply::Digest(d)) => Some(d),
            _ => None,
        })
        .expect("a pay nonce");
        push(&mut self.client, Push::Proof(workload::proof(Chain::Local, &[issue], &nonce)));
    }

    /// Wait until A has confirmed everything it verified.
    fn settle(&self) {
        assert!(
            eventually(|| self.node.status()["reservoir"]["verified"] == 0),
            "A never confirmed its verified items: {}",
            self.node.status()
        );
    }
}

/// How B was when it was killed.
#[derive(Default, Debug)]
struct Tally {
    during_startup: u64,
    while_syncing: u64,
    in_normal_mode: u64,
    pushes: u64,
}

/// The loop's state: B's arguments and everything B has promised so far.
struct CrashLoop {
    dir: PathBuf,
    data: PathBuf,
    args: Vec<String>,
    server: Server,
    rng: Rng,
    context: String,
    lives: u64,
    next_owner: u64,
    /// Highest height B ever reported.
    max_height: u64,
    /// Acknowledged pushes and the state last seen; whether A was asked to confirm them.
    acknowledged: HashMap<Link, (String, bool)>,
    tally: Tally,
}

impl CrashLoop {
    fn new(dir: &Path, seed: u64) -> CrashLoop {
        let server = Server::start(dir);
        let data = dir.join("b");
        let connect = format!("{}@{}", server.node.ready["publicKey"].as_str().unwrap(), server.node.peer_addr());
        let args = node_args(&data, &["--connect", &connect, "--min-clients", "1", "--sync-interval", "500ms"])
            .into_iter()
            .map(String::from)
            .collect();
        CrashLoop {
            dir: dir.to_path_buf(),
            data,
            args,
            server,
            rng: Rng(seed | 1),
            context: format!("crash loop seed {seed} (CRASH_LOOP_SEED={seed} repeats it)"),
            lives: 0,
            next_owner: 2,
            max_height: 0,
            acknowledged: HashMap::new(),
            tally: Tally::default(),
        }
    }

    fn log(&self) -> PathBuf {
        self.dir.join(format!("b{}.log", self.lives))
    }

    /// Start B and check what it promised: its height, and every acknowledged push.
    fn start(&mut self) -> RunningNode {
        self.lives += 1;
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let b = RunningNode::start(&args, &self.log());
        let height = b.ready["height"].as_u64().unwrap_or(0);
        assert!(height >= self.max_height, "{}: height went back from {} to {height}", self.context, self.max_height);
        self.max_height = height;
        let ids: Vec<Link> = self.acknowledged.keys().copied().collect();
        for (tx_id, now) in tx_states(&b, &ids) {
            let Some((seen, _)) = self.acknowledged.get_mut(&tx_id) else { continue };
            let kept = match seen.as_str() {
                "Confirmed" => now == "Confirmed",
                _ => matches!(now.as_str(), "Pending" | "Verified" | "Confirmed"),
            };
            assert!(kept, "{}: acknowledged {} was {seen}, now {now}\n{}", self.context, tx_id.raw_hex(), b.log_text());
            *seen = now;
        }
        b
    }

    /// Kill B at a random moment of its start-up, before it says it is ready.
    fn kill_during_startup(&mut self) {
        self.lives += 1;
        let log = std::fs::File::create(self.log()).unwrap();
        let mut child = Command::new(node_binary())
            .arg("run")
            .args(&self.args)
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("bitmark-node starts");
        std::thread::sleep(self.rng.between(Duration::ZERO, Duration::from_millis(400)));
        let _ = child.kill();
        let _ = child.wait();
        self.tally.during_startup += 1;
    }

    /// Run B for a random time, pushing to it whenever it is in normal mode, then kill it.
    fn kill_while_running(&mut self) {
        let b = self.start();
        let window = self.rng.between(MIN_WINDOW, MAX_WINDOW);
        let began = Instant::now();
        let mut client: Option<ZmqClient> = None;
        let mut unacknowledged: Vec<(Link, bool)> = Vec::new();
        let mut normal = false;
        while began.elapsed() < window {
            let status = b.status();
            let height = status["height"].as_u64().unwrap_or(0);
            assert!(height >= self.max_height, "{}: height went back to {height}\n{status}", self.context);
            self.max_height = height;
            normal = status["mode"] == "normal";
            if normal {
                let client = client.get_or_insert_with(|| client_of(&b, &self.data));
                let issue = workload::issue(self.server.asset_id, &workload::owner(SALT, self.next_owner), 0).unwrap();
                self.next_owner += 1;
                push(client, Push::Issues(issue.clone()));
                self.tally.pushes += 1;
                let to_a = self.rng.below(2) == 0;
                if to_a {
                    self.server.confirm(&issue);
                }
                unacknowledged.push((Link::of(&issue), to_a));
            }
            unacknowledged.retain(|(tx_id, to_a)| {
                let state = b.tx_state(tx_id);
                let held = matches!(state.as_str(), "Pending" | "Verified" | "Confirmed");
                if held {
                    self.acknowledged.insert(*tx_id, (state, *to_a));
                }
                !held
            });
            std::thread::sleep(Duration::from_millis(30));
        }
        if normal {
            self.tally.in_normal_mode += 1;
        } else {
            self.tally.while_syncing += 1;
        }
        let (exit, _) = b.stop_with("KILL", Duration::from_secs(5));
        assert!(!exit.success(), "{}: B exited by itself", self.context);
    }

    /// `check` on B's data directory passes, at no lower height than B reported.
    fn check(&self) {
        let out = run_node(&["check", "--data-dir", self.data.to_str().unwrap()], "");
        let report = json_of(&out);
        assert!(out.status.success() && report["ok"] == true, "{}: check failed: {report}", self.context);
        let height = report["height"].as_u64().unwrap_or(0);
        assert!(height >= self.max_height, "{}: {height} stored, {} reported", self.context, self.max_height);
    }
}

fn crash_loop(default_kills: u64) {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let kills = env("CRASH_LOOP_KILLS").unwrap_or(default_kills);
    let seed = env("CRASH_LOOP_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("crash loop: {kills} kills, seed {seed}");
    let tmp = tempfile::tempdir().unwrap();
    let mut run = CrashLoop::new(tmp.path(), seed);

    // B's first sync, so that it knows the asset before the first push.
    let b = run.start();
    assert!(eventually(|| b.status()["mode"] == "normal"), "{}\n{}", run.context, b.log_text());
    drop(b);

    for kill in 0..kills {
        if kill % STARTUP_KILL_EVERY == STARTUP_KILL_EVERY - 1 {
            run.kill_during_startup();
        } else {
            run.kill_while_running();
        }
        run.check();
    }

    // Everything A was asked to confirm is in its chain; a restarted B (which asks A's height
    // afresh) syncs it, and then holds every acknowledged push: confirmed if A confirmed it,
    // else still pending.
    run.server.settle();
    let a_height = height_of(&run.server.node);
    let b = run.start();
    assert!(
        eventually(|| b.status()["height"] == a_height && b.status()["mode"] == "normal"),
        "{}: B did not catch up with A at {a_height}: {}\n{}",
        run.context,
        b.status(),
        b.log_text()
    );
    for (tx_id, (_, to_a)) in &run.acknowledged {
        let want = if *to_a { "Confirmed" } else { "Pending" };
        assert_eq!(b.tx_state(tx_id), want, "{}: {}", run.context, tx_id.raw_hex());
    }
    println!(
        "crash loop: {:?}; {} pushes acknowledged; B at height {a_height} after {} lives",
        run.tally,
        run.acknowledged.len(),
        run.lives
    );
    // Something was at stake: pushes were acknowledged, and B synced blocks A produced.
    assert!(!run.acknowledged.is_empty() && a_height > 4, "{}: {:?}", run.context, run.tally);
    let (exit, _) = b.stop_with("TERM", Duration::from_secs(5));
    assert!(exit.success(), "{exit:?}");
    run.check();
}

#[test]
fn a_node_killed_at_random_moments_keeps_its_chain_and_what_it_acknowledged() {
    crash_loop(20);
}

/// `make soak`: the same, 100 kills (about two minutes).
#[test]
#[ignore = "about two minutes; run by make soak"]
fn a_node_killed_a_hundred_times_keeps_its_chain_and_what_it_acknowledged() {
    crash_loop(100);
}
