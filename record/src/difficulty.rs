//! Proof-of-work difficulty, bit for bit as bitmarkd's `difficulty` package computes it.
//!
//! A difficulty travels in block headers as a 64-bit compact word ("bits": an 8-bit exponent over
//! a 56-bit mantissa with an implied leading one) that expands to a 256-bit *target*; a block
//! digest read as a little-endian integer must not exceed the target. The human-facing *value*
//! ("Pdiff") is `One / target`, where `One` is the target of the easiest difficulty.
//!
//! Go computes the value with `big.Float` and the reverse conversion ([`Difficulty::set_value`])
//! with a hand-written, slightly lossy normalisation. Nodes compare these floats for exact
//! equality (`ValidIncomingDifficulty`), so both directions are reproduced exactly here, quirks
//! included, using exact integer arithmetic and explicit rounding.

use crate::fault::Fault;
use num_bigint::BigUint;
use num_traits::{One as _, Zero as _};
use std::fmt;

/// The bits of the easiest difficulty, value 1.0 (`OneUint64`).
pub const ONE_BITS: u64 = 0x00ff_ffff_ffff_ffff;

/// Seconds between blocks that the difficulty adjustment aims for.
pub const EXPECTED_BLOCK_SPACING_SECONDS: u64 = 120;

/// Number of blocks between difficulty adjustments.
pub const ADJUST_TIMESPAN_BLOCKS: u64 = 200;

/// The timespan a whole adjustment period should take: 200 blocks × 120 s.
const ADJUST_TIMESPAN_SECONDS: u64 = EXPECTED_BLOCK_SPACING_SECONDS * ADJUST_TIMESPAN_BLOCKS;

/// First block of the chain after genesis; the earliest adjustment period starts here.
const FIRST_BLOCK: u64 = 2;

/// Block whose difficulty is the base for adjustments early in the chain
/// (`MinimumDifficultyBaseBlock`, blockrecord/header.go).
const MINIMUM_DIFFICULTY_BASE_BLOCK: u64 = 3;

/// Smallest allowed difficulty value; anything below resets to One.
const MINIMUM_VALUE: f64 = 1.0;

/// The target of difficulty One, big-endian: `00ff…ff80 00…00`.
#[rustfmt::skip]
const ONE_TARGET: [u8; 32] = [
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// Mask of the stored mantissa bits of a compact word.
const MANTISSA_MASK: u64 = 0x00ff_ffff_ffff_ffff;

/// The implied leading mantissa bit.
const HIDDEN_BIT: u64 = 0x0100_0000_0000_0000;

/// Smallest exponent that Go refuses (it panics in `SetBits`).
const MAXIMUM_EXPONENT: u64 = 0xc0;

/// Significant bits of Go's `big.Float` quotient in `SetBits` (the precision of `One`).
const VALUE_QUOTIENT_PRECISION: u64 = 248;

/// Significant bits of Go's `big.Float` quotient in `Set`.
const SET_QUOTIENT_PRECISION: u64 = 256;

/// Significant bits of an f64.
const F64_PRECISION: u64 = 53;

/// A difficulty: compact bits, the 256-bit target and the cached float value.
///
/// The three fields normally agree, except after [`Difficulty::set_value`]: as in bitmarkd, the
/// value is then exactly the float given, the target is the exact `floor(One / value)` (rounded
/// up at 256 bits first), and the bits are a lossy encoding of that target. Headers carry only
/// the bits, so a difficulty read back from a header has the target and value of its bits.
#[derive(Clone, Copy, PartialEq)]
pub struct Difficulty {
    target: [u8; 32],
    value: f64,
    bits: u64,
}

impl Default for Difficulty {
    /// Difficulty One, like Go's `difficulty.New()`.
    fn default() -> Self {
        Difficulty::ONE
    }
}

/// How to round a quotient that does not fit the precision.
#[derive(Clone, Copy)]
enum Rounding {
    /// Round half to even (Go's `big.ToNearestEven`, also f64 conversion).
    NearestEven,
    /// Round toward +∞ (Go's `big.ToPositiveInf`).
    Up,
}

/// Round the positive integer `n` to `precision` significant bits. `inexact` says that `n` was
/// already truncated (non-zero bits follow it). Returns the rounded mantissa and how many bits
/// it was shifted right, so the rounded value is `mantissa · 2^shift` in units of `n`.
fn round_to_precision(n: BigUint, inexact: bool, precision: u64, mode: Rounding) -> (BigUint, u64) {
    let length = n.bits();
    if length <= precision {
        let up = inexact && matches!(mode, Rounding::Up);
        // Only reachable for exact inputs in this module; an inexact short input rounds up by
        // one unit in the last place it has.
        return (if up { n + 1u32 } else { n }, 0);
    }
    let drop = length - precision;
    let kept = &n >> drop;
    let dropped = &n - (&kept << drop);
    let round_up = match mode {
        Rounding::Up => inexact || !dropped.is_zero(),
        Rounding::NearestEven => {
            let half = BigUint::one() << (drop - 1);
            dropped > half || (dropped == half && (inexact || kept.bit(0)))
        }
    };
    if !round_up {
        return (kept, drop);
    }
    let kept = kept + 1u32;
    if kept.bits() > precision {
        // All ones rounded up to a power of two: drop the (zero) low bit to keep the precision.
        (kept >> 1u32, drop + 1)
    } else {
        (kept, drop)
    }
}

/// `numerator / denominator` rounded to `precision` significant bits, as `(mantissa, exponent)`
/// with value `mantissa · 2^exponent`. Both inputs must be non-zero.
fn divide_rounded(numerator: &BigUint, denominator: &BigUint, precision: u64, mode: Rounding) -> (BigUint, i64) {
    // Scale so the integer quotient has at least precision + 1 bits; the remainder is sticky.
    let scale = precision as i64 + 2 + denominator.bits() as i64 - numerator.bits() as i64;
    let (num, den) = if scale >= 0 {
        (numerator << scale as u64, denominator.clone())
    } else {
        (numerator.clone(), denominator << scale.unsigned_abs())
    };
    let quotient = &num / &den;
    let inexact = !(&num - &quotient * &den).is_zero();
    let (mantissa, shift) = round_to_precision(quotient, inexact, precision, mode);
    (mantissa, shift as i64 - scale)
}

/// `2^exponent` as an f64, for exponents in the normal range (others saturate to 0 or ∞).
fn pow2(exponent: i64) -> f64 {
    match exponent {
        e if e > 1023 => f64::INFINITY,
        e if e < -1022 => 0.0,
        e => f64::from_bits(((e + 1023) as u64) << 52),
    }
}

/// A positive `mantissa · 2^exponent` rounded to the nearest f64 (half to even).
fn to_f64(mantissa: BigUint, exponent: i64) -> f64 {
    let (m, shift) = round_to_precision(mantissa, false, F64_PRECISION, Rounding::NearestEven);
    let m = m.iter_u64_digits().next().unwrap_or(0);
    // m < 2^53, exact as f64; split the power so neither factor overflows on its own.
    let e = exponent + shift as i64;
    m as f64 * pow2(e / 2) * pow2(e - e / 2)
}

/// An f64 ≥ 1 as an exact `(mantissa, exponent)` pair.
fn decompose(f: f64) -> (BigUint, i64) {
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    if biased == 0 {
        (BigUint::from(fraction), -1074)
    } else {
        (BigUint::from(fraction | (1u64 << 52)), biased - 1075)
    }
}

impl Difficulty {
    /// Difficulty One: bits `00ffffffffffffff`, value 1.0, the easiest difficulty. The genesis
    /// blocks use it, as does every fresh `difficulty.New()` in bitmarkd.
    pub const ONE: Difficulty = Difficulty { target: ONE_TARGET, value: MINIMUM_VALUE, bits: ONE_BITS };

    /// Decode compact bits (`SetBits`). An exponent byte ≥ 0xc0 would shift the mantissa off the
    /// 256-bit target; Go panics there, this returns `InvalidBlockHeaderDifficulty` because the
    /// only source of such bits is a bad header.
    pub fn from_bits(bits: u64) -> Result<Difficulty, Fault> {
        if bits == ONE_BITS {
            return Ok(Difficulty::ONE);
        }
        let exponent = bits >> 56;
        if exponent >= MAXIMUM_EXPONENT {
            return Err(Fault::InvalidBlockHeaderDifficulty);
        }
        let mantissa = (bits & MANTISSA_MASK) | HIDDEN_BIT;
        let target = BigUint::from(mantissa) << (191 - exponent);
        // Go: big.Float quotient One/target at 248 bits (nearest even), then Float64().
        let (m, e) = divide_rounded(&one_target(), &target, VALUE_QUOTIENT_PRECISION, Rounding::NearestEven);
        Ok(Difficulty { target: to_target_bytes(&target), value: to_f64(m, e), bits })
    }

    /// Decode the 8 little-endian header bytes (`SetBytes`).
    pub fn from_le_bytes(bytes: [u8; 8]) -> Result<Difficulty, Fault> {
        Difficulty::from_bits(u64::from_le_bytes(bytes))
    }

    /// A difficulty with the given value (Go's `New()` followed by `Set(f)`).
    pub fn with_value(f: f64) -> Difficulty {
        let mut d = Difficulty::ONE;
        d.set_value(f);
        d
    }

    /// Set the value (`Set`), reproducing bitmarkd exactly:
    /// * `f < 1` resets to One (so does NaN, where Go would panic);
    /// * otherwise the value becomes exactly `f`, the target `floor(r)` where `r` is `One / f`
    ///   rounded up to 256 significant bits, and the bits are re-encoded from that target with
    ///   Go's normalisation: it shifts right counting the one-bits shifted out and adds one to
    ///   the mantissa when more than four were, without renormalising a carry (so the encoded
    ///   target can differ from the stored one);
    /// * if the target is zero (`f` beyond One, e.g. +∞) the bits are left as they were.
    pub fn set_value(&mut self, f: f64) {
        if f.is_nan() || f < MINIMUM_VALUE {
            self.reset();
            return;
        }
        self.value = f;
        let target = if f.is_infinite() {
            BigUint::zero()
        } else {
            let (mantissa, exponent) = decompose(f);
            let (r, e) = divide_rounded(&one_target(), &mantissa, SET_QUOTIENT_PRECISION, Rounding::Up);
            let e = e - exponent;
            if e >= 0 {
                r << e as u64
            } else {
                r >> e.unsigned_abs()
            }
        };
        self.target = to_target_bytes(&target);
        if let Some(bits) = encode_bits(&target) {
            self.bits = bits;
        }
    }

    /// Back to One (`internalReset`).
    pub fn reset(&mut self) {
        *self = Difficulty::ONE;
    }

    /// The float value ("Pdiff", `Value()`): how many times harder than One.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// The compact bits as carried in block headers (`Bits()`).
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// The bits as the 8 little-endian bytes of a packed header.
    pub fn to_le_bytes(&self) -> [u8; 8] {
        self.bits.to_le_bytes()
    }

    /// The 256-bit target, big-endian (`BigInt()`); a digest passes when its value is ≤ this.
    pub fn target(&self) -> [u8; 32] {
        self.target
    }

    /// The target as an integer, for comparisons.
    pub fn target_big(&self) -> BigUint {
        BigUint::from_bytes_be(&self.target)
    }

    /// The target as 64 hex digits (`GoString()`, `%#v`).
    pub fn target_hex(&self) -> String {
        hex::encode(self.target)
    }

    /// Whether a 32-byte big-endian integer is at most the target.
    pub fn admits_be(&self, big_endian: &[u8; 32]) -> bool {
        big_endian <= &self.target
    }

    /// The JSON text: hex of the bits in little-endian byte order (`MarshalText`).
    pub fn to_le_hex(&self) -> String {
        hex::encode(self.to_le_bytes())
    }

    /// Parse the JSON text (`UnmarshalText`): hex of exactly 8 bytes, little-endian bits. Go
    /// panics on a wrong length and returns a hex error on bad digits; both are
    /// `InvalidBlockHeaderDifficulty` here, as is a bad exponent.
    pub fn from_le_hex(text: &str) -> Result<Difficulty, Fault> {
        let bytes = crate::digest::hex_exact::<8>(text).ok_or(Fault::InvalidBlockHeaderDifficulty)?;
        Difficulty::from_le_bytes(bytes)
    }

    /// Estimated network hash rate for this difficulty (`Hashrate()`, computed from the value
    /// in Go's steps): `2^(8 + log2 value) / 120`, rounded to three decimals.
    pub fn hashrate(&self) -> f64 {
        let zero_bits = 8.0 + go_log2(self.value);
        let rate = 2f64.powf(zero_bits) / EXPECTED_BLOCK_SPACING_SECONDS as f64;
        (rate * 1000.0 + 0.5).floor() / 1000.0
    }
}

/// Go's `math.Log2`: exact for powers of two, otherwise `ln(frac)/ln 2 + exp` from `Frexp`.
fn go_log2(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return x.log2();
    }
    let (frac, exp) = frexp(x);
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    frac.ln() * (1.0 / std::f64::consts::LN_2) + exp as f64
}

/// `x = frac · 2^exp` with `frac ∈ [0.5, 1)`, for finite positive normal `x`.
fn frexp(x: f64) -> (f64, i64) {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (f, e) = frexp(x * pow2(54));
        return (f, e - 54);
    }
    let frac = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (frac, biased - 1022)
}

/// The target of One as an integer.
fn one_target() -> BigUint {
    BigUint::from_bytes_be(&ONE_TARGET)
}

/// A target (< 2^256) as 32 big-endian bytes.
fn to_target_bytes(target: &BigUint) -> [u8; 32] {
    let bytes = target.to_bytes_be();
    let mut out = [0u8; 32];
    let start = 32usize.saturating_sub(bytes.len());
    for (o, b) in out.iter_mut().skip(start).zip(bytes.iter().rev().take(32).rev()) {
        *o = *b;
    }
    out
}

/// Go's re-encoding of a target into compact bits (the tail of `Set`); `None` for a zero target,
/// where Go leaves the bits untouched.
fn encode_bits(target: &BigUint) -> Option<u64> {
    if target.is_zero() {
        return None;
    }
    let buffer = target.to_bytes_be();
    let first = buffer.iter().position(|&b| b != 0)?;
    let mut u = buffer.iter().skip(first).take(8).fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    // Fewer than 8 bytes left: Go leaves the missing low bytes zero.
    u <<= 8 * (8 - buffer.len().saturating_sub(first).min(8)) as u32;
    // Go computes this in signed ints and converts, so a (never seen) 32-byte target wraps.
    let mut exponent = ((32 - buffer.len() as i64 + first as i64) * 8 - 1) as u64;
    let mut rounder = 0;
    while u & 0xff00_0000_0000_0000 != HIDDEN_BIT {
        rounder += u & 1;
        u >>= 1;
        exponent = exponent.wrapping_sub(1);
    }
    if rounder > 4 {
        u += 1; // not renormalised: a carry into the hidden bit's neighbour is lost below
    }
    Some((u & MANTISSA_MASK) | (exponent << 56))
}

impl fmt::Display for Difficulty {
    /// The bits as 16 hex digits (`String()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.bits)
    }
}

impl fmt::Debug for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Difficulty({:016x}, {}, {})", self.bits, self.value, self.target_hex())
    }
}

impl serde::Serialize for Difficulty {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_le_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Difficulty {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Difficulty::from_le_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The next difficulty value after an adjustment period that took `actual_timespan` seconds
/// (`NextDifficultyByPreviousTimespan`): the previous value scaled by 24000 / actual, the ratio
/// clamped to [¼, 4], and never below 1.
pub fn next_difficulty(actual_timespan: u64, previous: f64) -> f64 {
    let ratio = if actual_timespan <= ADJUST_TIMESPAN_SECONDS >> 2 {
        4.0
    } else if actual_timespan >= ADJUST_TIMESPAN_SECONDS << 2 {
        0.25
    } else {
        ADJUST_TIMESPAN_SECONDS as f64 / actual_timespan as f64
    };
    let next = ratio * previous;
    if next < MINIMUM_VALUE {
        MINIMUM_VALUE
    } else {
        next
    }
}

/// The first and last block of the adjustment period before the one containing `height`
/// (`PrevTimespanBlockBeginAndEnd`); the block timestamps at these heights give the actual
/// timespan. Early in the chain (before the second period) this is blocks 2 to 199.
pub fn prev_timespan_blocks(height: u64) -> (u64, u64) {
    let start = height - height % ADJUST_TIMESPAN_BLOCKS;
    if start / ADJUST_TIMESPAN_BLOCKS >= 2 {
        (start - 1 - ADJUST_TIMESPAN_BLOCKS, start - 1)
    } else {
        (FIRST_BLOCK, ADJUST_TIMESPAN_BLOCKS - 1)
    }
}

/// The block whose difficulty value is scaled when adjusting at `height`
/// (`prevDifficultyBaseAtBlock`, blockrecord/header.go): the previous block at an adjustment
/// height, else the block one period back; block 3 early in the chain. Go's unsigned wrap-around
/// for small heights is reproduced (it always ends in block 3 there).
pub fn difficulty_base_block(height: u64) -> u64 {
    let base = if height % ADJUST_TIMESPAN_BLOCKS == 0 {
        height.wrapping_sub(1)
    } else {
        height.wrapping_sub(ADJUST_TIMESPAN_BLOCKS)
    };
    if base <= FIRST_BLOCK || height <= ADJUST_TIMESPAN_BLOCKS {
        MINIMUM_DIFFICULTY_BASE_BLOCK
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_is_consistent_with_the_general_decoder() {
        // from_bits short-cuts One; the general path must agree with it.
        let mantissa = (ONE_BITS & MANTISSA_MASK) | HIDDEN_BIT;
        let target = BigUint::from(mantissa) << 191u32;
        assert_eq!(to_target_bytes(&target), ONE_TARGET);
        let (m, e) = divide_rounded(&one_target(), &target, VALUE_QUOTIENT_PRECISION, Rounding::NearestEven);
        assert_eq!(to_f64(m, e), 1.0);
    }

    #[test]
    fn bad_exponent_is_a_fault() {
        assert_eq!(Difficulty::from_bits(0xc000_0000_0000_0000), Err(Fault::InvalidBlockHeaderDifficulty));
        assert!(Difficulty::from_bits(0xbf00_0000_0000_0000).is_ok());
    }

    #[test]
    fn set_value_edge_cases() {
        let mut d = Difficulty::with_value(2.0);
        d.set_value(f64::NAN);
        assert_eq!(d, Difficulty::ONE);
        d.set_value(4.0);
        let bits = d.bits();
        d.set_value(f64::INFINITY);
        assert_eq!((d.bits(), d.target(), d.value()), (bits, [0u8; 32], f64::INFINITY));
        d.set_value(f64::MAX);
        assert_eq!((d.bits(), d.target()), (bits, [0u8; 32]));
    }

    #[test]
    fn json_is_little_endian_hex() {
        let d = Difficulty::from_bits(0x0da3_6e2e_b1c4_32c9).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"c932c4b12e6ea30d\"");
        assert_eq!(serde_json::from_str::<Difficulty>("\"c932c4b12e6ea30d\"").unwrap(), d);
        assert!(serde_json::from_str::<Difficulty>("\"c932c4b12e6ea3\"").is_err());
        assert!(serde_json::from_str::<Difficulty>("\"00000000000000c0\"").is_err());
    }

    #[test]
    fn base_block_selection() {
        assert_eq!(difficulty_base_block(0), 3);
        assert_eq!(difficulty_base_block(150), 3);
        assert_eq!(difficulty_base_block(200), 3);
        assert_eq!(difficulty_base_block(400), 399);
        assert_eq!(difficulty_base_block(401), 201);
    }

    proptest! {
        #[test]
        fn bits_round_trip_through_le_hex(bits in 0u64..0xc000_0000_0000_0000) {
            let d = Difficulty::from_bits(bits).unwrap();
            prop_assert_eq!(d.bits(), bits);
            prop_assert_eq!(Difficulty::from_le_hex(&d.to_le_hex()).unwrap(), d);
        }

        #[test]
        fn value_is_the_correctly_rounded_reciprocal(bits in 0u64..0xc000_0000_0000_0000) {
            // Double rounding (248 bits then 53) agrees with one correct rounding here.
            let d = Difficulty::from_bits(bits).unwrap();
            let (m, e) = divide_rounded(&one_target(), &d.target_big(), F64_PRECISION, Rounding::NearestEven);
            prop_assert_eq!(d.value(), to_f64(m, e));
        }

        #[test]
        fn set_value_keeps_the_value_and_targets_below_one(f in 1.0f64..1e50) {
            let d = Difficulty::with_value(f);
            prop_assert_eq!(d.value(), f);
            prop_assert!(d.target() <= ONE_TARGET);
        }
    }
}
