//! `bitmark-node reservoir export|import` on the real binary: a node's unconfirmed transactions
//! leave as bitmarkd's `reservoir.cache`, enter another node with the same chain through the
//! reservoir's checks, and come out of it as the same file.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_node::node::reservoir;
use bitmark_record::assemble::sign_record;
use bitmark_record::transaction::{AssetData, BitmarkIssue, Transaction};
use bitmark_storage::testchain::test_accounts;
use bitmark_storage::{database_path, BlockStore, ChainDb, OpenOptions, StoreOptions};
use bitmark_tests::{json_of, run_node};
use std::path::Path;
use std::sync::Arc;

/// A 3-block local test chain (seed 1) in `dir`.
fn chain_in(dir: &Path) {
    let out = run_node(&["testchain", "--blocks", "3", "--data-dir", dir.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_reservoir_moves_through_bitmarkd_cache_files() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    chain_in(&a);
    chain_in(&b);

    // Node A's reservoir holds an unconfirmed asset and a free issue of it (bitmarkd's cache file
    // carries assets only as part of issue groups). The node is not running.
    {
        let db = ChainDb::open(&database_path(&a, bitmark_record::Chain::Local), &OpenOptions::default()).unwrap();
        let store = Arc::new(BlockStore::open(db, bitmark_record::Chain::Local, StoreOptions::default()).unwrap());
        let (hooks, _) = reservoir::open(&a, &store).unwrap();
        let who = &test_accounts(1)[0];
        let asset = AssetData {
            name: "migrated".into(),
            fingerprint: "fingerprint of a migrated asset".into(),
            metadata: "".into(),
            registrant: who.account.clone(),
            signature: Vec::new(),
        };
        let packed = sign_record(Transaction::AssetData(asset), &who.key, None).unwrap();
        let (Transaction::AssetData(signed), _) = Transaction::unpack(&packed, true).unwrap() else { unreachable!() };
        hooks.reservoir().cache_asset(&signed).unwrap();
        let issue =
            BitmarkIssue { asset_id: signed.asset_id(), owner: who.account.clone(), nonce: 0, signature: Vec::new() };
        let packed = sign_record(Transaction::BitmarkIssue(issue), &who.key, None).unwrap();
        let (Transaction::BitmarkIssue(issue), _) = Transaction::unpack(&packed, true).unwrap() else { unreachable!() };
        hooks.reservoir().store_issues(&[issue]).unwrap();
        assert_eq!(hooks.reservoir().counters(), (1, 0));
    }

    let (file_a, file_b) = (tmp.path().join("a.cache"), tmp.path().join("b.cache"));
    let export = |dir: &Path, file: &Path| {
        let out = run_node(&["reservoir", "export", "--data-dir", dir.to_str().unwrap(), file.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        json_of(&out)
    };
    export(&a, &file_a);
    let out = run_node(&["reservoir", "import", "--data-dir", b.to_str().unwrap(), file_a.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let imported = json_of(&out);
    assert_eq!(imported["restored"], 2, "the asset and the issue group: {imported}");
    assert_eq!(imported["errors"], serde_json::json!([]));
    export(&b, &file_b);
    assert_eq!(std::fs::read(&file_a).unwrap(), std::fs::read(&file_b).unwrap(), "the same cache file comes out");

    // A file that is not a reservoir cache is refused with an error, not a crash.
    std::fs::write(tmp.path().join("junk"), b"not a cache").unwrap();
    let out = run_node(
        &["reservoir", "import", "--data-dir", b.to_str().unwrap(), tmp.path().join("junk").to_str().unwrap()],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(json_of(&out)["error"].is_string());
}
