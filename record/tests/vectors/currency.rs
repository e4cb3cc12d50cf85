//! Currencies, payment addresses, the payment map and asset ids.

use crate::common::*;
use bitmark_record::currency::{bitcoin, litecoin, CurrencyMap, CurrencySet};
use bitmark_record::{AssetId, Currency, Fault};
use serde_json::Value;

pub const KINDS: &[&str] = &[
    "bitcoin_address",
    "litecoin_address",
    "litecoin_from_bitcoin",
    "currency_from_string",
    "currency_from_string_error",
    "currency_map_pack",
    "currency_map_pack_error",
    "currency_map_unpack",
    "currency_map_unpack_error",
    "asset_id_compute",
    "asset_id_from_bytes",
    "asset_id_scan_invalid",
    "asset_id_text",
];

/// A `{"BTC": address, ...}` object as a map.
fn symbol_map(v: &Value, pointer: &str) -> Result<CurrencyMap, String> {
    serde_json::from_value(field(v, pointer)?.clone()).map_err(|e| format!("{pointer}: {e}"))
}

/// A list of currency symbols as a set.
fn symbol_set(v: &Value, pointer: &str) -> Result<CurrencySet, String> {
    let list: Vec<Currency> =
        serde_json::from_value(field(v, pointer)?.clone()).map_err(|e| format!("{pointer}: {e}"))?;
    Ok(CurrencySet::of(&list))
}

/// Compare a validated address (version byte, name, hash, network) with the vector.
fn address_result(v: &Value, got: Result<(u8, &'static str, [u8; 20], bool), Fault>) -> Check {
    if !boolean(v, "/expected/valid")? {
        return fails_with(got, v, "/expected/error");
    }
    let (byte, name, hash, testnet) = got.map_err(|e| format!("unexpected fault {e}"))?;
    same("version", u64::from(byte), uint(v, "/expected/version")?)?;
    same("version name", name, text(v, "/expected/version_name")?)?;
    same("address bytes", hash.to_vec(), bytes(v, "/expected/address_bytes")?)?;
    same("is testnet", testnet, boolean(v, "/expected/is_testnet")?)
}

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "bitcoin_address" => {
            let got = bitcoin::validate_address(text(v, "/inputs/address")?)
                .map(|(ver, hash)| (ver.byte(), ver.name(), hash, ver.is_testnet()));
            address_result(v, got)
        }
        "litecoin_address" => {
            let address = text(v, "/inputs/address")?;
            let got =
                litecoin::validate_address(address).map(|(ver, hash)| (ver.byte(), ver.name(), hash, ver.is_testnet()));
            let valid = got.is_ok();
            address_result(v, got)?;
            if valid {
                same(
                    "transform",
                    litecoin::transform_address(address),
                    Ok(text(v, "/expected/transform")?.to_string()),
                )?;
            } else {
                fails_with(litecoin::transform_address(address), v, "/expected/error")?;
            }
            Ok(())
        }
        "litecoin_from_bitcoin" => {
            let got = litecoin::from_bitcoin(text(v, "/inputs/bitcoin_address")?).map_err(|e| e.to_string())?;
            same("litecoin", got.as_str(), text(v, "/expected/litecoin_address")?)?;
            let (version, _) = litecoin::validate_address(&got).map_err(|e| e.to_string())?;
            same("testnet", version.is_testnet(), boolean(v, "/expected/testnet")?)
        }
        "currency_from_string" => {
            let input = text(v, "/inputs/string")?;
            let c = Currency::scan(input).map_err(|e| e.to_string())?;
            same("currency", format!("{c:?}"), text(v, "/expected/currency")?.to_string())?;
            same("code", c.code(), uint(v, "/expected/code")?)?;
            same(
                "json",
                serde_json::to_string(&c).map_err(|e| e.to_string())?,
                text(v, "/expected/json")?.to_string(),
            )?;
            // UnmarshalText of the same string reads the same currency.
            same("from_text", Currency::from_text(input), Ok(c))?;
            let back: Currency = serde_json::from_str(text(v, "/expected/json")?).map_err(|e| e.to_string())?;
            same("json back", back, c)
        }
        "currency_from_string_error" => {
            same("items scanned", uint(v, "/expected/items_scanned")?, 0)?;
            fails_with(Currency::scan(text(v, "/inputs/string")?), v, "/expected/error")
        }
        "currency_map_pack" => {
            let map = symbol_map(v, "/inputs/map")?;
            let testnet = boolean(v, "/inputs/testnet")?;
            let packed = map.pack(testnet).map_err(|e| e.to_string())?;
            same("packed", hex::encode(&packed), text(v, "/expected/packed")?.to_string())?;
            same(
                "json",
                serde_json::to_string(&map).map_err(|e| e.to_string())?,
                text(v, "/expected/json")?.to_string(),
            )?;
            same("set", map.currencies(), symbol_set(v, "/expected/currency_set")?)?;
            let (back, set) = CurrencyMap::unpack(&packed, testnet).map_err(|e| e.to_string())?;
            same("set after unpack", set, map.currencies())?;
            same("round trip", back, map)
        }
        "currency_map_pack_error" => {
            // Keys are raw codes; a code no currency has cannot be in our map, and converting it
            // fails with the same fault the Go packer reports for it (InvalidCurrency).
            let raw = field(v, "/inputs/map_by_code")?.as_object().ok_or("map_by_code is not an object")?;
            let result = (|| {
                let mut map = CurrencyMap::new();
                for (code, address) in raw {
                    let code: u64 = code.parse().map_err(|_| Fault::InvalidCurrency)?;
                    map.insert(Currency::from_code(code)?, address.as_str().unwrap_or_default());
                }
                map.pack(boolean(v, "/inputs/testnet").unwrap_or(true))
            })();
            fails_with(result, v, "/expected/error")
        }
        "currency_map_unpack" => {
            let (map, set) = CurrencyMap::unpack(&bytes(v, "/inputs/buffer")?, boolean(v, "/inputs/testnet")?)
                .map_err(|e| e.to_string())?;
            same("map", map, symbol_map(v, "/expected/map")?)?;
            same("set", set, symbol_set(v, "/expected/currency_set")?)
        }
        "currency_map_unpack_error" => fails_with(
            CurrencyMap::unpack(&bytes(v, "/inputs/buffer")?, boolean(v, "/inputs/testnet")?),
            v,
            "/expected/error",
        ),
        "asset_id_compute" => {
            let fingerprint = bytes(v, "/inputs/fingerprint")?;
            same("ascii", fingerprint.as_slice(), text(v, "/inputs/fingerprint_ascii")?.as_bytes())?;
            same(
                "asset id",
                AssetId::from_fingerprint(&fingerprint).to_hex(),
                text(v, "/expected/asset_id")?.to_string(),
            )
        }
        "asset_id_from_bytes" => {
            let r = AssetId::from_bytes(&bytes(v, "/inputs/bytes")?);
            if field(v, "/expected/error").is_ok() {
                fails_with(r, v, "/expected/error")
            } else {
                same("raw", r.map(|a| a.to_hex()), Ok(text(v, "/expected/raw")?.to_string()))
            }
        }
        "asset_id_scan_invalid" => {
            same("items scanned", uint(v, "/expected/items_scanned")?, 0)?;
            fails_with(AssetId::scan(text(v, "/inputs/text")?), v, "/expected/error")
        }
        "asset_id_text" => {
            let input = text(v, "/inputs/text")?;
            let id = AssetId::scan(input).map_err(|e| e.to_string())?;
            same("raw", hex::encode(id.as_bytes()), text(v, "/expected/raw")?.to_string())?;
            same("string", id.to_string(), text(v, "/expected/string")?.to_string())?;
            same("gostring", id.go_string(), text(v, "/expected/gostring")?.to_string())?;
            let json = serde_json::json!({ "AssetIdentifier": id }).to_string();
            same("json", json.as_str(), text(v, "/expected/json")?)?;
            same("from text", AssetId::from_text(input), Ok(id))
        }
        _ => Err(format!("unhandled kind {kind}")),
    }
}
