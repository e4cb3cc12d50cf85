//! The command-line contract of `decode`, `encode`, `keygen` and `genesis`, run on the real
//! binary: output shapes, bitmarkd fault texts, exit codes, and `decode | encode` reproducing
//! the input bytes for every packed record in bitmarkd's vectors.

use bitmark_tests::{json_of, run_node, vectors};
use serde_json::Value;

/// Base58 test-network account of a `test_keypair` vector by key name.
fn account_of(name: &str) -> String {
    vectors()
        .into_iter()
        .find(|v| v["kind"] == "test_keypair" && v["inputs"]["name"] == name)
        .and_then(|v| v["expected"]["account_base58_testnet"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no key {name}"))
}

#[test]
fn decode_then_encode_reproduces_every_packed_record() {
    let mut checked = 0;
    for v in vectors().into_iter().filter(|v| v["kind"] == "tx_pack") {
        let packed = v["expected"]["packed"].as_str().unwrap();
        let chain = if v["inputs"]["pack_account_testnet"] == true { "testing" } else { "bitmark" };
        let out = run_node(&["decode", "tx", "--chain", chain, packed], "");
        assert!(out.status.success(), "{}: {}", v["source"], String::from_utf8_lossy(&out.stdout));
        let decoded = json_of(&out);
        // bitmarkd names tag 8 "ShareBalance" (its RecordName), the vectors "BitmarkShare" (the Go type).
        let want = if v["inputs"]["record_type"] == "BitmarkShare" {
            "ShareBalance".into()
        } else {
            v["inputs"]["record_type"].clone()
        };
        assert_eq!(decoded["type"], want, "{}", v["source"]);
        assert_eq!(decoded["txId"], v["expected"]["tx_id_raw"], "{}", v["source"]);
        assert_eq!(decoded["size"].as_u64(), Some(packed.len() as u64 / 2));

        let signer = account_of(v["inputs"]["signer"].as_str().unwrap());
        let out = run_node(&["encode", "tx", "--chain", chain, "--signer", &signer], &decoded.to_string());
        assert!(out.status.success(), "{}: {}", v["source"], String::from_utf8_lossy(&out.stdout));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), packed, "{}", v["source"]);
        checked += 1;
    }
    assert_eq!(checked, 17);
}

#[test]
fn encode_refuses_a_forged_signature() {
    let v =
        vectors().into_iter().find(|v| v["kind"] == "tx_pack" && v["inputs"]["record_type"] == "BitmarkIssue").unwrap();
    let out = run_node(&["decode", "tx", "--chain", "testing", v["expected"]["packed"].as_str().unwrap()], "");
    let mut decoded = json_of(&out);
    let sig = decoded["record"]["signature"].as_str().unwrap().to_string();
    let flipped = format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]);
    decoded["record"]["signature"] = Value::String(flipped);
    let out = run_node(&["encode", "tx", "--chain", "testing"], &decoded.to_string());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out), serde_json::json!({"error": "invalid signature"}));
}

#[test]
fn bad_input_of_any_length_is_an_error_not_a_crash() {
    let v = vectors().into_iter().find(|v| v["kind"] == "tx_pack").unwrap();
    let packed = v["expected"]["packed"].as_str().unwrap();
    // Every strict prefix of a record (in whole bytes) is "not transaction pack".
    for cut in (0..packed.len()).step_by(2).filter(|n| n % 16 == 0) {
        let out = run_node(&["decode", "tx", "--chain", "testing", &packed[..cut]], "");
        assert_eq!(out.status.code(), Some(1), "prefix {cut}");
        assert_eq!(json_of(&out)["error"], "not transaction pack", "prefix {cut}");
    }
    let out = run_node(&["decode", "tx", "zz"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(json_of(&out)["error"].as_str().unwrap().starts_with("invalid hex"));
    // A record for the test network, decoded for the live one.
    let out = run_node(&["decode", "tx", "--chain", "bitmark", packed], "");
    assert_eq!(json_of(&out)["error"], "wrong network for public key");
    let out = run_node(&["decode", "block", "--chain", "bitmark", "00"], "");
    assert_eq!(json_of(&out)["error"], "invalid block header size");
}

#[test]
fn genesis_blocks_decode_valid_with_their_bitmarkd_digests() {
    for v in vectors().into_iter().filter(|v| v["kind"] == "genesis_block") {
        // The testing vector names its chain "testing (also used by chain 'local')".
        let chain = v["inputs"]["chain"].as_str().unwrap().split_whitespace().next().unwrap();
        let hex = json_of_line(&run_node(&["genesis", "--chain", chain], ""));
        assert_eq!(hex, v["expected"]["packed_block"].as_str().unwrap());
        let out = run_node(&["decode", "block", "--chain", chain, "-"], &hex);
        assert!(out.status.success());
        let block = json_of(&out);
        assert_eq!(block["digest"], v["expected"]["digest_raw"]);
        assert_eq!(block["valid"], true);
        assert_eq!(block["transactions"][0]["type"], "BaseData");
        assert_eq!(block["header"]["merkleRoot"], v["expected"]["merkle_root_raw"]);
    }
}

#[test]
fn a_block_with_a_forged_signature_is_reported_invalid() {
    let hex = json_of_line(&run_node(&["genesis", "--chain", "testing"], ""));
    let mut bytes = hex::decode(&hex).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let out = run_node(&["decode", "block", "--chain", "testing", &hex::encode(bytes)], "");
    assert_eq!(out.status.code(), Some(1));
    let block = json_of(&out);
    assert_eq!(block["valid"], false);
    assert_eq!(block["checks"]["merkleRoot"], "merkle root does not match");
    assert_eq!(block["checks"]["signatures"]["failed"][0]["error"], "invalid signature");
    assert_eq!(block["error"], "merkle root does not match");
}

#[test]
fn accounts_decode_with_bitmarkd_faults() {
    for v in vectors().into_iter().filter(|v| v["kind"] == "account") {
        let out = run_node(&["decode", "account", v["expected"]["base58"].as_str().unwrap()], "");
        let a = json_of(&out);
        assert_eq!(a["publicKey"], v["inputs"]["public_key"]);
        assert_eq!(a["testnet"], v["inputs"]["testnet"]);
        assert_eq!(a["algorithm"], v["inputs"]["algorithm"]);
    }
    for v in vectors().into_iter().filter(|v| v["kind"] == "account_from_base58_error") {
        let out = run_node(&["decode", "account", v["inputs"]["base58"].as_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(1));
        let fault = v["expected"]["error"].as_str().unwrap().trim_start_matches("fault.");
        let text = bitmark_record::Fault::ALL.iter().find(|f| f.name() == fault).unwrap().to_string();
        assert_eq!(json_of(&out)["error"], text);
    }
}

#[test]
fn keygen_writes_bitmarkd_key_files_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("bitmark-keygen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = run_node(&["keygen", "--dir", dir.to_str().unwrap()], "");
    assert!(out.status.success());
    let public = std::fs::read_to_string(dir.join("peer.public")).unwrap();
    let private = std::fs::read_to_string(dir.join("peer.private")).unwrap();
    assert!(public.starts_with("PUBLIC:") && public.trim().len() == 7 + 64, "{public}");
    assert!(private.starts_with("PRIVATE:") && private.trim().len() == 8 + 64);
    assert_eq!(json_of(&out)["publicKey"], public.trim().trim_start_matches("PUBLIC:"));
    let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("peer.private"), 0o600);
    let again = run_node(&["keygen", "--dir", dir.to_str().unwrap()], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(json_of(&again)["error"].as_str().unwrap().ends_with("key file already exists"));
    assert_eq!(std::fs::read_to_string(dir.join("peer.private")).unwrap(), private);
    let _ = std::fs::remove_dir_all(&dir);
}

/// stdout of a command that prints one line of hex.
fn json_of_line(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn testchain_is_deterministic_and_passes_check() {
    let base = std::env::temp_dir().join(format!("bitmark-testchain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let build = |name: &str, seed: &str| {
        let dir = base.join(name);
        let out = run_node(&["testchain", "--blocks", "4", "--seed", seed, "--data-dir", dir.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        (dir, json_of(&out))
    };
    let (dir, a) = build("a", "7");
    let (_, b) = build("b", "7");
    let (_, c) = build("c", "8");
    assert_eq!(a["height"], 4);
    assert_eq!(a["digest"], b["digest"], "same seed, same chain");
    assert_ne!(a["digest"], c["digest"], "another seed, another chain");

    let out = run_node(&["check", "--data-dir", dir.to_str().unwrap()], "");
    assert!(out.status.success());
    let report = json_of(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["height"], 4);
    assert_eq!(report["digest"], a["digest"]);
    assert_eq!(report["problems"], serde_json::json!([]));

    // A data directory that already holds a chain is not extended with a fresh generator.
    let out = run_node(&["testchain", "--blocks", "6", "--data-dir", dir.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(json_of(&out)["error"].as_str().unwrap().contains("already holds a chain at height 4"));
    let out = run_node(&["check", "--data-dir", base.join("missing").to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(1));

    // Through the generated-chain cache: the same chain whether the cache had the blocks or
    // not, and what was stored from the cache passes `check` with every digest recomputed.
    let cache = base.join("cache");
    for name in ["cached-1", "cached-2"] {
        let dir = base.join(name);
        let args = ["testchain", "--blocks", "4", "--seed", "7", "--cache-dir", cache.to_str().unwrap(), "--data-dir"];
        let out = run_node(&[&args[..], &[dir.to_str().unwrap()]].concat(), "");
        let built = json_of(&out);
        assert_eq!((&built["height"], &built["digest"]), (&a["height"], &a["digest"]), "{name}");
        assert!(std::path::Path::new(built["cache"].as_str().unwrap()).starts_with(&cache));
    }
    let out = run_node(&["check", "--recompute-digests", "--data-dir", base.join("cached-2").to_str().unwrap()], "");
    assert_eq!(json_of(&out)["ok"], true);
    let _ = std::fs::remove_dir_all(&base);
}
