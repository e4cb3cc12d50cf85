//! `bitmark-node encode tx`: re-pack a decoded record.

use crate::error::{NodeError, Result};
use bitmark_record::transaction::Transaction;
use bitmark_record::{Account, Chain};
use serde_json::Value;

/// Read a `decode tx` object (`{"type", "record", ...}`), re-pack the record with bitmarkd's
/// Pack checks and return it as hex. The signature is verified against the record's own signer,
/// or `signer` (base58) for transfers; a transfer without `signer` is packed with field checks
/// only. The result must unpack on `chain`'s network, as a node on that chain would require.
pub fn tx(chain: Chain, input: &str, signer: Option<&str>) -> Result<String> {
    let v: Value = serde_json::from_str(input).map_err(|e| NodeError::Input(format!("invalid JSON: {e}")))?;
    let name = v.get("type").and_then(Value::as_str).ok_or_else(|| NodeError::Input("missing \"type\"".into()))?;
    let record = v.get("record").ok_or_else(|| NodeError::Input("missing \"record\"".into()))?;
    let tx = Transaction::from_json(name, record)?;
    let signer = signer.map(Account::from_base58).transpose()?;
    let packed = match signer.as_ref().or(tx.stated_signer()) {
        Some(account) => tx.pack(account)?,
        None => tx.pack_unverified()?,
    };
    Transaction::unpack(&packed, chain.is_testing())?;
    Ok(hex::encode(packed))
}
