//! Pay ids and pay nonces (pay/payid.go, reservoir/paynonce.go).

use crate::common::*;
use crate::difficulty::chain;
use bitmark_record::pay::{self, PayId, PayNonce};
use serde_json::Value;

pub const KINDS: &[&str] = &["pay_id", "pay_nonce_json", "pay_nonce_new"];

/// Check JSON encoding both ways against `expected.json`.
fn same_json<T>(what: &T, v: &Value) -> Check
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let want = text(v, "/expected/json")?;
    same("json", serde_json::to_string(what).map_err(|e| e.to_string())?, want.to_string())?;
    same("json back", serde_json::from_str::<T>(want).ok().as_ref(), Some(what))
}

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "pay_id" => {
            let records = field(v, "/inputs/packed_records")?
                .as_array()
                .ok_or("packed_records is not an array")?
                .iter()
                .map(|r| {
                    r.as_str().ok_or("not a string".to_string()).and_then(|s| hex::decode(s).map_err(|e| e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let id = PayId::new(&records);
            same("pay id", id.to_string(), text(v, "/expected/pay_id")?.to_string())?;
            same_json(&id, v)
        }
        "pay_nonce_json" => {
            let nonce = PayNonce::from_hex(text(v, "/inputs/pay_nonce")?).map_err(|e| e.to_string())?;
            same_json(&nonce, v)
        }
        "pay_nonce_new" => {
            let height = pay::pay_nonce_height(uint(v, "/inputs/block_height")?);
            let nonce = PayNonce::from_block(height, chain(v, "/inputs/chain")?, |_| None);
            same("pay nonce", nonce.to_hex(), text(v, "/expected/pay_nonce")?.to_string())?;
            same_json(&nonce, v)
        }
        _ => Err(format!("unhandled kind {kind}")),
    }
}
