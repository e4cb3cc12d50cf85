//! Accounts: public keys with a key-variant prefix, in binary (inside records) and base58 with a
//! SHA3 checksum (in JSON and on the command line) (account/account.go).

use crate::fault::Fault;
use crate::key_encoding::{self, KeyKind};
use sha3::{Digest as _, Sha3_256};
use std::fmt;

/// Bit 0 of the key variant: set for a public key, clear for a private key.
pub(crate) const PUBLIC_KEY_CODE: u64 = 0x01;
/// Bit 1 of the key variant: set for the test network.
pub(crate) const TEST_KEY_CODE: u64 = 0x02;
/// The algorithm sits above the four flag bits.
pub(crate) const ALGORITHM_SHIFT: u32 = 4;
/// Length of the base58 checksum (first bytes of SHA3-256).
pub(crate) const CHECKSUM_LENGTH: usize = 4;

/// Signature algorithms bitmarkd knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// A 2-byte dummy key used only in bitmarkd's tests; it never verifies a signature.
    Nothing = 0,
    /// Ed25519 (RFC 8032, pure).
    Ed25519 = 1,
}

impl Algorithm {
    /// From the algorithm code of a key variant; codes >= 2 are `InvalidKeyType`.
    pub(crate) fn from_code(code: u64) -> Result<Algorithm, Fault> {
        match code {
            0 => Ok(Algorithm::Nothing),
            1 => Ok(Algorithm::Ed25519),
            _ => Err(Fault::InvalidKeyType),
        }
    }

    /// Public-key length for this algorithm.
    pub fn public_key_len(self) -> usize {
        match self {
            Algorithm::Nothing => 2,
            Algorithm::Ed25519 => 32,
        }
    }

    /// Private-key length for this algorithm: Go's 64-byte Ed25519 form (seed ‖ public key), or
    /// the Nothing algorithm's 2 bytes.
    pub fn private_key_len(self) -> usize {
        match self {
            Algorithm::Nothing => 2,
            Algorithm::Ed25519 => 64,
        }
    }

    /// bitmarkd's name, as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Nothing => "Nothing",
            Algorithm::Ed25519 => "ED25519",
        }
    }

    /// The key-variant byte for a key of this algorithm.
    pub(crate) fn variant(self, public: bool, testnet: bool) -> u8 {
        let mut v = (self as u8) << ALGORITHM_SHIFT;
        if public {
            v |= PUBLIC_KEY_CODE as u8;
        }
        if testnet {
            v |= TEST_KEY_CODE as u8;
        }
        v
    }
}

/// SHA3-256(data)[0..4], the checksum appended to base58 keys.
pub(crate) fn checksum(data: &[u8]) -> [u8; CHECKSUM_LENGTH] {
    let d: [u8; 32] = Sha3_256::digest(data).into();
    [d[0], d[1], d[2], d[3]]
}

/// How accounts are parsed: bit 0 set, and the public-key faults and lengths.
const PUBLIC: KeyKind = KeyKind {
    public: true,
    cannot_decode: Fault::CannotDecodeAccount,
    wrong_kind: Fault::NotPublicKey,
    key_len: Algorithm::public_key_len,
};

/// An account: the public key that owns things on the chain.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Account {
    algorithm: Algorithm,
    testnet: bool,
    key: Vec<u8>,
}

impl Account {
    /// An Ed25519 account.
    pub fn ed25519(public_key: [u8; 32], testnet: bool) -> Account {
        Account { algorithm: Algorithm::Ed25519, testnet, key: public_key.to_vec() }
    }

    /// `AccountFromBytes`: variant varint ‖ key, checked in bitmarkd's order
    /// (`NotPublicKey`, `InvalidKeyType`, `InvalidKeyLength`). No checksum in this form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Account, Fault> {
        key_encoding::from_bytes(bytes, PUBLIC).map(Account::from_parsed)
    }

    /// `AccountFromBase58`, with bitmarkd's check order: `CannotDecodeAccount`, `NotPublicKey`,
    /// `InvalidKeyType`, `InvalidKeyLength`, `ChecksumMismatch`, `InvalidKeyLength`.
    pub fn from_base58(text: &str) -> Result<Account, Fault> {
        key_encoding::from_base58(text, PUBLIC).map(Account::from_parsed)
    }

    /// Build from parser output (the parser has already checked the key length).
    fn from_parsed(p: key_encoding::Parsed) -> Account {
        Account { algorithm: p.algorithm, testnet: p.testnet, key: p.key }
    }

    /// `Bytes()`: one variant byte ‖ public key.
    pub fn to_bytes(&self) -> Vec<u8> {
        key_encoding::to_bytes(self.algorithm, true, self.testnet, &self.key)
    }

    /// `String()`: base58 of the bytes and their checksum.
    pub fn to_base58(&self) -> String {
        key_encoding::to_base58(self.algorithm, true, self.testnet, &self.key)
    }

    /// The key algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Whether this is a test-network account.
    pub fn is_testnet(&self) -> bool {
        self.testnet
    }

    /// The public key bytes.
    pub fn public_key(&self) -> &[u8] {
        &self.key
    }

    /// `IsZero()`: every public-key byte is zero (the "destroyed" owner).
    pub fn is_zero(&self) -> bool {
        self.key.iter().all(|&b| b == 0)
    }

    /// `CheckSignature`: exactly 64 bytes verifying under RFC 8032 Ed25519 over `message`, else
    /// `InvalidSignature`. The Nothing algorithm never verifies.
    pub fn check_signature(&self, message: &[u8], signature: &[u8]) -> Result<(), Fault> {
        verify(&self.verifying_key()?, message, signature)
    }

    /// The decoded Ed25519 key; `InvalidSignature` for the Nothing algorithm and for bytes that
    /// are not a curve point.
    fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, Fault> {
        if self.algorithm != Algorithm::Ed25519 {
            return Err(Fault::InvalidSignature);
        }
        let key: [u8; 32] = self.key.as_slice().try_into().map_err(|_| Fault::InvalidSignature)?;
        ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| Fault::InvalidSignature)
    }
}

/// Cofactorless verification with canonical S, as Go's crypto/ed25519 does.
fn verify(key: &ed25519_dalek::VerifyingKey, message: &[u8], signature: &[u8]) -> Result<(), Fault> {
    use ed25519_dalek::Verifier;
    let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| Fault::InvalidSignature)?;
    key.verify(message, &sig).map_err(|_| Fault::InvalidSignature)
}

/// Checks the signatures of many records, each exactly as [`Account::check_signature`] does,
/// decoding each distinct public key once: a submission of a hundred issues of one owner
/// decompresses its key once instead of a hundred times (a tenth of a verification each).
///
/// It deliberately checks every signature on its own. Ed25519 batch verification (one random
/// linear combination of all the equations) can accept a signature whose `R` carries a
/// small-order component, which bitmarkd's cofactorless verification refuses: a cofactored batch
/// always, ed25519-dalek's `verify_batch` whenever its coefficient (derived from the inputs, so
/// a submitter can grind for it) cancels that component. No batch equation agrees with the
/// cofactorless check without per-signature work as costly as the check itself, and a node must
/// refuse exactly what bitmarkd refuses.
#[derive(Default)]
pub struct SignatureChecker {
    /// Decoded keys by their bytes (`None`: not a curve point), at most [`Self::MAX_KEYS`].
    keys: std::collections::HashMap<[u8; 32], Option<ed25519_dalek::VerifyingKey>>,
}

impl SignatureChecker {
    /// Keys remembered; beyond them keys are decoded on every use.
    pub const MAX_KEYS: usize = 256;

    /// [`Account::check_signature`], reusing the key decoded for an earlier check.
    pub fn check(&mut self, account: &Account, message: &[u8], signature: &[u8]) -> Result<(), Fault> {
        let Ok(bytes) = <[u8; 32]>::try_from(account.key.as_slice()) else {
            return account.check_signature(message, signature);
        };
        if account.algorithm != Algorithm::Ed25519 {
            return Err(Fault::InvalidSignature);
        }
        let key = match self.keys.get(&bytes) {
            Some(key) => *key,
            None => {
                let key = account.verifying_key().ok();
                if self.keys.len() < Self::MAX_KEYS {
                    self.keys.insert(bytes, key);
                }
                key
            }
        };
        verify(&key.ok_or(Fault::InvalidSignature)?, message, signature)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Account({})", self.to_base58())
    }
}

impl serde::Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base58())
    }
}

impl<'de> serde::Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Account::from_base58(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(key in any::<[u8; 32]>(), testnet in any::<bool>()) {
            let a = Account::ed25519(key, testnet);
            prop_assert_eq!(Account::from_bytes(&a.to_bytes()), Ok(a.clone()));
            prop_assert_eq!(Account::from_base58(&a.to_base58()), Ok(a.clone()));
            let json = serde_json::to_string(&a).unwrap();
            prop_assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), a);
        }

        #[test]
        fn parsers_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = Account::from_bytes(&bytes);
            let _ = Account::from_base58(&crate::base58::encode(&bytes));
        }
    }

    #[test]
    fn binary_form_checks_in_bitmarkd_order() {
        assert_eq!(Account::from_bytes(&[]), Err(Fault::NotPublicKey));
        assert_eq!(Account::from_bytes(&[0x10; 33]), Err(Fault::NotPublicKey));
        assert_eq!(Account::from_bytes(&[0x21, 0, 0]), Err(Fault::InvalidKeyType));
        assert_eq!(Account::from_bytes(&[0x11]), Err(Fault::InvalidKeyLength));
        assert_eq!(Account::from_bytes(&[0x01, 0, 0, 0]), Err(Fault::InvalidKeyLength));
    }
}
