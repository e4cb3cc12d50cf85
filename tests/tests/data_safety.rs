//! Never damage data, and say loudly when it is damaged: `check` changes nothing it inspects
//! (sled's recovery, which runs on open, zeroes everything after damaged data) and creates no
//! database; a database that comes back lower than the node last recorded is reported at
//! start-up; a second node on the same data directory is refused naming the first; a private
//! key file readable by others is warned about.

use bitmark_tests::{json_of, node_args, run_node, RunningNode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A local test chain of `height` in `dir` (seed 1).
fn test_chain(dir: &Path, height: u64) {
    let out = run_node(&["testchain", "--blocks", &height.to_string(), "--data-dir", dir.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            files.extend(contents(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

/// Overwrite 16 bytes in the middle of the chain database's log, and remove sled's snapshots
/// (without them sled rebuilds from the log, and stops where the damage is).
fn damage(data: &Path) {
    let db = data.join("local-bitmarks.sled");
    let log = db.join("db");
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 16].fill(0xff);
    std::fs::write(&log, bytes).unwrap();
    for entry in std::fs::read_dir(&db).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("snap.") {
            std::fs::remove_file(entry.path()).unwrap();
        }
    }
}

#[test]
fn check_leaves_a_damaged_database_byte_identical_and_creates_none() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    test_chain(&data, 12);
    damage(&data);
    let before = contents(&data);
    let out = run_node(&["check", "--data-dir", data.to_str().unwrap()], "");
    let report = json_of(&out);
    assert!(!out.status.success(), "damage must not pass: {report}");
    assert_eq!(contents(&data), before, "check changed the data directory: {report}");
    let text = report.to_string();
    assert!(text.contains("were lost") || text.contains("to recover"), "{report}");

    // Asking for another chain creates nothing and names what is there.
    let out = run_node(&["check", "--data-dir", data.to_str().unwrap(), "--chain", "testing"], "");
    assert!(!out.status.success());
    let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("no testing chain database") && error.contains("--chain local"), "{error}");
    assert_eq!(contents(&data), before, "check --chain testing created something");
}

#[test]
fn a_database_that_came_back_lower_is_reported_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, older) = (tmp.path().join("node"), tmp.path().join("older"));
    test_chain(&data, 8);
    test_chain(&older, 4);
    // An older copy of the same chain restored over the database.
    let db = data.join("local-bitmarks.sled");
    std::fs::remove_dir_all(&db).unwrap();
    std::fs::rename(older.join("local-bitmarks.sled"), &db).unwrap();

    let node = RunningNode::start(&node_args(&data, &["--standalone"]), &tmp.path().join("node.log"));
    assert_eq!(node.ready["height"], 4);
    assert_eq!(node.ready["lowered"]["recordedHeight"], 8, "{}", node.ready);
    assert_eq!(node.ready["lowered"]["lost"], 4);
    assert_eq!(node.status()["storage"]["lowered"]["height"], 4);
    let log = node.log_text();
    assert!(log.contains("ERROR") && log.contains("blocks 5 to 8 were lost"), "{log}");
    assert!(log.contains("restore the database from a backup"), "a standalone node says what to do: {log}");
    // `check` says the same.
    let (status, _) = node.stop_with("TERM", Duration::from_secs(5));
    assert!(status.success());
    let out = run_node(&["check", "--data-dir", data.to_str().unwrap()], "");
    let report = json_of(&out);
    assert_eq!(report["ok"], false, "{report}");
    assert!(report["problems"].to_string().contains("blocks 5 to 8 were lost"), "{report}");
}

#[test]
fn a_second_node_on_the_same_data_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    let first = RunningNode::start(&node_args(&data, &["--standalone"]), &tmp.path().join("first.log"));
    let mut args = vec!["run"];
    args.extend(node_args(&data, &["--standalone"]));
    let out = run_node(&args, "");
    assert!(!out.status.success());
    let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
    let want = format!("another node (pid {}) is using this data directory", first.pid());
    assert!(error.ends_with(&want), "{error}");
    // check reads nothing while a node writes.
    let out = run_node(&["check", "--data-dir", data.to_str().unwrap()], "");
    assert!(json_of(&out)["error"].as_str().unwrap_or_default().ends_with(&want));
}

#[test]
fn damaged_databases_name_the_file_and_the_recovery_step() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    std::fs::create_dir_all(data.join("local-reservoir.sled")).unwrap();
    std::fs::write(data.join("local-reservoir.sled/conf"), "not sled's").unwrap();
    let mut args = vec!["run"];
    args.extend(node_args(&data, &["--standalone"]));
    let out = run_node(&args, "");
    let error = json_of(&out)["error"].as_str().unwrap_or_default().to_string();
    assert!(error.starts_with("reservoir database ") && error.contains("local-reservoir.sled"), "{error}");
    assert!(error.contains("to recover: delete it"), "{error}");
}

#[test]
fn a_private_key_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("node");
    let out = run_node(&["keygen", "--dir", data.to_str().unwrap()], "");
    assert!(out.status.success());
    std::fs::set_permissions(data.join("peer.private"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let node = RunningNode::start(&node_args(&data, &["--standalone"]), &tmp.path().join("node.log"));
    let log = node.log_text();
    assert!(log.contains("peer.private is readable by others (mode 0644)"), "{log}");
}
