//! The one-byte pool prefixes of bitmarkd's single chain database (storage/setup.go:23-37) and
//! the key layouts inside each pool. Keys are built only here, so nothing outside this crate
//! can get a prefix or a byte order wrong.

use bitmark_record::{Account, Link};
use std::fmt;

/// One of bitmarkd's pools: a key range sharing a one-byte prefix in the chain database.
///
/// The prefixes are bitmarkd's exact bytes, so a key dump compares byte for byte with a
/// bitmarkd LevelDB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pool {
    /// `B`: block number (8 BE) → whole packed block (header ‖ transactions).
    Blocks,
    /// `2`: block number (8 BE) → raw 32-byte Argon2d header digest.
    BlockHeaderHash,
    /// `H`: block number (8 BE) → packed currency map of the block's *current* owner.
    BlockOwnerPayment,
    /// `I`: tx id of the current block-ownership record → owned block number (8 BE).
    BlockOwnerTxIndex,
    /// `A`: asset id (64) → block number (8 BE) ‖ packed AssetData.
    Assets,
    /// `T`: tx id (32) → block number (8 BE) ‖ packed transaction.
    Transactions,
    /// `N`: owner bytes → next owner-list index (8 BE); never decremented.
    OwnerNextCount,
    /// `L`: owner ‖ index (8 BE) → tx id (32).
    OwnerList,
    /// `D`: owner ‖ tx id → index (8 BE), the same bytes as in the `L` key.
    OwnerTxIndex,
    /// `O`: tx id → owner-data record (see [`crate::OwnerData`]). bitmarkd's docs say `P`;
    /// the live prefix is `O` (storage/setup.go:33).
    OwnerData,
    /// `F`: share id (issue tx id) → total quantity (8 BE) ‖ tx id of the BitmarkShare.
    Shares,
    /// `Q`: owner ‖ share id → balance (8 BE); deleted when it reaches zero.
    ShareQuantity,
    /// `Z`: free-form test data (bitmarkd's own tests use it).
    TestData,
}

impl Pool {
    /// Every pool, in prefix byte order (the order a full key dump visits them).
    pub const ALL: [Pool; 13] = [
        Pool::BlockHeaderHash,
        Pool::Assets,
        Pool::Blocks,
        Pool::OwnerTxIndex,
        Pool::Shares,
        Pool::BlockOwnerPayment,
        Pool::BlockOwnerTxIndex,
        Pool::OwnerList,
        Pool::OwnerNextCount,
        Pool::OwnerData,
        Pool::ShareQuantity,
        Pool::Transactions,
        Pool::TestData,
    ];

    /// The key prefix byte.
    pub const fn prefix(self) -> u8 {
        match self {
            Pool::Blocks => b'B',
            Pool::BlockHeaderHash => b'2',
            Pool::BlockOwnerPayment => b'H',
            Pool::BlockOwnerTxIndex => b'I',
            Pool::Assets => b'A',
            Pool::Transactions => b'T',
            Pool::OwnerNextCount => b'N',
            Pool::OwnerList => b'L',
            Pool::OwnerTxIndex => b'D',
            Pool::OwnerData => b'O',
            Pool::Shares => b'F',
            Pool::ShareQuantity => b'Q',
            Pool::TestData => b'Z',
        }
    }

    /// The pool whose prefix is `byte`, if any.
    pub fn from_prefix(byte: u8) -> Option<Pool> {
        Pool::ALL.into_iter().find(|p| p.prefix() == byte)
    }

    /// bitmarkd's Go field name for the pool (storage/setup.go:23-37), for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Pool::Blocks => "Blocks",
            Pool::BlockHeaderHash => "BlockHeaderHash",
            Pool::BlockOwnerPayment => "BlockOwnerPayment",
            Pool::BlockOwnerTxIndex => "BlockOwnerTxIndex",
            Pool::Assets => "Assets",
            Pool::Transactions => "Transactions",
            Pool::OwnerNextCount => "OwnerNextCount",
            Pool::OwnerList => "OwnerList",
            Pool::OwnerTxIndex => "OwnerTxIndex",
            Pool::OwnerData => "OwnerData",
            Pool::Shares => "Shares",
            Pool::ShareQuantity => "ShareQuantity",
            Pool::TestData => "TestData",
        }
    }

    /// The half-open key range `[prefix, prefix+1)` covering the pool (storage/setup.go:163-167).
    pub(crate) fn range(self) -> std::ops::Range<[u8; 1]> {
        [self.prefix()]..[self.prefix() + 1]
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name(), self.prefix() as char)
    }
}

/// The database-version key: `0x00 "VERSION"`, outside every pool (storage/setup.go:44).
pub(crate) const VERSION_KEY: &[u8; 8] = b"\x00VERSION";

/// A block number as a storage key component: 8 bytes big-endian (the header itself is LE).
pub(crate) fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// `prefix ‖ parts…`: the one way keys are made.
pub(crate) fn key(pool: Pool, parts: &[&[u8]]) -> Vec<u8> {
    let len = 1 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut k = Vec::with_capacity(len);
    k.push(pool.prefix());
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// Key of a pool indexed by block number (`B`, `2`, `H`).
pub(crate) fn block_key(pool: Pool, number: u64) -> Vec<u8> {
    key(pool, &[&be(number)])
}

/// Key of a pool indexed by a tx id (`T`, `I`, `O`, `F`).
pub(crate) fn tx_key(pool: Pool, tx_id: &Link) -> Vec<u8> {
    key(pool, &[tx_id.as_bytes()])
}

/// Key of a pool indexed by owner then a tx id (`D`, `Q`).
pub(crate) fn owner_tx_key(pool: Pool, owner: &Account, tx_id: &Link) -> Vec<u8> {
    key(pool, &[&owner.to_bytes(), tx_id.as_bytes()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_bitmarkds_and_distinct() {
        let bytes: Vec<u8> = Pool::ALL.iter().map(|p| p.prefix()).collect();
        assert_eq!(bytes, b"2ABDFHILNOQTZ".to_vec());
        for p in Pool::ALL {
            assert_eq!(Pool::from_prefix(p.prefix()), Some(p));
        }
        assert_eq!(Pool::from_prefix(0), None);
    }

    #[test]
    fn version_key_is_outside_every_pool() {
        assert!(Pool::ALL.iter().all(|p| !p.range().contains(&[VERSION_KEY[0]])));
    }

    #[test]
    fn block_keys_are_big_endian() {
        assert_eq!(block_key(Pool::Blocks, 0x0102), b"B\0\0\0\0\0\0\x01\x02".to_vec());
    }
}
