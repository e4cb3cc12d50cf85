//! The committed pools ([`Pools`]) and a block's uncommitted writes ([`WriteSet`]), committed as
//! one atomic sled batch.

use crate::error::{Result, StorageError};
use crate::nb::{u64_be, NbValue};
use crate::owner_data::OwnerData;
use crate::pool::{be, block_key, key, owner_tx_key, tx_key, Pool};
use crate::read::{sealed::RawRead, ShareTotal};
use bitmark_record::{Account, AssetId, BlockDigest, Link};
use std::collections::BTreeMap;

/// When a commit reaches the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `flush()` (fsync) after every commit: a block reported stored survives a crash. The
    /// default, because sync must never see its height go backwards after a restart.
    #[default]
    FlushEachCommit,
    /// Leave it to sled's background flusher (every 500 ms): faster, and a crash still loses
    /// whole commits only, never part of one. For bulk test-chain generation.
    Background,
}

/// The committed state of every pool: reads see only what has been committed.
#[derive(Clone)]
pub struct Pools {
    tree: sled::Tree,
    durability: Durability,
}

impl RawRead for Pools {
    fn raw_get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        Ok(self.tree.get(key)?)
    }
    fn raw_contains(&self, key: &[u8]) -> Result<bool> {
        Ok(self.tree.contains_key(key)?)
    }
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools").field("durability", &self.durability).finish_non_exhaustive()
    }
}

impl Pools {
    /// Pools over one sled tree holding every prefix.
    pub(crate) fn new(tree: sled::Tree, durability: Durability) -> Pools {
        Pools { tree, durability }
    }

    /// The sled tree (crate-internal: the version key lives beside the pools).
    pub(crate) fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Start a block-scoped set of writes over this committed state.
    pub fn write_set(&self) -> WriteSet<'_> {
        WriteSet { pools: self, writes: BTreeMap::new() }
    }

    /// The highest block number in `B` (bitmarkd's `LastElement`), `None` when only genesis.
    pub fn last_block_number(&self) -> Result<Option<u64>> {
        self.edge_block_number(true)
    }

    /// The lowest block number in `B`.
    pub fn first_block_number(&self) -> Result<Option<u64>> {
        self.edge_block_number(false)
    }

    fn edge_block_number(&self, last: bool) -> Result<Option<u64>> {
        let mut range = self.tree.range(Pool::Blocks.range());
        let entry = if last { range.next_back() } else { range.next() };
        match entry.transpose()? {
            None => Ok(None),
            Some((k, _)) => k
                .get(1..)
                .and_then(u64_be)
                .map(Some)
                .ok_or_else(|| StorageError::corrupt(Pool::Blocks, &k, "key is not an 8-byte block number")),
        }
    }

    /// Every entry of one pool in key order, keys without the prefix byte.
    pub fn entries(&self, pool: Pool) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree
            .range(pool.range())
            .map(|e| {
                let (k, v) = e?;
                Ok((k.get(1..).unwrap_or_default().to_vec(), v.to_vec()))
            })
            .collect()
    }

    /// Number of entries in one pool.
    pub fn count(&self, pool: Pool) -> Result<usize> {
        let mut n = 0;
        for e in self.tree.range(pool.range()) {
            e?;
            n += 1;
        }
        Ok(n)
    }

    /// Every pool entry (prefix included, version key excluded) in key order: two stores hold
    /// the same chain state exactly when their dumps are equal.
    pub fn dump(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut all = Vec::new();
        for pool in Pool::ALL {
            for e in self.tree.range(pool.range()) {
                let (k, v) = e?;
                all.push((k.to_vec(), v.to_vec()));
            }
        }
        Ok(all)
    }

    /// Up to `count` items of `owner`'s list from index `start` on, as (index, tx id) — the
    /// `L` pool walk behind bitmarkd's owner listing.
    pub fn owned_items(&self, owner: &Account, start: u64, count: usize) -> Result<Vec<(u64, Link)>> {
        let owner_bytes = owner.to_bytes();
        let from = key(Pool::OwnerList, &[&owner_bytes, &be(start)]);
        let prefix = key(Pool::OwnerList, &[&owner_bytes]);
        let mut items = Vec::new();
        for e in self.tree.range(from..).take(count) {
            let (k, v) = e?;
            let Some(index_bytes) = k.strip_prefix(prefix.as_slice()) else { break };
            let index = u64_be(index_bytes).ok_or_else(|| StorageError::corrupt(Pool::OwnerList, &k, "bad index"))?;
            let tx = Link::from_bytes(&v).map_err(|_| StorageError::corrupt(Pool::OwnerList, &k, "not a tx id"))?;
            items.push((index, tx));
        }
        Ok(items)
    }
    /// The first tx id, in key order, of pool `O` whose owner data names `issue_tx_id` as its
    /// issue (bytes 9..41 of the value): where bitmarkd's `Bitmark.FullProvenance` starts
    /// walking a bitmark's history. A scan of the whole pool, as bitmarkd's cursor does.
    pub fn holder_of_issue(&self, issue_tx_id: &Link) -> Result<Option<Link>> {
        for e in self.tree.range(Pool::OwnerData.range()) {
            let (k, v) = e?;
            if v.get(9..41) == Some(issue_tx_id.as_bytes().as_slice()) {
                let tx = k.get(1..).and_then(|b| Link::from_bytes(b).ok());
                return tx.map(Some).ok_or_else(|| StorageError::corrupt(Pool::OwnerData, &k, "key is not a tx id"));
            }
        }
        Ok(None)
    }

    /// Up to `count` of `owner`'s share balances (`Q` rows) in share-id order, from share id
    /// `start` on (inclusive): the cursor walk behind bitmarkd's `ShareBalance` RPC
    /// (reservoir/sharebalance.go), which the reservoir answers with confirmed balances less what it
    /// holds unconfirmed. A range scan, so it lives on the committed view only: a block's write
    /// set never needs it.
    pub fn share_balances(&self, owner: &Account, start: &Link, count: usize) -> Result<Vec<(Link, u64)>> {
        let prefix = key(Pool::ShareQuantity, &[&owner.to_bytes()]);
        let from = owner_tx_key(Pool::ShareQuantity, owner, start);
        let mut balances = Vec::new();
        for e in self.tree.range(from..).take(count) {
            let (k, v) = e?;
            let Some(share_bytes) = k.strip_prefix(prefix.as_slice()) else { break };
            let share_id = Link::from_bytes(share_bytes)
                .map_err(|_| StorageError::corrupt(Pool::ShareQuantity, &k, "key does not end in a share id"))?;
            let balance =
                u64_be(&v).ok_or_else(|| StorageError::corrupt(Pool::ShareQuantity, &k, "not an 8-byte balance"))?;
            balances.push((share_id, balance));
        }
        Ok(balances)
    }
}

/// A block's writes, not yet committed: reads through it see its own puts and deletes first,
/// then the committed pools. [`WriteSet::commit`] applies everything as ONE sled batch, so after
/// a crash either all of it is on disk or none of it.
///
/// Unlike bitmarkd's cache layer, a key deleted here reads as absent. bitmarkd's "delete then read
/// returns the old value" (`docs/reservoir.md#batches-and-the-cache-layer`) only shows in a block
/// that spends one link twice or overdraws one share balance twice; bitmarkd then records two
/// owners or a wrong balance, we reject the block (see the block store). An honest proofer never
/// builds such a block, because its reservoir refuses the second spend.
pub struct WriteSet<'a> {
    pools: &'a Pools,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl RawRead for WriteSet<'_> {
    fn raw_get(&self, key: &[u8]) -> Result<Option<sled::IVec>> {
        match self.writes.get(key) {
            Some(Some(v)) => Ok(Some(sled::IVec::from(v.as_slice()))),
            Some(None) => Ok(None),
            None => self.pools.raw_get(key),
        }
    }
}

impl std::fmt::Debug for WriteSet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteSet").field("writes", &self.writes.len()).finish()
    }
}

impl<'a> WriteSet<'a> {
    /// The committed pools under this write set (bitmarkd validates blocks against these).
    pub fn committed(&self) -> &'a Pools {
        self.pools
    }

    /// Number of keys written or deleted.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Forget every write.
    pub fn clear(&mut self) {
        self.writes.clear();
    }

    /// Apply every write as one atomic sled batch (then flush, per the pools' durability).
    pub fn commit(self) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (k, v) in self.writes {
            match v {
                Some(v) => batch.insert(k, v),
                None => batch.remove(k),
            }
        }
        self.pools.tree.apply_batch(batch)?;
        if self.pools.durability == Durability::FlushEachCommit {
            self.pools.tree.flush()?;
        }
        Ok(())
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    /// `B[n] = packed block`.
    pub fn put_block(&mut self, number: u64, packed: &[u8]) {
        self.put(block_key(Pool::Blocks, number), packed.to_vec());
    }

    /// Delete `B[n]`.
    pub fn delete_block(&mut self, number: u64) {
        self.delete(block_key(Pool::Blocks, number));
    }

    /// `2[n] = digest`.
    pub fn put_block_digest(&mut self, number: u64, digest: &BlockDigest) {
        self.put(block_key(Pool::BlockHeaderHash, number), digest.as_bytes().to_vec());
    }

    /// Delete `2[n]`.
    pub fn delete_block_digest(&mut self, number: u64) {
        self.delete(block_key(Pool::BlockHeaderHash, number));
    }

    /// `H[n] = packed currency map` of the block's current owner.
    pub fn put_block_owner_payment(&mut self, number: u64, packed_payments: &[u8]) {
        self.put(block_key(Pool::BlockOwnerPayment, number), packed_payments.to_vec());
    }

    /// Delete `H[n]`.
    pub fn delete_block_owner_payment(&mut self, number: u64) {
        self.delete(block_key(Pool::BlockOwnerPayment, number));
    }

    /// `I[tx] = owned block number`.
    pub fn put_block_owner_tx(&mut self, tx_id: &Link, number: u64) {
        self.put(tx_key(Pool::BlockOwnerTxIndex, tx_id), be(number).to_vec());
    }

    /// Delete `I[tx]`.
    pub fn delete_block_owner_tx(&mut self, tx_id: &Link) {
        self.delete(tx_key(Pool::BlockOwnerTxIndex, tx_id));
    }

    /// `A[id] = BN ‖ packed asset`.
    pub fn put_asset(&mut self, asset_id: &AssetId, value: &NbValue) {
        self.put(key(Pool::Assets, &[asset_id.as_bytes()]), value.encode());
    }

    /// Delete `A[id]`.
    pub fn delete_asset(&mut self, asset_id: &AssetId) {
        self.delete(key(Pool::Assets, &[asset_id.as_bytes()]));
    }

    /// `T[tx] = BN ‖ packed transaction`.
    pub fn put_transaction(&mut self, tx_id: &Link, value: &NbValue) {
        self.put(tx_key(Pool::Transactions, tx_id), value.encode());
    }

    /// Delete `T[tx]`.
    pub fn delete_transaction(&mut self, tx_id: &Link) {
        self.delete(tx_key(Pool::Transactions, tx_id));
    }

    /// `F[share id] = total`.
    pub fn put_share(&mut self, share_id: &Link, total: &ShareTotal) {
        self.put(tx_key(Pool::Shares, share_id), total.encode());
    }

    /// Delete `F[share id]`.
    pub fn delete_share(&mut self, share_id: &Link) {
        self.delete(tx_key(Pool::Shares, share_id));
    }

    /// `Q[owner ‖ share id] = balance`, deleting the entry at zero as bitmarkd does.
    pub fn set_share_balance(&mut self, owner: &Account, share_id: &Link, balance: u64) {
        let k = owner_tx_key(Pool::ShareQuantity, owner, share_id);
        if balance == 0 {
            self.delete(k);
        } else {
            self.put(k, be(balance).to_vec());
        }
    }

    /// `Z[key] = value`.
    pub fn put_test_data(&mut self, k: &[u8], value: &[u8]) {
        self.put(key(Pool::TestData, &[k]), value.to_vec());
    }

    /// Delete `Z[key]`.
    pub fn delete_test_data(&mut self, k: &[u8]) {
        self.delete(key(Pool::TestData, &[k]));
    }

    /// `N[owner] = next`.
    pub(crate) fn put_owner_next_count(&mut self, owner_bytes: &[u8], next: u64) {
        self.put(key(Pool::OwnerNextCount, &[owner_bytes]), be(next).to_vec());
    }

    /// `L[owner ‖ index] = tx`.
    pub(crate) fn put_owner_list(&mut self, owner_bytes: &[u8], index: u64, tx_id: &Link) {
        self.put(key(Pool::OwnerList, &[owner_bytes, &be(index)]), tx_id.as_bytes().to_vec());
    }

    /// Delete `L[owner ‖ index]`.
    pub(crate) fn delete_owner_list(&mut self, owner_bytes: &[u8], index: u64) {
        self.delete(key(Pool::OwnerList, &[owner_bytes, &be(index)]));
    }

    /// `D[owner ‖ tx] = index`.
    pub(crate) fn put_owner_tx_index(&mut self, owner_bytes: &[u8], tx_id: &Link, index: u64) {
        self.put(key(Pool::OwnerTxIndex, &[owner_bytes, tx_id.as_bytes()]), be(index).to_vec());
    }

    /// Delete `D[owner ‖ tx]`.
    pub(crate) fn delete_owner_tx_index(&mut self, owner_bytes: &[u8], tx_id: &Link) {
        self.delete(key(Pool::OwnerTxIndex, &[owner_bytes, tx_id.as_bytes()]));
    }

    /// `O[tx] = owner data`.
    pub(crate) fn put_owner_data(&mut self, tx_id: &Link, data: &OwnerData) {
        self.put(tx_key(Pool::OwnerData, tx_id), data.pack());
    }

    /// Delete `O[tx]`.
    pub(crate) fn delete_owner_data(&mut self, tx_id: &Link) {
        self.delete(tx_key(Pool::OwnerData, tx_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::ChainDb;
    use crate::read::PoolRead;

    fn account(n: u8) -> Account {
        Account::ed25519([n; 32], true)
    }

    #[test]
    fn write_set_reads_its_own_writes_and_commits_atomically() {
        let db = ChainDb::temporary().unwrap();
        let pools = db.pools();
        let mut ws = pools.write_set();
        ws.put_block(2, b"block two");
        ws.put_transaction(&Link([1; 32]), &NbValue::new(2, vec![9, 9]));
        assert_eq!(ws.block(2).unwrap(), Some(b"block two".to_vec()));
        assert_eq!(pools.block(2).unwrap(), None, "uncommitted writes are invisible to the committed view");
        ws.commit().unwrap();
        assert_eq!(pools.block(2).unwrap(), Some(b"block two".to_vec()));
        assert_eq!(pools.transaction(&Link([1; 32])).unwrap(), Some(NbValue::new(2, vec![9, 9])));

        let mut ws = pools.write_set();
        ws.delete_block(2);
        assert_eq!(ws.block(2).unwrap(), None, "a delete reads as absent (bitmarkd's stale read is not copied)");
        assert!(!ws.has_block(2).unwrap());
        assert!(pools.has_block(2).unwrap());
        drop(ws);
        assert!(pools.has_block(2).unwrap(), "a dropped write set changes nothing");
    }

    #[test]
    fn stored_bytes_are_bitmarkds() {
        let db = ChainDb::temporary().unwrap();
        let pools = db.pools();
        let mut ws = pools.write_set();
        let owner = account(3);
        ws.put_asset(&AssetId([5; 64]), &NbValue::new(1234, vec![5]));
        ws.put_block_digest(7, &BlockDigest([2; 32]));
        ws.put_block_owner_tx(&Link([4; 32]), 7);
        ws.set_share_balance(&owner, &Link([6; 32]), 100);
        ws.put_share(&Link([6; 32]), &ShareTotal { quantity: 100, tx_id: Link([8; 32]) });
        ws.commit().unwrap();
        let dump = pools.dump().unwrap();
        let find = |k: Vec<u8>| dump.iter().find(|(key, _)| *key == k).map(|(_, v)| v.clone());
        assert_eq!(find([&b"A"[..], &[5; 64]].concat()), Some([&[0, 0, 0, 0, 0, 0, 4, 0xd2][..], &[5]].concat()));
        assert_eq!(find([&b"2"[..], &7u64.to_be_bytes()].concat()), Some(vec![2; 32]));
        assert_eq!(find([&b"I"[..], &[4; 32]].concat()), Some(7u64.to_be_bytes().to_vec()));
        let q_key = [&b"Q"[..], &owner.to_bytes(), &[6; 32]].concat();
        assert_eq!(find(q_key), Some(100u64.to_be_bytes().to_vec()));
        assert_eq!(find([&b"F"[..], &[6; 32]].concat()), Some([&100u64.to_be_bytes()[..], &[8; 32]].concat()));
        assert_eq!(pools.share_balance(&owner, &Link([6; 32])).unwrap(), Some(100));

        let mut ws = pools.write_set();
        ws.set_share_balance(&owner, &Link([6; 32]), 0);
        ws.commit().unwrap();
        assert_eq!(pools.share_balance(&owner, &Link([6; 32])).unwrap(), None, "zero balances are deleted");
    }

    #[test]
    fn block_range_and_entries() {
        let db = ChainDb::temporary().unwrap();
        let pools = db.pools();
        assert_eq!(pools.last_block_number().unwrap(), None);
        let mut ws = pools.write_set();
        for n in [2u64, 3, 300, 70000] {
            ws.put_block(n, &[n as u8]);
        }
        ws.put_test_data(b"x", b"y");
        ws.commit().unwrap();
        assert_eq!(pools.last_block_number().unwrap(), Some(70000));
        assert_eq!(pools.first_block_number().unwrap(), Some(2));
        assert_eq!(pools.count(Pool::Blocks).unwrap(), 4);
        assert_eq!(pools.entries(Pool::TestData).unwrap(), vec![(b"x".to_vec(), b"y".to_vec())]);
        assert_eq!(pools.test_data(b"x").unwrap(), Some(b"y".to_vec()));
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        let db = ChainDb::temporary().unwrap();
        let pools = db.pools();
        pools.tree().insert([&b"T"[..], &[1; 32]].concat(), &[0u8; 8][..]).unwrap();
        pools.tree().insert([&b"2"[..], &5u64.to_be_bytes()].concat(), &[0u8; 31][..]).unwrap();
        pools.tree().insert([&b"O"[..], &[1; 32]].concat(), &[9u8; 49][..]).unwrap();
        let e = pools.transaction(&Link([1; 32])).unwrap_err();
        assert!(matches!(e, StorageError::Corrupt { pool: Pool::Transactions, .. }), "{e}");
        assert!(pools.block_digest(5).is_err());
        assert!(pools.owner_data(&Link([1; 32])).is_err());
    }

    #[test]
    fn owned_items_walk_one_owner() {
        let db = ChainDb::temporary().unwrap();
        let pools = db.pools();
        let (a, b) = (account(1), account(2));
        let mut ws = pools.write_set();
        for i in 0..5u8 {
            ws.create_block_ownership(&Link([i; 32]), 2 + i as u64, &a).unwrap();
        }
        ws.create_block_ownership(&Link([9; 32]), 9, &b).unwrap();
        ws.commit().unwrap();
        let items = pools.owned_items(&a, 2, 10).unwrap();
        assert_eq!(items, vec![(2, Link([2; 32])), (3, Link([3; 32])), (4, Link([4; 32]))]);
        assert_eq!(pools.owned_items(&a, 0, 2).unwrap().len(), 2);
        assert_eq!(pools.owned_items(&b, 0, 10).unwrap(), vec![(0, Link([9; 32]))]);
    }

    #[test]
    fn share_balances_walk_one_owner_from_a_share_id() {
        let db = ChainDb::temporary().unwrap();
        let pools = db.pools();
        let (a, b) = (account(1), account(2));
        let mut ws = pools.write_set();
        for i in [1u8, 3, 5, 7] {
            ws.set_share_balance(&a, &Link([i; 32]), u64::from(i) * 10);
        }
        ws.set_share_balance(&b, &Link([2; 32]), 99);
        ws.set_share_balance(&a, &Link([9; 32]), 0);
        ws.commit().unwrap();
        let all = pools.share_balances(&a, &Link([0; 32]), 10).unwrap();
        assert_eq!(all, vec![(Link([1; 32]), 10), (Link([3; 32]), 30), (Link([5; 32]), 50), (Link([7; 32]), 70)]);
        assert_eq!(
            pools.share_balances(&a, &Link([3; 32]), 2).unwrap(),
            vec![(Link([3; 32]), 30), (Link([5; 32]), 50)]
        );
        assert_eq!(pools.share_balances(&a, &Link([4; 32]), 10).unwrap().len(), 2, "start need not exist");
        assert_eq!(pools.share_balances(&a, &Link([8; 32]), 10).unwrap(), vec![], "never runs into another owner");
        assert_eq!(pools.share_balances(&a, &Link([0; 32]), 0).unwrap(), vec![]);
        assert_eq!(pools.share_balances(&b, &Link([0; 32]), 10).unwrap(), vec![(Link([2; 32]), 99)]);
        assert_eq!(pools.share_balances(&account(3), &Link([0; 32]), 10).unwrap(), vec![]);
        pools.tree().insert([&b"Q"[..], &a.to_bytes(), &[8; 32]].concat(), &[1u8; 3][..]).unwrap();
        let e = pools.share_balances(&a, &Link([8; 32]), 10).unwrap_err();
        assert!(matches!(e, StorageError::Corrupt { pool: Pool::ShareQuantity, .. }), "{e}");
    }
}
