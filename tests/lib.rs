//! Shared helpers for the end-to-end tests in `tests/tests/`: build and locate the real
//! `bitmark-node` binary, run it, and read the repository's test data.

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

/// Run the binary with `args`, feeding `stdin`, and return its output.
pub fn run_node(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(node_binary())
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

/// Every vector in `testdata/bitmarkd-vectors.json`.
pub fn vectors() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(workspace_root().join("testdata/bitmarkd-vectors.json")).expect("vector file");
    serde_json::from_str(&text).expect("vector JSON")
}
