//! A packed block taken apart without a database: the header, every record with its tx id, and the
//! checks of bitmarkd's `StoreIncoming` that need no chain state (`docs/formats.md#block-checks`).
//!
//! The storage crate runs the stateful checks (linkage, ownership, duplicates) on top of this;
//! the CLI's `decode block` and the fuzz target use it alone.

use crate::header::{self, BlockHeader, DigestSource};
use crate::transaction::Transaction;
use crate::{merkle, Account, Chain, Fault, Link};

/// One record of a block: the decoded record, the exact bytes it came from, and its tx id
/// (SHA3-256 of those bytes, not of a re-packing: bitmarkd accepts non-canonical varints).
#[derive(Clone, Debug)]
pub struct BlockRecord<'a> {
    /// The decoded record.
    pub transaction: Transaction,
    /// The bytes it was decoded from.
    pub packed: &'a [u8],
    /// SHA3-256 of `packed`.
    pub tx_id: Link,
}

/// A block split into header and records; see [`PackedBlock::parse`].
#[derive(Clone, Debug)]
pub struct PackedBlock<'a> {
    /// The unpacked header (checked by [`BlockHeader::unpack`]).
    pub header: BlockHeader,
    /// The records, in block order.
    pub records: Vec<BlockRecord<'a>>,
}

/// How many records at the front of a block name its owner: a BlockFoundation, one BaseData, or
/// two BaseData records (old blocks) (store.go:338-384).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Foundation {
    /// Record 0 is a BlockFoundation.
    BlockFoundation,
    /// Record 0 is a BaseData; bitmarkd derives the Litecoin address from its Bitcoin one.
    SingleBase,
    /// Records 0 and 1 are BaseData records, stored together.
    DoubleBase,
}

impl Foundation {
    /// Index of the first ordinary record.
    pub fn tx_start(self) -> usize {
        match self {
            Foundation::DoubleBase => 2,
            _ => 1,
        }
    }
}

/// The outcome of the signature checks that need no chain state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureReport {
    /// Records whose signatures (and countersignatures) verified.
    pub verified: usize,
    /// Indexes of records signed by the current owner of a link outside this block: only the
    /// chain can say who that is.
    pub unknown_signer: Vec<usize>,
    /// Records whose signature did not verify, with the fault bitmarkd's Pack gives.
    pub failed: Vec<(usize, Fault)>,
}

impl<'a> PackedBlock<'a> {
    /// Split `block` into its header and `TransactionCount` records, as StoreIncoming does before
    /// it looks at the database: header rules (size, version, count, timestamp no more than five
    /// minutes after `now_unix`), every record unpacked for the chain's network (running out of
    /// data is `NotTransactionPack`), and no bytes after the last record
    /// (`TransactionCountOutOfRange`). The Argon2d digest is not computed here.
    pub fn parse(block: &'a [u8], chain: Chain, now_unix: u64) -> Result<PackedBlock<'a>, Fault> {
        let (header, _, mut rest) = header::extract(block, 0, DigestSource::Skip, now_unix)?;
        let mut records = Vec::with_capacity(usize::from(header.transaction_count).min(rest.len()));
        for _ in 0..header.transaction_count {
            let (transaction, used) = Transaction::unpack(rest, chain.is_testing())?;
            let (packed, tail) = rest.split_at_checked(used).ok_or(Fault::NotTransactionPack)?;
            records.push(BlockRecord { transaction, packed, tx_id: Link::of(packed) });
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(Fault::TransactionCountOutOfRange);
        }
        Ok(PackedBlock { header, records })
    }

    /// The tx ids in block order: the merkle tree's leaves.
    pub fn tx_ids(&self) -> Vec<Link> {
        self.records.iter().map(|r| r.tx_id).collect()
    }

    /// The merkle root must be the header's (`MerkleRootDoesNotMatch`).
    pub fn check_merkle_root(&self) -> Result<(), Fault> {
        if merkle::root(&self.tx_ids()) == self.header.merkle_root {
            Ok(())
        } else {
            Err(Fault::MerkleRootDoesNotMatch)
        }
    }

    /// Which records name the block owner (`MissingBlockOwner` when record 0 is neither a
    /// BlockFoundation nor a BaseData). A foundation or base record after those is refused with
    /// `UnexpectedTransactionRecord`, where bitmarkd's write phase would panic.
    pub fn foundation(&self) -> Result<Foundation, Fault> {
        let is_base = |i: usize| matches!(self.records.get(i).map(|r| &r.transaction), Some(Transaction::BaseData(_)));
        let kind = match self.records.first().map(|r| &r.transaction) {
            Some(Transaction::BlockFoundation(_)) => Foundation::BlockFoundation,
            Some(Transaction::BaseData(_)) if is_base(1) => Foundation::DoubleBase,
            Some(Transaction::BaseData(_)) => Foundation::SingleBase,
            _ => return Err(Fault::MissingBlockOwner),
        };
        let late = self
            .records
            .iter()
            .skip(kind.tx_start())
            .any(|r| matches!(r.transaction, Transaction::BlockFoundation(_) | Transaction::BaseData(_)));
        if late {
            return Err(Fault::UnexpectedTransactionRecord);
        }
        Ok(kind)
    }

    /// The account that must have signed record `index`, when the block alone tells: records
    /// that name their signer, and transfers of something issued or transferred earlier in this
    /// same block.
    fn known_signer(&self, index: usize) -> Option<&Account> {
        let record = &self.records.get(index)?.transaction;
        if let Some(signer) = record.stated_signer() {
            return Some(signer);
        }
        let link = record.link()?;
        self.records.get(..index)?.iter().find(|r| r.tx_id == link)?.transaction.new_owner()
    }

    /// Verify every signature whose signer the block itself names, as bitmarkd's re-Pack does.
    pub fn verify_signatures(&self) -> SignatureReport {
        let mut report = SignatureReport::default();
        for (i, record) in self.records.iter().enumerate() {
            match self.known_signer(i) {
                None => report.unknown_signer.push(i),
                Some(signer) => match record.transaction.pack(signer) {
                    Ok(_) => report.verified += 1,
                    Err(f) => report.failed.push((i, f)),
                },
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis;

    #[test]
    fn genesis_blocks_parse_and_check() {
        for chain in Chain::ALL {
            let block = PackedBlock::parse(genesis::block(chain), chain, u64::MAX / 2).unwrap();
            assert_eq!(block.records.len(), 1);
            assert_eq!(block.check_merkle_root(), Ok(()));
            assert_eq!(block.foundation(), Ok(Foundation::SingleBase));
            assert_eq!(block.verify_signatures(), SignatureReport { verified: 1, ..Default::default() });
        }
    }

    #[test]
    fn damaged_blocks_are_refused_with_bitmarkd_faults() {
        let good = genesis::block(Chain::Bitmark);
        let mut trailing = good.to_vec();
        trailing.push(0);
        assert_eq!(
            PackedBlock::parse(&trailing, Chain::Bitmark, u64::MAX / 2).err(),
            Some(Fault::TransactionCountOutOfRange)
        );
        let cut = &good[..good.len() - 1];
        assert_eq!(PackedBlock::parse(cut, Chain::Bitmark, u64::MAX / 2).err(), Some(Fault::NotTransactionPack));
        assert_eq!(PackedBlock::parse(&good[..99], Chain::Bitmark, 0).err(), Some(Fault::InvalidBlockHeaderSize));
        // The live genesis owner is a live account: the testing network refuses it.
        assert_eq!(PackedBlock::parse(good, Chain::Testing, u64::MAX / 2).err(), Some(Fault::WrongNetworkForPublicKey));
        // A flipped signature byte: still parses, fails verification.
        let mut forged = good.to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        let block = PackedBlock::parse(&forged, Chain::Bitmark, u64::MAX / 2).unwrap();
        assert_eq!(block.check_merkle_root(), Err(Fault::MerkleRootDoesNotMatch));
        assert_eq!(block.verify_signatures().failed, vec![(0, Fault::InvalidSignature)]);
    }
}
