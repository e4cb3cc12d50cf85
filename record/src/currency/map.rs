//! The payment map of block-foundation and block-owner-transfer records: currency → address
//! (currency/mapped.go, currency/set.go).

use super::Currency;
use crate::fault::Fault;
use crate::varint;
use std::collections::BTreeMap;

/// Shortest and longest address inside a packed map (currency/mapped.go:82-86).
const MIN_ADDRESS_LENGTH: i64 = 1;
const MAX_ADDRESS_LENGTH: i64 = 255;

/// A set of currencies (`currency.Set`): what a payment map covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CurrencySet(u8);

impl CurrencySet {
    /// The empty set.
    pub const EMPTY: CurrencySet = CurrencySet(0);

    /// The set of the given currencies.
    pub fn of(currencies: &[Currency]) -> CurrencySet {
        let mut set = CurrencySet::EMPTY;
        for &c in currencies {
            set.add(c);
        }
        set
    }

    /// Add a currency; true when it was already present (bitmarkd's duplicate test).
    pub fn add(&mut self, currency: Currency) -> bool {
        let bit = 1u8 << currency.code();
        let present = self.0 & bit != 0;
        self.0 |= bit;
        present
    }

    /// Whether the set holds `currency`.
    pub fn contains(&self, currency: Currency) -> bool {
        self.0 & (1u8 << currency.code()) != 0
    }

    /// Number of currencies in the set.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    /// True for the empty set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The members, in code order.
    pub fn iter(&self) -> impl Iterator<Item = Currency> + '_ {
        Currency::ALL.into_iter().filter(|&c| self.contains(c))
    }
}

/// A currency → payment address map (`currency.Map`). Keys sort in code order, which is also the
/// order Go's JSON encoder gives their symbols ("", "BTC", "LTC").
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CurrencyMap(pub BTreeMap<Currency, String>);

impl CurrencyMap {
    /// An empty map.
    pub fn new() -> CurrencyMap {
        CurrencyMap::default()
    }

    /// Set the address for a currency, returning the previous one.
    pub fn insert(&mut self, currency: Currency, address: impl Into<String>) -> Option<String> {
        self.0.insert(currency, address.into())
    }

    /// The address for a currency.
    pub fn get(&self, currency: Currency) -> Option<&str> {
        self.0.get(&currency).map(String::as_str)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in currency order.
    pub fn iter(&self) -> impl Iterator<Item = (Currency, &str)> {
        self.0.iter().map(|(&c, a)| (c, a.as_str()))
    }

    /// The currencies present.
    pub fn currencies(&self) -> CurrencySet {
        let mut set = CurrencySet::EMPTY;
        for &c in self.0.keys() {
            set.add(c);
        }
        set
    }

    /// `Map.Pack`: for BTC then LTC, skipping empty addresses, each address is validated for the
    /// network and written as varint(code) ‖ varint(length) ‖ address. Every entry must have been
    /// written, so a Nothing key or an empty address is `InvalidCurrency`.
    pub fn pack(&self, testnet: bool) -> Result<Vec<u8>, Fault> {
        let mut out = Vec::with_capacity(40 * self.len());
        let mut packed = 0;
        for currency in Currency::PAYABLE {
            let Some(address) = self.get(currency).filter(|a| !a.is_empty()) else {
                continue;
            };
            currency.validate_address(address, testnet)?;
            varint::put(&mut out, currency.code());
            varint::put(&mut out, address.len() as u64);
            out.extend_from_slice(address.as_bytes());
            packed += 1;
        }
        if packed != self.len() {
            return Err(Fault::InvalidCurrency);
        }
        Ok(out)
    }

    /// `UnpackMap`: the map and the set of currencies it names, with bitmarkd's faults:
    /// `InvalidBuffer` under two bytes, `InvalidCurrency` for a bad, unknown or Nothing code,
    /// `InvalidCount` for an address length outside 1..=255, then address validation faults.
    /// Entries may come in any order; a repeated currency keeps its last address. An address that
    /// runs past the buffer is `NotTransactionPack` (in bitmarkd this only happens inside a
    /// record, where the slice panic becomes that fault).
    pub fn unpack(buffer: &[u8], testnet: bool) -> Result<(CurrencyMap, CurrencySet), Fault> {
        unpack_window(buffer, buffer.len(), testnet)
    }
}

/// `UnpackMap` over the first `length` bytes of `buffer`, where an address may run on into the
/// rest of `buffer`. This is Go's slice capacity at work: a record hands `UnpackMap` the slice
/// `record[n:n+length]`, whose capacity reaches the end of the record, and slicing an address
/// out of it may legally extend past `length`. Varints are still read only within `length`.
pub(crate) fn unpack_window(buffer: &[u8], length: usize, testnet: bool) -> Result<(CurrencyMap, CurrencySet), Fault> {
    let window = buffer.get(..length).ok_or(Fault::NotTransactionPack)?;
    if window.len() < 2 {
        return Err(Fault::InvalidBuffer);
    }
    let mut map = CurrencyMap::new();
    let mut set = CurrencySet::EMPTY;
    let mut n = 0;
    while n < length {
        let rest = window.get(n..).unwrap_or_default();
        let (code, code_len) = varint::decode(rest).ok_or(Fault::InvalidCurrency)?;
        let currency = Currency::from_code(code)?;
        if currency == Currency::Nothing {
            return Err(Fault::InvalidCurrency);
        }
        set.add(currency);
        n += code_len;

        let rest = window.get(n..).unwrap_or_default();
        let (address_len, len_len) =
            varint::clipped(rest, MIN_ADDRESS_LENGTH, MAX_ADDRESS_LENGTH).ok_or(Fault::InvalidCount)?;
        n += len_len;
        let address = buffer.get(n..n + address_len).ok_or(Fault::NotTransactionPack)?;
        n += address_len;

        currency.validate_address(address, testnet)?;
        // Validation succeeded, so the address is base58 and therefore ASCII.
        let address = String::from_utf8_lossy(address).into_owned();
        map.insert(currency, address);
    }
    Ok((map, set))
}

impl FromIterator<(Currency, String)> for CurrencyMap {
    fn from_iter<I: IntoIterator<Item = (Currency, String)>>(iter: I) -> Self {
        CurrencyMap(iter.into_iter().collect())
    }
}

impl serde::Serialize for CurrencyMap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.len()))?;
        for (c, a) in self.iter() {
            m.serialize_entry(c.symbol(), a)?;
        }
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for CurrencyMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, String>::deserialize(d)?;
        let mut map = CurrencyMap::new();
        for (symbol, address) in raw {
            let currency = Currency::from_text(&symbol).map_err(serde::de::Error::custom)?;
            map.insert(currency, address);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BTC: &str = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn";
    const LTC: &str = "mmCKZS7toE69QgXNs1JZcjW6LFj8LfUbz6";

    #[test]
    fn empty_address_is_not_packed() {
        let mut m = CurrencyMap::new();
        m.insert(Currency::Bitcoin, "");
        assert_eq!(m.pack(true), Err(Fault::InvalidCurrency));
    }

    #[test]
    fn short_buffer() {
        assert_eq!(CurrencyMap::unpack(&[1], true), Err(Fault::InvalidBuffer));
    }

    #[test]
    fn address_overrun_reads_on_within_capacity() {
        let mut m = CurrencyMap::new();
        m.insert(Currency::Bitcoin, BTC);
        let packed = m.pack(true).unwrap();
        // A window of 3 bytes still reads the whole address from the wider buffer.
        assert_eq!(unpack_window(&packed, 3, true).map(|r| r.0), Ok(m));
        assert_eq!(CurrencyMap::unpack(&packed[..10], true), Err(Fault::NotTransactionPack));
    }

    proptest! {
        #[test]
        fn pack_unpack_round_trip(btc in any::<bool>(), ltc in any::<bool>()) {
            let mut m = CurrencyMap::new();
            if btc { m.insert(Currency::Bitcoin, BTC); }
            if ltc { m.insert(Currency::Litecoin, LTC); }
            let packed = m.pack(true).unwrap();
            if m.is_empty() {
                prop_assert_eq!(CurrencyMap::unpack(&packed, true), Err(Fault::InvalidBuffer));
            } else {
                let (back, set) = CurrencyMap::unpack(&packed, true).unwrap();
                prop_assert_eq!(set, m.currencies());
                prop_assert_eq!(back, m);
            }
        }

        #[test]
        fn unpack_is_total(buf in proptest::collection::vec(any::<u8>(), 0..80), testnet in any::<bool>()) {
            let _ = CurrencyMap::unpack(&buf, testnet);
        }
    }
}
