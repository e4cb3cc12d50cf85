//! Difficulty: compact bits, targets, float values, adjustment (difficulty/difficulty.go) and
//! the header validators that depend on it (blockrecord/validator.go).

use crate::common::*;
use bitmark_record::difficulty::{self, Difficulty};
use bitmark_record::header::{self, BlockHeader};
use bitmark_record::{genesis, Chain};
use serde_json::Value;

pub const KINDS: &[&str] = &[
    "difficulty_table",
    "difficulty_initial",
    "difficulty_reset",
    "difficulty_set_bytes",
    "difficulty_hashrate",
    "difficulty_next_by_timespan",
    "difficulty_prev_timespan_blocks",
    "difficulty_applied_version",
    "block_to_adjust_difficulty",
    "incoming_difficulty",
];

/// A u64 given as big-endian hex (`bits_hex`, `*_f64_bits`).
fn hex_u64(v: &Value, pointer: &str) -> Result<u64, String> {
    u64::from_str_radix(text(v, pointer)?, 16).map_err(|e| format!("{pointer}: {e}"))
}

/// A float field.
fn float(v: &Value, pointer: &str) -> Result<f64, String> {
    field(v, pointer)?.as_f64().ok_or_else(|| format!("{pointer} is not a number"))
}

/// A u16 field.
fn small(v: &Value, pointer: &str) -> Result<u16, String> {
    u16::try_from(uint(v, pointer)?).map_err(|e| format!("{pointer}: {e}"))
}

/// A chain name (the first word: some vectors annotate it).
pub fn chain(v: &Value, pointer: &str) -> Result<Chain, String> {
    let name = text(v, pointer)?.split_whitespace().next().unwrap_or_default();
    name.parse().map_err(|e| format!("{pointer}: {e}"))
}

/// Check bits, target, `String()`, `%#v` and JSON of a difficulty against an expected object.
fn same_difficulty(d: &Difficulty, want: &Value) -> Check {
    if let Ok(bits) = hex_u64(want, "/bits_hex") {
        same("bits", d.bits(), bits)?;
    }
    if let Ok(big) = text(want, "/big_hex") {
        same("big", d.target_hex(), big.to_string())?;
    }
    if let Ok(s) = text(want, "/string") {
        same("string", d.to_string(), s.to_string())?;
    }
    if let Ok(g) = text(want, "/gostring") {
        same("gostring", d.target_hex(), g.to_string())?;
    }
    if let Ok(j) = text(want, "/json") {
        same("json", serde_json::to_string(d).map_err(|e| e.to_string())?, j.to_string())?;
        same("json back", serde_json::from_str::<Difficulty>(j).map(|x| x.bits()).ok(), Some(d.bits()))?;
    }
    if let Ok(value_bits) = hex_u64(want, "/value_f64_bits") {
        same("value bits", format!("{:016x}", d.value().to_bits()), format!("{value_bits:016x}"))?;
    }
    if let Ok(value) = float(want, "/value") {
        same("value", d.value(), value)?;
    }
    Ok(())
}

/// A header that differs from genesis only in what the validators read.
fn header_with(version: u16, value: f64) -> BlockHeader {
    BlockHeader { version, difficulty: Difficulty::with_value(value), ..genesis::LIVE_HEADER }
}

/// Compare a validator result with `expected.error` (null = success).
fn result_matches(result: Result<(), bitmark_record::Fault>, v: &Value) -> Check {
    match field(v, "/expected/error")? {
        Value::Null => same("result", result.map_err(|f| f.name()), Ok(())),
        _ => fails_with(result, v, "/expected/error"),
    }
}

pub fn check(kind: &str, v: &Value) -> Check {
    match kind {
        "difficulty_table" => {
            let bits = hex_u64(v, "/inputs/bits_hex")?;
            let from_bits = Difficulty::from_bits(bits).map_err(|f| f.to_string())?;
            same_difficulty(&from_bits, field(v, "/expected/SetBits")?)?;
            let value = f64::from_bits(hex_u64(v, "/inputs/reciprocal_f64_bits")?);
            let set = Difficulty::with_value(value);
            same("set value", set.value().to_bits(), value.to_bits())?;
            same_difficulty(&set, field(v, "/expected/Set")?)
        }
        "difficulty_initial" => same_difficulty(&Difficulty::default(), field(v, "/expected")?),
        "difficulty_reset" => {
            let mut d = Difficulty::with_value(float(v, "/inputs/set_before")?);
            d.reset();
            same("value", d.value(), float(v, "/expected/value_after_reset")?)?;
            same("bits", d.bits(), hex_u64(v, "/expected/bits_after_reset")?)
        }
        "difficulty_set_bytes" => {
            let le: [u8; 8] = bytes(v, "/inputs/le_bytes")?.try_into().map_err(|_| "le_bytes is not 8 bytes")?;
            let d = Difficulty::from_le_bytes(le).map_err(|f| f.to_string())?;
            same("bits", d.bits(), hex_u64(v, "/expected/bits_hex")?)?;
            let (want, tolerance) = (float(v, "/expected/value_approx")?, float(v, "/expected/tolerance")?);
            if (d.value() - want).abs() > tolerance {
                return Err(format!("value {} not within {tolerance} of {want}", d.value()));
            }
            Ok(())
        }
        "difficulty_hashrate" => {
            let d = Difficulty::with_value(float(v, "/inputs/current_difficulty_value")?);
            same("hashrate", d.hashrate(), float(v, "/expected/hashrate")?)
        }
        "difficulty_next_by_timespan" => {
            let next = difficulty::next_difficulty(
                uint(v, "/inputs/previous_timespan_seconds")?,
                float(v, "/inputs/current_difficulty")?,
            );
            same("next bits", next.to_bits(), hex_u64(v, "/expected/next_difficulty_f64_bits")?)
        }
        "difficulty_prev_timespan_blocks" => same(
            "blocks",
            difficulty::prev_timespan_blocks(uint(v, "/inputs/height")?),
            (uint(v, "/expected/begin")?, uint(v, "/expected/end")?),
        ),
        "difficulty_applied_version" => same(
            "applied",
            header::is_difficulty_applied_version(small(v, "/inputs/version")?),
            boolean(v, "/expected/applied")?,
        ),
        "block_to_adjust_difficulty" => same(
            "adjust",
            header::is_block_to_adjust_difficulty(uint(v, "/inputs/height")?, small(v, "/inputs/version")?),
            boolean(v, "/expected/adjust")?,
        ),
        "incoming_difficulty" => {
            let current = Difficulty::with_value(float(v, "/inputs/current_difficulty_value")?);
            let incoming =
                header_with(small(v, "/inputs/header_version")?, float(v, "/inputs/header_difficulty_value")?);
            result_matches(header::valid_incoming_difficulty(&incoming, &current, chain(v, "/inputs/chain")?), v)
        }
        _ => Err(format!("unhandled kind {kind}")),
    }
}
