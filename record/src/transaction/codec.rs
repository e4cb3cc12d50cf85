//! The field encoding shared by every record (transactionrecord/pack.go:679-738, unpack.go).
//!
//! Packing appends `varint(tag)` and then each field: integers as varints, byte strings,
//! accounts, links, asset ids and signatures as `varint(length) ‖ bytes`, the optional escrow as
//! a flag byte and its fields. Unpacking reads the same fields back with bitmarkd's limits; any
//! field that does not fit is `NotTransactionPack`, the fault bitmarkd gives both for a failed
//! length and (through its `recover`) for a slice that runs off the end of the data.

use super::{Payment, Tag};
use crate::account::Account;
use crate::asset_id::AssetId;
use crate::currency::{map, Currency, CurrencyMap, CurrencySet};
use crate::digest::Link;
use crate::fault::Fault;
use crate::text::Text;
use crate::varint;

/// Longest length prefix any field may carry on unpack.
const MAX_FIELD_LENGTH: i64 = 8192;

/// Escrow flag byte: no escrow payment follows.
const ESCROW_ABSENT: u8 = 0;
/// Escrow flag byte: currency, address and amount follow.
const ESCROW_PRESENT: u8 = 1;

/// Builds a packed record field by field.
pub(crate) struct Writer(Vec<u8>);

impl Writer {
    /// A record of this type: just its tag so far.
    pub(crate) fn new(tag: Tag) -> Writer {
        let mut w = Writer(Vec::with_capacity(256));
        w.uint(tag.code());
        w
    }

    /// A varint field.
    pub(crate) fn uint(&mut self, value: u64) -> &mut Writer {
        varint::put(&mut self.0, value);
        self
    }

    /// A length-prefixed byte field (strings, digests, signatures, the packed payment map).
    pub(crate) fn bytes(&mut self, data: &[u8]) -> &mut Writer {
        put_bytes(&mut self.0, data);
        self
    }

    /// An account as length-prefixed account bytes.
    pub(crate) fn account(&mut self, account: &Account) -> &mut Writer {
        self.bytes(&account.to_bytes())
    }

    /// The optional escrow payment. A present escrow's address must be valid for the network,
    /// which bitmarkd checks only here, while packing.
    pub(crate) fn escrow(&mut self, escrow: Option<&Payment>, testnet: bool) -> Result<&mut Writer, Fault> {
        match escrow {
            None => self.0.push(ESCROW_ABSENT),
            Some(p) => {
                p.currency.validate_address(&p.address, testnet)?;
                self.0.push(ESCROW_PRESENT);
                self.uint(p.currency.code()).bytes(p.address.as_bytes()).uint(p.amount);
            }
        }
        Ok(self)
    }

    /// The bytes written so far.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// Append `varint(len) ‖ data`.
pub(crate) fn put_bytes(out: &mut Vec<u8>, data: &[u8]) {
    varint::put(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// Reads a packed record field by field, tracking how many bytes it has consumed.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Read `buf` from offset `pos` (just after the tag).
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Reader<'a> {
        Reader { buf, pos }
    }

    /// Bytes consumed so far, tag included.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// A varint field.
    pub(crate) fn uint(&mut self) -> Result<u64, Fault> {
        let (value, n) = varint::decode(self.rest()).ok_or(Fault::NotTransactionPack)?;
        self.pos += n;
        Ok(value)
    }

    /// A length prefix in `min..=8192`, or `None` (consuming nothing) when it is not one.
    fn try_length(&mut self, min: i64) -> Option<usize> {
        let (len, n) = varint::clipped(self.rest(), min, MAX_FIELD_LENGTH)?;
        self.pos += n;
        Some(len)
    }

    /// The next `len` bytes.
    fn take(&mut self, len: usize) -> Result<&'a [u8], Fault> {
        let end = self.pos.checked_add(len).ok_or(Fault::NotTransactionPack)?;
        let data = self.buf.get(self.pos..end).ok_or(Fault::NotTransactionPack)?;
        self.pos = end;
        Ok(data)
    }

    /// A length-prefixed field of `min..=8192` bytes.
    fn field(&mut self, min: i64) -> Result<&'a [u8], Fault> {
        let len = self.try_length(min).ok_or(Fault::NotTransactionPack)?;
        self.take(len)
    }

    /// A non-empty byte string (payment address, fingerprint).
    pub(crate) fn text(&mut self) -> Result<Text, Fault> {
        self.field(1).map(Text::from)
    }

    /// A byte string that may be empty (metadata).
    pub(crate) fn optional_text(&mut self) -> Result<Text, Fault> {
        self.field(0).map(Text::from)
    }

    /// The asset name, read as bitmarkd reads it (unpack.go:120-125): a length prefix that fails
    /// to decode or exceeds 8192 is *not* an error; it counts as length 0 and consumes nothing,
    /// so the fingerprint is then read from the same position.
    pub(crate) fn asset_name(&mut self) -> Result<Text, Fault> {
        let len = self.try_length(0).unwrap_or(0);
        self.take(len).map(Text::from)
    }

    /// A signature or countersignature: any length in 1..=8192 here; the record checks limit it.
    pub(crate) fn signature(&mut self) -> Result<Vec<u8>, Fault> {
        self.field(1).map(<[u8]>::to_vec)
    }

    /// An account: `AccountFromBytes` faults pass through, then an account for the other
    /// network is `WrongNetworkForPublicKey`.
    pub(crate) fn account(&mut self, testnet: bool) -> Result<Account, Fault> {
        let account = Account::from_bytes(self.field(1)?)?;
        if account.is_testnet() != testnet {
            return Err(Fault::WrongNetworkForPublicKey);
        }
        Ok(account)
    }

    /// A link or share id: 32 bytes, else `NotLink`.
    pub(crate) fn link(&mut self) -> Result<Link, Fault> {
        Link::from_bytes(self.field(1)?)
    }

    /// An asset id: 64 bytes, else `NotAssetId`.
    pub(crate) fn asset_id(&mut self) -> Result<AssetId, Fault> {
        AssetId::from_bytes(self.field(1)?)
    }

    /// A currency code; unknown codes are `InvalidCurrency`.
    pub(crate) fn currency(&mut self) -> Result<Currency, Fault> {
        Currency::from_code(self.uint()?)
    }

    /// The optional escrow payment (unpack.go:798-845). Its address is not validated here.
    pub(crate) fn escrow(&mut self) -> Result<Option<Payment>, Fault> {
        let flag = *self.take(1)?.first().ok_or(Fault::NotTransactionPack)?;
        match flag {
            ESCROW_ABSENT => Ok(None),
            ESCROW_PRESENT => {
                let currency = self.currency()?;
                let address = self.text()?;
                let amount = self.uint()?;
                Ok(Some(Payment { currency, address, amount }))
            }
            _ => Err(Fault::NotTransactionPack),
        }
    }

    /// The payment map: a length prefix, then `UnpackMap` over that many bytes. As in bitmarkd,
    /// an address inside the map may run past the map's length into the rest of the record (see
    /// [`map::unpack_window`]); the record continues after the declared length regardless.
    pub(crate) fn payments(&mut self, testnet: bool) -> Result<(CurrencyMap, CurrencySet), Fault> {
        let len = self.try_length(1).ok_or(Fault::NotTransactionPack)?;
        let rest = self.rest();
        if len > rest.len() {
            return Err(Fault::NotTransactionPack);
        }
        let result = map::unpack_window(rest, len, testnet)?;
        self.pos += len;
        Ok(result)
    }
}
