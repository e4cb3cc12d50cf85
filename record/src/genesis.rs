//! The genesis blocks (block 1) of the live and test chains (genesis/genesis.go).
//!
//! Each is a 100-byte header (version 1, one transaction, number 1, no previous block,
//! difficulty One) followed by a single BaseData record with currency "nothing" whose payment
//! address carries a message. Chain `local` shares the testing genesis block.

use crate::chain::Chain;
use crate::difficulty::Difficulty;
use crate::digest::{BlockDigest, Link};
use crate::header::BlockHeader;

/// The genesis block number; real blocks start at 2.
pub const BLOCK_NUMBER: u64 = 1;

/// Decode lowercase hex at compile time (a bad constant fails the build, never a run).
// Called only to initialise the constants below, so it runs in const evaluation only: a panic or
// an index out of range there is a compile error, never a run-time panic.
#[allow(clippy::panic, clippy::indexing_slicing)]
const fn from_hex<const N: usize>(text: &str) -> [u8; N] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("genesis constant is not lowercase hex"),
        }
    }
    let b = text.as_bytes();
    assert!(b.len() == 2 * N, "genesis constant has the wrong length");
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = (digit(b[2 * i]) << 4) | digit(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// The live (`bitmark`) genesis block, 231 bytes: message "DOWN the RABBIT hole".
pub const LIVE_BLOCK: [u8; 231] = from_hex(concat!(
    "0100010001000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000638c159c1f113f70a9866d9a9e52e9efe9b99208",
    "48ad1df34851be8a562a998db79a805600000000ffffffffffffff00115a38bf",
    "3a909fe1010014444f574e207468652052414242495420686f6c6521114a65f1",
    "d20650081276f01df43e70554e95498f3778e56daa2c498203ae9c70e6f4cab9",
    "d2d2ccddb44c40c2a384ebc901a18a13a270aa9f5e080677d7ab2fd888a5f657",
    "d2c6d4692e6fcde71c04b91be1400e7c1e8d5e2b3483c477fea17bc1dee005cc",
    "8d4df862770d0c",
));

/// The test (`testing` and `local`) genesis block, 240 bytes: message
/// "Bitmark Testing Genesis Block".
pub const TEST_BLOCK: [u8; 240] = from_hex(concat!(
    "0100010001000000000000000000000000000000000000000000000000000000",
    "000000000000000000000000ee07bbc3d749e07d24b90cd1ec3514702e878522",
    "daf716c17324d666697b8a634b42785400000000ffffffffffffff00d44c2bca",
    "ee40364701001d4269746d61726b2054657374696e672047656e657369732042",
    "6c6f636b2113b2b504827f30a8dc1b7595ebb988dcf87cadac9e3a38f6be818c",
    "72be0335fa74f4cab9d2c2eedcb2544002a8bf5c21730324044079a5780a9cd2",
    "2fc222b44c912917cea5b9d3770c138e8d3eae98b76c2e93a97e41c41bae36c8",
    "413708a994fec2f9ebc0f802983df601",
));

/// Argon2d digest of the live genesis header (display `0012af8f…39f7935c`).
pub const LIVE_DIGEST: BlockDigest =
    BlockDigest(from_hex("5c93f739eb01cdde305579f03ccfb37a742971313ff98d35b4c07c438faf1200"));

/// Argon2d digest of the test genesis header (display `00fe807b…b88be68a`).
pub const TEST_DIGEST: BlockDigest =
    BlockDigest(from_hex("8ae68bb87c4a926b8f12c5eeda9695bbdeaa9b280b57bc16545a2c8f7b80fe00"));

/// The live genesis header, unpacked.
pub const LIVE_HEADER: BlockHeader = genesis_header(
    from_hex("638c159c1f113f70a9866d9a9e52e9efe9b9920848ad1df34851be8a562a998d"),
    0x5680_9ab7, // 2015-12-28T02:13:11Z
    0xe19f_903a_bf38_5a11,
);

/// The test genesis header, unpacked.
pub const TEST_HEADER: BlockHeader = genesis_header(
    from_hex("ee07bbc3d749e07d24b90cd1ec3514702e878522daf716c17324d666697b8a63"),
    0x5478_424b, // 2014-11-28T09:37:15Z
    0x4736_40ee_ca2b_4cd4,
);

/// A genesis header: only the merkle root (the base record's tx id), time and nonce differ.
const fn genesis_header(merkle_root: [u8; 32], timestamp: u64, nonce: u64) -> BlockHeader {
    BlockHeader {
        version: 1,
        transaction_count: 1,
        number: BLOCK_NUMBER,
        previous_block: BlockDigest([0; 32]),
        merkle_root: Link(merkle_root),
        timestamp,
        difficulty: Difficulty::ONE,
        nonce,
    }
}

/// The packed genesis block of a chain (`local` uses the test block).
pub fn block(chain: Chain) -> &'static [u8] {
    match chain {
        Chain::Bitmark => &LIVE_BLOCK,
        Chain::Testing | Chain::Local => &TEST_BLOCK,
    }
}

/// The genesis block digest of a chain (`local` uses the test digest).
pub fn digest(chain: Chain) -> BlockDigest {
    match chain {
        Chain::Bitmark => LIVE_DIGEST,
        Chain::Testing | Chain::Local => TEST_DIGEST,
    }
}

/// The genesis header of a chain (`local` uses the test header).
pub fn header(chain: Chain) -> BlockHeader {
    match chain {
        Chain::Bitmark => LIVE_HEADER,
        Chain::Testing | Chain::Local => TEST_HEADER,
    }
}

/// The packed transactions of a chain's genesis block: its single BaseData record.
pub fn base_record(chain: Chain) -> &'static [u8] {
    block(chain).get(crate::header::HEADER_SIZE..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockdigest::DigestHasher;
    use crate::header::{extract, DigestSource};

    #[test]
    fn headers_match_the_blocks_and_the_merkle_roots() {
        for chain in Chain::ALL {
            let (h, _, rest) = extract(block(chain), 0, DigestSource::Skip, 1_700_000_000).unwrap();
            assert_eq!(h, header(chain));
            assert_eq!(rest, base_record(chain));
            assert_eq!(crate::merkle::root(&[Link::of(rest)]), h.merkle_root);
        }
    }

    #[test]
    fn digests_are_the_argon2d_of_the_headers() {
        let mut hasher = DigestHasher::new();
        for (h, d) in [(LIVE_HEADER, LIVE_DIGEST), (TEST_HEADER, TEST_DIGEST)] {
            assert_eq!(hasher.hash(&h.pack()), d);
            assert!(d.is_valid_by_difficulty(&Difficulty::ONE, Chain::Bitmark));
        }
    }
}
