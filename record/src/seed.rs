//! Seeds (account/seed.go): the base58 strings (`5XEEC…` v1, `9J87…` v2) that wallets and
//! bitmarkd's tools keep instead of a private key, and the Ed25519 key each one derives.
//!
//! Layout: header `5a fe` + version ‖ body ‖ SHA3-256(header ‖ body)[0..4].
//! * v1 (40 bytes): body = network byte (0x01 test, anything else live) ‖ 32-byte secret; the
//!   Ed25519 seed is NaCl `secretbox.Seal` of a fixed 16-byte message under that secret.
//! * v2 (24 bytes): body = 17-byte secret (132 bits, the last nibble zero) whose bits also encode
//!   the network; the Ed25519 seed is SHAKE256 of the secret written four times.

use crate::account::{checksum, CHECKSUM_LENGTH};
use crate::base58;
use crate::fault::Fault;
use crate::private_key::{PrivateKey, ED25519_SEED_LENGTH};
use crypto_secretbox::aead::AeadInPlace;
use crypto_secretbox::{KeyInit, XSalsa20Poly1305};
use sha3::digest::{ExtendableOutput, Update, XofReader};
use std::fmt;

/// The two header bytes every seed starts with.
const HEADER_PREFIX: [u8; 2] = [0x5a, 0xfe];
/// Header length: the prefix and one version byte.
const HEADER_LENGTH: usize = 3;
/// Decoded length of a v1 seed.
const V1_LENGTH: usize = 40;
/// Decoded length of a v2 seed.
const V2_LENGTH: usize = 24;
/// A v1 secret.
pub const V1_SECRET_LENGTH: usize = 32;
/// A v2 secret: 16 bytes of entropy and a byte whose high nibble repeats part of byte 15.
pub const V2_SECRET_LENGTH: usize = 17;
/// The random part of a v2 secret.
pub const V2_ENTROPY_LENGTH: usize = 16;
/// The v1 network byte bitmarkd writes for the test network (any other value means live).
const V1_TESTNET: u8 = 0x01;
/// The v1 network byte bitmarkd writes for the live network.
const V1_LIVENET: u8 = 0x00;
/// The message v1 seals to derive the Ed25519 seed ("auth seed index" 999, big-endian).
const V1_AUTH_MESSAGE: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xe7];
/// The all-zero nonce v1 seals with.
const V1_NONCE: [u8; 24] = [0; 24];
/// How many times v2 writes its secret into SHAKE256.
const V2_HASH_REPEATS: usize = 4;

/// A parsed seed: its encoded bytes, its secret, network and the Ed25519 seed derived from it.
///
/// `Debug` shows the version and network only, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Seed {
    /// The full decoded form including the checksum, kept so `to_base58` gives back exactly the
    /// string that was parsed (Go reads a v1 network byte other than 0/1 as live, and a 24-byte
    /// string with a v1 header as a zero-padded v1 secret; neither survives re-encoding).
    encoded: Vec<u8>,
    version: u8,
    secret: Vec<u8>,
    testnet: bool,
    ed25519_seed: [u8; ED25519_SEED_LENGTH],
}

impl Seed {
    /// `parseBase58Seed` then the key derivation of `PrivateKeyFromBase58Seed`. Faults, in
    /// bitmarkd's order: `InvalidSeedLength` (decoded length not 40 or 24, including strings that
    /// do not decode), `ChecksumMismatch`, then by header: a v2 secret whose last nibble is set
    /// gives `InvalidSeedLength`; an unknown header gives `InvalidSeedHeader`.
    pub fn from_base58(text: &str) -> Result<Seed, Fault> {
        Seed::from_bytes(base58::decode(text))
    }

    /// The checks of `parseBase58Seed` on already-decoded bytes.
    fn from_bytes(encoded: Vec<u8>) -> Result<Seed, Fault> {
        if encoded.len() != V1_LENGTH && encoded.len() != V2_LENGTH {
            return Err(Fault::InvalidSeedLength);
        }
        let (body, check) = encoded.split_at(encoded.len() - CHECKSUM_LENGTH);
        if checksum(body) != check {
            return Err(Fault::ChecksumMismatch);
        }
        let (header, rest) = body.split_at(HEADER_LENGTH);
        let (version, secret, testnet) = match version_of(header) {
            Some(1) => {
                // Go copies whatever follows the network byte (checksum included) into a
                // zeroed 32-byte array: exact for 40 bytes, zero-padded for a 24-byte string.
                let (net, after) =
                    encoded.get(HEADER_LENGTH..).and_then(<[u8]>::split_first).ok_or(Fault::InvalidSeedLength)?;
                let mut secret = vec![0; V1_SECRET_LENGTH];
                for (to, from) in secret.iter_mut().zip(after) {
                    *to = *from;
                }
                (1, secret, *net == V1_TESTNET)
            }
            Some(2) => {
                if rest.len() != V2_SECRET_LENGTH || rest.last().is_some_and(|b| b & 0x0f != 0) {
                    return Err(Fault::InvalidSeedLength);
                }
                (2, rest.to_vec(), v2_is_testnet(rest))
            }
            _ => return Err(Fault::InvalidSeedHeader),
        };
        let ed25519_seed = derive_ed25519_seed(version, &secret)?;
        Ok(Seed { encoded, version, secret, testnet, ed25519_seed })
    }

    /// A v1 seed for a 32-byte secret (`NewBase58EncodedSeedV1` with the randomness supplied by
    /// the caller): network byte 0x01 for test, 0x00 for live. Fails only if the cipher does.
    pub fn new_v1(secret: [u8; V1_SECRET_LENGTH], testnet: bool) -> Result<Seed, Fault> {
        let net = if testnet { V1_TESTNET } else { V1_LIVENET };
        let mut body = vec![net];
        body.extend_from_slice(&secret);
        Seed::assemble(1, &body)
    }

    /// A v2 seed from 16 bytes of entropy (`NewBase58EncodedSeedV2` with the randomness supplied
    /// by the caller): byte 16 takes the high nibble of byte 15, then byte 15's high nibble is
    /// replaced by the network mode (flipped for the test network). Never fails in practice; the
    /// result goes through the same parser as every seed.
    pub fn new_v2(entropy: [u8; V2_ENTROPY_LENGTH], testnet: bool) -> Result<Seed, Fault> {
        let [.., last] = entropy;
        let mut secret = [0u8; V2_SECRET_LENGTH];
        let (head, tail) = secret.split_at_mut(V2_ENTROPY_LENGTH);
        head.copy_from_slice(&entropy);
        tail.fill(last & 0xf0);
        let mut mode = v2_mode(&secret);
        if testnet {
            mode ^= 0xf0;
        }
        if let Some(b) = secret.get_mut(V2_ENTROPY_LENGTH - 1) {
            *b = mode | (*b & 0x0f);
        }
        Seed::assemble(2, &secret)
    }

    /// Header ‖ body ‖ checksum, then parsed as any other seed so every path checks the same.
    pub(crate) fn assemble(version: u8, body: &[u8]) -> Result<Seed, Fault> {
        let mut encoded = HEADER_PREFIX.to_vec();
        encoded.push(version);
        encoded.extend_from_slice(body);
        let c = checksum(&encoded);
        encoded.extend_from_slice(&c);
        Seed::from_bytes(encoded)
    }

    /// The seed's base58 string.
    pub fn to_base58(&self) -> String {
        base58::encode(&self.encoded)
    }

    /// The decoded bytes: header, body and checksum.
    pub fn as_bytes(&self) -> &[u8] {
        &self.encoded
    }

    /// The seed version, 1 or 2.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The secret: 32 bytes for v1, 17 for v2.
    pub fn secret_key(&self) -> &[u8] {
        &self.secret
    }

    /// Whether the seed is for the test network.
    pub fn is_testnet(&self) -> bool {
        self.testnet
    }

    /// The 32-byte Ed25519 seed the secret derives.
    pub fn ed25519_seed(&self) -> [u8; ED25519_SEED_LENGTH] {
        self.ed25519_seed
    }

    /// `PrivateKeyFromBase58Seed`: the Ed25519 key pair for the derived seed, on the seed's
    /// network.
    pub fn private_key(&self) -> PrivateKey {
        PrivateKey::from_ed25519_seed(self.ed25519_seed, self.testnet)
    }
}

/// The version a header names, if it is a seed header.
fn version_of(header: &[u8]) -> Option<u8> {
    match header {
        [a, b, v @ (1 | 2)] if [*a, *b] == HEADER_PREFIX => Some(*v),
        _ => None,
    }
}

/// The v2 network mode: one high bit from each of the first four secret bytes.
fn v2_mode(secret: &[u8]) -> u8 {
    match secret {
        [a, b, c, d, ..] => (a & 0x80) | (b & 0x40) | (c & 0x20) | (d & 0x10),
        _ => 0,
    }
}

/// A v2 secret is for the test network when byte 15's high nibble is the mode flipped.
fn v2_is_testnet(secret: &[u8]) -> bool {
    let high = secret.get(V2_ENTROPY_LENGTH - 1).map_or(0, |b| b & 0xf0);
    v2_mode(secret) == high ^ 0xf0
}

/// The Ed25519 seed of a secret: NaCl secretbox for v1, SHAKE256 for v2.
fn derive_ed25519_seed(version: u8, secret: &[u8]) -> Result<[u8; ED25519_SEED_LENGTH], Fault> {
    let mut out = [0u8; ED25519_SEED_LENGTH];
    if version == 1 {
        // secretbox.Seal output is tag ‖ ciphertext; RustCrypto gives them separately.
        let key: [u8; V1_SECRET_LENGTH] = secret.try_into().map_err(|_| Fault::InvalidSecretKeyLength)?;
        let mut message = V1_AUTH_MESSAGE;
        let tag = XSalsa20Poly1305::new(&key.into())
            .encrypt_in_place_detached(&V1_NONCE.into(), b"", &mut message)
            .map_err(|_| Fault::CannotDecodeSeed)?;
        let (head, tail) = out.split_at_mut(tag.len());
        head.copy_from_slice(&tag);
        tail.copy_from_slice(&message);
    } else {
        let mut hash = sha3::Shake256::default();
        for _ in 0..V2_HASH_REPEATS {
            hash.update(secret);
        }
        hash.finalize_xof().read(&mut out);
    }
    Ok(out)
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seed").field("version", &self.version).field("testnet", &self.testnet).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn v2_generation_round_trips(entropy in any::<[u8; V2_ENTROPY_LENGTH]>(), testnet in any::<bool>()) {
            let s = Seed::new_v2(entropy, testnet).unwrap();
            prop_assert_eq!(s.version(), 2);
            prop_assert_eq!(s.is_testnet(), testnet);
            prop_assert_eq!(s.secret_key().get(..15), entropy.get(..15));
            prop_assert_eq!(s.as_bytes().len(), V2_LENGTH);
            prop_assert_eq!(Seed::from_base58(&s.to_base58()), Ok(s.clone()));
            prop_assert_eq!(s.private_key().account().map(|a| a.is_testnet()), Some(testnet));
        }

        #[test]
        fn v1_generation_round_trips(secret in any::<[u8; V1_SECRET_LENGTH]>(), testnet in any::<bool>()) {
            let s = Seed::new_v1(secret, testnet).unwrap();
            prop_assert_eq!(s.version(), 1);
            prop_assert_eq!(s.is_testnet(), testnet);
            prop_assert_eq!(s.secret_key(), &secret[..]);
            prop_assert_eq!(Seed::from_base58(&s.to_base58()), Ok(s.clone()));
        }

        #[test]
        fn parser_is_total(text in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let _ = Seed::from_base58(&text);
            let _ = Seed::from_base58(&base58::encode(&bytes));
        }
    }

    /// Header ‖ body with a correct checksum, as base58.
    fn checksummed(body: &[u8]) -> String {
        let mut b = body.to_vec();
        let c = checksum(&b);
        b.extend_from_slice(&c);
        base58::encode(&b)
    }

    #[test]
    fn faults_follow_bitmarkd_order() {
        assert_eq!(Seed::from_base58("not base58 0OIl"), Err(Fault::InvalidSeedLength));
        // Right length and header, bad checksum.
        let mut good = Seed::new_v2([0x55; 16], false).unwrap().as_bytes().to_vec();
        if let Some(b) = good.last_mut() {
            *b ^= 1;
        }
        assert_eq!(Seed::from_base58(&base58::encode(&good)), Err(Fault::ChecksumMismatch));
        // Good checksum, wrong header.
        let mut body = vec![0x5a, 0xfe, 0x03];
        body.extend_from_slice(&[0; 17]);
        assert_eq!(Seed::from_base58(&checksummed(&body)), Err(Fault::InvalidSeedHeader));
        // v2 with the low nibble of byte 16 set.
        let mut body = vec![0x5a, 0xfe, 0x02];
        body.extend_from_slice(&[0; 16]);
        body.push(0x01);
        assert_eq!(Seed::from_base58(&checksummed(&body)), Err(Fault::InvalidSeedLength));
        // v2 header in a 40-byte seed.
        let mut body = vec![0x5a, 0xfe, 0x02];
        body.extend_from_slice(&[0; 33]);
        assert_eq!(Seed::from_base58(&checksummed(&body)), Err(Fault::InvalidSeedLength));
    }

    #[test]
    fn go_quirks_are_kept() {
        // Any v1 network byte other than 0x01 is live, and the string survives re-encoding.
        let mut body = vec![0x5a, 0xfe, 0x01, 0x07];
        body.extend_from_slice(&[0x11; 32]);
        let text = checksummed(&body);
        let s = Seed::from_base58(&text).unwrap();
        assert!(!s.is_testnet());
        assert_eq!(s.to_base58(), text);
        assert_eq!(s.ed25519_seed(), Seed::new_v1([0x11; 32], false).unwrap().ed25519_seed());

        // A 24-byte string with a v1 header: Go copies the 16 bytes after the network byte and
        // the checksum into a zeroed 32-byte secret.
        let mut body = vec![0x5a, 0xfe, 0x01, 0x01];
        body.extend_from_slice(&[0x22; 16]);
        let text = checksummed(&body);
        let s = Seed::from_base58(&text).unwrap();
        let all = base58::decode(&text);
        let mut want = all.get(4..).unwrap().to_vec();
        want.resize(32, 0);
        assert_eq!((s.version(), s.is_testnet(), s.secret_key()), (1, true, &want[..]));
        assert_eq!(s.to_base58(), text);
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = Seed::new_v2([0xab; 16], true).unwrap();
        assert_eq!(format!("{s:?}"), "Seed { version: 2, testnet: true, .. }");
    }
}
