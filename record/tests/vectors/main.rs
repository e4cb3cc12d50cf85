//! Every vector in `testdata/bitmarkd-vectors.json` (copied from bitmarkd's own Go tests) is
//! checked here. Each area module declares the kinds it handles; `every_kind_is_checked` fails
//! when the file holds a kind no module claims, so no vector can be silently skipped.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod block;
mod common;
mod currency;
mod difficulty;
mod encoding;
mod keys;
mod merkle;
mod pay;
mod tx;

use common::{all_vectors, Check};
use serde_json::Value;

/// An area of the format: the vector kinds it checks and the checker.
struct Area {
    name: &'static str,
    kinds: &'static [&'static str],
    check: fn(&str, &Value) -> Check,
}

const AREAS: &[Area] = &[
    Area { name: "encoding", kinds: encoding::KINDS, check: encoding::check },
    Area { name: "keys", kinds: keys::KINDS, check: keys::check },
    Area { name: "block", kinds: block::KINDS, check: block::check },
    Area { name: "difficulty", kinds: difficulty::KINDS, check: difficulty::check },
    Area { name: "merkle", kinds: merkle::KINDS, check: merkle::check },
    Area { name: "pay", kinds: pay::KINDS, check: pay::check },
    Area { name: "currency", kinds: currency::KINDS, check: currency::check },
    Area { name: "tx", kinds: tx::KINDS, check: tx::check },
];

/// Run every vector whose kind belongs to `area`; fail listing each mismatch with its source.
fn run_area(name: &str) {
    let area = AREAS.iter().find(|a| a.name == name).expect("area is registered");
    let mut checked = 0;
    let mut failures = Vec::new();
    for v in all_vectors() {
        let kind = v["kind"].as_str().unwrap_or_default();
        if !area.kinds.contains(&kind) {
            continue;
        }
        checked += 1;
        if let Err(e) = (area.check)(kind, &v) {
            failures.push(format!("{} [{}]: {e}", v["source"], kind));
        }
    }
    assert!(checked > 0, "area {name} matched no vectors");
    assert!(failures.is_empty(), "{} of {checked} vectors failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_kind_is_checked() {
    let mut missing: Vec<String> = all_vectors()
        .iter()
        .map(|v| v["kind"].as_str().unwrap_or_default().to_string())
        .filter(|k| !AREAS.iter().any(|a| a.kinds.contains(&k.as_str())))
        .collect();
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "vector kinds no test checks: {missing:?}");
}

#[test]
fn area_encoding() {
    run_area("encoding");
}

#[test]
fn area_keys() {
    run_area("keys");
}

#[test]
fn area_block() {
    run_area("block");
}

#[test]
fn area_difficulty() {
    run_area("difficulty");
}

#[test]
fn area_merkle() {
    run_area("merkle");
}

#[test]
fn area_pay() {
    run_area("pay");
}

#[test]
fn area_currency() {
    run_area("currency");
}

#[test]
fn area_tx() {
    run_area("tx");
}
