//! Transaction records: signing messages, signatures, packed bytes, tx ids, unpacking on both
//! networks, truncation, trailing bytes, JSON forms and pack faults.
//!
//! Records are built from the vectors' fields through `Transaction::from_json`, so the JSON
//! reader is exercised by every vector too.

use crate::common::*;
use bitmark_record::{Account, Fault, Tag, Transaction};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

pub const KINDS: &[&str] = &["tx_pack", "tx_pack_error"];

/// The `test_keypair` vectors: name → 64-byte Go private key (seed ‖ public key).
fn keypairs() -> &'static HashMap<String, Vec<u8>> {
    static KEYS: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    KEYS.get_or_init(|| {
        all_vectors()
            .iter()
            .filter(|v| v["kind"] == "test_keypair")
            .map(|v| (text(v, "/inputs/name").unwrap().to_string(), bytes(v, "/inputs/private_key").unwrap()))
            .collect()
    })
}

fn private_key(name: &str) -> Result<&'static [u8], String> {
    keypairs().get(name).map(Vec::as_slice).ok_or_else(|| format!("no test key {name}"))
}

/// Sign with a named test key (the first 32 bytes of a Go private key are the Ed25519 seed).
fn sign(name: &str, message: &[u8]) -> Result<Vec<u8>, String> {
    let seed: [u8; 32] = private_key(name)?.get(..32).and_then(|s| s.try_into().ok()).ok_or("short key")?;
    Ok(SigningKey::from_bytes(&seed).sign(message).to_bytes().to_vec())
}

/// The test-network account of a named test key (bitmarkd's tests make only test accounts).
fn account(name: &str) -> Result<Account, String> {
    let public: [u8; 32] = private_key(name)?.get(32..).and_then(|s| s.try_into().ok()).ok_or("short key")?;
    Ok(Account::ed25519(public, true))
}

/// The vector's field description in bitmarkd's JSON form: accounts as base58, links as raw
/// hex, no helper fields.
fn record_json(fields: &Value) -> Result<Map<String, Value>, String> {
    let fields = fields.as_object().ok_or("fields is not an object")?;
    let mut out = Map::new();
    for (name, value) in fields {
        if name.ends_with("currency_code") || name.ends_with("currency_codes") {
            continue;
        }
        let value = match value {
            Value::Object(o) if o.contains_key("account_base58") => o["account_base58"].clone(),
            Value::Object(o) if o.contains_key("raw") && o.contains_key("display") => o["raw"].clone(),
            Value::Object(o) if name == "escrow" => Value::Object(
                o.iter().filter(|(k, _)| *k != "currency_code").map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            other => other.clone(),
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// bitmarkd's record name for the vector's struct name.
fn record_name(record_type: &str) -> &str {
    if record_type == "BitmarkShare" {
        "ShareBalance"
    } else {
        record_type
    }
}

/// The record the vector describes, with any signatures it gives.
fn build(v: &Value) -> Result<Transaction, String> {
    let mut json = record_json(field(v, "/inputs/fields")?)?;
    for sig in ["signature", "countersignature"] {
        if let Ok(s) = text(v, &format!("/inputs/{sig}")) {
            json.insert(sig.to_string(), Value::String(s.to_string()));
        }
    }
    Transaction::from_json(record_name(text(v, "/inputs/record_type")?), &Value::Object(json))
        .map_err(|e| format!("from_json: {e}"))
}

/// Compare an unpack result with a vector's `{ok, bytes_consumed}` or `{error}`.
fn unpack_result(got: Result<(Transaction, usize), Fault>, want: &Value, record: &Transaction) -> Check {
    if field(want, "/error").is_ok() {
        return fails_with(got.map(|(_, n)| n), want, "/error");
    }
    let (tx, n) = got.map_err(|e| format!("unpack failed: {e}"))?;
    same("bytes consumed", n as u64, uint(want, "/bytes_consumed")?)?;
    same("unpacked record", &tx, record)
}

fn check_pack(v: &Value) -> Check {
    let mut tx = build(v)?;
    let e = field(v, "/expected")?;
    same("tag", tx.tag().code(), uint(e, "/record_tag")?)?;
    same("record name", Tag::from_code(tx.tag().code()).map(Tag::record_name), Some(tx.record_name()))?;

    let message = tx.signing_message().map_err(|e| e.to_string())?;
    same("unsigned message", hex::encode(&message), text(e, "/unsigned_message")?.to_string())?;
    let signer = text(v, "/inputs/signer")?;
    let signature = sign(signer, &message)?;
    same("signature", hex::encode(&signature), text(e, "/signature")?.to_string())?;
    tx.set_signature(signature);

    match field(v, "/inputs/countersigner")?.as_str() {
        Some(countersigner) => {
            let message = tx.countersigning_message().map_err(|e| e.to_string())?;
            same("countersigned message", hex::encode(&message), text(e, "/countersigned_message")?.to_string())?;
            let countersignature = sign(countersigner, &message)?;
            same("countersignature", hex::encode(&countersignature), text(e, "/countersignature")?.to_string())?;
            tx.set_countersignature(countersignature).map_err(|e| e.to_string())?;
            same("countersigner", tx.countersigner().cloned(), Some(account(countersigner)?))?;
        }
        None => {
            same("countersigning message", tx.countersigning_message().err(), Some(Fault::NotACountersignableRecord))?;
            same(
                "set countersignature",
                tx.set_countersignature(vec![1]).err(),
                Some(Fault::NotACountersignableRecord),
            )?;
        }
    }

    let packed = bytes(e, "/packed")?;
    same("packed", tx.pack(&account(signer)?).map(hex::encode), Ok(hex::encode(&packed)))?;
    same("packed unverified", tx.pack_unverified().map(hex::encode), Ok(hex::encode(&packed)))?;
    let id = Transaction::tx_id_of(&packed);
    same("tx id raw", id.raw_hex(), text(e, "/tx_id_raw")?.to_string())?;
    same("tx id display", id.display_hex(), text(e, "/tx_id_display")?.to_string())?;
    same("tx id of record", tx.tx_id(), Ok(id))?;

    // A different signer must not verify (grants and swaps name their signer outright).
    let stranger = if signer == "registrant" { "issuer" } else { "registrant" };
    let want = match tx.tag() {
        Tag::ShareGrant | Tag::ShareSwap => Fault::InvalidOwnerOrRegistrant,
        _ => Fault::InvalidSignature,
    };
    same("wrong signer", tx.pack(&account(stranger)?).err(), Some(want))?;

    unpack_result(Transaction::unpack(&packed, true), field(e, "/unpack_testnet_true")?, &tx)?;
    unpack_result(Transaction::unpack(&packed, false), field(e, "/unpack_testnet_false")?, &tx)?;
    if boolean(e, "/every_strict_prefix_fails_unpack")? {
        for len in 0..packed.len() {
            if let Ok((_, n)) = Transaction::unpack(&packed[..len], true) {
                return Err(format!("prefix of {len} bytes unpacked ({n} bytes)"));
            }
        }
    }
    let mut trailing = packed.clone();
    trailing.extend_from_slice(&[0x06, 0x00, 0xff, 0x21]);
    let consumed = Transaction::unpack(&trailing, true).map(|(_, n)| n as u64);
    same("with trailing bytes", consumed, Ok(uint(e, "/unpack_with_trailing_bytes_consumes")?))?;

    if let Ok(asset_id) = text(e, "/asset_id") {
        let Transaction::AssetData(asset) = &tx else {
            return Err("asset id on a record that is not AssetData".into());
        };
        same("asset id", asset.asset_id().to_hex(), asset_id.to_string())?;
    }
    if let Ok(want) = text(e, "/packed_payments") {
        let payments = match &tx {
            Transaction::BlockFoundation(r) => &r.payments,
            Transaction::BlockOwnerTransfer(r) => &r.payments,
            _ => return Err("packed payments on a record without payments".into()),
        };
        same("packed payments", payments.pack(true).map(hex::encode), Ok(want.to_string()))?;
    }

    // JSON: bitmarkd's names and forms, and back to the same record.
    let json = tx.to_json();
    for (name, value) in record_json(field(v, "/inputs/fields")?)? {
        same(&format!("json {name}"), &json[&name], &value)?;
    }
    same("json signature", json["signature"].as_str(), Some(text(e, "/signature")?))?;
    same("json round trip", Transaction::from_json(tx.record_name(), &json), Ok(tx.clone()))?;
    let text_form = serde_json::to_string(&tx).map_err(|e| e.to_string())?;
    let reparsed: Value = serde_json::from_str(&text_form).map_err(|e| e.to_string())?;
    same("serialized json", reparsed, json)
}

fn check_pack_error(v: &Value) -> Check {
    let tx = build(v)?;
    let signer = account(text(v, "/inputs/pack_account")?)?;
    fails_with(tx.pack(&signer), v, "/expected/error")?;
    if let Ok(want) = text(v, "/expected/unsigned_message_in_test_source") {
        // The message exists only when the field checks pass (the fault is then a signature one).
        match tx.signing_message() {
            Ok(message) => same("unsigned message", hex::encode(message), want.to_string())?,
            Err(fault) => same(
                "signing message fault",
                format!("fault.{}", fault.name()),
                text(v, "/expected/error")?.to_string(),
            )?,
        }
    }
    Ok(())
}

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "tx_pack" => check_pack(v),
        "tx_pack_error" => check_pack_error(v),
        _ => Err(format!("unhandled kind {kind}")),
    }
}
