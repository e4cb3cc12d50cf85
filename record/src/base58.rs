//! Bitcoin-alphabet base58 as bitmarkd uses it (util/base58.go): big-integer conversion with one
//! `1` per leading zero byte. Decoding an invalid string yields an empty vector, as in bitmarkd,
//! where callers treat "empty" as the failure.

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn digit(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Encode bytes as base58.
pub fn encode(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(data.len() * 138 / 100 + 1);
    for &byte in &data[zeros..] {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char));
    out
}

/// Decode base58; any character outside the alphabet gives an empty vector (bitmarkd's
/// behaviour, which callers turn into their own fault).
pub fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let ones = bytes.iter().take_while(|&&c| c == b'1').count();
    // Base-256 digits, least significant first.
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    for &c in &bytes[ones..] {
        let Some(mut carry) = digit(c) else {
            return Vec::new();
        };
        for b in out.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.push(carry as u8);
            carry >>= 8;
        }
    }
    out.extend(std::iter::repeat_n(0, ones));
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(decode(&encode(&data)), data);
        }

        #[test]
        fn decode_is_total(s in "\\PC{0,60}") {
            let _ = decode(&s);
        }
    }
}
