//! Bitcoin-alphabet base58 as bitmarkd uses it (util/base58.go, `docs/formats.md#base58`): one
//! `1` per leading zero byte, the rest a big-integer conversion — what the `bs58` crate does
//! with its default (Bitcoin) alphabet. The one difference is bitmarkd's failure: decoding an
//! invalid string yields an empty vector, which callers treat as the failure, so that is what
//! [`decode`] returns instead of `bs58`'s error.

/// Encode bytes as base58.
pub fn encode(data: &[u8]) -> String {
    bs58::encode(data).into_string()
}

/// Decode base58; any character outside the alphabet gives an empty vector (bitmarkd's
/// behaviour, which callers turn into their own fault).
pub fn decode(text: &str) -> Vec<u8> {
    bs58::decode(text).into_vec().unwrap_or_default()
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

    /// bitmarkd's decoder: leading `1`s are zero bytes, and a character outside the alphabet
    /// (`0`, `O`, `I`, `l`, anything not ASCII) gives nothing at all rather than an error.
    #[test]
    fn invalid_text_decodes_to_nothing() {
        assert_eq!(decode("11"), vec![0, 0]);
        assert_eq!(decode(""), Vec::<u8>::new());
        assert_eq!(decode("2"), vec![1]);
        for bad in ["0", "O", "I", "l", "1l", "abc!", "zé"] {
            assert_eq!(decode(bad), Vec::<u8>::new(), "{bad}");
        }
        assert_eq!(encode(&[0, 0, 1]), "112");
    }
}
