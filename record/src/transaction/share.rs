//! Shares: converting a bitmark into a fungible balance, granting and swapping balances
//! (pack.go:460-645).

use super::codec::{Reader, Writer};
use super::json::{self, Fields};
use super::{check_not_zero, check_signature_length, countersigned_by, signed_by, Record, Tag};
use crate::account::Account;
use crate::digest::Link;
use crate::fault::Fault;

/// Share quantities must be at least one (`ShareQuantityTooSmall`).
fn check_quantity(quantity: u64) -> Result<(), Fault> {
    if quantity < 1 {
        return Err(Fault::ShareQuantityTooSmall);
    }
    Ok(())
}

/// Converts a bitmark into `quantity` shares owned by its owner (tag 8, record name
/// "ShareBalance"). Its tx id becomes the share id.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BitmarkShare {
    /// Tx id of the issue or transfer being converted.
    pub link: Link,
    /// Number of shares created; at least one.
    #[serde(with = "json::u64_string")]
    pub quantity: u64,
    /// Signature of the bitmark's current owner.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
}

impl Record for BitmarkShare {
    const TAG: Tag = Tag::BitmarkShare;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_quantity(self.quantity)
    }

    fn write_fields(&self, w: &mut Writer, _testnet: bool) -> Result<(), Fault> {
        w.bytes(self.link.as_bytes()).uint(self.quantity);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, _testnet: bool) -> Result<Self, Fault> {
        Ok(BitmarkShare { link: r.link()?, quantity: r.uint()?, signature: r.signature()? })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(BitmarkShare { link: f.link("link")?, quantity: f.uint("quantity")?, signature: f.signature("signature")? })
    }

    fn signature(&self) -> &[u8] {
        &self.signature
    }

    fn set_signature(&mut self, signature: Vec<u8>) {
        self.signature = signature;
    }

    fn network(&self) -> bool {
        // No account in the record, and nothing network-dependent to validate.
        false
    }
}

/// Grants part of a share balance to another account (tag 9), signed by the owner and
/// countersigned by the recipient; void once the chain passes `before_block`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareGrant {
    /// The share (tx id of its [`BitmarkShare`]).
    pub share_id: Link,
    /// Shares granted; at least one.
    #[serde(with = "json::u64_string")]
    pub quantity: u64,
    /// Current holder, who signs.
    pub owner: Account,
    /// Receiver, who countersigns.
    pub recipient: Account,
    /// Last block height at which the grant may be confirmed.
    #[serde(with = "json::u64_string")]
    pub before_block: u64,
    /// Owner's signature.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
    /// Recipient's signature over everything before it.
    #[serde(with = "json::hex_bytes")]
    pub countersignature: Vec<u8>,
}

impl Record for ShareGrant {
    const TAG: Tag = Tag::ShareGrant;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_signature_length(&self.countersignature)?;
        // bitmarkd also rejects owner and recipient being the same Go *object*; that can only
        // happen to a record built in memory with one pointer for both, never to one decoded
        // from bytes or JSON, so equal accounts are accepted here as they are there.
        check_not_zero(&self.owner)?;
        check_not_zero(&self.recipient)?;
        check_quantity(self.quantity)
    }

    fn write_fields(&self, w: &mut Writer, _testnet: bool) -> Result<(), Fault> {
        w.bytes(self.share_id.as_bytes())
            .uint(self.quantity)
            .account(&self.owner)
            .account(&self.recipient)
            .uint(self.before_block);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        Ok(ShareGrant {
            share_id: r.link()?,
            quantity: r.uint()?,
            owner: r.account(testnet)?,
            recipient: r.account(testnet)?,
            before_block: r.uint()?,
            signature: r.signature()?,
            countersignature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(ShareGrant {
            share_id: f.link("shareId")?,
            quantity: f.uint("quantity")?,
            owner: f.account("owner")?,
            recipient: f.account("recipient")?,
            before_block: f.uint("beforeBlock")?,
            signature: f.signature("signature")?,
            countersignature: f.signature("countersignature")?,
        })
    }

    signed_by!(owner);
    countersigned_by!(recipient);

    fn named_signer(&self) -> Option<&Account> {
        Some(&self.owner)
    }
}

/// Atomically swaps two share balances between two accounts (tag 10), signed by the first
/// owner and countersigned by the second; void once the chain passes `before_block`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareSwap {
    /// The share the first owner gives.
    pub share_id_one: Link,
    /// How many of it; at least one.
    #[serde(with = "json::u64_string")]
    pub quantity_one: u64,
    /// First owner, who signs.
    pub owner_one: Account,
    /// The share the second owner gives; must differ from the first.
    pub share_id_two: Link,
    /// How many of it; at least one.
    #[serde(with = "json::u64_string")]
    pub quantity_two: u64,
    /// Second owner, who countersigns.
    pub owner_two: Account,
    /// Last block height at which the swap may be confirmed.
    #[serde(with = "json::u64_string")]
    pub before_block: u64,
    /// First owner's signature.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
    /// Second owner's signature over everything before it.
    #[serde(with = "json::hex_bytes")]
    pub countersignature: Vec<u8>,
}

impl Record for ShareSwap {
    const TAG: Tag = Tag::ShareSwap;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_signature_length(&self.countersignature)?;
        // As for grants, bitmarkd's same-object test on the two owners never fires on decoded
        // records, so equal owners are accepted.
        check_not_zero(&self.owner_one)?;
        check_not_zero(&self.owner_two)?;
        if self.share_id_one == self.share_id_two {
            return Err(Fault::ShareIdsCannotBeIdentical);
        }
        check_quantity(self.quantity_one)?;
        check_quantity(self.quantity_two)
    }

    fn write_fields(&self, w: &mut Writer, _testnet: bool) -> Result<(), Fault> {
        w.bytes(self.share_id_one.as_bytes())
            .uint(self.quantity_one)
            .account(&self.owner_one)
            .bytes(self.share_id_two.as_bytes())
            .uint(self.quantity_two)
            .account(&self.owner_two)
            .uint(self.before_block);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        Ok(ShareSwap {
            share_id_one: r.link()?,
            quantity_one: r.uint()?,
            owner_one: r.account(testnet)?,
            share_id_two: r.link()?,
            quantity_two: r.uint()?,
            owner_two: r.account(testnet)?,
            before_block: r.uint()?,
            signature: r.signature()?,
            countersignature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(ShareSwap {
            share_id_one: f.link("shareIdOne")?,
            quantity_one: f.uint("quantityOne")?,
            owner_one: f.account("ownerOne")?,
            share_id_two: f.link("shareIdTwo")?,
            quantity_two: f.uint("quantityTwo")?,
            owner_two: f.account("ownerTwo")?,
            before_block: f.uint("beforeBlock")?,
            signature: f.signature("signature")?,
            countersignature: f.signature("countersignature")?,
        })
    }

    signed_by!(owner_one);
    countersigned_by!(owner_two);

    fn named_signer(&self) -> Option<&Account> {
        Some(&self.owner_one)
    }
}
