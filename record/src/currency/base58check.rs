//! The Bitcoin-style base58check address both coins use: version byte ‖ 20-byte hash ‖ first
//! four bytes of SHA-256(SHA-256(version ‖ hash)).

use crate::base58;
use sha2::{Digest as _, Sha256};

/// Bytes in a decoded address.
const ADDRESS_LENGTH: usize = 25;
/// Bytes covered by the checksum: version and hash.
const BODY_LENGTH: usize = 21;

/// The checksum of an address body.
fn checksum(body: &[u8]) -> [u8; 4] {
    let d: [u8; 32] = Sha256::digest(Sha256::digest(body)).into();
    [d[0], d[1], d[2], d[3]]
}

/// Decode an address into (version byte, hash) when it is 25 bytes of base58 with a good
/// checksum; `None` otherwise (each coin maps that to its own fault). Non-UTF-8 bytes cannot be
/// base58, so they fail like any other bad character.
pub(super) fn decode(address: &[u8]) -> Option<(u8, [u8; 20])> {
    let text = std::str::from_utf8(address).ok()?;
    let raw: [u8; ADDRESS_LENGTH] = base58::decode(text).try_into().ok()?;
    let (body, check) = raw.split_at(BODY_LENGTH);
    if checksum(body) != check {
        return None;
    }
    let (&version, hash) = body.split_first()?;
    Some((version, hash.try_into().ok()?))
}

/// Build the address text for a version byte and hash.
pub(super) fn compose(version: u8, hash: &[u8; 20]) -> String {
    let mut raw = Vec::with_capacity(ADDRESS_LENGTH);
    raw.push(version);
    raw.extend_from_slice(hash);
    let check = checksum(&raw);
    raw.extend_from_slice(&check);
    base58::encode(&raw)
}

/// Defines a coin's address `Version` enum: its bytes, names and networks.
macro_rules! address_versions {
    ($(#[$doc:meta])* $( $name:ident = $byte:literal, $testnet:literal; )*) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Version {
            $(
                #[doc = concat!("Version byte ", stringify!($byte), ".")]
                $name = $byte,
            )*
        }

        impl Version {
            /// Every version this coin accepts.
            pub const ALL: &'static [Version] = &[$(Version::$name),*];

            /// The version byte that starts the decoded address.
            pub fn byte(self) -> u8 {
                self as u8
            }

            /// The version for a byte, if this coin accepts it.
            pub fn from_byte(byte: u8) -> Option<Version> {
                match byte {
                    $($byte => Some(Version::$name),)*
                    _ => None,
                }
            }

            /// bitmarkd's name for the version (`Livenet`, `TestnetScript`, ...).
            pub fn name(self) -> &'static str {
                match self {
                    $(Version::$name => stringify!($name),)*
                }
            }

            /// `IsTesting`: whether addresses of this version belong to the test network.
            pub fn is_testnet(self) -> bool {
                match self {
                    $(Version::$name => $testnet,)*
                }
            }
        }
    };
}
pub(super) use address_versions;

/// Decode an address and accept it when its version byte is one `from_byte` knows; any failure
/// is `fault`.
pub(super) fn validate<V>(
    address: &[u8],
    from_byte: fn(u8) -> Option<V>,
    fault: crate::fault::Fault,
) -> Result<(V, [u8; 20]), crate::fault::Fault> {
    let (byte, hash) = decode(address).ok_or(fault)?;
    let version = from_byte(byte).ok_or(fault)?;
    Ok((version, hash))
}
