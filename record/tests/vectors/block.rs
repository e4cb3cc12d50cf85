//! Block headers, their Argon2d digests, header validators and the genesis blocks
//! (blockrecord/, blockdigest/, genesis/).
//!
//! Argon2d over 128 MiB takes a noticeable fraction of a second, so each vector hashes at most
//! once, with one hasher reused across the area.

use crate::common::*;
use crate::difficulty::chain;
use bitmark_record::blockdigest::{block_digest, block_digest_of_bytes};
use bitmark_record::header::{self, BlockHeader, BlockNonce, DigestSource};
use bitmark_record::pay::{self, PayNonce};
use bitmark_record::{genesis, BlockDigest, Difficulty, Fault, Link};
use serde_json::Value;

pub const KINDS: &[&str] = &[
    "block_digest_argon2d",
    "block_digest_smaller_than",
    "block_digest_valid_by_difficulty",
    "block_header_extract",
    "block_header_pack_digest",
    "block_linkage",
    "block_nonce_json",
    "block_time_spacing",
    "header_version_check",
    "genesis_block",
];

/// "Now" for unpacking: later than every vector's timestamp.
const NOW: u64 = 2_000_000_000;

/// A raw-hex block digest field.
fn block_digest_field(v: &Value, pointer: &str) -> Result<BlockDigest, String> {
    BlockDigest::from_raw_hex(text(v, pointer)?).map_err(|e| format!("{pointer}: {e}"))
}

/// A u64 written as big-endian hex.
fn hex_u64(v: &Value, pointer: &str) -> Result<u64, String> {
    u64::from_str_radix(text(v, pointer)?, 16).map_err(|e| format!("{pointer}: {e}"))
}

/// A header from a vector's `fields` object (nonce as a decimal or a hex u64).
fn header_from_fields(f: &Value) -> Result<BlockHeader, String> {
    let small = |p: &str| uint(f, p).and_then(|n| u16::try_from(n).map_err(|e| e.to_string()));
    let nonce = uint(f, "/nonce").or_else(|_| hex_u64(f, "/nonce_hex_u64"))?;
    Ok(BlockHeader {
        version: small("/version")?,
        transaction_count: small("/transactionCount")?,
        number: uint(f, "/number")?,
        previous_block: block_digest_field(f, "/previousBlock_raw")?,
        merkle_root: Link::from_raw_hex(text(f, "/merkleRoot_raw")?).map_err(|e| e.to_string())?,
        timestamp: uint(f, "/timestamp")?,
        difficulty: Difficulty::from_bits(hex_u64(f, "/difficulty_bits_hex")?).map_err(|e| e.to_string())?,
        nonce,
    })
}

/// Check a digest against `expected.digest_raw` and, when given, `digest_display`.
fn same_digest(d: &BlockDigest, v: &Value) -> Check {
    same("digest raw", d.raw_hex(), text(v, "/expected/digest_raw")?.to_string())?;
    if let Ok(display) = text(v, "/expected/digest_display") {
        same("digest display", d.display_hex(), display.to_string())?;
    }
    Ok(())
}

/// Compare a validator result with `expected.error` (null = success).
fn result_matches(result: Result<(), Fault>, v: &Value) -> Check {
    match field(v, "/expected/error")? {
        Value::Null => same("result", result.map_err(|f| f.name()), Ok(())),
        _ => fails_with(result, v, "/expected/error"),
    }
}

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "block_digest_argon2d" => {
            let d = block_digest_of_bytes(&bytes(v, "/inputs/data")?).map_err(|e| e.to_string())?;
            same_digest(&d, v)?;
            if let Ok(json) = text(v, "/expected/json") {
                same("json", serde_json::to_string(&d).map_err(|e| e.to_string())?, json.to_string())?;
            }
            Ok(())
        }
        "block_digest_smaller_than" => {
            let (a, b) = (block_digest_field(v, "/inputs/a_raw")?, block_digest_field(v, "/inputs/b_raw")?);
            same("smaller", a.smaller_than(&b), boolean(v, "/expected/a_smaller_than_b")?)
        }
        "block_digest_valid_by_difficulty" => {
            let d = block_digest_field(v, "/inputs/digest_raw")?;
            let difficulty =
                Difficulty::with_value(field(v, "/inputs/difficulty_set_float")?.as_f64().ok_or("not a float")?);
            if let Ok(big) = text(v, "/expected/difficulty_big_hex") {
                same("target", difficulty.target_hex(), big.to_string())?;
            }
            let valid = d.is_valid_by_difficulty(&difficulty, chain(v, "/inputs/chain")?);
            same("valid", valid, boolean(v, "/expected/valid")?)
        }
        "block_header_extract" => {
            let block = bytes(v, "/inputs/packed_header")?;
            let source = if boolean(v, "/inputs/skip_digest")? { DigestSource::Skip } else { DigestSource::Compute };
            let (h, d, rest) =
                header::extract(&block, uint(v, "/inputs/check_height")?, source, NOW).map_err(|e| e.to_string())?;
            same("ok", true, boolean(v, "/expected/ok")?)?;
            same("rest", rest.len(), 0)?;
            same_digest(&d, v)?;
            if let Ok(fields) = field(v, "/expected/fields") {
                same("header", h, header_from_fields(fields)?)?;
            }
            Ok(())
        }
        "block_header_pack_digest" => {
            let h = header_from_fields(field(v, "/inputs/fields")?)?;
            let packed = h.pack();
            same("packed", packed.to_vec(), bytes(v, "/expected/packed_header")?)?;
            same_digest(&block_digest(&packed), v)?;
            let json = text(v, "/expected/json")?;
            same("json", serde_json::to_string(&h).map_err(|e| e.to_string())?, json.to_string())?;
            same("json back", serde_json::from_str::<BlockHeader>(json).ok(), Some(h))?;
            // Any strict prefix is too short; the whole header is not genesis-shaped yet has
            // one transaction.
            for len in [0, 1, 50, 99] {
                let prefix = packed.get(..len).unwrap_or_default();
                same(
                    "prefix",
                    header::extract(prefix, 0, DigestSource::Skip, NOW).err(),
                    Some(Fault::InvalidBlockHeaderSize),
                )?;
            }
            same(
                "full",
                header::extract(&packed, 0, DigestSource::Skip, NOW).err(),
                Some(Fault::TransactionCountOutOfRange),
            )
        }
        "block_linkage" => result_matches(
            header::valid_block_linkage(
                &block_digest_field(v, "/inputs/current_raw")?,
                &block_digest_field(v, "/inputs/incoming_previous_raw")?,
            ),
            v,
        ),
        "block_nonce_json" => {
            let nonce = BlockNonce(hex_u64(v, "/inputs/nonce_hex_u64")?);
            let json = text(v, "/expected/json")?;
            same("json", serde_json::to_string(&nonce).map_err(|e| e.to_string())?, json.to_string())?;
            same(
                "round trip",
                serde_json::from_str::<BlockNonce>(json).ok() == Some(nonce),
                boolean(v, "/expected/roundtrip")?,
            )
        }
        "block_time_spacing" => {
            let version = u16::try_from(uint(v, "/inputs/version")?).map_err(|e| e.to_string())?;
            result_matches(header::valid_block_time_spacing(version, uint(v, "/inputs/backwards_seconds")?), v)
        }
        "header_version_check" => {
            let small = |p: &str| uint(v, p).and_then(|n| u16::try_from(n).map_err(|e| e.to_string()));
            result_matches(
                header::valid_header_version(small("/inputs/current_version")?, small("/inputs/incoming_version")?),
                v,
            )
        }
        "genesis_block" => check_genesis(v),
        _ => Err(format!("unhandled kind {kind}")),
    }
}

/// The genesis constants against the vector. The digest constants themselves are recomputed
/// with Argon2d by the `genesis` unit tests, so no hashing here.
fn check_genesis(v: &Value) -> Check {
    let chain = chain(v, "/inputs/chain")?;
    let block = genesis::block(chain);
    same("block", block.to_vec(), bytes(v, "/expected/packed_block")?)?;
    let (h, _, base) = header::extract(block, 0, DigestSource::Skip, NOW).map_err(|e| e.to_string())?;
    same("header", h, header_from_fields(field(v, "/inputs/header_fields")?)?)?;
    same("header constant", genesis::header(chain), h)?;
    same("packed header", h.pack().to_vec(), bytes(v, "/expected/packed_header")?)?;
    same("base record", base.to_vec(), bytes(v, "/expected/packed_base_record")?)?;
    same("base record fn", genesis::base_record(chain), base)?;
    let base_id = Link::of(base);
    same("base tx id raw", base_id.raw_hex(), text(v, "/expected/base_tx_id_raw")?.to_string())?;
    same("base tx id display", base_id.display_hex(), text(v, "/expected/base_tx_id_display")?.to_string())?;
    same("merkle root", h.merkle_root.raw_hex(), text(v, "/expected/merkle_root_raw")?.to_string())?;
    same("merkle root of base", bitmark_record::merkle::root(&[base_id]), h.merkle_root)?;
    // TODO(transactions): decode `base` as a BaseData record with the transaction-record code
    // (another helper's module) and check /inputs/base_record: currency, payment address
    // (the message), owner (base58 and public key, test network flag), nonce and the Ed25519
    // signature. Only its bytes, tx id and merkle root are checked here.
    let digest = genesis::digest(chain);
    same_digest(&digest, v)?;
    same(
        "digest json",
        serde_json::to_string(&digest).map_err(|e| e.to_string())?,
        text(v, "/expected/digest_json")?.to_string(),
    )?;
    same(
        "meets One",
        digest.is_valid_by_difficulty(&Difficulty::ONE, bitmark_record::Chain::Bitmark),
        boolean(v, "/expected/digest_meets_difficulty_one")?,
    )?;
    let nonce = PayNonce::from_block(pay::pay_nonce_height(1), chain, |_| None);
    same("pay nonce", nonce.to_hex(), text(v, "/expected/pay_nonce_at_height_1")?.to_string())?;
    let foundation = header::foundation_tx_id(genesis::BLOCK_NUMBER, &digest);
    same("foundation raw", foundation.raw_hex(), text(v, "/expected/foundation_tx_id_raw_DERIVED")?.to_string())?;
    same(
        "foundation display",
        foundation.display_hex(),
        text(v, "/expected/foundation_tx_id_display_DERIVED")?.to_string(),
    )
}
