//! Crash safety: a child process applying (or rolling back) a chain is killed with SIGKILL at
//! random moments; every restart must open the database, pass `check`, and never have lost a
//! block the child reported as stored.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use bitmark_record::{BlockDigest, Chain};
use bitmark_storage::{BlockStore, ChainDb, CheckOptions, OpenOptions, StoreOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DB_VAR: &str = "BITMARK_CRASH_DB";
const BLOCKS_VAR: &str = "BITMARK_CRASH_BLOCKS";
const MODE_VAR: &str = "BITMARK_CRASH_MODE";

fn open(path: &Path) -> BlockStore {
    let db = ChainDb::open(path, &OpenOptions::default()).unwrap();
    BlockStore::open(db, Chain::Local, StoreOptions::default()).unwrap()
}

/// Blocks file: per block, u32 LE length, the 32-byte digest, the block.
fn write_blocks(path: &Path, blocks: &[(Vec<u8>, BlockDigest)]) {
    let mut out = Vec::new();
    for (b, d) in blocks {
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(d.as_bytes());
        out.extend_from_slice(b);
    }
    std::fs::write(path, out).unwrap();
}

fn read_blocks(path: &Path) -> Vec<(Vec<u8>, BlockDigest)> {
    let data = std::fs::read(path).unwrap();
    let mut rest = data.as_slice();
    let mut blocks = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        let digest = BlockDigest(rest[4..36].try_into().unwrap());
        blocks.push((rest[36..36 + len].to_vec(), digest));
        rest = &rest[36 + len..];
    }
    blocks
}

/// The child: does nothing unless started by `killed_at_random_moments_the_store_stays_consistent`.
#[test]
fn crash_child() {
    let (Ok(db), Ok(blocks)) = (std::env::var(DB_VAR), std::env::var(BLOCKS_VAR)) else { return };
    let store = open(Path::new(&db));
    let blocks = read_blocks(Path::new(&blocks));
    let mut out = std::io::stdout();
    let cycle = std::env::var(MODE_VAR).as_deref() == Ok("cycle");
    loop {
        for (block, _) in blocks.iter().skip(store.height() as usize - 1) {
            // The full path, Argon2d included (~0.3 s), so kills land at every stage.
            let applied = store.apply(block).unwrap();
            writeln!(out, "height {}", applied.number).unwrap();
            out.flush().unwrap();
        }
        if !cycle {
            return;
        }
        // Roll back a few blocks at a time, then grow again, until killed.
        store.rollback_to(store.height().saturating_sub(3), |_| ()).unwrap();
        writeln!(out, "rolled back").unwrap();
        out.flush().unwrap();
    }
}

/// Run the child for `delay`, kill it, and return the last height it reported.
fn run_child(db: &Path, blocks: &Path, mode: &str, delay: Duration) -> Option<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(DB_VAR, db)
        .env(BLOCKS_VAR, blocks)
        .env(MODE_VAR, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut last = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest may print its own text before ours on the same line.
            if let Some(at) = line.find("height ") {
                last = line[at + 7..].trim().parse::<u64>().ok().or(last);
            }
        }
        last
    });
    let start = Instant::now();
    while start.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    reader.join().unwrap()
}

/// A tiny deterministic generator for the kill delays.
fn delays(seed: u64) -> impl Iterator<Item = Duration> {
    let mut x = seed;
    std::iter::repeat_with(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Duration::from_millis(50 + x % 1200)
    })
}

#[test]
fn killed_at_random_moments_the_store_stays_consistent() {
    let source = common::generated(21, 20, 9);
    let dir = tempfile::tempdir().unwrap();
    let blocks_file = dir.path().join("blocks");
    write_blocks(&blocks_file, &common::blocks_of(&source));
    let db = dir.path().join("db");
    let target = source.height();
    let check = CheckOptions { recompute_digests: false, threads: 1 };

    let mut floor = 1;
    let mut kills = 0;
    for delay in delays(0x1234_5678).take(60) {
        let reported = run_child(&db, &blocks_file, "apply", delay);
        kills += 1;
        let store = open(&db);
        floor = floor.max(reported.unwrap_or(1));
        assert!(store.height() >= floor, "height {} went below the reported {floor}", store.height());
        let report = store.check(&check).unwrap();
        assert!(report.ok(), "after kill {kills}: {:?}", report.problems);
        eprintln!("kill {kills}: reported {reported:?}, reopened at {}", store.height());
        floor = store.height();
        if floor == target {
            break;
        }
    }
    assert_eq!(floor, target, "the child never finished applying");
    assert_eq!(common::comparable(&open(&db)), common::comparable(&source));

    // Now kill a child that alternates rollbacks and applies: every restart must be consistent.
    for (i, delay) in delays(0x9abc_def0).take(8).enumerate() {
        run_child(&db, &blocks_file, "cycle", delay);
        let store = open(&db);
        eprintln!("cycle kill {i}: reopened at {}", store.height());
        let report = store.check(&check).unwrap();
        assert!(report.ok(), "after cycle kill {i}: {:?}", report.problems);
    }
}
