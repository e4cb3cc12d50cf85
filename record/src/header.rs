//! The 100-byte block header, its JSON form and the header validators (blockrecord/).
//!
//! Layout (all integers little-endian): version u16, transaction count u16, number u64,
//! previous block digest (32 raw bytes), merkle root (32 raw bytes), timestamp u64 (Unix
//! seconds), difficulty bits u64, nonce u64.

use crate::blockdigest::block_digest;
use crate::chain::Chain;
use crate::difficulty::Difficulty;
use crate::digest::{BlockDigest, Link};
use crate::fault::Fault;
use std::fmt;

/// Size of a packed header in bytes.
pub const HEADER_SIZE: usize = 100;

/// A packed header.
pub type PackedHeader = [u8; HEADER_SIZE];

/// The block version this implementation produces (`Version`).
pub const VERSION: u16 = 5;

/// The lowest acceptable block version (`MinimumVersion`).
pub const MINIMUM_VERSION: u16 = 1;

/// The lowest number of a non-genesis block (`MinimumBlockNumber`; genesis is 1).
pub const MINIMUM_BLOCK_NUMBER: u64 = 2;

/// Fewest transactions in a non-genesis block: the two foundation records (`MinimumTransactions`).
pub const MINIMUM_TRANSACTIONS: u16 = 2;

/// Most transactions in a block (`MaximumTransactions`).
pub const MAXIMUM_TRANSACTIONS: u16 = 10000;

/// How far into the future a header timestamp may be, in seconds.
pub const MAXIMUM_FUTURE_SECONDS: u64 = 5 * 60;

/// How far a version-1 block may go back in time behind its predecessor, in seconds.
const VERSION_1_BACKWARDS_SECONDS: u64 = 240 * 60;

/// How far a block of version 2 or later may go back in time behind its predecessor, in seconds.
const BACKWARDS_SECONDS: u64 = 10 * 60;

/// First version whose headers must carry the computed difficulty.
const DIFFICULTY_APPLIED_VERSION: u16 = 5;

/// Byte offsets of the fields in a packed header.
mod offset {
    pub const VERSION: usize = 0;
    pub const TRANSACTION_COUNT: usize = 2;
    pub const NUMBER: usize = 4;
    pub const PREVIOUS_BLOCK: usize = 12;
    pub const MERKLE_ROOT: usize = 44;
    pub const TIMESTAMP: usize = 76;
    pub const DIFFICULTY: usize = 84;
    pub const NONCE: usize = 92;
}

/// An unpacked block header (`blockrecord.Header`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockHeader {
    /// Block format version.
    pub version: u16,
    /// Number of transaction records in the block, foundation records included.
    pub transaction_count: u16,
    /// Block number (height); genesis is 1.
    pub number: u64,
    /// Digest of the previous block's header.
    pub previous_block: BlockDigest,
    /// Merkle root of the block's transaction ids.
    pub merkle_root: Link,
    /// Unix seconds.
    pub timestamp: u64,
    /// The difficulty the digest must meet.
    pub difficulty: Difficulty,
    /// The proof-of-work nonce.
    pub nonce: u64,
}

/// Fixed-size field `N` bytes at `at` of a packed header. Offsets are constants within the
/// 100 bytes, so the fallback is never taken.
fn field<const N: usize>(packed: &PackedHeader, at: usize) -> [u8; N] {
    packed.get(at..at + N).and_then(|s| <[u8; N]>::try_from(s).ok()).unwrap_or([0; N])
}

/// Copy `bytes` into `out` at `at` (clipped at the end of `out`; callers use fixed offsets).
fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    for (slot, b) in out.iter_mut().skip(at).zip(bytes) {
        *slot = *b;
    }
}

impl BlockHeader {
    /// The 100-byte wire form (`Pack`).
    pub fn pack(&self) -> PackedHeader {
        let mut p = [0u8; HEADER_SIZE];
        put(&mut p, offset::VERSION, &self.version.to_le_bytes());
        put(&mut p, offset::TRANSACTION_COUNT, &self.transaction_count.to_le_bytes());
        put(&mut p, offset::NUMBER, &self.number.to_le_bytes());
        put(&mut p, offset::PREVIOUS_BLOCK, self.previous_block.as_bytes());
        put(&mut p, offset::MERKLE_ROOT, self.merkle_root.as_bytes());
        put(&mut p, offset::TIMESTAMP, &self.timestamp.to_le_bytes());
        put(&mut p, offset::DIFFICULTY, &self.difficulty.to_le_bytes());
        put(&mut p, offset::NONCE, &self.nonce.to_le_bytes());
        p
    }

    /// Decode a packed header (`PackedHeader.Unpack`), checking in bitmarkd's order:
    /// 1. unless it is the genesis form (number 1, one transaction, version 1): version ≥ 1 and
    ///    number ≥ 2 else `InvalidBlockHeaderVersion`, transaction count in [2, 10000] else
    ///    `TransactionCountOutOfRange`;
    /// 2. timestamp at most `now_unix` + 5 minutes else `InvalidBlockHeaderTimestamp`;
    /// 3. difficulty exponent below 0xc0 else `InvalidBlockHeaderDifficulty` (Go panics).
    pub fn unpack(packed: &PackedHeader, now_unix: u64) -> Result<BlockHeader, Fault> {
        let version = u16::from_le_bytes(field(packed, offset::VERSION));
        let transaction_count = u16::from_le_bytes(field(packed, offset::TRANSACTION_COUNT));
        let number = u64::from_le_bytes(field(packed, offset::NUMBER));
        let genesis_form = number == 1 && transaction_count == 1 && version == 1;
        if !genesis_form {
            if version < MINIMUM_VERSION || number < MINIMUM_BLOCK_NUMBER {
                return Err(Fault::InvalidBlockHeaderVersion);
            }
            if !(MINIMUM_TRANSACTIONS..=MAXIMUM_TRANSACTIONS).contains(&transaction_count) {
                return Err(Fault::TransactionCountOutOfRange);
            }
        }
        let timestamp = u64::from_le_bytes(field(packed, offset::TIMESTAMP));
        if timestamp > now_unix.saturating_add(MAXIMUM_FUTURE_SECONDS) {
            return Err(Fault::InvalidBlockHeaderTimestamp);
        }
        Ok(BlockHeader {
            version,
            transaction_count,
            number,
            previous_block: BlockDigest(field(packed, offset::PREVIOUS_BLOCK)),
            merkle_root: Link(field(packed, offset::MERKLE_ROOT)),
            timestamp,
            difficulty: Difficulty::from_le_bytes(field(packed, offset::DIFFICULTY))?,
            nonce: u64::from_le_bytes(field(packed, offset::NONCE)),
        })
    }

    /// The Argon2d digest of this header's packed form (uses the thread's reusable hasher).
    pub fn digest(&self) -> BlockDigest {
        block_digest(&self.pack())
    }
}

/// Where [`extract`] gets the digest of the header it decodes.
#[derive(Clone, Copy)]
pub enum DigestSource<'a> {
    /// Do not compute it: the zero digest is returned (`skipDigest`).
    Skip,
    /// Compute Argon2d of the header.
    Compute,
    /// Ask storage first (bitmarkd's `BlockHeaderHash` pool, keyed by block number); compute
    /// when it has none or returns the empty digest.
    Stored(&'a dyn Fn(u64) -> Option<BlockDigest>),
}

impl fmt::Debug for DigestSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DigestSource::Skip => "Skip",
            DigestSource::Compute => "Compute",
            DigestSource::Stored(_) => "Stored",
        })
    }
}

/// Split a packed block into its header, the header's digest and the packed transactions that
/// follow (`extractHeader`). Fewer than 100 bytes is `InvalidBlockHeaderSize`; the header is
/// unpacked with [`BlockHeader::unpack`]; when `check_height` > 1 the header number must be
/// `check_height` or `check_height - 1` (a same-height block may replace the tip in a fork)
/// else `HeightOutOfSequence`, checked before the costly digest.
pub fn extract<'b>(
    block: &'b [u8],
    check_height: u64,
    digest_source: DigestSource<'_>,
    now_unix: u64,
) -> Result<(BlockHeader, BlockDigest, &'b [u8]), Fault> {
    let (head, rest) = block.split_at_checked(HEADER_SIZE).ok_or(Fault::InvalidBlockHeaderSize)?;
    let packed: PackedHeader = head.try_into().map_err(|_| Fault::InvalidBlockHeaderSize)?;
    let header = BlockHeader::unpack(&packed, now_unix)?;
    if check_height > 1 {
        valid_next_height(check_height, header.number)?;
    }
    let digest = match digest_source {
        DigestSource::Skip => BlockDigest::default(),
        DigestSource::Compute => block_digest(&packed),
        DigestSource::Stored(lookup) => match lookup(header.number) {
            Some(d) if !d.is_empty() => d,
            _ => block_digest(&packed),
        },
    };
    Ok((header, digest, rest))
}

/// The digest of the header at the front of a packed block (`ComputeHeaderHash`);
/// `InvalidBlockHeaderSize` when there are fewer than 100 bytes.
pub fn compute_header_hash(block: &[u8]) -> Result<BlockDigest, Fault> {
    let head = block.get(..HEADER_SIZE).ok_or(Fault::InvalidBlockHeaderSize)?;
    let packed: PackedHeader = head.try_into().map_err(|_| Fault::InvalidBlockHeaderSize)?;
    Ok(block_digest(&packed))
}

/// An incoming block number must be the expected one or one less (`validNextHeightFromExpected`).
fn valid_next_height(expected: u64, number: u64) -> Result<(), Fault> {
    if number < expected.saturating_sub(1) || number > expected {
        Err(Fault::HeightOutOfSequence)
    } else {
        Ok(())
    }
}

/// How far back a block of `version` may be timestamped behind its predecessor
/// (`ValidBlockTimeSpacingAtVersion`; only applied when the new timestamp is earlier): 4 hours
/// for version 1, 10 minutes from version 2 on, else `InvalidBlockHeaderTimestamp`.
/// Version 0 has no limit, as in Go (it is refused elsewhere).
pub fn valid_block_time_spacing(version: u16, backwards_seconds: u64) -> Result<(), Fault> {
    let limit = match version {
        0 => u64::MAX,
        1 => VERSION_1_BACKWARDS_SECONDS,
        _ => BACKWARDS_SECONDS,
    };
    if backwards_seconds > limit {
        Err(Fault::InvalidBlockHeaderTimestamp)
    } else {
        Ok(())
    }
}

/// From version 5 on, outside chain `local`, a header's difficulty value must equal the node's
/// computed current difficulty exactly (`ValidIncomingDifficulty`), else
/// `DifficultyDoesNotMatchCalculated`.
pub fn valid_incoming_difficulty(header: &BlockHeader, current: &Difficulty, chain: Chain) -> Result<(), Fault> {
    if !is_difficulty_applied_version(header.version) || chain == Chain::Local {
        return Ok(());
    }
    if header.difficulty.value() != current.value() {
        return Err(Fault::DifficultyDoesNotMatchCalculated);
    }
    Ok(())
}

/// Whether headers of this version carry the adjusted difficulty (`IsDifficultyAppliedVersion`).
pub fn is_difficulty_applied_version(version: u16) -> bool {
    version >= DIFFICULTY_APPLIED_VERSION
}

/// Whether the difficulty is adjusted at this block (`IsBlockToAdjustDifficulty`): version ≥ 5
/// and the height a multiple of 200.
pub fn is_block_to_adjust_difficulty(height: u64, version: u16) -> bool {
    is_difficulty_applied_version(version) && height % crate::difficulty::ADJUST_TIMESPAN_BLOCKS == 0
}

/// An incoming version must be at least 1 and not below the current tip's (`ValidHeaderVersion`):
/// `InvalidBlockHeaderVersion`, `BlockVersionMustNotDecrease`.
pub fn valid_header_version(current: u16, incoming: u16) -> Result<(), Fault> {
    if incoming < MINIMUM_VERSION {
        return Err(Fault::InvalidBlockHeaderVersion);
    }
    if current > incoming {
        return Err(Fault::BlockVersionMustNotDecrease);
    }
    Ok(())
}

/// The incoming header's previous-block digest must be the current tip's digest
/// (`ValidBlockLinkage`), else `PreviousBlockDigestDoesNotMatch`.
pub fn valid_block_linkage(current: &BlockDigest, incoming_previous: &BlockDigest) -> Result<(), Fault> {
    if current != incoming_previous {
        return Err(Fault::PreviousBlockDigestDoesNotMatch);
    }
    Ok(())
}

/// The transaction id under which a block's foundation (block-owner) records are stored and
/// which a BlockOwnerTransfer links to (`FoundationTxId`): SHA3-256(raw digest ‖ u64 LE number).
pub fn foundation_tx_id(number: u64, digest: &BlockDigest) -> Link {
    let mut data = [0u8; 40];
    put(&mut data, 0, digest.as_bytes());
    put(&mut data, 32, &number.to_le_bytes());
    Link::of(&data)
}

/// The block header nonce as bitmarkd's JSON shows it: hex of the u64's little-endian bytes
/// (`NonceType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BlockNonce(pub u64);

impl BlockNonce {
    /// Hex of the little-endian bytes (`MarshalText`).
    pub fn to_le_hex(self) -> String {
        hex::encode(self.0.to_le_bytes())
    }

    /// Parse the JSON text (`UnmarshalText`): Go reads the first 8 decoded bytes and panics on
    /// fewer; here fewer or bad hex is `InvalidNonce`.
    pub fn from_le_hex(text: &str) -> Result<BlockNonce, Fault> {
        let bytes = hex::decode(text).map_err(|_| Fault::InvalidNonce)?;
        let first: [u8; 8] = bytes.get(..8).and_then(|b| b.try_into().ok()).ok_or(Fault::InvalidNonce)?;
        Ok(BlockNonce(u64::from_le_bytes(first)))
    }
}

impl serde::Serialize for BlockNonce {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_le_hex())
    }
}

impl<'de> serde::Deserialize<'de> for BlockNonce {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        BlockNonce::from_le_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A u64 as Go's `json:",string"` writes it: a decimal string.
mod decimal_string {
    use serde::{de::Error as _, Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Only plain decimal digits, as Go's `strconv.ParseUint` accepts (Rust would take a `+`).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(D::Error::custom(format!("invalid decimal u64 {text:?}")));
        }
        text.parse().map_err(D::Error::custom)
    }
}

/// bitmarkd's JSON shape of a header (field names and forms from blockrecord/header.go).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeaderJson {
    version: u16,
    transaction_count: u16,
    #[serde(with = "decimal_string")]
    number: u64,
    previous_block: BlockDigest,
    merkle_root: Link,
    #[serde(with = "decimal_string")]
    timestamp: u64,
    difficulty: Difficulty,
    nonce: BlockNonce,
}

impl serde::Serialize for BlockHeader {
    /// `{"version":…,"transactionCount":…,"number":"…","previousBlock":raw hex,
    /// "merkleRoot":raw hex,"timestamp":"…","difficulty":LE hex of bits,"nonce":LE hex}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HeaderJson {
            version: self.version,
            transaction_count: self.transaction_count,
            number: self.number,
            previous_block: self.previous_block,
            merkle_root: self.merkle_root,
            timestamp: self.timestamp,
            difficulty: self.difficulty,
            nonce: BlockNonce(self.nonce),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for BlockHeader {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = HeaderJson::deserialize(d)?;
        Ok(BlockHeader {
            version: j.version,
            transaction_count: j.transaction_count,
            number: j.number,
            previous_block: j.previous_block,
            merkle_root: j.merkle_root,
            timestamp: j.timestamp,
            difficulty: j.difficulty,
            nonce: j.nonce.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> BlockHeader {
        BlockHeader {
            version: 5,
            transaction_count: 2,
            number: 1000,
            previous_block: BlockDigest([7; 32]),
            merkle_root: Link([9; 32]),
            timestamp: 1_600_000_000,
            difficulty: Difficulty::with_value(2.0),
            nonce: 42,
        }
    }

    #[test]
    fn unpack_rules() {
        let now = 1_700_000_000;
        let mut h = sample();
        assert_eq!(BlockHeader::unpack(&h.pack(), now).map(|x| x.pack()), Ok(h.pack()));
        h.timestamp = now + 301;
        assert_eq!(BlockHeader::unpack(&h.pack(), now), Err(Fault::InvalidBlockHeaderTimestamp));
        h.timestamp = now + 300;
        assert!(BlockHeader::unpack(&h.pack(), now).is_ok());
        h.version = 0;
        assert_eq!(BlockHeader::unpack(&h.pack(), now), Err(Fault::InvalidBlockHeaderVersion));
        h.version = 1;
        h.number = 1;
        assert_eq!(BlockHeader::unpack(&h.pack(), now), Err(Fault::InvalidBlockHeaderVersion));
        h.transaction_count = 1;
        assert!(BlockHeader::unpack(&h.pack(), now).is_ok(), "genesis form");
        h.number = 2;
        assert_eq!(BlockHeader::unpack(&h.pack(), now), Err(Fault::TransactionCountOutOfRange));
        h.transaction_count = 10001;
        assert_eq!(BlockHeader::unpack(&h.pack(), now), Err(Fault::TransactionCountOutOfRange));
        let mut p = sample().pack();
        p[91] = 0xc0;
        assert_eq!(BlockHeader::unpack(&p, now), Err(Fault::InvalidBlockHeaderDifficulty));
    }

    #[test]
    fn extract_checks_size_and_height_before_hashing() {
        let now = 1_700_000_000;
        let packed = sample().pack();
        assert_eq!(extract(&packed[..99], 0, DigestSource::Compute, now).err(), Some(Fault::InvalidBlockHeaderSize));
        for (check, ok) in [(0, true), (1, true), (999, false), (1000, true), (1001, true), (1002, false)] {
            let r = extract(&packed, check, DigestSource::Skip, now);
            assert_eq!(r.is_ok(), ok, "check height {check}");
        }
        let mut block = packed.to_vec();
        block.extend_from_slice(b"rest");
        let stored = BlockDigest([3; 32]);
        let lookup = |n: u64| (n == 1000).then_some(stored);
        let (h, d, rest) = extract(&block, 1001, DigestSource::Stored(&lookup), now).unwrap();
        assert_eq!((h, d, rest), (sample(), stored, &b"rest"[..]));
    }

    #[test]
    fn nonce_json_reads_the_first_eight_bytes() {
        assert_eq!(BlockNonce::from_le_hex("efcdab9078563412f"), Err(Fault::InvalidNonce));
        assert_eq!(BlockNonce::from_le_hex("efcdab9078563412ffff"), Ok(BlockNonce(0x1234567890abcdef)));
        assert_eq!(BlockNonce::from_le_hex("efcdab90785634"), Err(Fault::InvalidNonce));
    }

    #[test]
    fn json_rejects_signed_numbers() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["number"] = "+1000".into();
        assert!(serde_json::from_value::<BlockHeader>(v).is_err());
    }

    proptest! {
        #[test]
        fn pack_unpack_round_trip(
            version in 1u16.., count in 2u16..=10000, number in 2u64.., prev in any::<[u8; 32]>(),
            root in any::<[u8; 32]>(), timestamp in 0u64..2_000_000_000, bits in 0u64..0xc000_0000_0000_0000,
            nonce in any::<u64>(),
        ) {
            let h = BlockHeader {
                version, transaction_count: count, number, previous_block: BlockDigest(prev),
                merkle_root: Link(root), timestamp, difficulty: Difficulty::from_bits(bits).unwrap(), nonce,
            };
            prop_assert_eq!(BlockHeader::unpack(&h.pack(), 2_000_000_000), Ok(h));
            let json = serde_json::to_string(&h).unwrap();
            prop_assert_eq!(serde_json::from_str::<BlockHeader>(&json).unwrap(), h);
        }

        #[test]
        fn nonce_json_round_trip(n in any::<u64>()) {
            let json = serde_json::to_string(&BlockNonce(n)).unwrap();
            prop_assert_eq!(serde_json::from_str::<BlockNonce>(&json).unwrap(), BlockNonce(n));
        }
    }
}
