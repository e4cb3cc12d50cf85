//! The "NB" value convention of the `A` and `T` pools (storage/split.go): the number of the block
//! that confirmed the record, 8 bytes big-endian, followed by the packed record.

/// A value of an NB pool: confirming block number and the packed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NbValue {
    /// Number of the block that holds the record.
    pub block_number: u64,
    /// The packed record (for a foundation entry in `T`: one or two packed base records).
    pub packed: Vec<u8>,
}

impl NbValue {
    /// Build a value.
    pub fn new(block_number: u64, packed: impl Into<Vec<u8>>) -> NbValue {
        NbValue { block_number, packed: packed.into() }
    }

    /// `BN (8 BE) ‖ packed`, as `PutNB` writes it.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(8 + self.packed.len());
        v.extend_from_slice(&self.block_number.to_be_bytes());
        v.extend_from_slice(&self.packed);
        v
    }

    /// Split a stored value. bitmarkd panics on fewer than 9 bytes (storage/split.go:57-67); we
    /// return `None` and the caller reports corruption.
    pub fn decode(bytes: &[u8]) -> Option<NbValue> {
        if bytes.len() < 9 {
            return None;
        }
        let (n, packed) = bytes.split_at(8);
        Some(NbValue { block_number: u64_be(n)?, packed: packed.to_vec() })
    }
}

/// An 8-byte big-endian integer, or `None` for any other length.
pub(crate) fn u64_be(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn layout_matches_bitmarkd_storage_test() {
        // storage_test.go: Assets key [5] with BN 1234 ‖ [5] reads back as (1234, [5]).
        let v = NbValue::new(1234, vec![5]);
        assert_eq!(v.encode(), vec![0, 0, 0, 0, 0, 0, 4, 0xd2, 5]);
        assert_eq!(NbValue::decode(&v.encode()), Some(v));
    }

    #[test]
    fn short_values_are_rejected() {
        assert_eq!(NbValue::decode(&[0; 8]), None);
        assert_eq!(NbValue::decode(&[]), None);
    }

    proptest! {
        #[test]
        fn round_trip(n: u64, packed in proptest::collection::vec(any::<u8>(), 1..200)) {
            let v = NbValue::new(n, packed);
            prop_assert_eq!(NbValue::decode(&v.encode()), Some(v));
        }
    }
}
