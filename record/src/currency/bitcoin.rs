//! Bitcoin payment addresses (currency/bitcoin/validate.go).

use super::base58check::{self, address_versions};
use crate::fault::Fault;

address_versions! {
    /// The Bitcoin address versions bitmarkd accepts: pay-to-key-hash and pay-to-script-hash on
    /// each network.
    Livenet = 0, false;
    LivenetScript = 5, false;
    Testnet = 111, true;
    TestnetScript = 196, true;
}

/// `ValidateAddress`: 25 bytes of base58 with a double SHA-256 checksum and a known version, giving
/// the version and the 20-byte hash; else `InvalidBitcoinAddress`.
pub fn validate_address(address: impl AsRef<[u8]>) -> Result<(Version, [u8; 20]), Fault> {
    base58check::validate(address.as_ref(), Version::from_byte, Fault::InvalidBitcoinAddress)
}

/// The address text of a version and 20-byte hash (base58check with a double SHA-256
/// checksum): the inverse of [`validate_address`].
pub fn address(version: Version, hash: &[u8; 20]) -> String {
    base58check::compose(version.byte(), hash)
}
