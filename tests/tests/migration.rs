//! Moving a node from bitmarkd: its key settings carry the keys themselves (`PUBLIC:<hex>`, as
//! `read_file("peer.public")` produces them), and the node must keep that identity without
//! ever writing a file named after a key.

use bitmark_tests::{node_args, run_node, RunningNode};
use std::path::Path;
use std::time::Duration;

/// The names in `dir` and below.
fn names_under(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        names.push(entry.file_name().to_string_lossy().into_owned());
        if entry.file_type().unwrap().is_dir() {
            names.extend(names_under(&entry.path()));
        }
    }
    names
}

#[test]
fn inline_bitmarkd_keys_keep_the_identity_and_are_never_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keygen(&tmp.path().join("keys"));
    let data = tmp.path().join("node");
    std::fs::create_dir_all(&data).unwrap();
    let config = tmp.path().join("node.toml");
    // What a bitmarkd configuration holds after read_file: the files' contents, newline included.
    std::fs::write(
        &config,
        format!(
            "chain = \"local\"\n[peering]\npublic_key = \"{}\\n\"\nprivate_key = \"{}\\n\"\n",
            keys.0.trim(),
            keys.1.trim()
        ),
    )
    .unwrap();
    let mut args = node_args(&data, &["--standalone", "--config"]);
    let config_arg = config.to_str().unwrap().to_string();
    args.push(&config_arg);
    let node = RunningNode::start(&args, &tmp.path().join("node.log"));
    assert_eq!(node.ready["publicKey"], keys.0.trim().trim_start_matches("PUBLIC:"), "the identity is kept");
    assert_eq!(node.ready["keysCreated"], false);
    let (status, _) = node.stop_with("TERM", Duration::from_secs(5));
    assert!(status.success());
    let names = names_under(tmp.path());
    assert!(
        !names.iter().any(|n| n.starts_with("PUBLIC:") || n.starts_with("PRIVATE:")),
        "a file named after a key: {names:?}"
    );
    assert!(!data.join("peer.private").exists(), "no other pair was made");
}

/// A key pair made by `keygen` in `dir`: the two files' contents.
fn keygen(dir: &Path) -> (String, String) {
    let out = run_node(&["keygen", "--dir", dir.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let public = std::fs::read_to_string(dir.join("peer.public")).unwrap();
    let private = std::fs::read_to_string(dir.join("peer.private")).unwrap();
    (public, private)
}
