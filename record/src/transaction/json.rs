//! bitmarkd's JSON forms of record fields (transaction.go:62-181), both ways.
//!
//! Writing uses serde (`Serialize` on the record structs, field order as in Go): integers as
//! decimal strings (`,string`), signatures as hex, links as raw hex, accounts as base58.
//! Reading follows Go's `encoding/json` into those structs: names match exactly or, failing
//! that, case-insensitively; a missing or `null` field keeps its zero value; a missing account is
//! Go's nil pointer, which every record check rejects with `InvalidOwnerOrRegistrant`. Malformed
//! values that have a fault of their own report it (`NotLink`, `InvalidCurrency`, account
//! faults); other malformed JSON is `UnmarshalTextFailed`.

use super::Payment;
use crate::account::Account;
use crate::asset_id::AssetId;
use crate::currency::{Currency, CurrencyMap};
use crate::digest::Link;
use crate::fault::Fault;
use crate::text::Text;
use serde_json::{Map, Value};

/// Serde helper: a u64 as a JSON decimal string (Go's `json:",string"`).
pub(crate) mod u64_string {
    /// Write the decimal string.
    pub(crate) fn serialize<S: serde::Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }
}

/// Serde helper: bytes as lower-case hex (`account.Signature`).
pub(crate) mod hex_bytes {
    /// Write the hex string.
    pub(crate) fn serialize<S: serde::Serializer>(value: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(value))
    }
}

/// The fields of one JSON object, read with Go's rules.
pub(crate) struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// The object's fields; anything but an object is `UnmarshalTextFailed`.
    pub(crate) fn of(value: &'a Value) -> Result<Fields<'a>, Fault> {
        value.as_object().map(Fields).ok_or(Fault::UnmarshalTextFailed)
    }

    /// The value for `name` (exact key first, then case-insensitively, as Go matches struct
    /// fields); `null` counts as absent.
    fn get(&self, name: &str) -> Option<&'a Value> {
        let found = self.0.get(name).or_else(|| {
            let folded = name.to_lowercase();
            self.0.iter().find(|(k, _)| k.to_lowercase() == folded).map(|(_, v)| v)
        });
        found.filter(|v| !v.is_null())
    }

    /// A string field, absent as "".
    fn string(&self, name: &str) -> Result<Option<&'a str>, Fault> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or(Fault::UnmarshalTextFailed),
        }
    }

    /// A string field as a record string.
    pub(crate) fn text(&self, name: &str) -> Result<Text, Fault> {
        Ok(self.string(name)?.map(Text::from).unwrap_or_default())
    }

    /// A `,string` integer: a JSON string of decimal digits (Go's `ParseUint` takes no sign);
    /// absent is 0.
    pub(crate) fn uint(&self, name: &str) -> Result<u64, Fault> {
        match self.string(name)? {
            None => Ok(0),
            Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().map_err(|_| Fault::UnmarshalTextFailed)
            }
            Some(_) => Err(Fault::UnmarshalTextFailed),
        }
    }

    /// A base58 account; absent is Go's nil account, `InvalidOwnerOrRegistrant`.
    pub(crate) fn account(&self, name: &str) -> Result<Account, Fault> {
        Account::from_base58(self.string(name)?.ok_or(Fault::InvalidOwnerOrRegistrant)?)
    }

    /// A link or share id in raw hex (`NotLink` when it is not 32 bytes); absent is all zeros.
    pub(crate) fn link(&self, name: &str) -> Result<Link, Fault> {
        self.string(name)?.map_or(Ok(Link::default()), Link::from_raw_hex)
    }

    /// An asset id in hex; absent is all zeros.
    pub(crate) fn asset_id(&self, name: &str) -> Result<AssetId, Fault> {
        self.string(name)?.map_or(Ok(AssetId([0; 64])), AssetId::from_text)
    }

    /// A signature in hex; absent is empty.
    pub(crate) fn signature(&self, name: &str) -> Result<Vec<u8>, Fault> {
        self.string(name)?.map_or(Ok(Vec::new()), |s| hex::decode(s).map_err(|_| Fault::UnmarshalTextFailed))
    }

    /// A currency symbol or name; absent is Nothing.
    pub(crate) fn currency(&self, name: &str) -> Result<Currency, Fault> {
        self.string(name)?.map_or(Ok(Currency::Nothing), Currency::from_text)
    }

    /// The payment map, an object keyed by currency; absent is empty.
    pub(crate) fn payments(&self, name: &str) -> Result<CurrencyMap, Fault> {
        let Some(value) = self.get(name) else {
            return Ok(CurrencyMap::new());
        };
        let object = value.as_object().ok_or(Fault::UnmarshalTextFailed)?;
        let mut map = CurrencyMap::new();
        for (symbol, address) in object {
            let address = address.as_str().ok_or(Fault::UnmarshalTextFailed)?;
            map.insert(Currency::from_text(symbol)?, address);
        }
        Ok(map)
    }

    /// The optional escrow payment; absent or `null` is none.
    pub(crate) fn escrow(&self, name: &str) -> Result<Option<Payment>, Fault> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let f = Fields::of(value)?;
        Ok(Some(Payment { currency: f.currency("currency")?, address: f.text("address")?, amount: f.uint("amount")? }))
    }
}
