//! An in-memory chain implementing [`ConfirmedState`], for tests of the reservoir and of its
//! callers. It applies blocks with bitmarkd's pool effects (`A`, `T`, `D`, `O`, `H`, `F`, `Q`,
//! block-owner `I` rows folded into `T`/`H`) without validating them, and rolls back by
//! restoring snapshots.

// Test support (the `test-utils` feature, never in the product): a failed unwrap, expect, index
// or panic is a failed test or benchmark (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::state::{ConfirmedState, Owned, OwnerRecord, ShareTotal, StateResult};
use bitmark_common::{lock, read, write};
use bitmark_record::header::foundation_tx_id;
use bitmark_record::transaction::BlockFoundation;
use bitmark_record::{genesis, Account, AssetId, BlockDigest, Chain, CurrencyMap, Fault, Link, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, RwLock};

/// The pools of the chain.
#[derive(Clone, Default)]
struct Pools {
    height: u64,
    digests: HashMap<u64, BlockDigest>,
    assets: HashMap<AssetId, u64>,
    txs: HashMap<Link, (u64, Vec<u8>)>,
    owns: HashSet<(Vec<u8>, Link)>,
    owner_data: HashMap<Link, OwnerRecord>,
    payments: HashMap<u64, CurrencyMap>,
    shares: HashMap<Link, ShareTotal>,
    balances: BTreeMap<(Vec<u8>, Link), u64>,
}

/// One applied block: the pools before it, and its records (foundation excluded).
struct Undo {
    before: Pools,
    records: Vec<(Link, Transaction)>,
}

/// An in-memory chain starting at genesis (height 1).
pub struct MemoryChain {
    chain: Chain,
    pools: RwLock<Pools>,
    undo: Mutex<Vec<Undo>>,
}

/// What [`MemoryChain::append_block`] stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendedBlock {
    /// The block number.
    pub number: u64,
    /// Its (synthetic) digest.
    pub digest: BlockDigest,
    /// Tx id of its foundation record (what a block-owner transfer links to).
    pub foundation_tx_id: Link,
}

impl MemoryChain {
    /// A chain holding only genesis.
    pub fn new(chain: Chain) -> MemoryChain {
        MemoryChain {
            chain,
            pools: RwLock::new(Pools { height: genesis::BLOCK_NUMBER, ..Pools::default() }),
            undo: Mutex::new(Vec::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Pools> {
        read(&self.pools)
    }

    /// Store a block owned by `owner` (paid at `payments`) holding `records` (packed, in
    /// order). The digest is SHA3-256 of the block number (see
    /// [`Self::append_block_with_digest`] to choose it).
    pub fn append_block(
        &self,
        owner: &Account,
        payments: &CurrencyMap,
        records: &[Vec<u8>],
    ) -> Result<AppendedBlock, Fault> {
        let number = self.read().height + 1;
        self.append_block_with_digest(
            owner,
            payments,
            records,
            BlockDigest(*Link::of(&number.to_be_bytes()).as_bytes()),
        )
    }

    /// [`Self::append_block`] with a chosen digest.
    pub fn append_block_with_digest(
        &self,
        owner: &Account,
        payments: &CurrencyMap,
        records: &[Vec<u8>],
        digest: BlockDigest,
    ) -> Result<AppendedBlock, Fault> {
        let testnet = self.chain.is_testing();
        let mut decoded = Vec::new();
        for packed in records {
            let (tx, _) = Transaction::unpack(packed, testnet)?;
            decoded.push((Link::of(packed), tx, packed.clone()));
        }
        let foundation = Transaction::BlockFoundation(BlockFoundation {
            version: 1,
            payments: payments.clone(),
            owner: owner.clone(),
            nonce: 0,
            signature: vec![0; 64],
        })
        .pack_unverified()?;
        let mut pools = write(&self.pools);
        let before = pools.clone();
        let n = pools.height + 1;
        let ftx = foundation_tx_id(n, &digest);
        pools.height = n;
        pools.digests.insert(n, digest);
        pools.payments.insert(n, payments.clone());
        pools.txs.insert(ftx, (n, foundation));
        pools.owns.insert((owner.to_bytes(), ftx));
        pools
            .owner_data
            .insert(ftx, OwnerRecord { owned: Owned::Block, transfer_block: n, issue_tx_id: ftx, issue_block: n });
        for (tx_id, tx, packed) in &decoded {
            pools.apply(n, *tx_id, tx, packed, testnet);
        }
        lock(&self.undo).push(Undo { before, records: decoded.into_iter().map(|(id, tx, _)| (id, tx)).collect() });
        Ok(AppendedBlock { number: n, digest, foundation_tx_id: ftx })
    }

    /// Remove every block above `height`; returns their records, highest block first, each
    /// block's in block order (what the storage crate's rollback callback reports).
    pub fn rollback_to(&self, height: u64) -> Vec<(Link, Transaction)> {
        let mut undo = lock(&self.undo);
        let mut pools = write(&self.pools);
        let mut out = Vec::new();
        while pools.height > height.max(genesis::BLOCK_NUMBER) {
            let Some(u) = undo.pop() else { break };
            *pools = u.before;
            out.extend(u.records);
        }
        out
    }

    /// Append `count` empty blocks (to move the pay-nonce height).
    pub fn append_empty_blocks(&self, owner: &Account, payments: &CurrencyMap, count: u64) -> Result<(), Fault> {
        for _ in 0..count {
            self.append_block(owner, payments, &[])?;
        }
        Ok(())
    }
}

impl Pools {
    /// The owner of a record that can be spent.
    fn owner_of(&self, link: &Link, testnet: bool) -> Option<Account> {
        let (_, packed) = self.txs.get(link)?;
        match Transaction::unpack(packed, testnet).ok()?.0 {
            Transaction::BitmarkIssue(r) => Some(r.owner),
            Transaction::BitmarkTransferUnratified(r) => Some(r.owner),
            Transaction::BitmarkTransferCountersigned(r) => Some(r.owner),
            Transaction::BlockFoundation(r) => Some(r.owner),
            Transaction::BlockOwnerTransfer(r) => Some(r.owner),
            _ => None,
        }
    }

    /// Move the item under `link` from its current owner to `new_owner` under `tx_id`.
    fn pass_on(&mut self, n: u64, link: &Link, tx_id: Link, new_owner: &Account, testnet: bool) -> Option<OwnerRecord> {
        let old = self.owner_of(link, testnet)?;
        self.owns.remove(&(old.to_bytes(), *link));
        let od = self.owner_data.remove(link)?;
        let moved = OwnerRecord { transfer_block: n, ..od };
        self.owner_data.insert(tx_id, moved);
        self.owns.insert((new_owner.to_bytes(), tx_id));
        Some(od)
    }

    fn set_balance(&mut self, owner: &Account, share: Link, value: u64) {
        if value == 0 {
            self.balances.remove(&(owner.to_bytes(), share));
        } else {
            self.balances.insert((owner.to_bytes(), share), value);
        }
    }

    fn balance(&self, owner: &Account, share: &Link) -> u64 {
        self.balances.get(&(owner.to_bytes(), *share)).copied().unwrap_or(0)
    }

    /// bitmarkd's write phase for one record.
    fn apply(&mut self, n: u64, tx_id: Link, tx: &Transaction, packed: &[u8], testnet: bool) {
        if !matches!(tx, Transaction::AssetData(_)) {
            self.txs.insert(tx_id, (n, packed.to_vec()));
        }
        match tx {
            Transaction::AssetData(a) => {
                self.assets.entry(a.asset_id()).or_insert(n);
            }
            Transaction::BitmarkIssue(r) => {
                self.owns.insert((r.owner.to_bytes(), tx_id));
                self.owner_data.insert(
                    tx_id,
                    OwnerRecord {
                        owned: Owned::Asset(r.asset_id),
                        transfer_block: n,
                        issue_tx_id: tx_id,
                        issue_block: n,
                    },
                );
            }
            Transaction::BitmarkTransferUnratified(r) => {
                self.pass_on(n, &r.link, tx_id, &r.owner, testnet);
            }
            Transaction::BitmarkTransferCountersigned(r) => {
                self.pass_on(n, &r.link, tx_id, &r.owner, testnet);
            }
            Transaction::BlockOwnerTransfer(r) => {
                if let Some(od) = self.pass_on(n, &r.link, tx_id, &r.owner, testnet) {
                    self.payments.insert(od.issue_block, r.payments.clone());
                }
            }
            Transaction::BitmarkShare(r) => {
                let Some(owner) = self.owner_of(&r.link, testnet) else { return };
                let Some(od) = self.pass_on(n, &r.link, tx_id, &owner, testnet) else { return };
                let Owned::Asset(asset) = od.owned else { return };
                self.shares.insert(od.issue_tx_id, ShareTotal { quantity: r.quantity, tx_id });
                self.set_balance(&owner, od.issue_tx_id, r.quantity);
                self.owner_data.insert(tx_id, OwnerRecord { owned: Owned::Share(asset), transfer_block: n, ..od });
            }
            Transaction::ShareGrant(g) => {
                let from = self.balance(&g.owner, &g.share_id).saturating_sub(g.quantity);
                let to = self.balance(&g.recipient, &g.share_id).saturating_add(g.quantity);
                self.set_balance(&g.owner, g.share_id, from);
                self.set_balance(&g.recipient, g.share_id, to);
            }
            Transaction::ShareSwap(s) => {
                let moves = [
                    (&s.owner_one, &s.owner_two, s.share_id_one, s.quantity_one),
                    (&s.owner_two, &s.owner_one, s.share_id_two, s.quantity_two),
                ];
                for (from, to, share, q) in moves {
                    let a = self.balance(from, &share).saturating_sub(q);
                    let b = self.balance(to, &share).saturating_add(q);
                    self.set_balance(from, share, a);
                    self.set_balance(to, share, b);
                }
            }
            Transaction::BaseData(_) | Transaction::BlockFoundation(_) => {}
        }
    }
}

impl ConfirmedState for MemoryChain {
    fn height(&self) -> u64 {
        self.read().height
    }

    fn block_digest(&self, number: u64) -> StateResult<Option<BlockDigest>> {
        Ok(self.read().digests.get(&number).copied())
    }

    fn asset_block(&self, asset_id: &AssetId) -> StateResult<Option<u64>> {
        Ok(self.read().assets.get(asset_id).copied())
    }

    fn transaction(&self, tx_id: &Link) -> StateResult<Option<(u64, Vec<u8>)>> {
        Ok(self.read().txs.get(tx_id).cloned())
    }

    fn currently_owns(&self, owner: &Account, tx_id: &Link) -> StateResult<bool> {
        Ok(self.read().owns.contains(&(owner.to_bytes(), *tx_id)))
    }

    fn owner_data(&self, tx_id: &Link) -> StateResult<Option<OwnerRecord>> {
        Ok(self.read().owner_data.get(tx_id).copied())
    }

    fn block_payments(&self, number: u64) -> StateResult<Option<CurrencyMap>> {
        Ok(self.read().payments.get(&number).cloned())
    }

    fn share_total(&self, share_id: &Link) -> StateResult<Option<ShareTotal>> {
        Ok(self.read().shares.get(share_id).copied())
    }

    fn share_balance(&self, owner: &Account, share_id: &Link) -> StateResult<Option<u64>> {
        Ok(self.read().balances.get(&(owner.to_bytes(), *share_id)).copied())
    }

    fn share_balances(&self, owner: &Account, start: &Link, count: usize) -> StateResult<Vec<(Link, u64)>> {
        let owner = owner.to_bytes();
        Ok(self
            .read()
            .balances
            .range((owner.clone(), *start)..)
            .take_while(|((o, _), _)| *o == owner)
            .take(count)
            .map(|((_, s), v)| (*s, *v))
            .collect())
    }
}
