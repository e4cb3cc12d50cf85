//! `bitmark-node decode {tx,block,account}`: what bitmarkd would make of some bytes.

use crate::error::{NodeError, Result};
use bitmark_record::{Account, Chain};
use serde_json::{json, Value};

/// Hex text to bytes, with a readable error.
pub fn hex_input(text: &str) -> Result<Vec<u8>> {
    hex::decode(text).map_err(|e| NodeError::Input(format!("invalid hex: {e}")))
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

/// `decode tx`.
pub fn tx(_chain: Chain, _hex: &str) -> Result<Value> {
    Err(NodeError::Input("not yet".into()))
}

/// `decode block`.
pub fn block(_chain: Chain, _hex: &str) -> Result<Value> {
    Err(NodeError::Input("not yet".into()))
}
