//! Litecoin payment addresses (currency/litecoin/).
//!
//! Litecoin moved its script-hash prefix from Bitcoin's 5/196 to 50/58; bitmarkd accepts both
//! and can convert between them ([`transform_address`]) and from Bitcoin addresses
//! ([`from_bitcoin`]).

use super::base58check::{self, address_versions};
use super::bitcoin;
use crate::fault::Fault;

address_versions! {
    /// The Litecoin address versions bitmarkd accepts.
    Livenet = 48, false;
    LivenetScript = 5, false;
    LivenetScript2 = 50, false;
    Testnet = 111, true;
    TestnetScript = 196, true;
    TestnetScript2 = 58, true;
}

/// `ValidateAddress`: 25 bytes of base58 with a double SHA-256 checksum and a known version, giving
/// the version and the 20-byte hash; else `InvalidLitecoinAddress`.
pub fn validate_address(address: impl AsRef<[u8]>) -> Result<(Version, [u8; 20]), Fault> {
    base58check::validate(address.as_ref(), Version::from_byte, Fault::InvalidLitecoinAddress)
}

/// The address text of a version and 20-byte hash (base58check with a double SHA-256
/// checksum): the inverse of [`validate_address`].
pub fn address(version: Version, hash: &[u8; 20]) -> String {
    base58check::compose(version.byte(), hash)
}

/// `TransformAddress`: the same script hash under the other script prefix (5 ↔ 50, 196 ↔ 58);
/// key-hash addresses come back unchanged. Validation faults pass through.
pub fn transform_address(text: &str) -> Result<String, Fault> {
    let (version, hash) = validate_address(text)?;
    let other = match version {
        Version::Livenet | Version::Testnet => return Ok(text.to_string()),
        Version::LivenetScript => Version::LivenetScript2,
        Version::LivenetScript2 => Version::LivenetScript,
        Version::TestnetScript => Version::TestnetScript2,
        Version::TestnetScript2 => Version::TestnetScript,
    };
    Ok(address(other, &hash))
}

/// `FromBitcoin`: the Litecoin address for the same hash as a Bitcoin address (key hashes get
/// Litecoin's prefix 48 on the live network; the other prefixes are shared). Bitcoin validation
/// faults pass through.
pub fn from_bitcoin(bitcoin_address: &str) -> Result<String, Fault> {
    let (version, hash) = bitcoin::validate_address(bitcoin_address)?;
    let litecoin = match version {
        bitcoin::Version::Livenet => Version::Livenet,
        bitcoin::Version::LivenetScript => Version::LivenetScript,
        bitcoin::Version::Testnet => Version::Testnet,
        bitcoin::Version::TestnetScript => Version::TestnetScript,
    };
    Ok(address(litecoin, &hash))
}
