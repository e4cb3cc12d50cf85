//! Currencies that pay for bitmarks, their payment addresses, fees and the block-owner payment
//! map (bitmarkd `currency/`).
//!
//! A currency travels as a varint code inside records (0 Nothing, 1 Bitcoin, 2 Litecoin) and as
//! its symbol ("", "BTC", "LTC") in JSON.

mod base58check;
pub mod bitcoin;
pub mod litecoin;
pub(crate) mod map;

pub use map::{CurrencyMap, CurrencySet};

use crate::fault::Fault;
use crate::text::rune_count;
use std::fmt;
use std::str::FromStr;

/// Longest payment address, in runes (currency/validate.go:18-20).
pub const MAX_PAYMENT_ADDRESS_LENGTH: usize = 64;

/// A currency (currency/enumerated.go). `Nothing` appears only in genesis-era records and as
/// "no currency"; the payment map never holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    /// No currency: code 0, symbol "".
    Nothing,
    /// Bitcoin: code 1, symbol "BTC".
    Bitcoin,
    /// Litecoin: code 2, symbol "LTC".
    Litecoin,
}

impl Currency {
    /// Every currency, in code order.
    pub const ALL: [Currency; 3] = [Currency::Nothing, Currency::Bitcoin, Currency::Litecoin];

    /// The currencies a payment map may hold, in the order they are packed (`First..=Last`).
    pub const PAYABLE: [Currency; 2] = [Currency::Bitcoin, Currency::Litecoin];

    /// The varint code inside records.
    pub fn code(self) -> u64 {
        self as u64
    }

    /// `FromUint64`: codes 3 and above are `InvalidCurrency`.
    pub fn from_code(code: u64) -> Result<Currency, Fault> {
        match code {
            0 => Ok(Currency::Nothing),
            1 => Ok(Currency::Bitcoin),
            2 => Ok(Currency::Litecoin),
            _ => Err(Fault::InvalidCurrency),
        }
    }

    /// The symbol bitmarkd prints and puts in JSON: "", "BTC" or "LTC".
    pub fn symbol(self) -> &'static str {
        match self {
            Currency::Nothing => "",
            Currency::Bitcoin => "BTC",
            Currency::Litecoin => "LTC",
        }
    }

    /// Go's `%#v` form, e.g. `<Currency#1:"BTC">`.
    pub fn go_string(self) -> String {
        format!("<Currency#{}:{:?}>", self.code(), self.symbol())
    }

    /// `UnmarshalText`: the whole text, case-insensitively: "" is Nothing, "btc"/"bitcoin",
    /// "ltc"/"litecoin"; anything else is `InvalidCurrency`.
    pub fn from_text(text: &str) -> Result<Currency, Fault> {
        match text.to_lowercase().as_str() {
            "" => Ok(Currency::Nothing),
            "btc" | "bitcoin" => Ok(Currency::Bitcoin),
            "ltc" | "litecoin" => Ok(Currency::Litecoin),
            _ => Err(Fault::InvalidCurrency),
        }
    }

    /// Go's `fmt.Sscan` into a currency: skip leading white space, take the run of ASCII letters
    /// and digits that follows (so "a b" reads "a"), then parse it as [`Currency::from_text`].
    /// Empty input reads as Nothing.
    pub fn scan(text: &str) -> Result<Currency, Fault> {
        let rest = text.trim_start();
        let token_len = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
        Currency::from_text(rest.get(..token_len).unwrap_or_default())
    }

    /// True for Bitcoin and Litecoin (`IsValid`): currencies that can be paid.
    pub fn is_payable(self) -> bool {
        self != Currency::Nothing
    }

    /// `GetFee`: the fee per paid transaction in the currency's smallest unit (currency/fees.go).
    pub fn fee(self) -> u64 {
        match self {
            Currency::Nothing => 0,
            Currency::Bitcoin => 10_000,
            // Litecoin penalises outputs below 100,000 litoshi.
            Currency::Litecoin => 100_000,
        }
    }

    /// `ValidateAddress`: at most 64 runes (`PaymentAddressTooLong`), then the currency's own
    /// base58check rules and network. Nothing accepts any address (genesis records have none).
    /// Takes bytes because record addresses are Go strings that need not be UTF-8.
    pub fn validate_address(self, address: impl AsRef<[u8]>, testnet: bool) -> Result<(), Fault> {
        let address = address.as_ref();
        if rune_count(address) > MAX_PAYMENT_ADDRESS_LENGTH {
            return Err(Fault::PaymentAddressTooLong);
        }
        match self {
            Currency::Nothing => Ok(()),
            Currency::Bitcoin => {
                let (version, _) = bitcoin::validate_address(address)?;
                if version.is_testnet() != testnet {
                    return Err(Fault::BitcoinAddressForWrongNetwork);
                }
                Ok(())
            }
            Currency::Litecoin => {
                let (version, _) = litecoin::validate_address(address)?;
                if version.is_testnet() != testnet {
                    return Err(Fault::LitecoinAddressForWrongNetwork);
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl FromStr for Currency {
    type Err = Fault;
    /// As [`Currency::from_text`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_text(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.symbol())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::from_text(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Currency::ALL {
            assert_eq!(Currency::from_code(c.code()), Ok(c));
            assert_eq!(Currency::from_text(c.symbol()), Ok(c));
        }
        assert_eq!(Currency::from_code(3), Err(Fault::InvalidCurrency));
    }

    #[test]
    fn scan_takes_a_token() {
        assert_eq!(Currency::scan("  btc,x"), Ok(Currency::Bitcoin));
        assert_eq!(Currency::scan("a b"), Err(Fault::InvalidCurrency));
        assert_eq!(Currency::scan(""), Ok(Currency::Nothing));
        assert_eq!(Currency::scan("bitcoin!"), Ok(Currency::Bitcoin));
    }

    #[test]
    fn nothing_accepts_short_addresses_only() {
        assert_eq!(Currency::Nothing.validate_address("anything", true), Ok(()));
        let long = "x".repeat(65);
        assert_eq!(Currency::Nothing.validate_address(&long, true), Err(Fault::PaymentAddressTooLong));
        assert_eq!(Currency::Bitcoin.validate_address(&long, true), Err(Fault::PaymentAddressTooLong));
    }
}
