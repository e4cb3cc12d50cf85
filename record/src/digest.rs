//! 32-byte digests and their two hex orders.
//!
//! bitmarkd stores and hashes digests as the raw hash output; `String()` and `Scan` show and read
//! the byte-*reversed* hex ("display"), while JSON uses the raw hex (merkle/digest.go,
//! blockdigest/digest.go). Getting this backwards silently breaks every link, so both orders are
//! explicit methods here and `Display` is the reversed form, as in Go.

use crate::fault::Fault;
use sha3::{Digest as _, Sha3_256};
use std::fmt;

/// Read the leading run of hex digits of `text` (what Go's `fmt.Sscan` with `%x` consumes) and
/// decode it when it is exactly `2 * N` characters long.
pub(crate) fn scan_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    // Go's `state.Token(true, ...)` skips leading white space first.
    let text = text.trim_start();
    let run = text.bytes().take_while(u8::is_ascii_hexdigit).count();
    if run != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(&text[..run], &mut out).ok()?;
    Some(out)
}

/// Decode hex text that must be exactly `N` bytes.
pub(crate) fn hex_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

fn reversed(raw: &[u8; 32]) -> [u8; 32] {
    let mut r = *raw;
    r.reverse();
    r
}

/// Defines a 32-byte digest type with bitmarkd's raw/display conventions.
macro_rules! digest_type {
    ($(#[$doc:meta])* $name:ident, $gotag:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// From exactly 32 raw bytes, else `NotLink` (`DigestFromBytes`).
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, Fault> {
                <[u8; 32]>::try_from(bytes).map($name).map_err(|_| Fault::NotLink)
            }
            /// The raw bytes, as stored and hashed.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
            /// Raw hex: the JSON form.
            pub fn raw_hex(&self) -> String {
                hex::encode(self.0)
            }
            /// Byte-reversed hex: the `String()` form.
            pub fn display_hex(&self) -> String {
                hex::encode(reversed(&self.0))
            }
            /// Parse raw hex (JSON form); must decode to 32 bytes else `NotLink`.
            pub fn from_raw_hex(text: &str) -> Result<Self, Fault> {
                hex_exact(text).map($name).ok_or(Fault::NotLink)
            }
            /// Parse the display form as Go's `Scan` does: the leading run of hex digits must be
            /// exactly 64 characters, else `NotLink`.
            pub fn from_display_hex(text: &str) -> Result<Self, Fault> {
                scan_hex::<32>(text).map(|b| $name(reversed(&b))).ok_or(Fault::NotLink)
            }
            /// Go's `%#v` form.
            pub fn go_string(&self) -> String {
                format!(concat!("<", $gotag, ":{}>"), self.display_hex())
            }
            /// True when every byte is zero.
            pub fn is_empty(&self) -> bool {
                self.0 == [0u8; 32]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.display_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.go_string())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.raw_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::from_raw_hex(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

digest_type!(
    /// A SHA3-256 digest (`merkle.Digest`): transaction ids, links, merkle nodes, share ids.
    Link,
    "SHA3-256-BE"
);

digest_type!(
    /// An Argon2d block-header digest (`blockdigest.Digest`).
    BlockDigest,
    "Argon2d"
);

impl Link {
    /// SHA3-256 of `data`: the tx id of a packed record, or a merkle node.
    pub fn of(data: &[u8]) -> Link {
        Link(Sha3_256::digest(data).into())
    }

    /// SHA3-256 of two digests concatenated: a merkle node.
    pub fn pair(left: &Link, right: &Link) -> Link {
        let mut h = Sha3_256::new();
        h.update(left.0);
        h.update(right.0);
        Link(h.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Go's `fmt.Sscan`: white space before the digits is skipped, anything after the 64
    /// digits is left unread, and a run of another length is not a link.
    #[test]
    fn display_hex_is_scanned_as_go_scans_it() {
        let hex = "0000000000000000000000000000000000000000000000000000000000000001";
        let link = Link::from_display_hex(hex).unwrap();
        assert_eq!(link.raw_hex(), format!("01{}", "0".repeat(62)));
        assert_eq!(Link::from_display_hex(&format!(" \n\t{hex}")), Ok(link));
        assert_eq!(Link::from_display_hex(&format!("{hex} trailing")), Ok(link));
        assert_eq!(Link::from_display_hex(&hex[1..]), Err(Fault::NotLink));
        assert_eq!(Link::from_display_hex(&format!("{hex}0")), Err(Fault::NotLink));
        assert_eq!(BlockDigest::from_display_hex(&format!("  {hex}")).map(|d| d.display_hex()), Ok(hex.to_string()));
    }
}
