//! Private keys (account/private.go): the key-variant byte with bit 0 clear, then the key. An
//! Ed25519 key is kept in Go's 64-byte form, seed ‖ public key, because that is what bitmarkd
//! writes in key files and base58 strings; the Nothing algorithm's key is 2 opaque bytes.

use crate::account::{Account, Algorithm};
use crate::fault::Fault;
use crate::key_encoding::{self, KeyKind};
use ed25519_dalek::{hazmat, SigningKey, VerifyingKey};
use std::fmt;

/// Length of an Ed25519 seed, the first half of Go's private key.
pub const ED25519_SEED_LENGTH: usize = 32;

/// How private keys are parsed: bit 0 clear, and the private-key faults and lengths.
const PRIVATE: KeyKind = KeyKind {
    public: false,
    cannot_decode: Fault::CannotDecodePrivateKey,
    wrong_kind: Fault::NotPrivateKey,
    key_len: Algorithm::private_key_len,
};

/// A private key with its algorithm and network.
///
/// `Debug` shows only the algorithm, network and account, never the secret, so keys can sit in
/// logged structures; use [`PrivateKey::to_base58`] to get the secret form on purpose.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    algorithm: Algorithm,
    testnet: bool,
    key: Vec<u8>,
}

impl PrivateKey {
    /// `PrivateKeyFromBytes`: variant ‖ key with bitmarkd's checks (`NotPrivateKey`,
    /// `InvalidKeyType`, `InvalidKeyLength`). No checksum in this form.
    pub fn from_bytes(bytes: &[u8]) -> Result<PrivateKey, Fault> {
        key_encoding::from_bytes(bytes, PRIVATE).map(PrivateKey::from_parsed)
    }

    /// `PrivateKeyFromBase58`, with bitmarkd's check order: `CannotDecodePrivateKey`,
    /// `NotPrivateKey`, `InvalidKeyType`, `InvalidKeyLength`, `ChecksumMismatch`,
    /// `InvalidKeyLength` (64 bytes for Ed25519, 2 for Nothing).
    pub fn from_base58(text: &str) -> Result<PrivateKey, Fault> {
        key_encoding::from_base58(text, PRIVATE).map(PrivateKey::from_parsed)
    }

    /// Build from parser output (the parser has already checked the key length).
    fn from_parsed(p: key_encoding::Parsed) -> PrivateKey {
        PrivateKey { algorithm: p.algorithm, testnet: p.testnet, key: p.key }
    }

    /// The Ed25519 key pair for a 32-byte seed, as Go's `ed25519.NewKeyFromSeed`/`GenerateKey`
    /// makes it (RFC 8032 key derivation); used by seeds and key generation.
    pub fn from_ed25519_seed(seed: [u8; ED25519_SEED_LENGTH], testnet: bool) -> PrivateKey {
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut key = Vec::with_capacity(Algorithm::Ed25519.private_key_len());
        key.extend_from_slice(&seed);
        key.extend_from_slice(&public);
        PrivateKey { algorithm: Algorithm::Ed25519, testnet, key }
    }

    /// `Bytes()`: one variant byte (bit 0 clear) ‖ key.
    pub fn to_bytes(&self) -> Vec<u8> {
        key_encoding::to_bytes(self.algorithm, false, self.testnet, &self.key)
    }

    /// `String()`/`MarshalText`: base58 of the bytes and their SHA3 checksum.
    pub fn to_base58(&self) -> String {
        key_encoding::to_base58(self.algorithm, false, self.testnet, &self.key)
    }

    /// The key algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Whether this key is for the test network.
    pub fn is_testnet(&self) -> bool {
        self.testnet
    }

    /// `PrivateKeyBytes()`: the key without its variant (64 bytes for Ed25519, 2 for Nothing).
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The two halves of an Ed25519 key: seed and stored public key. `None` for Nothing keys.
    fn ed25519_halves(&self) -> Option<([u8; ED25519_SEED_LENGTH], [u8; 32])> {
        if self.algorithm != Algorithm::Ed25519 {
            return None;
        }
        let (seed, public) = self.key.split_at_checked(ED25519_SEED_LENGTH)?;
        Some((seed.try_into().ok()?, public.try_into().ok()?))
    }

    /// `Account()`: for Ed25519 the last 32 key bytes as the public key, on the same network.
    /// Like Go, this trusts the stored public half rather than re-deriving it. A Nothing key has
    /// no account (Go returns nil), hence `None`.
    pub fn account(&self) -> Option<Account> {
        self.ed25519_halves().map(|(_, public)| Account::ed25519(public, self.testnet))
    }

    /// Sign `message` the way bitmarkd does, with Go's `ed25519.Sign(PrivateKeyBytes(), message)`:
    /// deterministic RFC 8032 Ed25519 with the scalar and nonce prefix expanded from the seed.
    ///
    /// Go hashes the *stored* public half into the challenge rather than re-deriving it, so we do
    /// the same (through ed25519-dalek's `hazmat::raw_sign`); for any well-formed key the two
    /// agree and this equals `SigningKey::from_bytes(seed).sign(message)`. Fails with
    /// `InvalidPrivateKey` for Nothing keys (they cannot sign) and for a stored public half that is
    /// not a curve point (no one could verify such a signature).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], Fault> {
        let (seed, public) = self.ed25519_halves().ok_or(Fault::InvalidPrivateKey)?;
        let verifying = VerifyingKey::from_bytes(&public).map_err(|_| Fault::InvalidPrivateKey)?;
        let expanded = hazmat::ExpandedSecretKey::from(&seed);
        Ok(hazmat::raw_sign::<sha2::Sha512>(&expanded, message, &verifying).to_bytes())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PrivateKey");
        d.field("algorithm", &self.algorithm).field("testnet", &self.testnet);
        if let Some(account) = self.account() {
            d.field("account", &account.to_base58());
        }
        d.finish_non_exhaustive()
    }
}

impl serde::Serialize for PrivateKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base58())
    }
}

impl<'de> serde::Deserialize<'de> for PrivateKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        PrivateKey::from_base58(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bytes_and_base58_round_trip(seed in any::<[u8; 32]>(), testnet in any::<bool>()) {
            let p = PrivateKey::from_ed25519_seed(seed, testnet);
            prop_assert_eq!(PrivateKey::from_bytes(&p.to_bytes()), Ok(p.clone()));
            prop_assert_eq!(PrivateKey::from_base58(&p.to_base58()), Ok(p.clone()));
            let json = serde_json::to_string(&p).unwrap();
            prop_assert_eq!(serde_json::from_str::<PrivateKey>(&json).unwrap(), p);
        }

        #[test]
        fn nothing_keys_round_trip(key in any::<[u8; 2]>(), testnet in any::<bool>()) {
            let mut bytes = vec![Algorithm::Nothing.variant(false, testnet)];
            bytes.extend_from_slice(&key);
            let p = PrivateKey::from_bytes(&bytes).unwrap();
            prop_assert_eq!(p.to_bytes(), bytes);
            prop_assert_eq!(PrivateKey::from_base58(&p.to_base58()), Ok(p.clone()));
            prop_assert_eq!(p.account(), None);
            prop_assert_eq!(p.sign(b"m"), Err(Fault::InvalidPrivateKey));
        }

        #[test]
        fn signatures_are_rfc8032_and_verify(seed in any::<[u8; 32]>(), message in proptest::collection::vec(any::<u8>(), 0..200)) {
            let p = PrivateKey::from_ed25519_seed(seed, true);
            let sig = p.sign(&message).unwrap();
            prop_assert_eq!(sig, SigningKey::from_bytes(&seed).sign(&message).to_bytes());
            prop_assert_eq!(p.account().unwrap().check_signature(&message, &sig), Ok(()));
        }

        #[test]
        fn parsers_are_total(text in "\\PC{0,120}", bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = PrivateKey::from_base58(&text);
            let _ = PrivateKey::from_bytes(&bytes);
            let _ = PrivateKey::from_base58(&crate::base58::encode(&bytes));
        }
    }

    #[test]
    fn binary_form_checks_in_bitmarkd_order() {
        assert_eq!(PrivateKey::from_bytes(&[]), Err(Fault::NotPrivateKey));
        assert_eq!(PrivateKey::from_bytes(&[0x11, 0, 0]), Err(Fault::NotPrivateKey));
        assert_eq!(PrivateKey::from_bytes(&[0x20, 0, 0]), Err(Fault::InvalidKeyType));
        assert_eq!(PrivateKey::from_bytes(&[0x10]), Err(Fault::InvalidKeyLength));
        assert_eq!(PrivateKey::from_bytes(&[0x10; 33]), Err(Fault::InvalidKeyLength));
        assert_eq!(PrivateKey::from_bytes(&[0x00, 1, 2, 3]), Err(Fault::InvalidKeyLength));
    }

    #[test]
    fn signing_uses_the_stored_public_half_like_go() {
        // A key whose public half is not the seed's: Go hashes the stored half into the
        // challenge, so the signature differs from the well-formed key's and does not verify
        // under the derived public key.
        let good = PrivateKey::from_ed25519_seed([7; 32], false);
        let mut bytes = good.to_bytes();
        let zero_public = [0u8; 32];
        bytes.truncate(1 + ED25519_SEED_LENGTH);
        bytes.extend_from_slice(&zero_public);
        let odd = PrivateKey::from_bytes(&bytes).unwrap();
        let sig = odd.sign(b"message").unwrap();
        assert_ne!(sig, good.sign(b"message").unwrap());
        assert!(good.account().unwrap().check_signature(b"message", &sig).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let p = PrivateKey::from_ed25519_seed([9; 32], false);
        let shown = format!("{p:?}");
        assert!(!shown.contains(&p.to_base58()));
        assert!(shown.contains(&p.account().unwrap().to_base58()));
    }
}
