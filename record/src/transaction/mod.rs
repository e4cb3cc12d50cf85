//! The ten transaction record types, packed and unpacked byte for byte as bitmarkd does
//! (transactionrecord/).
//!
//! A packed record is `varint(tag)` followed by its fields in a fixed order, ending with a
//! signature over every byte before it and, for two-party records, a countersignature over
//! every byte before *it*. The tx id of a record is the SHA3-256 of its packed bytes.
//!
//! * [`Transaction::unpack`] is bitmarkd's `Packed.Unpack`: total, with its faults in its order,
//!   and it does not verify signatures.
//! * [`Transaction::pack`] is bitmarkd's `Pack`: field checks, then signature verification by
//!   the signer (for transfers the link's current owner, which the record does not hold).
//! * [`Transaction::signing_message`] / [`Transaction::countersigning_message`] give the bytes
//!   to sign, so any Ed25519 key can sign a record.

mod bitmark;
mod block_owner;
mod codec;
mod json;
mod share;

pub use bitmark::{AssetData, BitmarkIssue, BitmarkTransferCountersigned, BitmarkTransferUnratified};
pub use block_owner::{check_payments, BaseData, BlockFoundation, BlockOwnerTransfer, FOUNDATION_VERSION};
pub use share::{BitmarkShare, ShareGrant, ShareSwap};

use crate::account::{Account, SignatureChecker};
use crate::currency::Currency;
use crate::digest::Link;
use crate::fault::Fault;
use crate::text::Text;
use crate::varint;
use codec::{Reader, Writer};
use json::Fields;
use serde_json::Value;

/// Longest asset name, in runes.
pub const MAX_NAME_LENGTH: usize = 64;
/// Longest asset metadata, in runes.
pub const MAX_METADATA_LENGTH: usize = 2048;
/// Shortest asset fingerprint, in runes.
pub const MIN_FINGERPRINT_LENGTH: usize = 1;
/// Longest asset fingerprint, in runes.
pub const MAX_FINGERPRINT_LENGTH: usize = 1024;
/// Longest signature a record check accepts (verification then needs exactly 64).
pub const MAX_SIGNATURE_LENGTH: usize = 1024;

/// Largest tag value the unpacker reads before deciding whether it is a known type.
const MAX_TAG: i64 = 8192;

/// A record type code: the varint that starts every packed record (transaction.go:22-41).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tag {
    /// Obsolete block-owner record; still found in old blocks.
    BaseData = 1,
    /// Asset registration.
    AssetData = 2,
    /// Bitmark issue.
    BitmarkIssue = 3,
    /// Transfer signed by the current owner only.
    BitmarkTransferUnratified = 4,
    /// Transfer signed by the current owner and countersigned by the new owner.
    BitmarkTransferCountersigned = 5,
    /// Block owner: the first record of every block.
    BlockFoundation = 6,
    /// Transfer of a block's ownership.
    BlockOwnerTransfer = 7,
    /// Conversion of a bitmark into fungible shares.
    BitmarkShare = 8,
    /// One-way grant of shares.
    ShareGrant = 9,
    /// Atomic swap of two share balances.
    ShareSwap = 10,
}

impl Tag {
    /// Every tag, in code order.
    pub const ALL: [Tag; 10] = [
        Tag::BaseData,
        Tag::AssetData,
        Tag::BitmarkIssue,
        Tag::BitmarkTransferUnratified,
        Tag::BitmarkTransferCountersigned,
        Tag::BlockFoundation,
        Tag::BlockOwnerTransfer,
        Tag::BitmarkShare,
        Tag::ShareGrant,
        Tag::ShareSwap,
    ];

    /// The varint code.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// The tag for a code; 0 (bitmarkd's null tag) and codes above 10 are not record types.
    pub fn from_code(code: u64) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.code() == code)
    }

    /// bitmarkd's `RecordName` (what RPC and the CLI call the type). Note `BitmarkShare` is
    /// "ShareBalance".
    pub fn record_name(self) -> &'static str {
        match self {
            Tag::BaseData => "BaseData",
            Tag::AssetData => "AssetData",
            Tag::BitmarkIssue => "BitmarkIssue",
            Tag::BitmarkTransferUnratified => "BitmarkTransferUnratified",
            Tag::BitmarkTransferCountersigned => "BitmarkTransferCountersigned",
            Tag::BlockFoundation => "BlockFoundation",
            Tag::BlockOwnerTransfer => "BlockOwnerTransfer",
            Tag::BitmarkShare => "ShareBalance",
            Tag::ShareGrant => "ShareGrant",
            Tag::ShareSwap => "ShareSwap",
        }
    }

    /// The tag for a record name.
    pub fn from_record_name(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.record_name() == name)
    }
}

/// An optional payment carried by transfers (`Payment`): the seller's escrow address and amount.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Payment {
    /// The currency paid.
    pub currency: Currency,
    /// The address paid to. Validated for the signer's network when packing only.
    pub address: Text,
    /// The amount in the currency's smallest unit.
    #[serde(with = "json::u64_string")]
    pub amount: u64,
}

/// What each record type supplies to the shared pack/unpack/sign machinery.
pub(crate) trait Record: Sized + Into<Transaction> {
    /// The record's tag.
    const TAG: Tag;

    /// bitmarkd's `check()`: the field rules that Pack runs first and Unpack runs last.
    /// `testnet` matters only to records with payment maps.
    fn check(&self, testnet: bool) -> Result<(), Fault>;

    /// Append every field before the signature, with the validations bitmarkd's Pack makes while
    /// building them (payment address, payment map, escrow), in its order.
    fn write_fields(&self, w: &mut Writer, testnet: bool) -> Result<(), Fault>;

    /// Read every field after the tag, signatures included, in bitmarkd's order.
    fn read(r: &mut Reader<'_>, testnet: bool) -> Result<Self, Fault>;

    /// Build from bitmarkd's JSON form.
    fn from_fields(f: &Fields<'_>) -> Result<Self, Fault>;

    /// The signature field.
    fn signature(&self) -> &[u8];

    /// Replace the signature.
    fn set_signature(&mut self, signature: Vec<u8>);

    /// For two-party records: who countersigns, and the countersignature.
    fn countersigned(&self) -> Option<(&Account, &[u8])> {
        None
    }

    /// Replace the countersignature; records without one say `NotACountersignableRecord`.
    fn set_countersignature(&mut self, _countersignature: Vec<u8>) -> Result<(), Fault> {
        Err(Fault::NotACountersignableRecord)
    }

    /// The account Pack insists signs the record, for records that name their signer (share
    /// grants and swaps, where Go compares the signer with the owner field).
    fn named_signer(&self) -> Option<&Account> {
        None
    }

    /// The network of the record's first account, standing in for the signer's network when no
    /// signer is given (records with no account have no network-dependent fields).
    fn network(&self) -> bool;
}

/// The [`Record`] accessors every record type writes the same way: its `signature` field, and
/// the network of the account in `$account` (the first account of the record).
macro_rules! signed_by {
    ($account:ident) => {
        fn signature(&self) -> &[u8] {
            &self.signature
        }

        fn set_signature(&mut self, signature: Vec<u8>) {
            self.signature = signature;
        }

        fn network(&self) -> bool {
            self.$account.is_testnet()
        }
    };
}
pub(crate) use signed_by;

/// The [`Record`] accessors of two-party records: `$account` countersigns, into the
/// `countersignature` field.
macro_rules! countersigned_by {
    ($account:ident) => {
        fn countersigned(&self) -> Option<(&Account, &[u8])> {
            Some((&self.$account, &self.countersignature))
        }

        fn set_countersignature(&mut self, countersignature: Vec<u8>) -> Result<(), Fault> {
            self.countersignature = countersignature;
            Ok(())
        }
    };
}
pub(crate) use countersigned_by;

/// Every record's signature limit: over 1024 bytes is `SignatureTooLong`.
pub(crate) fn check_signature_length(signature: &[u8]) -> Result<(), Fault> {
    if signature.len() > MAX_SIGNATURE_LENGTH {
        return Err(Fault::SignatureTooLong);
    }
    Ok(())
}

/// Owners, registrants and recipients must not be the zero account (`InvalidOwnerOrRegistrant`).
pub(crate) fn check_not_zero(account: &Account) -> Result<(), Fault> {
    if account.is_zero() {
        return Err(Fault::InvalidOwnerOrRegistrant);
    }
    Ok(())
}

/// Any transaction record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// Tag 1 (obsolete block owner).
    BaseData(BaseData),
    /// Tag 2.
    AssetData(AssetData),
    /// Tag 3.
    BitmarkIssue(BitmarkIssue),
    /// Tag 4.
    BitmarkTransferUnratified(BitmarkTransferUnratified),
    /// Tag 5.
    BitmarkTransferCountersigned(BitmarkTransferCountersigned),
    /// Tag 6.
    BlockFoundation(BlockFoundation),
    /// Tag 7.
    BlockOwnerTransfer(BlockOwnerTransfer),
    /// Tag 8, record name "ShareBalance".
    BitmarkShare(BitmarkShare),
    /// Tag 9.
    ShareGrant(ShareGrant),
    /// Tag 10.
    ShareSwap(ShareSwap),
}

/// Apply `$body` to the record inside a transaction, whatever its type.
macro_rules! with_record {
    ($tx:expr, $r:ident => $body:expr) => {
        match $tx {
            Transaction::BaseData($r) => $body,
            Transaction::AssetData($r) => $body,
            Transaction::BitmarkIssue($r) => $body,
            Transaction::BitmarkTransferUnratified($r) => $body,
            Transaction::BitmarkTransferCountersigned($r) => $body,
            Transaction::BlockFoundation($r) => $body,
            Transaction::BlockOwnerTransfer($r) => $body,
            Transaction::BitmarkShare($r) => $body,
            Transaction::ShareGrant($r) => $body,
            Transaction::ShareSwap($r) => $body,
        }
    };
}

/// Call `$f::<RecordType>($args)` for the record type of a tag.
macro_rules! for_tag {
    ($tag:expr, $f:ident($($arg:expr),*)) => {
        match $tag {
            Tag::BaseData => $f::<BaseData>($($arg),*),
            Tag::AssetData => $f::<AssetData>($($arg),*),
            Tag::BitmarkIssue => $f::<BitmarkIssue>($($arg),*),
            Tag::BitmarkTransferUnratified => $f::<BitmarkTransferUnratified>($($arg),*),
            Tag::BitmarkTransferCountersigned => $f::<BitmarkTransferCountersigned>($($arg),*),
            Tag::BlockFoundation => $f::<BlockFoundation>($($arg),*),
            Tag::BlockOwnerTransfer => $f::<BlockOwnerTransfer>($($arg),*),
            Tag::BitmarkShare => $f::<BitmarkShare>($($arg),*),
            Tag::ShareGrant => $f::<ShareGrant>($($arg),*),
            Tag::ShareSwap => $f::<ShareSwap>($($arg),*),
        }
    };
}

/// Unpack one record type and run its check.
fn read_checked<R: Record>(r: &mut Reader<'_>, testnet: bool) -> Result<Transaction, Fault> {
    let record = R::read(r, testnet)?;
    record.check(testnet)?;
    Ok(record.into())
}

/// Build one record type from JSON fields.
fn from_fields<R: Record>(f: &Fields<'_>) -> Result<Transaction, Fault> {
    R::from_fields(f).map(Into::into)
}

/// The tag of a record type.
fn tag_of<R: Record>(_: &R) -> Tag {
    R::TAG
}

/// Checks and the fields before the signature, as bytes.
fn message_of<R: Record>(record: &R, testnet: bool) -> Result<Vec<u8>, Fault> {
    record.check(testnet)?;
    let mut w = Writer::new(R::TAG);
    record.write_fields(&mut w, testnet)?;
    Ok(w.finish())
}

impl Transaction {
    /// bitmarkd's `Packed.Unpack(testnet)`: the record at the start of `packed` and the number of
    /// bytes it occupies (trailing bytes are left for the caller, e.g. the next record of a
    /// block). Every field is checked in bitmarkd's order, then the record's `check()`; accounts
    /// must belong to the `testnet` network. Signatures are *not* verified. Any truncation, bad
    /// length or unknown tag is `NotTransactionPack`; never panics.
    ///
    /// Pass everything from the record's start to the end of the enclosing data (for a block,
    /// the rest of the block), as bitmarkd does: an address inside a payment map may run past
    /// the map's declared length into the bytes that follow, and bitmarkd reads it from there.
    pub fn unpack(packed: &[u8], testnet: bool) -> Result<(Transaction, usize), Fault> {
        let (code, n) = varint::clipped(packed, 1, MAX_TAG).ok_or(Fault::NotTransactionPack)?;
        let tag = Tag::from_code(code as u64).ok_or(Fault::NotTransactionPack)?;
        let mut r = Reader::new(packed, n);
        let tx = for_tag!(tag, read_checked(&mut r, testnet))?;
        Ok((tx, r.position()))
    }

    /// bitmarkd's `Pack(signer)`: the signer must be a non-zero account (and, for share grants
    /// and swaps, the owner the record names), else `InvalidOwnerOrRegistrant`; then the field
    /// checks; then the signature must verify under the signer and any countersignature under
    /// the countersigner, else `InvalidSignature`. Addresses are validated for the signer's
    /// network. For transfers the signer is the current owner of `link`, which only the caller
    /// can look up.
    pub fn pack(&self, signer: &Account) -> Result<Vec<u8>, Fault> {
        self.pack_checked(signer, &mut SignatureChecker::default())
    }

    /// [`Transaction::pack`], checking the signatures with `checker`, which decodes each
    /// distinct key once over all the records it checks (a submission of many records).
    pub fn pack_checked(&self, signer: &Account, checker: &mut SignatureChecker) -> Result<Vec<u8>, Fault> {
        if signer.is_zero() || self.named_signer().is_some_and(|named| named != signer) {
            return Err(Fault::InvalidOwnerOrRegistrant);
        }
        self.assemble(signer.is_testnet(), Some((signer, checker)))
    }

    /// Pack with every field check but no signature verification (for records read from JSON,
    /// or signed elsewhere). Addresses are validated for the network of the record's own first
    /// account, which bitmarkd's unpacker requires to be the signer's network anyway.
    pub fn pack_unverified(&self) -> Result<Vec<u8>, Fault> {
        self.assemble(self.network(), None)
    }

    /// The message, the signature, then any countersignature; with a signer, both are verified
    /// (the signature under the signer, the countersignature under the countersigner).
    fn assemble(&self, testnet: bool, mut signer: Option<(&Account, &mut SignatureChecker)>) -> Result<Vec<u8>, Fault> {
        let mut packed = self.message(testnet)?;
        let signature = self.signature();
        if let Some((signer, checker)) = signer.as_mut() {
            checker.check(signer, &packed, signature)?;
        }
        codec::put_bytes(&mut packed, signature);
        if let Some((countersigner, countersignature)) = self.countersigned() {
            if let Some((_, checker)) = signer.as_mut() {
                checker.check(countersigner, &packed, countersignature)?;
            }
            codec::put_bytes(&mut packed, countersignature);
        }
        Ok(packed)
    }

    /// The bytes the signer signs: the tag and every field before the signature. Runs the same
    /// field checks as [`Transaction::pack_unverified`].
    pub fn signing_message(&self) -> Result<Vec<u8>, Fault> {
        self.message(self.network())
    }

    /// The bytes the countersigner signs: the signing message, then the signature field.
    /// `NotACountersignableRecord` for record types without a countersignature.
    pub fn countersigning_message(&self) -> Result<Vec<u8>, Fault> {
        if self.countersigned().is_none() {
            return Err(Fault::NotACountersignableRecord);
        }
        let mut message = self.signing_message()?;
        codec::put_bytes(&mut message, self.signature());
        Ok(message)
    }

    /// The tx id of this record: SHA3-256 of [`Transaction::pack_unverified`]. For a record
    /// received as bytes, hash those bytes instead ([`Transaction::tx_id_of`]): unpacking accepts
    /// encodings (non-minimal varints, repeated map entries) that packing does not reproduce.
    pub fn tx_id(&self) -> Result<Link, Fault> {
        self.pack_unverified().map(|p| Link::of(&p))
    }

    /// The tx id of packed record bytes (`MakeLink`).
    pub fn tx_id_of(packed: &[u8]) -> Link {
        Link::of(packed)
    }

    /// The record's tag.
    pub fn tag(&self) -> Tag {
        with_record!(self, r => tag_of(r))
    }

    /// bitmarkd's record name ("ShareBalance" for [`BitmarkShare`]).
    pub fn record_name(&self) -> &'static str {
        self.tag().record_name()
    }

    /// The signature field.
    pub fn signature(&self) -> &[u8] {
        with_record!(self, r => r.signature())
    }

    /// Replace the signature field.
    pub fn set_signature(&mut self, signature: Vec<u8>) {
        with_record!(self, r => r.set_signature(signature))
    }

    /// The countersignature field, for two-party records.
    pub fn countersignature(&self) -> Option<&[u8]> {
        self.countersigned().map(|(_, c)| c)
    }

    /// The account that must countersign, for two-party records.
    pub fn countersigner(&self) -> Option<&Account> {
        self.countersigned().map(|(a, _)| a)
    }

    /// Replace the countersignature; `NotACountersignableRecord` for one-party records.
    pub fn set_countersignature(&mut self, countersignature: Vec<u8>) -> Result<(), Fault> {
        with_record!(self, r => r.set_countersignature(countersignature))
    }

    /// The record in bitmarkd's JSON form (field names and value forms of transaction.go).
    /// The `Serialize` impl gives the same with Go's field order.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The account that signs this record when the record itself names it (BaseData,
    /// AssetData, BitmarkIssue, BlockFoundation, ShareGrant, ShareSwap); `None` for transfers and
    /// shares, which the current owner of `link` signs — only the chain knows who that is.
    pub fn stated_signer(&self) -> Option<&Account> {
        match self {
            Transaction::BaseData(r) => Some(&r.owner),
            Transaction::AssetData(r) => Some(&r.registrant),
            Transaction::BitmarkIssue(r) => Some(&r.owner),
            Transaction::BlockFoundation(r) => Some(&r.owner),
            Transaction::ShareGrant(r) => Some(&r.owner),
            Transaction::ShareSwap(r) => Some(&r.owner_one),
            Transaction::BitmarkTransferUnratified(_)
            | Transaction::BitmarkTransferCountersigned(_)
            | Transaction::BlockOwnerTransfer(_)
            | Transaction::BitmarkShare(_) => None,
        }
    }

    /// The digest this record spends (`link`) for transfers and shares; `None` otherwise.
    pub fn link(&self) -> Option<Link> {
        match self {
            Transaction::BitmarkTransferUnratified(r) => Some(r.link),
            Transaction::BitmarkTransferCountersigned(r) => Some(r.link),
            Transaction::BlockOwnerTransfer(r) => Some(r.link),
            Transaction::BitmarkShare(r) => Some(r.link),
            _ => None,
        }
    }

    /// The owner a record leaves the bitmark with (issues and bitmark transfers).
    pub fn new_owner(&self) -> Option<&Account> {
        match self {
            Transaction::BitmarkIssue(r) => Some(&r.owner),
            Transaction::BitmarkTransferUnratified(r) => Some(&r.owner),
            Transaction::BitmarkTransferCountersigned(r) => Some(&r.owner),
            _ => None,
        }
    }

    /// A record of the type bitmarkd names `record_name` from its JSON form. Unknown names are
    /// `UnexpectedTransactionRecord`; see the `json` module for how fields are read.
    pub fn from_json(record_name: &str, value: &Value) -> Result<Transaction, Fault> {
        let tag = Tag::from_record_name(record_name).ok_or(Fault::UnexpectedTransactionRecord)?;
        let fields = Fields::of(value)?;
        for_tag!(tag, from_fields(&fields))
    }

    fn message(&self, testnet: bool) -> Result<Vec<u8>, Fault> {
        with_record!(self, r => message_of(r, testnet))
    }

    fn countersigned(&self) -> Option<(&Account, &[u8])> {
        with_record!(self, r => r.countersigned())
    }

    fn named_signer(&self) -> Option<&Account> {
        with_record!(self, r => r.named_signer())
    }

    fn network(&self) -> bool {
        with_record!(self, r => r.network())
    }
}

impl serde::Serialize for Transaction {
    /// The inner record's JSON, in Go's field order.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        with_record!(self, r => r.serialize(s))
    }
}

/// `From<Record> for Transaction` for each record type.
macro_rules! into_transaction {
    ($($t:ident),*) => {
        $(impl From<$t> for Transaction {
            fn from(r: $t) -> Transaction {
                Transaction::$t(r)
            }
        })*
    };
}

into_transaction!(
    BaseData,
    AssetData,
    BitmarkIssue,
    BitmarkTransferUnratified,
    BitmarkTransferCountersigned,
    BlockFoundation,
    BlockOwnerTransfer,
    BitmarkShare,
    ShareGrant,
    ShareSwap
);

#[cfg(test)]
mod tests;
