//! Block-owner records: the obsolete base record, the block foundation that starts every block,
//! and block ownership transfers (pack.go:30-80, 330-458, 647-677).

use super::codec::{Reader, Writer};
use super::json::{self, Fields};
use super::{check_not_zero, check_signature_length, countersigned_by, signed_by, Payment, Record, Tag};
use crate::account::Account;
use crate::currency::{Currency, CurrencyMap, CurrencySet};
use crate::digest::Link;
use crate::fault::Fault;
use crate::text::Text;

/// The payment-map version block foundations are made with (`FoundationVersion`).
pub const FOUNDATION_VERSION: u64 = 1;

/// The currencies a payment map of `version` must cover exactly (pack.go:20-23); version 0 and
/// versions past the table have none.
fn version_currencies(version: u64) -> Option<CurrencySet> {
    (version == FOUNDATION_VERSION).then(|| CurrencySet::of(&Currency::PAYABLE))
}

/// `CheckPayments`: the version must be known (`InvalidPaymentVersion`), every address valid for
/// the network, and the currencies exactly the version's set (`InvalidCurrencyAddress`).
/// bitmarkd walks its Go map in random order, so when several addresses are bad the fault it
/// reports varies; this checks in currency order.
pub fn check_payments(version: u64, testnet: bool, payments: &CurrencyMap) -> Result<(), Fault> {
    let expected = version_currencies(version).ok_or(Fault::InvalidPaymentVersion)?;
    let mut seen = CurrencySet::EMPTY;
    for (currency, address) in payments.iter() {
        currency.validate_address(address, testnet)?;
        if seen.add(currency) {
            return Err(Fault::InvalidCurrencyAddress);
        }
    }
    if seen != expected {
        return Err(Fault::InvalidCurrencyAddress);
    }
    Ok(())
}

/// Read a payment version and map as block-owner records do on unpack: an unknown version, or a
/// map whose currencies differ from the version's, is `InvalidCurrencyAddress`.
fn read_versioned_payments(r: &mut Reader<'_>, testnet: bool) -> Result<(u64, CurrencyMap), Fault> {
    let version = r.uint()?;
    let expected = version_currencies(version).ok_or(Fault::InvalidCurrencyAddress)?;
    let (payments, currencies) = r.payments(testnet)?;
    if currencies != expected {
        return Err(Fault::InvalidCurrencyAddress);
    }
    Ok((version, payments))
}

/// The obsolete block-owner record of early blocks (`OldBaseData`, tag 1): one payment address.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseData {
    /// Currency of the payment address.
    pub currency: Currency,
    /// Where the block owner is paid. Validated when packing, not when unpacking.
    pub payment_address: Text,
    /// The block owner, who signs.
    pub owner: Account,
    /// Proof-of-work nonce.
    #[serde(with = "json::u64_string")]
    pub nonce: u64,
    /// Owner's signature.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
}

impl Record for BaseData {
    const TAG: Tag = Tag::BaseData;

    fn check(&self, _testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_not_zero(&self.owner)
    }

    fn write_fields(&self, w: &mut Writer, testnet: bool) -> Result<(), Fault> {
        // Pack validates the address after check(); Unpack never does.
        self.currency.validate_address(&self.payment_address, testnet)?;
        w.uint(self.currency.code()).bytes(self.payment_address.as_bytes()).account(&self.owner).uint(self.nonce);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        Ok(BaseData {
            currency: r.currency()?,
            payment_address: r.text()?,
            owner: r.account(testnet)?,
            nonce: r.uint()?,
            signature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(BaseData {
            currency: f.currency("currency")?,
            payment_address: f.text("paymentAddress")?,
            owner: f.account("owner")?,
            nonce: f.uint("nonce")?,
            signature: f.signature("signature")?,
        })
    }

    signed_by!(owner);
}

/// The first record of every block (tag 6): who mined it and where they are paid.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BlockFoundation {
    /// Payment-map version; only [`FOUNDATION_VERSION`] is valid.
    #[serde(with = "json::u64_string")]
    pub version: u64,
    /// One address per currency of the version (BTC and LTC).
    pub payments: CurrencyMap,
    /// The block owner, who signs.
    pub owner: Account,
    /// Proof-of-work nonce.
    #[serde(with = "json::u64_string")]
    pub nonce: u64,
    /// Owner's signature.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
}

impl Record for BlockFoundation {
    const TAG: Tag = Tag::BlockFoundation;

    fn check(&self, testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_not_zero(&self.owner)?;
        check_payments(self.version, testnet, &self.payments)
    }

    fn write_fields(&self, w: &mut Writer, testnet: bool) -> Result<(), Fault> {
        let payments = self.payments.pack(testnet)?;
        w.uint(self.version).bytes(&payments).account(&self.owner).uint(self.nonce);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        let (version, payments) = read_versioned_payments(r, testnet)?;
        Ok(BlockFoundation {
            version,
            payments,
            owner: r.account(testnet)?,
            nonce: r.uint()?,
            signature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(BlockFoundation {
            version: f.uint("version")?,
            payments: f.payments("payments")?,
            owner: f.account("owner")?,
            nonce: f.uint("nonce")?,
            signature: f.signature("signature")?,
        })
    }

    signed_by!(owner);
}

/// Transfers a block's ownership, and with it the block's payment addresses (tag 7).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BlockOwnerTransfer {
    /// Tx id of the foundation or previous block-owner transfer being spent.
    pub link: Link,
    /// Optional payment to the seller.
    pub escrow: Option<Payment>,
    /// Payment-map version; only [`FOUNDATION_VERSION`] is valid.
    #[serde(with = "json::u64_string")]
    pub version: u64,
    /// The new owner's payment addresses.
    pub payments: CurrencyMap,
    /// The new owner, who countersigns.
    pub owner: Account,
    /// Signature of the current block owner.
    #[serde(with = "json::hex_bytes")]
    pub signature: Vec<u8>,
    /// New owner's signature over everything before it.
    #[serde(with = "json::hex_bytes")]
    pub countersignature: Vec<u8>,
}

impl Record for BlockOwnerTransfer {
    const TAG: Tag = Tag::BlockOwnerTransfer;

    fn check(&self, testnet: bool) -> Result<(), Fault> {
        check_signature_length(&self.signature)?;
        check_signature_length(&self.countersignature)?;
        check_not_zero(&self.owner)?;
        check_payments(self.version, testnet, &self.payments)
    }

    fn write_fields(&self, w: &mut Writer, testnet: bool) -> Result<(), Fault> {
        // Pack packs the map before it writes (and validates) the escrow.
        let payments = self.payments.pack(testnet)?;
        w.bytes(self.link.as_bytes())
            .escrow(self.escrow.as_ref(), testnet)?
            .uint(self.version)
            .bytes(&payments)
            .account(&self.owner);
        Ok(())
    }

    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault> {
        let link = r.link()?;
        let escrow = r.escrow()?;
        let (version, payments) = read_versioned_payments(r, testnet)?;
        Ok(BlockOwnerTransfer {
            link,
            escrow,
            version,
            payments,
            owner: r.account(testnet)?,
            signature: r.signature()?,
            countersignature: r.signature()?,
        })
    }

    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault> {
        Ok(BlockOwnerTransfer {
            link: f.link("link")?,
            escrow: f.escrow("escrow")?,
            version: f.uint("version")?,
            payments: f.payments("payments")?,
            owner: f.account("owner")?,
            signature: f.signature("signature")?,
            countersignature: f.signature("countersignature")?,
        })
    }

    signed_by!(owner);
    countersigned_by!(owner);
}
