//! Reloading from sled, bitmarkd's reservoir.cache, and a SIGKILL in the middle of submits.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use bitmark_record::{Chain, Fault, PayId};
use bitmark_reservoir::{
    AutoVerify, MemoryChain, Options, Reservoir, SystemClock, TrackingStatus, TransactionState, RESERVOIR_TIMEOUT,
};
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A reservoir with pending and verified records of every kind.
fn populate(f: &Fixture) -> (Vec<(bitmark_record::Link, TransactionState)>, Vec<u8>) {
    let r = &f.reservoir;
    let (alice, bob) = (key(1), key(2));
    let (asset_id, issue_id) = f.confirmed_bitmark(&alice, &alice, "bm");
    let (_, issue2) = f.confirmed_bitmark(&alice, &alice, "bm2");
    let first = transfer(issue_id, &alice, &account(&bob), None);
    r.store_transfer(first.clone()).unwrap();
    r.store_transfer(countersigned(issue2, &alice, &bob)).unwrap();
    r.store_issues(&issues(&alice, asset_id, 100, 3)).unwrap();
    let c = asset(&bob, "cached");
    r.cache_asset(&c).unwrap();
    let free = r.store_issues(&[issue(&bob, c.asset_id(), 0), issue(&alice, c.asset_id(), 0)]).unwrap();
    let nonce: Vec<u8> = (0u64..)
        .map(|n| [n.to_le_bytes().to_vec(), vec![0x5a; 12]].concat())
        .find(|n| {
            bitmark_record::pay::proof_meets(
                &bitmark_record::pay::proof_digest(&free.pay_id, &free.nonce.unwrap(), n),
                &free.difficulty.unwrap(),
            )
        })
        .unwrap();
    assert_eq!(r.try_proof(&free.pay_id, &nonce).unwrap(), TrackingStatus::Accepted);
    r.store_issues(&[issue(&key(5), c.asset_id(), 0)]).unwrap(); // pending free
    (r.held(), packed(&first))
}

fn reopening_restores_everything_but_what_expired_or_was_confirmed(mut f: Fixture) {
    let (held, first) = populate(&f);
    assert_eq!(held.iter().filter(|(_, s)| *s == TransactionState::Pending).count(), 1);
    assert_eq!(held.len(), 8);
    let stats = f.reservoir.stats();
    let report = f.reopen();
    assert_eq!(report.groups, 5);
    assert_eq!((report.expired, report.invalidated, report.corrupt), (0, 0, 0));
    assert_eq!(f.reservoir.held(), held);
    assert_eq!(f.reservoir.stats(), stats);
    let selection = f.reservoir.fetch_verified(2000).unwrap();
    assert_eq!(selection.tx_ids.len(), 8); // 7 verified records + the cached asset

    // Down for an hour: the pending free group expired. Meanwhile a block confirmed one issue.
    f.clock.advance(RESERVOIR_TIMEOUT + Duration::from_secs(60));
    let victim = held[0].0;
    assert_eq!(bitmark_record::Link::of(&first), victim);
    f.append_block(&key(9), 9, &[first]);
    let report = f.reopen();
    assert_eq!((report.expired, report.invalidated), (1, 1));
    assert_eq!(f.reservoir.held().len(), 6);
    assert_eq!(f.reservoir.transaction_status(&victim).unwrap(), TransactionState::Confirmed);
}

fn reservoir_cache_round_trip(f: Fixture) {
    let (held, _) = populate(&f);
    let bytes = f.reservoir.export_cache().unwrap();
    assert!(bytes.starts_with(b"\x00\x00\x12bitmark-cache v1.0"));
    assert!(bytes.ends_with(b"\x01\x00\x03EOF"));

    // A fresh reservoir on the same chain takes it all back, in the same states.
    let dir = tempfile::tempdir().unwrap();
    let options = Options::for_chain(f.network).clock(f.clock.clone());
    let (other, _) = Reservoir::open(dir.path(), f.network, f.state.clone(), options).unwrap();
    let report = other.import_cache(&bytes).unwrap();
    assert_eq!(report.errors, Vec::<String>::new());
    assert_eq!(report.proofs_accepted, 1);
    assert_eq!(report.restored, 6); // one asset, two transfers, three issue groups
    let mut a = held.clone();
    let mut b = other.held();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // Exporting again gives the same file.
    assert_eq!(other.export_cache().unwrap(), bytes);
    // Through a file, too.
    let path = dir.path().join(bitmark_reservoir::CACHE_FILE_NAME);
    other.export_cache_file(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    // Importing into the populated reservoir again: the verified records are refused as
    // present; the asset and the pending free group are accepted as duplicates.
    let again = other.import_cache_file(&path).unwrap();
    assert_eq!(again.restored, 2);
    assert_eq!(again.errors.len(), 4);
    assert!(again.errors.iter().all(|e| e.ends_with("transaction already exists")), "{:?}", again.errors);
}

#[test]
fn malformed_cache_files() {
    let f = Fixture::new();
    let r = &f.reservoir;
    let err = r.import_cache(b"\x01\x00\x03EOF").unwrap_err();
    assert_eq!(err.to_string(), "expected BOF: 0 but read: 1");
    let err = r.import_cache(b"\x00\x00\x03BOF").unwrap_err();
    assert_eq!(err.to_string(), "expected BOF: \"bitmark-cache v1.0\" but read: \"BOF\"");
    let bof = b"\x00\x00\x12bitmark-cache v1.0".to_vec();
    let err = r.import_cache(&[bof.clone(), b"\x07\x00\x00".to_vec()].concat()).unwrap_err();
    assert_eq!(err.to_string(), "abort, read invalid tag: 0x07");
    // Truncated: bitmarkd spins forever; we stop and report.
    let report = r.import_cache(&[bof.clone(), b"\x02\x00\x10abc".to_vec()].concat()).unwrap();
    assert_eq!(report.errors, vec!["read record: file ends without EOF".to_string()]);
    // Bad records are skipped with bitmarkd's messages.
    let report =
        r.import_cache(&[bof.clone(), b"\x02\x00\x01\xff\x03\x00\x02ab\x01\x00\x03EOF".to_vec()].concat()).unwrap();
    assert_eq!(
        report.errors,
        vec![
            format!("unable to unpack asset: {}", Fault::NotTransactionPack),
            "unable to unpack proof: record too short: 2  expected > 48".to_string()
        ]
    );
    let base = bitmark_record::genesis::base_record(Chain::Testing).to_vec();
    let rec = [vec![2u8], (base.len() as u16).to_be_bytes().to_vec(), base].concat();
    let report = r.import_cache(&[bof, rec, b"\x01\x00\x03EOF".to_vec()].concat()).unwrap();
    assert_eq!(report.errors, vec!["unhandled restore tx type: 1".to_string()]);
}

/// Environment variable that turns [`sigkill_child`] into the submitting child.
const CHILD_DIR: &str = "RESERVOIR_SIGKILL_DIR";

/// The child: caches an asset, then submits free issue groups forever, printing each pay id
/// once `store_issues` has returned. Does nothing when run as an ordinary test.
#[test]
fn sigkill_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let chain = Arc::new(MemoryChain::new(CHAIN));
    let options = Options::for_chain(CHAIN).verifier(Arc::new(AutoVerify)).clock(Arc::new(SystemClock));
    let (r, _) = Reservoir::open(&dir, CHAIN, chain, options).unwrap();
    let k = key(1);
    let a = asset(&k, "sigkill");
    r.cache_asset(&a).unwrap();
    println!("asset {}", a.asset_id().to_hex());
    let start: u64 = std::env::var("RESERVOIR_SIGKILL_START").unwrap().parse().unwrap();
    for n in start.. {
        let owner = bitmark_record::PrivateKey::from_ed25519_seed(
            {
                let mut s = [7u8; 32];
                s[..8].copy_from_slice(&n.to_le_bytes());
                s
            },
            true,
        );
        let info = r.store_issues(&[issue(&owner, a.asset_id(), 0)]).unwrap();
        println!("{}", info.pay_id.to_hex());
    }
}

#[test]
fn nothing_acknowledged_is_lost_on_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acknowledged: Vec<PayId> = Vec::new();
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos() as usize;
    for round in 0..3usize {
        let mut child = Command::new(&exe)
            .args(["--exact", "sigkill_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .env("RESERVOIR_SIGKILL_START", (round * 1_000_000).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill after a pseudo-random number of acknowledgements, mid-stream.
        let kill_after = 5 + (seed / (round + 1)) % 60;
        let mut seen = 0;
        while let Some(Ok(line)) = lines.next() {
            if let Ok(p) = PayId::from_hex(line.trim()) {
                acknowledged.push(p);
                seen += 1;
                if seen >= kill_after {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
                               // Whatever the child printed before dying was acknowledged too.
        for line in lines.map_while(|l| l.ok()) {
            if let Ok(p) = PayId::from_hex(line.trim()) {
                acknowledged.push(p);
            }
        }
        child.wait().unwrap();

        let chain = Arc::new(MemoryChain::new(CHAIN));
        let options = Options::for_chain(CHAIN).clock(Arc::new(SystemClock));
        let (r, report) = Reservoir::open(dir.path(), CHAIN, chain, options).unwrap();
        assert_eq!(report.corrupt, 0);
        let export = r.export_cache().unwrap();
        for p in &acknowledged {
            assert!(
                export.windows(48).any(|w| w == p.0),
                "round {round}: acknowledged pay id {} lost ({} acknowledged, {} held)",
                p.to_hex(),
                acknowledged.len(),
                r.stats().groups
            );
        }
        assert!(r.stats().groups >= acknowledged.len());
    }
    assert!(acknowledged.len() >= 15);
}

on_each_backend! {
    reopening_restores_everything_but_what_expired_or_was_confirmed: Fixture::auto;
    reservoir_cache_round_trip: Fixture::auto;
}
