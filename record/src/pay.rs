//! Pay ids, pay nonces and the free-issue proof of work (pay/payid.go, reservoir/paynonce.go,
//! reservoir/issues.go, reservoir/difficulty.go).
//!
//! A client that issues without paying must find a nonce such that
//! SHA3-256(pay id ‖ pay nonce ‖ client nonce), read as a big-endian integer, is at most a
//! target scaled by the number of issues. The pay nonce is taken from a recent block digest so
//! that proofs cannot be precomputed long in advance.

use crate::chain::Chain;
use crate::difficulty::Difficulty;
use crate::digest::{hex_exact, BlockDigest};
use crate::fault::Fault;
use crate::genesis;
use sha3::{Digest as _, Sha3_256, Sha3_384};
use std::fmt;

/// Pay nonce heights are multiples of this many blocks (about 4 hours at 2 min/block).
pub const PAY_NONCE_HEIGHT_DELTA: u64 = 0x80;

/// Rounded heights at or below this fall back to the genesis block.
const PAY_NONCE_HEIGHT_MINIMUM: u64 = 0xff;

/// How many successive pay nonces (newest first) a proof may use: 6 × 4 hours = one day.
pub const PROOF_PAY_NONCES: usize = 6;

/// Per-issue proof difficulty on the live chain (19 leading zero bits).
const BITMARK_ISSUE_DIFFICULTY: f64 = 2048.0;

/// Per-issue proof difficulty on test chains (16 leading zero bits).
const TESTING_ISSUE_DIFFICULTY: f64 = 256.0;

/// Defines a fixed-length byte identifier shown as plain (never reversed) hex.
macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident, $len:literal, $fault:ident, $gotag:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl Default for $name {
            /// All zero bytes.
            fn default() -> Self {
                $name([0; $len])
            }
        }

        impl $name {
            /// Plain hex (the `String()` and JSON form).
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// Parse plain hex of exactly the right length (`UnmarshalText`); anything else,
            /// bad hex digits included, is the type's fault.
            pub fn from_hex(text: &str) -> Result<Self, Fault> {
                hex_exact(text).map($name).ok_or(Fault::$fault)
            }
            /// Go's `%#v` form.
            pub fn go_string(&self) -> String {
                format!(concat!("<", $gotag, ":{}>"), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.go_string())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(
    /// A payment identifier: SHA3-384 over the packed records a payment or proof covers.
    PayId,
    48,
    NotAPayId,
    "payid"
);

hex_id!(
    /// A pay nonce: the first 8 raw bytes of a block digest, fixing a proof to a time window.
    PayNonce,
    8,
    NotAPayNonce,
    "paynonce"
);

impl PayId {
    /// SHA3-384 over the packed records concatenated in order (`NewPayId`): all issues of a
    /// request, or the single record of a transfer, grant or swap.
    pub fn new<I, R>(packed_records: I) -> PayId
    where
        I: IntoIterator<Item = R>,
        R: AsRef<[u8]>,
    {
        let mut h = Sha3_384::new();
        for record in packed_records {
            h.update(record.as_ref());
        }
        PayId(h.finalize().into())
    }
}

impl PayNonce {
    /// The pay nonce of a block with this digest (`PayNonceFromBlock`).
    pub fn from_digest(digest: &BlockDigest) -> PayNonce {
        let mut nonce = [0u8; 8];
        for (n, d) in nonce.iter_mut().zip(digest.as_bytes()) {
            *n = *d;
        }
        PayNonce(nonce)
    }

    /// The pay nonce of block `number`: blocks ≤ 1 use the chain's genesis digest
    /// (`blockheader.DigestForBlock`), others the digest `lookup` finds; a missing block gives
    /// the zero nonce, as in Go.
    pub fn from_block(number: u64, chain: Chain, lookup: impl FnOnce(u64) -> Option<BlockDigest>) -> PayNonce {
        let digest = if number <= genesis::BLOCK_NUMBER { Some(genesis::digest(chain)) } else { lookup(number) };
        digest.map(|d| PayNonce::from_digest(&d)).unwrap_or_default()
    }
}

/// The block whose digest gives the current pay nonce when the chain is at `height`
/// (`PayNonceRoundedHeight`): the height rounded down to a multiple of 128, minus 128 so the
/// block is settled; 1 (genesis) while that would be below 256.
pub fn pay_nonce_height(height: u64) -> u64 {
    let rounded = height & !(PAY_NONCE_HEIGHT_DELTA - 1);
    if rounded > PAY_NONCE_HEIGHT_MINIMUM {
        rounded - PAY_NONCE_HEIGHT_DELTA
    } else {
        1
    }
}

/// The block heights whose pay nonces a proof is tried against, newest first (`tryProof`):
/// from the rounded height down by 128 per step, at most six, stopping once below 128.
pub fn proof_heights(rounded_height: u64) -> Vec<u64> {
    let mut heights = Vec::with_capacity(PROOF_PAY_NONCES);
    let mut height = rounded_height;
    for _ in 0..PROOF_PAY_NONCES {
        heights.push(height);
        if height < PAY_NONCE_HEIGHT_DELTA {
            break;
        }
        height -= PAY_NONCE_HEIGHT_DELTA;
    }
    heights
}

/// The proof digest SHA3-256(pay id ‖ pay nonce ‖ client nonce).
pub fn proof_digest(pay_id: &PayId, pay_nonce: &PayNonce, client_nonce: &[u8]) -> [u8; 32] {
    let mut h = Sha3_256::new();
    h.update(pay_id.0);
    h.update(pay_nonce.0);
    h.update(client_nonce);
    h.finalize().into()
}

/// Whether a proof digest meets the difficulty: unlike block digests it is read as a
/// *big-endian* integer, with no byte reversal.
pub fn proof_meets(digest: &[u8; 32], difficulty: &Difficulty) -> bool {
    difficulty.admits_be(digest)
}

/// The proof difficulty for a free issue request of `count` issues (`ScaledDifficulty`):
/// `count × base × discount`, base 2048 on the live chain and 256 on test chains, discount 1.00
/// for one issue, 0.95 up to 10, 0.90 up to 50, 0.85 beyond.
pub fn scaled_difficulty(count: usize, chain: Chain) -> Difficulty {
    let discount = match count {
        0..=1 => 1.00,
        2..=10 => 0.95,
        11..=50 => 0.90,
        _ => 0.85,
    };
    let base = if chain.is_testing() { TESTING_ISSUE_DIFFICULTY } else { BITMARK_ISSUE_DIFFICULTY };
    // Same operation order as Go: (count × base) × discount.
    Difficulty::with_value(count as f64 * base * discount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounded_heights() {
        for (h, want) in [(0, 1), (255, 1), (256, 128), (383, 128), (384, 256), (1000, 768)] {
            assert_eq!(pay_nonce_height(h), want, "height {h}");
        }
        assert_eq!(proof_heights(1), vec![1]);
        assert_eq!(proof_heights(256), vec![256, 128, 0]);
        assert_eq!(proof_heights(128 * 10), vec![1280, 1152, 1024, 896, 768, 640]);
    }

    #[test]
    fn scaled_difficulty_values() {
        assert_eq!(scaled_difficulty(1, Chain::Bitmark).value(), 2048.0);
        assert_eq!(scaled_difficulty(10, Chain::Testing).value(), 10.0 * 256.0 * 0.95);
        assert_eq!(scaled_difficulty(0, Chain::Local), Difficulty::ONE);
        assert_eq!(scaled_difficulty(100, Chain::Bitmark).value(), 100.0 * 2048.0 * 0.85);
    }

    #[test]
    fn proof_uses_big_endian() {
        let d = Difficulty::with_value(2.0); // target 007fff…
        let mut digest = [0u8; 32];
        digest[1] = 0x7f;
        assert!(proof_meets(&digest, &d));
        digest[1] = 0x80;
        assert!(!proof_meets(&digest, &d));
    }

    #[test]
    fn bad_lengths_are_faults() {
        assert_eq!(PayId::from_hex("00"), Err(Fault::NotAPayId));
        assert_eq!(PayNonce::from_hex("00112233445566"), Err(Fault::NotAPayNonce));
        assert_eq!(PayNonce::from_hex("001122334455667g"), Err(Fault::NotAPayNonce));
    }

    proptest! {
        #[test]
        fn hex_round_trips(id in proptest::collection::vec(any::<u8>(), 48), nonce in any::<[u8; 8]>()) {
            let id = PayId(id.try_into().unwrap());
            let nonce = PayNonce(nonce);
            prop_assert_eq!(PayId::from_hex(&id.to_hex()), Ok(id));
            prop_assert_eq!(serde_json::from_str::<PayNonce>(&serde_json::to_string(&nonce).unwrap()).unwrap(), nonce);
        }
    }
}
