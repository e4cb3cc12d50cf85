//! The encoding shared by accounts (public keys) and private keys: a key-variant varint, the key
//! bytes and, in the base58 form, a 4-byte SHA3-256 checksum (account/account.go:74-200,
//! account/private.go:49-184). Both parsers check in the same order and differ only in which
//! flag value they want in bit 0, which fault each step gives, and the key lengths.

use crate::account::{checksum, Algorithm, ALGORITHM_SHIFT, CHECKSUM_LENGTH, PUBLIC_KEY_CODE, TEST_KEY_CODE};
use crate::{base58, fault::Fault, varint};

/// Public or private: what a parser expects and the faults bitmarkd gives for it.
#[derive(Clone, Copy)]
pub(crate) struct KeyKind {
    /// Whether bit 0 of the variant must be set (public) or clear (private).
    pub public: bool,
    /// The fault for a base58 string that does not decode.
    pub cannot_decode: Fault,
    /// The fault when the variant is missing or has the wrong bit 0.
    pub wrong_kind: Fault,
    /// The key length each algorithm needs in this kind.
    pub key_len: fn(Algorithm) -> usize,
}

/// A key after parsing: the fields both key types hold.
pub(crate) struct Parsed {
    pub algorithm: Algorithm,
    pub testnet: bool,
    pub key: Vec<u8>,
}

/// The variant checks common to both forms: returns the algorithm, the network and the variant's
/// length in bytes (a non-canonical multi-byte varint is accepted, as Go does).
fn parse_variant(bytes: &[u8], kind: KeyKind) -> Result<(Algorithm, bool, usize), Fault> {
    let (variant, n) = varint::decode(bytes).ok_or(kind.wrong_kind)?;
    if (variant & PUBLIC_KEY_CODE != 0) != kind.public {
        return Err(kind.wrong_kind);
    }
    let algorithm = Algorithm::from_code(variant >> ALGORITHM_SHIFT)?;
    Ok((algorithm, variant & TEST_KEY_CODE != 0, n))
}

/// The final length check and copy of the key bytes.
fn take_key(algorithm: Algorithm, testnet: bool, key: &[u8], kind: KeyKind) -> Result<Parsed, Fault> {
    if key.len() != (kind.key_len)(algorithm) {
        return Err(Fault::InvalidKeyLength);
    }
    Ok(Parsed { algorithm, testnet, key: key.to_vec() })
}

/// The binary form (`AccountFromBytes`, `PrivateKeyFromBytes`): variant ‖ key, no checksum.
pub(crate) fn from_bytes(bytes: &[u8], kind: KeyKind) -> Result<Parsed, Fault> {
    let (algorithm, testnet, n) = parse_variant(bytes, kind)?;
    let key = bytes.get(n..).unwrap_or_default();
    if key.is_empty() {
        return Err(Fault::InvalidKeyLength);
    }
    take_key(algorithm, testnet, key, kind)
}

/// The base58 form (`AccountFromBase58`, `PrivateKeyFromBase58`), in bitmarkd's check order:
/// decode, variant kind, algorithm, "something left after variant and checksum", checksum, then
/// the exact key length.
pub(crate) fn from_base58(text: &str, kind: KeyKind) -> Result<Parsed, Fault> {
    let bytes = base58::decode(text);
    if bytes.is_empty() {
        return Err(kind.cannot_decode);
    }
    let (algorithm, testnet, n) = parse_variant(&bytes, kind)?;
    if bytes.len() <= n + CHECKSUM_LENGTH {
        return Err(Fault::InvalidKeyLength);
    }
    let (body, check) = bytes.split_at(bytes.len() - CHECKSUM_LENGTH);
    if checksum(body) != check {
        return Err(Fault::ChecksumMismatch);
    }
    take_key(algorithm, testnet, body.get(n..).unwrap_or_default(), kind)
}

/// `Bytes()`: the one-byte variant ‖ key (Go always writes the variant as a single byte).
pub(crate) fn to_bytes(algorithm: Algorithm, public: bool, testnet: bool, key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + key.len() + CHECKSUM_LENGTH);
    out.push(algorithm.variant(public, testnet));
    out.extend_from_slice(key);
    out
}

/// `String()`: base58 of the binary form followed by its checksum.
pub(crate) fn to_base58(algorithm: Algorithm, public: bool, testnet: bool, key: &[u8]) -> String {
    let mut buf = to_bytes(algorithm, public, testnet, key);
    let c = checksum(&buf);
    buf.extend_from_slice(&c);
    base58::encode(&buf)
}
