//! bitmarkd's varint64: LEB128 for the first eight bytes, then a ninth byte that carries the
//! remaining eight bits verbatim, so every u64 fits in at most nine bytes (util/varint.go:9-99).

/// Longest encoding of a u64.
pub const MAX_LEN: usize = 9;

/// Append the encoding of `value` to `out`.
pub fn put(out: &mut Vec<u8>, mut value: u64) {
    for _ in 0..8 {
        if value < 0x80 {
            out.push(value as u8);
            return;
        }
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    // The ninth byte holds the top eight bits whole.
    out.push(value as u8);
}

/// The encoding of `value` as a fresh vector.
pub fn encode(value: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAX_LEN);
    put(&mut out, value);
    out
}

/// Decode a varint from the front of `buf`: `Some((value, bytes consumed))`, or `None` when the
/// buffer ends before the varint does (bitmarkd returns `(0, 0)` there). Non-canonical
/// encodings such as `83 00` are accepted, as bitmarkd accepts them.
pub fn decode(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().take(MAX_LEN).enumerate() {
        if i == 8 {
            return Some((value | (u64::from(b) << 56), MAX_LEN));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// bitmarkd's `ClippedVarint64(buf, min, max)`: the decoded value when it lies in `[min, max]`
/// as a signed 64-bit integer, else `None`. Also `None` when `min < 0`, `max < 0` or `min >= max`,
/// exactly as bitmarkd refuses those bounds. Used for every length prefix in a record.
pub fn clipped(buf: &[u8], min: i64, max: i64) -> Option<(usize, usize)> {
    if min < 0 || max < 0 || min >= max {
        return None;
    }
    let (value, count) = decode(buf)?;
    let signed = value as i64; // Go converts to int: values >= 2^63 turn negative.
    if signed < min || signed > max {
        return None;
    }
    Some((signed as usize, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(v in any::<u64>()) {
            let enc = encode(v);
            prop_assert!(enc.len() <= MAX_LEN);
            prop_assert_eq!(decode(&enc), Some((v, enc.len())));
        }

        #[test]
        fn decode_is_total(buf in proptest::collection::vec(any::<u8>(), 0..20)) {
            if let Some((_, n)) = decode(&buf) {
                prop_assert!(n >= 1 && n <= buf.len().min(MAX_LEN));
            }
        }
    }
}
