//! The owner-data record of pool `O` (ownership/data.go:44-70,148-288): what a current owner holds
//! under a tx id — an asset bitmark, a block, or shares — and since which block.
//!
//! Layout: item byte (0 asset, 1 block, 2 share) ‖ transfer block number (8 BE) ‖ issue tx id (32)
//! ‖ issue block number (8 BE) ‖ asset id (64, asset and share only). Lengths 113 / 49 / 113;
//! anything else is `NotOwnerDataPack`.

use bitmark_record::asset_id::ASSET_ID_LENGTH;
use bitmark_record::{AssetId, Fault, Link};

/// Record length of asset and share data.
const ASSET_LENGTH: usize = 1 + 8 + 32 + 8 + ASSET_ID_LENGTH;
/// Record length of block data.
const BLOCK_LENGTH: usize = 1 + 8 + 32 + 8;

/// What kind of thing is owned (`ownership.OwnedItem`), with its kind-specific field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owned {
    /// A bitmark of this asset (item byte 0).
    Asset(AssetId),
    /// A block (item byte 1); the owned block number is the issue block number.
    Block,
    /// The shares a bitmark of this asset was split into (item byte 2).
    Share(AssetId),
}

/// One owner-data record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerData {
    /// Asset, block or share, with the asset id where there is one.
    pub owned: Owned,
    /// Number of the block holding the record that gave the current owner the item.
    pub transfer_block_number: u64,
    /// Tx id of the issue (or, for a block, of its foundation record): the provenance head.
    pub issue_tx_id: Link,
    /// Number of the block holding the issue (for a block: the owned block's number).
    pub issue_block_number: u64,
}

impl OwnerData {
    /// The item byte of the record.
    fn item_byte(&self) -> u8 {
        match self.owned {
            Owned::Asset(_) => 0,
            Owned::Block => 1,
            Owned::Share(_) => 2,
        }
    }

    /// The same data transferred at block `number` (`transferBlockNumber` updated).
    pub fn transferred_at(self, number: u64) -> OwnerData {
        OwnerData { transfer_block_number: number, ..self }
    }

    /// Pack as bitmarkd stores it in pool `O`.
    pub fn pack(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(ASSET_LENGTH);
        v.push(self.item_byte());
        v.extend_from_slice(&self.transfer_block_number.to_be_bytes());
        v.extend_from_slice(self.issue_tx_id.as_bytes());
        v.extend_from_slice(&self.issue_block_number.to_be_bytes());
        if let Owned::Asset(id) | Owned::Share(id) = &self.owned {
            v.extend_from_slice(id.as_bytes());
        }
        v
    }

    /// Unpack a stored record; any unknown item byte or wrong length is `NotOwnerDataPack`.
    pub fn unpack(packed: &[u8]) -> Result<OwnerData, Fault> {
        let (&item, rest) = packed.split_first().ok_or(Fault::NotOwnerDataPack)?;
        let expected = match item {
            0 | 2 => ASSET_LENGTH,
            1 => BLOCK_LENGTH,
            _ => return Err(Fault::NotOwnerDataPack),
        };
        if packed.len() != expected {
            return Err(Fault::NotOwnerDataPack);
        }
        let bad = |_| Fault::NotOwnerDataPack;
        let (transfer, rest) = rest.split_at(8);
        let (issue_tx, rest) = rest.split_at(32);
        let (issue_bn, asset) = rest.split_at(8);
        let owned = match item {
            1 => Owned::Block,
            0 => Owned::Asset(AssetId::from_bytes(asset).map_err(|_| Fault::NotOwnerDataPack)?),
            _ => Owned::Share(AssetId::from_bytes(asset).map_err(|_| Fault::NotOwnerDataPack)?),
        };
        Ok(OwnerData {
            owned,
            transfer_block_number: u64::from_be_bytes(transfer.try_into().map_err(bad)?),
            issue_tx_id: Link::from_bytes(issue_tx).map_err(|_| Fault::NotOwnerDataPack)?,
            issue_block_number: u64::from_be_bytes(issue_bn.try_into().map_err(bad)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn asset(owned: Owned) -> OwnerData {
        OwnerData { owned, transfer_block_number: 12345, issue_tx_id: Link([7; 32]), issue_block_number: 1234 }
    }

    #[test]
    fn lengths_and_layout() {
        let a = asset(Owned::Asset(AssetId([9; 64]))).pack();
        assert_eq!(a.len(), 113);
        assert_eq!(a[0], 0);
        assert_eq!(&a[1..9], &12345u64.to_be_bytes());
        assert_eq!(&a[9..41], &[7; 32]);
        assert_eq!(&a[41..49], &1234u64.to_be_bytes());
        assert_eq!(&a[49..], &[9; 64]);
        assert_eq!(asset(Owned::Block).pack().len(), 49);
        assert_eq!(asset(Owned::Share(AssetId([1; 64]))).pack()[0], 2);
    }

    #[test]
    fn bad_records_are_not_owner_data_pack() {
        for bad in [vec![], vec![0; 49], vec![1; 113], vec![3; 49], vec![2; 112], vec![0; 114]] {
            assert_eq!(OwnerData::unpack(&bad), Err(Fault::NotOwnerDataPack), "{bad:?}");
        }
        assert_eq!(Fault::NotOwnerDataPack.to_string(), "not owner data pack");
    }

    fn any_owned() -> impl Strategy<Value = Owned> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(|h| Owned::Asset(AssetId([h, h].concat().try_into().unwrap()))),
            Just(Owned::Block),
            any::<[u8; 32]>().prop_map(|h| Owned::Share(AssetId([h, h].concat().try_into().unwrap()))),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(owned in any_owned(), t: u64, i: u64, tx: [u8; 32]) {
            let d = OwnerData { owned, transfer_block_number: t, issue_tx_id: Link(tx), issue_block_number: i };
            prop_assert_eq!(OwnerData::unpack(&d.pack()), Ok(d));
        }

        #[test]
        fn unpack_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..130)) {
            let _ = OwnerData::unpack(&bytes);
        }
    }
}
