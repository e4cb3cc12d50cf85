//! varint64, base58, SHA3 digests and their hex orders.

use crate::common::*;
use bitmark_record::{base58, varint, BlockDigest, Link};
use serde_json::Value;

pub const KINDS: &[&str] = &[
    "varint64",
    "varint64_truncated",
    "clipped_varint64",
    "base58_encode",
    "base58_decode",
    "base58_decode_invalid",
    "sha3_256_digest",
    "merkle_digest_display",
    "merkle_digest_from_bytes",
    "merkle_digest_scan_invalid",
    "block_digest_display",
    "block_digest_is_empty",
];

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "varint64" => {
            let value = uint(v, "/inputs/value")?;
            let enc = bytes(v, "/expected/encoded")?;
            same("encoded", varint::encode(value), enc.clone())?;
            same("decoded", varint::decode(&enc), Some((value, uint(v, "/expected/decoded_length")? as usize)))
        }
        "varint64_truncated" => {
            let enc = bytes(v, "/inputs/encoded")?;
            same("count", varint::decode(&enc).map_or(0, |(_, n)| n) as u64, uint(v, "/expected/count")?)
        }
        "clipped_varint64" => {
            let enc = bytes(v, "/inputs/encoded")?;
            let (min, max) = (uint(v, "/inputs/minimum")? as i64, uint(v, "/inputs/maximum")? as i64);
            let got = varint::clipped(&enc, min, max).unwrap_or((0, 0));
            same("clipped", (got.0 as u64, got.1 as u64), (uint(v, "/expected/value")?, uint(v, "/expected/count")?))?;
            if let Ok(sw) = field(v, "/expected/swapped_min_max_result") {
                let got = varint::clipped(&enc, max, min).unwrap_or((0, 0));
                same("swapped", (got.0 as u64, got.1 as u64), (uint(sw, "/value")?, uint(sw, "/count")?))?;
            }
            Ok(())
        }
        "base58_encode" => {
            same("base58", base58::encode(&bytes(v, "/inputs/bytes")?), text(v, "/expected/base58")?.to_string())
        }
        "base58_decode" | "base58_decode_invalid" => {
            same("bytes", base58::decode(text(v, "/inputs/base58")?), bytes(v, "/expected/bytes")?)
        }
        "sha3_256_digest" => {
            let d = Link::of(&bytes(v, "/inputs/data")?);
            same("raw", d.raw_hex(), text(v, "/expected/digest_raw")?.to_string())?;
            same("display", d.display_hex(), text(v, "/expected/digest_display")?.to_string())
        }
        "merkle_digest_display" | "block_digest_display" => {
            let input = text(v, "/inputs/display")?;
            let (raw, string, gostring, json) = if kind == "merkle_digest_display" {
                let d = Link::from_display_hex(input).map_err(|e| e.to_string())?;
                (d.raw_hex(), d.to_string(), d.go_string(), serde_json::json!({ "Link": d }))
            } else {
                let d = BlockDigest::from_display_hex(input).map_err(|e| e.to_string())?;
                (d.raw_hex(), d.to_string(), d.go_string(), serde_json::json!({ "Digest": d }))
            };
            same("raw", raw, text(v, "/expected/raw")?.to_string())?;
            same("gostring", gostring, text(v, "/expected/gostring")?.to_string())?;
            same("string", string, input.to_string())?;
            if let Ok(want) = text(v, "/expected/json") {
                same("json", json.to_string(), want.to_string())?;
            }
            Ok(())
        }
        "merkle_digest_from_bytes" => {
            let r = Link::from_bytes(&bytes(v, "/inputs/bytes")?);
            if field(v, "/expected/error").is_err() {
                same(
                    "raw",
                    r.map(|d| d.raw_hex()).map_err(|e| e.to_string()),
                    Ok(text(v, "/expected/raw")?.to_string()),
                )
            } else {
                fails_with(r, v, "/expected/error")
            }
        }
        "merkle_digest_scan_invalid" => {
            fails_with(Link::from_display_hex(text(v, "/inputs/text")?), v, "/expected/error")
        }
        "block_digest_is_empty" => {
            let d = BlockDigest::from_bytes(&bytes(v, "/inputs/digest_raw")?).map_err(|e| e.to_string())?;
            same("is_empty", d.is_empty(), boolean(v, "/expected/is_empty")?)
        }
        _ => Err(format!("unhandled kind {kind}")),
    }
}
