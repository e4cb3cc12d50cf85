//! Asset registration, bitmark issue and the two bitmark transfers (pack.go:82-328).

use super::codec::{Reader, Writer};
use super::json::{self, Fields};
use super::{check_not_zero, check_signature_length, countersigned_by, signed_by, Payment, Record, Tag};
use super::{MAX_FINGERPRINT_LENGTH, MAX_METADATA_LENGTH, MAX_NAME_LENGTH, MIN_FINGERPRINT_LENGTH};
use crate::account::Account;
use crate::asset_id::AssetId;
use crate::digest::Link;
use crate::fault::Fault;
use crate::text::Text;

/// Registers an asset: its name, fingerprint and metadata, signed by the registrant (tag 2).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AssetData {
    /// Display name, at most 64 runes; may be empty.
    pub name: Text,
    /// What identifies the asset; 1 to 1024 runes. Its SHA3-512 is the asset id.
    pub fingerprint: Text,
    /// `key NUL value NUL …` pairs, at most 2048 runes; may be empty.
    pub metadata: Text,
    /// Who registers the asset and signs the record.
    pub registrant: Account,
    /// Registrant's signature.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
}

impl AssetData {
    /// The asset id this record registers: SHA3-512 of the fingerprint.
    pub fn asset_id(&self) -> AssetId {
        AssetId::from_fingerprint(&self.fingerprint)
    }
}

/// Metadata must be empty or an even number of NUL-separated parts, none of them empty (so no
/// leading, trailing or doubled NUL), else `MetadataIsNotMap`.
fn check_metadata_is_map(metadata: &[u8]) -> Result<(), Fault> {
    if metadata.is_empty() {
        return Ok(());
    }
    let parts: Vec<&[u8]> = metadata.split(|&b| b == 0).collect();
    if parts.len() % 2 == 1 || parts.iter().any(|p| p.is_empty()) {
        return Err(Fault::MetadataIsNotMap);
    }
    Ok(())
}

impl Record for AssetData {
    const TAG: Tag = Tag::AssetData;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_not_zero(&self.registrant)?;
        if self.name.rune_count() > MAX_NAME_LENGTH {
            return Err(Fault::NameTooLong);
        }
        let fingerprint = self.fingerprint.rune_count();
        if fingerprint < MIN_FINGERPRINT_LENGTH {
            return Err(Fault::FingerprintTooShort);
        }
        if fingerprint > MAX_FINGERPRINT_LENGTH {
            return Err(Fault::FingerprintTooLong);
        }
        if self.metadata.rune_count() > MAX_METADATA_LENGTH {
            return Err(Fault::MetadataTooLong);
        }
        check_metadata_is_map(self.metadata.as_bytes())
    }

    fn write_fields(&self, w: &mut Writer, _testnet: bool) -> Result<(), Fault> {
        w.bytes(self.name.as_bytes())
            .bytes(self.fingerprint.as_bytes())
            .bytes(self.metadata.as_bytes())
            .account(&self.registrant);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        Ok(AssetData {
            name: r.asset_name()?,
            fingerprint: r.text()?,
            metadata: r.optional_text()?,
            registrant: r.account(testnet)?,
            signature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(AssetData {
            name: f.text("name")?,
            fingerprint: f.text("fingerprint")?,
            metadata: f.text("metadata")?,
            registrant: f.account("registrant")?,
            signature: f.signature("signature")?,
        })
    }

    signed_by!(registrant);
}

/// Issues a bitmark of an asset to an owner (tag 3). The nonce lets one owner hold several
/// bitmarks of the same asset (each issue needs a distinct tx id).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BitmarkIssue {
    /// The asset issued.
    pub asset_id: AssetId,
    /// The first owner, who signs the record.
    pub owner: Account,
    /// Distinguishes issues of the same asset to the same owner.
    #[serde(with = "json::u64_string")]
    pub nonce: u64,
    /// Owner's signature.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
}

impl Record for BitmarkIssue {
    const TAG: Tag = Tag::BitmarkIssue;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_not_zero(&self.owner)
    }

    fn write_fields(&self, w: &mut Writer, _testnet: bool) -> Result<(), Fault> {
        w.bytes(self.asset_id.as_bytes()).account(&self.owner).uint(self.nonce);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        Ok(BitmarkIssue {
            asset_id: r.asset_id()?,
            owner: r.account(testnet)?,
            nonce: r.uint()?,
            signature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(BitmarkIssue {
            asset_id: f.asset_id("assetId")?,
            owner: f.account("owner")?,
            nonce: f.uint("nonce")?,
            signature: f.signature("signature")?,
        })
    }

    signed_by!(owner);
}

/// The fields both bitmark transfers start with: what is spent, the optional escrow, the new
/// owner.
struct TransferHead {
    link: Link,
    escrow: Option<Payment>,
    owner: Account,
}

impl TransferHead {
    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<TransferHead, Fault> {
        Ok(TransferHead { link: r.link()?, escrow: r.escrow()?, owner: r.account(testnet)? })
    }

    fn from_fields(f: &Fields<'_>) -> Result<TransferHead, Fault> {
        Ok(TransferHead { link: f.link("link")?, escrow: f.escrow("escrow")?, owner: f.account("owner")? })
    }
}

/// Write link, escrow and new owner.
fn write_transfer_head(
    w: &mut Writer,
    link: &Link,
    escrow: Option<&Payment>,
    owner: &Account,
    testnet: bool,
) -> Result<(), Fault> {
    w.bytes(link.as_bytes()).escrow(escrow, testnet)?.account(owner);
    Ok(())
}

/// A transfer signed only by the current owner (tag 4). A zero new owner destroys the bitmark.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BitmarkTransferUnratified {
    /// Tx id of the issue or transfer being spent.
    pub link: Link,
    /// Optional payment to the seller.
    pub escrow: Option<Payment>,
    /// The new owner; the zero account destroys the bitmark.
    pub owner: Account,
    /// Signature of the current owner (the owner named by `link`'s record).
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
}

impl Record for BitmarkTransferUnratified {
    const TAG: Tag = Tag::BitmarkTransferUnratified;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        // The owner may be zero: that is how a bitmark is destroyed.
        check_signature_length(&self.signature)
    }

    fn write_fields(&self, w: &mut Writer, testnet: bool) -> Result<(), Fault> {
        write_transfer_head(w, &self.link, self.escrow.as_ref(), &self.owner, testnet)
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        let TransferHead { link, escrow, owner } = TransferHead::read(r, testnet)?;
        Ok(BitmarkTransferUnratified { link, escrow, owner, signature: r.signature()? })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        let TransferHead { link, escrow, owner } = TransferHead::from_fields(f)?;
        Ok(BitmarkTransferUnratified { link, escrow, owner, signature: f.signature("signature")? })
    }

    signed_by!(owner);
}

/// A transfer signed by the current owner and countersigned by the new owner (tag 5).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BitmarkTransferCountersigned {
    /// Tx id of the issue or transfer being spent.
    pub link: Link,
    /// Optional payment to the seller.
    pub escrow: Option<Payment>,
    /// The new owner, who countersigns; never zero.
    pub owner: Account,
    /// Signature of the current owner.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
    /// New owner's signature over everything before it.
    #[serde(with = "json::hex_bytes")]
    pub countersignature: Vec<u8>,
}

impl Record for BitmarkTransferCountersigned {
    const TAG: Tag = Tag::BitmarkTransferCountersigned;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_signature_length(&self.countersignature)?;
        check_not_zero(&self.owner)
    }

    fn write_fields(&self, w: &mut Writer, testnet: bool) -> Result<(), Fault> {
        write_transfer_head(w, &self.link, self.escrow.as_ref(), &self.owner, testnet)
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        let TransferHead { link, escrow, owner } = TransferHead::read(r, testnet)?;
        Ok(BitmarkTransferCountersigned {
            link,
            escrow,
            owner,
            signature: r.signature()?,
            countersignature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        let TransferHead { link, escrow, owner } = TransferHead::from_fields(f)?;
        Ok(BitmarkTransferCountersigned {
            link,
            escrow,
            owner,
            signature: f.signature("signature")?,
            countersignature: f.signature("countersignature")?,
        })
    }

    signed_by!(owner);
    countersigned_by!(owner);
}
