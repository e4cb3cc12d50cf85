//! Accounts, private keys, seeds and recovery phrases (`docs/formats.md#accounts-and-keys`).

use crate::common::*;
use bitmark_record::{base58, Account, Algorithm, PrivateKey, Seed};
use serde_json::Value;

pub const KINDS: &[&str] = &[
    "account",
    "account_from_base58_error",
    "test_keypair",
    "private_key",
    "private_key_from_base58_error",
    "seed_to_private_key",
    "seed_error",
    "seed_to_phrase",
];

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "account" => account(v),
        "account_from_base58_error" => {
            fails_with(Account::from_base58(text(v, "/inputs/base58")?), v, "/expected/error")
        }
        "test_keypair" => test_keypair(v),
        "private_key" => private_key(v),
        "private_key_from_base58_error" => {
            fails_with(PrivateKey::from_base58(text(v, "/inputs/base58")?), v, "/expected/error")
        }
        "seed_to_private_key" => seed_to_private_key(v),
        "seed_error" => fails_with(Seed::from_base58(text(v, "/inputs/seed_base58")?), v, "/expected/error"),
        "seed_to_phrase" => seed_to_phrase(v),
        _ => Err(format!("unhandled kind {kind}")),
    }
}

/// The algorithm a vector names, checked against its key type code.
fn algorithm(v: &Value) -> Result<Algorithm, String> {
    let name = text(v, "/inputs/algorithm")?;
    let a = [Algorithm::Nothing, Algorithm::Ed25519]
        .into_iter()
        .find(|a| a.name() == name)
        .ok_or_else(|| format!("unknown algorithm {name}"))?;
    same("key type code", a as u64, uint(v, "/inputs/key_type_code")?)?;
    Ok(a)
}

/// The base58 form decodes to bytes ‖ SHA3 checksum; check the checksum part if given.
fn checksum_of(base58_text: &str, v: &Value) -> Check {
    if let Ok(want) = bytes(v, "/expected/checksum") {
        let all = base58::decode(base58_text);
        same("checksum", all.get(all.len().saturating_sub(4)..).map(<[u8]>::to_vec), Some(want))?;
    }
    Ok(())
}

fn account(v: &Value) -> Check {
    let algorithm = algorithm(v)?;
    let key = bytes(v, "/inputs/public_key")?;
    let testnet = boolean(v, "/inputs/testnet")?;
    let want_bytes = bytes(v, "/expected/account_bytes")?;
    let want_base58 = text(v, "/expected/base58")?;

    let a = Account::from_bytes(&want_bytes).map_err(|e| format!("from_bytes: {e}"))?;
    same("algorithm", a.algorithm(), algorithm)?;
    same("testnet", a.is_testnet(), testnet)?;
    same("public key", a.public_key(), key.as_slice())?;
    same("bytes", a.to_bytes(), want_bytes.clone())?;
    same("base58", a.to_base58(), want_base58.to_string())?;
    same("display", a.to_string(), want_base58.to_string())?;
    same("is_zero", a.is_zero(), boolean(v, "/expected/is_zero")?)?;
    checksum_of(want_base58, v)?;
    same("from_base58", Account::from_base58(want_base58).as_ref(), Ok(&a))?;
    let json = serde_json::to_string(&a).map_err(|e| e.to_string())?;
    same("json", json.as_str(), text(v, "/expected/json")?)?;
    same("from json", serde_json::from_str::<Account>(&json).ok(), Some(a))
}

fn test_keypair(v: &Value) -> Check {
    let key = bytes(v, "/inputs/private_key")?;
    let public = bytes(v, "/expected/public_key")?;
    // transactionrecord's tests build TESTNET Ed25519 keys from these 64 bytes.
    for (testnet, pointer) in [(true, "/expected/account_base58_testnet"), (false, "/expected/account_base58_livenet")]
    {
        let mut encoded = vec![if testnet { 0x12 } else { 0x10 }];
        encoded.extend_from_slice(&key);
        let p = PrivateKey::from_bytes(&encoded).map_err(|e| format!("from_bytes: {e}"))?;
        let a = p.account().ok_or("ed25519 key has no account")?;
        same("public key", a.public_key(), public.as_slice())?;
        same("account base58", a.to_base58(), text(v, pointer)?.to_string())?;
        if testnet {
            same("account bytes", a.to_bytes(), bytes(v, "/expected/account_bytes_testnet")?)?;
        }
    }
    Ok(())
}

fn private_key(v: &Value) -> Check {
    let algorithm = algorithm(v)?;
    let key = bytes(v, "/inputs/private_key")?;
    let want_bytes = bytes(v, "/expected/private_key_bytes")?;
    let want_base58 = text(v, "/expected/base58")?;

    let p = PrivateKey::from_bytes(&want_bytes).map_err(|e| format!("from_bytes: {e}"))?;
    same("algorithm", p.algorithm(), algorithm)?;
    same("testnet", p.is_testnet(), boolean(v, "/expected/testnet")?)?;
    same("key bytes", p.key_bytes(), key.as_slice())?;
    same("bytes", p.to_bytes(), want_bytes)?;
    same("base58", p.to_base58(), want_base58.to_string())?;
    same("from_base58", PrivateKey::from_base58(want_base58).as_ref(), Ok(&p))?;
    let json = serde_json::to_string(&p).map_err(|e| e.to_string())?;
    same("json", json.as_str(), text(v, "/expected/json")?)?;
    same("from json", serde_json::from_str::<PrivateKey>(&json).ok().as_ref(), Some(&p))?;
    match field(v, "/expected/derived_account_public_key") {
        Ok(_) => {
            let want = bytes(v, "/expected/derived_account_public_key")?;
            let a = p.account().ok_or("no account")?;
            same("derived public key", a.public_key(), want.as_slice())?;
            same("derived testnet", a.is_testnet(), p.is_testnet())
        }
        Err(_) => same("account of a Nothing key", p.account(), None),
    }
}

fn seed_to_private_key(v: &Value) -> Check {
    let text_in = text(v, "/inputs/seed_base58")?;
    let s = Seed::from_base58(text_in).map_err(|e| format!("seed: {e}"))?;
    same("seed bytes", s.as_bytes(), bytes(v, "/expected/seed_bytes")?.as_slice())?;
    same("round trip", s.to_base58(), text_in.to_string())?;
    same("version", u64::from(s.version()), uint(v, "/expected/seed_version")?)?;
    same("secret", s.secret_key(), bytes(v, "/expected/secret_key")?.as_slice())?;
    let testnet = boolean(v, "/expected/testnet")?;
    same("testnet", s.is_testnet(), testnet)?;
    same("ed25519 seed", s.ed25519_seed().to_vec(), bytes(v, "/expected/ed25519_seed")?)?;
    let p = s.private_key();
    same("private key", p.key_bytes(), bytes(v, "/expected/private_key")?.as_slice())?;
    same("private key testnet", p.is_testnet(), testnet)?;
    same("from ed25519 seed", PrivateKey::from_ed25519_seed(s.ed25519_seed(), testnet), p.clone())?;
    let a = p.account().ok_or("no account")?;
    same("public key", a.public_key(), bytes(v, "/expected/public_key")?.as_slice())?;
    same("account", a.to_base58(), text(v, "/expected/account_base58")?.to_string())?;
    // The phrase of a seed reads back as the same seed.
    same("phrase round trip", Seed::from_phrase(&s.to_phrase()).as_ref(), Ok(&s))
}

fn seed_to_phrase(v: &Value) -> Check {
    let s = Seed::from_base58(text(v, "/inputs/seed_base58")?).map_err(|e| format!("seed: {e}"))?;
    let phrase = s.to_phrase();
    same("phrase", phrase.join(" "), text(v, "/expected/phrase")?.to_string())?;
    same("word count", phrase.len() as u64, uint(v, "/expected/word_count")?)?;
    same("testnet", s.is_testnet(), boolean(v, "/expected/testnet")?)?;
    same("from phrase", Seed::from_phrase(&phrase).as_ref(), Ok(&s))
}

/// `PrivateKey::sign` gives, byte for byte, every signature and countersignature in the
/// transaction vectors (Ed25519 is deterministic), using the `test_keypair` keys by name.
#[test]
fn sign_matches_transaction_vectors() {
    let vectors = all_vectors();
    let key_named = |name: &str| -> PrivateKey {
        let v = vectors
            .iter()
            .find(|v| v["kind"] == "test_keypair" && v["inputs"]["name"] == name)
            .unwrap_or_else(|| panic!("no test_keypair {name}"));
        let mut encoded = vec![0x12];
        encoded.extend(bytes(v, "/inputs/private_key").unwrap());
        PrivateKey::from_bytes(&encoded).unwrap()
    };
    let mut signed = 0;
    for v in vectors.iter().filter(|v| v["kind"] == "tx_pack") {
        for (who, message, signature) in [
            ("/inputs/signer", "/expected/unsigned_message", "/expected/signature"),
            ("/inputs/countersigner", "/expected/countersigned_message", "/expected/countersignature"),
        ] {
            let Ok(name) = text(v, who) else { continue };
            let key = key_named(name);
            let sig = key.sign(&bytes(v, message).unwrap()).unwrap();
            assert_eq!(hex::encode(sig), text(v, signature).unwrap(), "{} {who}", v["source"]);
            signed += 1;
        }
    }
    assert!(signed > 0, "no transaction signatures checked");
}
