//! `bitmark-node decode {tx,block,account}`: what bitmarkd would make of some bytes.

use crate::error::{NodeError, Result};
use bitmark_record::block::PackedBlock;
use bitmark_record::transaction::Transaction;
use bitmark_record::{header, Account, Chain, Fault, Link};
use serde_json::{json, Value};

/// Hex text to bytes, with a readable error.
pub fn hex_input(text: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|e| NodeError::Input(format!("invalid hex: {e}")))
}

/// Seconds since the Unix epoch: headers more than five minutes ahead of it are refused.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `decode account`: `{"account", "publicKey", "testnet", "algorithm"}`.
pub fn account(base58: &str) -> Result<Value> {
    let a = Account::from_base58(base58.trim())?;
    Ok(json!({
        "account": a.to_base58(),
        "publicKey": hex::encode(a.public_key()),
        "testnet": a.is_testnet(),
        "algorithm": a.algorithm().name(),
    }))
}

/// `decode tx`: `{"type", "txId", "size", "record"}` for the record at the start of the input
/// (bytes after it are ignored, as bitmarkd's unpack ignores them).
pub fn tx(chain: Chain, hex: &str) -> Result<Value> {
    let bytes = hex_input(hex)?;
    let (tx, used) = Transaction::unpack(&bytes, chain.is_testing())?;
    let packed = bytes.get(..used).ok_or(Fault::NotTransactionPack)?;
    Ok(json!({
        "type": tx.record_name(),
        "txId": Link::of(packed).raw_hex(),
        "size": used,
        "record": tx.to_json(),
    }))
}

/// "ok" or the fault text: how one check is reported.
fn outcome(r: std::result::Result<(), Fault>) -> Value {
    match r {
        Ok(()) => json!("ok"),
        Err(f) => json!(f.to_string()),
    }
}

/// `decode block`: digest, header, records and the stateless checks. A block whose header or
/// records do not decode is an error; a block that decodes but fails a check is printed in
/// full with `"valid": false` and the first failure under `"error"` (and the command exits 1).
pub fn block(chain: Chain, hex: &str) -> Result<Value> {
    let bytes = hex_input(hex)?;
    let block = PackedBlock::parse(&bytes, chain, now_unix())?;
    let digest = header::compute_header_hash(&bytes)?;
    let proof_of_work = if !chain.checks_proof_of_work() {
        json!("skipped on the local chain")
    } else if digest.is_valid_by_difficulty(&block.header.difficulty, chain) {
        json!("ok")
    } else {
        json!(Fault::InvalidBlockHeaderDifficulty.to_string())
    };
    let signatures = block.verify_signatures();
    let checks = json!({
        "proofOfWork": proof_of_work,
        "merkleRoot": outcome(block.check_merkle_root()),
        "foundation": outcome(block.foundation().map(|_| ())),
        "signatures": {
            "verified": signatures.verified,
            "unknownSigner": signatures.unknown_signer,
            "failed": signatures.failed.iter().map(|(i, f)| json!({"index": i, "error": f.to_string()})).collect::<Vec<_>>(),
        },
    });
    let first_failure = ["proofOfWork", "merkleRoot", "foundation"]
        .iter()
        .filter_map(|k| checks.get(*k).and_then(Value::as_str))
        .find(|s| *s != "ok" && !s.starts_with("skipped"))
        .map(str::to_string)
        .or_else(|| signatures.failed.first().map(|(_, f)| f.to_string()));
    let transactions: Vec<Value> = block
        .records
        .iter()
        .map(|r| json!({"type": r.transaction.record_name(), "txId": r.tx_id.raw_hex(), "size": r.packed.len()}))
        .collect();
    let mut out = json!({
        "digest": digest.raw_hex(),
        "header": block.header,
        "transactions": transactions,
        "checks": checks,
        "valid": first_failure.is_none(),
    });
    if let (Some(e), Some(map)) = (first_failure, out.as_object_mut()) {
        map.insert("error".into(), json!(e));
    }
    Ok(out)
}
