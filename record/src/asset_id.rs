//! Asset identifiers: SHA3-512 of an asset's fingerprint (transactionrecord/assetidentifier.go).
//!
//! Unlike links, asset ids are never byte-reversed: text, JSON and storage all use the plain
//! digest bytes.

use crate::digest::scan_hex;
use crate::fault::Fault;
use sha3::{Digest as _, Sha3_512};
use std::fmt;

/// Bytes in an asset id.
pub const ASSET_ID_LENGTH: usize = 64;

/// An asset id: the SHA3-512 digest of the asset's fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(pub [u8; ASSET_ID_LENGTH]);

impl AssetId {
    /// `NewAssetIdentifier`: the id of an asset with this fingerprint (its UTF-8 bytes).
    pub fn from_fingerprint(fingerprint: impl AsRef<[u8]>) -> AssetId {
        AssetId(Sha3_512::digest(fingerprint.as_ref()).into())
    }

    /// `AssetIdentifierFromBytes`: exactly 64 bytes, else `NotAssetId`.
    pub fn from_bytes(bytes: &[u8]) -> Result<AssetId, Fault> {
        <[u8; ASSET_ID_LENGTH]>::try_from(bytes).map(AssetId).map_err(|_| Fault::NotAssetId)
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; ASSET_ID_LENGTH] {
        &self.0
    }

    /// Plain lower-case hex: the `String()`, text and JSON form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Go's `%#v` form, `<asset:hex>`.
    pub fn go_string(&self) -> String {
        format!("<asset:{}>", self.to_hex())
    }

    /// Go's `fmt.Sscan` into an asset id: after leading white space, the run of hex digits must be
    /// exactly 128 characters, else `NotAssetId` (so "BAM0…" reads "BA" and fails).
    pub fn scan(text: &str) -> Result<AssetId, Fault> {
        scan_hex::<ASSET_ID_LENGTH>(text).map(AssetId).ok_or(Fault::NotAssetId)
    }

    /// `UnmarshalText` (the JSON form): text of the wrong length is `NotLink` — bitmarkd returns
    /// the link fault here — and text of the right length that is not hex is `NotAssetId`
    /// (bitmarkd returns Go's hex error, which has no fault).
    pub fn from_text(text: &str) -> Result<AssetId, Fault> {
        if text.len() / 2 != ASSET_ID_LENGTH {
            return Err(Fault::NotLink);
        }
        let mut out = [0u8; ASSET_ID_LENGTH];
        hex::decode_to_slice(text, &mut out).map_err(|_| Fault::NotAssetId)?;
        Ok(AssetId(out))
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.go_string())
    }
}

impl serde::Serialize for AssetId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for AssetId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        AssetId::from_text(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_faults() {
        assert_eq!(AssetId::from_text("00"), Err(Fault::NotLink));
        assert_eq!(AssetId::from_text(&"zz".repeat(64)), Err(Fault::NotAssetId));
        // 129 characters still "decode" to 64 bytes by length, then fail as hex.
        assert_eq!(AssetId::from_text(&"0".repeat(129)), Err(Fault::NotAssetId));
    }

    proptest! {
        #[test]
        fn text_round_trip(bytes in proptest::array::uniform32(any::<u8>()), more in proptest::array::uniform32(any::<u8>())) {
            let mut all = [0u8; 64];
            all[..32].copy_from_slice(&bytes);
            all[32..].copy_from_slice(&more);
            let id = AssetId(all);
            prop_assert_eq!(AssetId::from_text(&id.to_hex()), Ok(id));
            prop_assert_eq!(AssetId::scan(&id.to_hex()), Ok(id));
            prop_assert_eq!(AssetId::from_bytes(id.as_bytes()), Ok(id));
        }
    }
}
