//! Deterministic test chains: blocks built from a seed, signed by test accounts, and stored
//! through the same [`BlockStore::apply`] path that sync uses.
//!
//! Each block holds a BlockFoundation and a mix of assets, issues, unratified and countersigned
//! transfers, block-owner transfers, shares, share grants and share swaps, chosen by a seeded
//! generator that tracks what each test account owns. Same seed and settings → same bytes.
//! Only chain `local` is supported: its blocks need no proof of work.

use crate::apply::Applied;
use crate::error::{Result, StorageError};
use crate::store::BlockStore;
use bitmark_record::assemble::{pack_block, sign_record};
use bitmark_record::currency::{bitcoin, litecoin};
use bitmark_record::header;
use bitmark_record::transaction::{
    AssetData, BitmarkIssue, BitmarkShare, BitmarkTransferCountersigned, BitmarkTransferUnratified, BlockFoundation,
    BlockOwnerTransfer, ShareGrant, ShareSwap, FOUNDATION_VERSION,
};
use bitmark_record::{
    Account, AssetId, BlockDigest, Chain, Currency, CurrencyMap, Fault, Link, PrivateKey, Transaction,
};
use std::collections::BTreeMap;

/// Timestamp of the first generated block when the tip is genesis (2020-09-13T12:26:40Z);
/// later blocks follow at [`BLOCK_SPACING_SECONDS`].
pub const DEFAULT_START_TIME: u64 = 1_600_000_000;

/// Seconds between generated blocks: bitmarkd's expected block spacing.
pub const BLOCK_SPACING_SECONDS: u64 = 120;

/// How many test accounts share the chain's bitmarks and blocks.
pub const TEST_ACCOUNTS: usize = 8;

/// Settings of a generated chain.
#[derive(Clone, Copy, Debug)]
pub struct TestChainConfig {
    /// Seed of the account keys and of every choice.
    pub seed: u64,
    /// Records per block besides the foundation (at most 9 999).
    pub txs_per_block: usize,
    /// Timestamp of block 2.
    pub start_time: u64,
}

impl Default for TestChainConfig {
    fn default() -> Self {
        TestChainConfig { seed: 1, txs_per_block: 8, start_time: DEFAULT_START_TIME }
    }
}

/// A test account: key and account.
#[derive(Clone, Debug)]
pub struct TestAccount {
    /// The private key (signs).
    pub key: PrivateKey,
    /// Its account.
    pub account: Account,
}

/// SplitMix64: tiny, and fixed here so that a seed gives the same chain in every build.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The test accounts for a seed (testnet keys: chain `local` uses test-network accounts).
pub fn test_accounts(seed: u64) -> Vec<TestAccount> {
    let mut rng = Rng(seed ^ 0x5eed_acc0_u64);
    (0..TEST_ACCOUNTS)
        .map(|_| {
            let mut key_seed = [0u8; 32];
            for chunk in key_seed.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes());
            }
            let key = PrivateKey::from_ed25519_seed(key_seed, true);
            // An Ed25519 key always has an account.
            let account = key.account().unwrap_or_else(|| Account::ed25519([1; 32], true));
            TestAccount { key, account }
        })
        .collect()
}

/// Test-network BTC and LTC payment addresses for account number `who`.
pub fn test_payments(who: usize) -> CurrencyMap {
    let hash = [who as u8 + 1; 20];
    let mut map = CurrencyMap::new();
    map.insert(Currency::Bitcoin, bitcoin::address(bitcoin::Version::Testnet, &hash));
    map.insert(Currency::Litecoin, litecoin::address(litecoin::Version::Testnet, &hash));
    map
}

/// A bitmark the generator can pass on: the record holding it, its owner, and its issue (the
/// share id if it is ever split into shares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bitmark {
    tx_id: Link,
    owner: usize,
    issue: Link,
}

/// The block being built: what it has spent or touched, its new assets, and the model after it.
#[derive(Debug, Default)]
struct InBlock {
    number: u64,
    spent: Vec<Link>,
    touched: Vec<(usize, Link)>,
    assets: Vec<AssetId>,
    next: Model,
}

impl InBlock {
    /// Record a move of `quantity` shares in the model after this block.
    fn move_shares(&mut self, from: usize, to: usize, share_id: Link, quantity: u64) {
        let left = self.next.shares.get(&(from, share_id)).copied().unwrap_or(0).saturating_sub(quantity);
        if left == 0 {
            self.next.shares.remove(&(from, share_id));
        } else {
            self.next.shares.insert((from, share_id), left);
        }
        *self.next.shares.entry((to, share_id)).or_insert(0) += quantity;
        self.touched.push((from, share_id));
        self.touched.push((to, share_id));
    }
}

/// What the generator believes is committed, and what the block being built changes.
#[derive(Clone, Debug, Default)]
struct Model {
    assets: Vec<AssetId>,
    /// Transferable bitmarks: issues and transfers not yet spent.
    bitmarks: Vec<Bitmark>,
    /// Share balances: (owner, share id) → quantity.
    shares: BTreeMap<(usize, Link), u64>,
    /// Block ownership records: (foundation or block-owner-transfer tx id, owner).
    blocks: Vec<(Link, usize)>,
}

/// A deterministic chain generator.
#[derive(Clone, Debug)]
pub struct TestChain {
    config: TestChainConfig,
    accounts: Vec<TestAccount>,
    rng: Rng,
    model: Model,
}

impl TestChain {
    /// A generator for `config`, starting from an empty chain (genesis only).
    pub fn new(config: TestChainConfig) -> TestChain {
        TestChain { config, accounts: test_accounts(config.seed), rng: Rng(config.seed), model: Model::default() }
    }

    /// The test accounts.
    pub fn accounts(&self) -> &[TestAccount] {
        &self.accounts
    }

    /// Build and apply blocks until `store` reaches `height`, calling `progress` after each.
    /// The store must be on chain `local` and hold only blocks this generator made.
    pub fn extend(&mut self, store: &BlockStore, height: u64, mut progress: impl FnMut(&Applied)) -> Result<()> {
        self.extend_reusing(store, height, &[], |applied, _| progress(applied))
    }

    /// As [`TestChain::extend`], taking digests from `known` (`known[i]` is block `i + 2` and its
    /// digest, as an earlier run of the same generator made them) instead of computing Argon2d
    /// for every block the generator makes again byte for byte. From the first block that
    /// differs (a cache written by another generator), digests are computed. `progress` also
    /// sees each packed block.
    pub fn extend_reusing(
        &mut self,
        store: &BlockStore,
        height: u64,
        known: &[(Vec<u8>, BlockDigest)],
        mut progress: impl FnMut(&Applied, &[u8]),
    ) -> Result<()> {
        if store.chain() != Chain::Local {
            return Err(StorageError::Fault(Fault::InvalidChain));
        }
        let mut reuse = true;
        while store.height() < height {
            let (block, mut next, miner) = self.next_block(store)?;
            let index = usize::try_from(store.height().saturating_sub(1)).unwrap_or(usize::MAX);
            let same = known.get(index).filter(|(bytes, _)| reuse && *bytes == block);
            reuse = same.is_some();
            let applied = match same {
                Some((_, digest)) => store.apply_with_digest(&block, *digest)?,
                None => store.apply(&block)?,
            };
            next.blocks.push((header::foundation_tx_id(applied.number, &applied.digest), miner));
            self.model = next;
            progress(&applied, &block);
        }
        Ok(())
    }

    fn next_block(&mut self, store: &BlockStore) -> Result<(Vec<u8>, Model, usize)> {
        let tip = store.tip();
        let number = tip.height + 1;
        let timestamp = if tip.height <= 1 { self.config.start_time } else { tip.timestamp + BLOCK_SPACING_SECONDS };
        let mut records = Vec::with_capacity(self.config.txs_per_block + 1);

        let miner = self.rng.below(TEST_ACCOUNTS);
        let foundation = BlockFoundation {
            version: FOUNDATION_VERSION,
            payments: test_payments(miner),
            owner: self.account(miner)?.clone(),
            nonce: number,
            signature: Vec::new(),
        };
        records.push(sign_record(foundation.into(), self.key(miner)?, None)?);
        let next = self.model.clone();

        let mut block = InBlock { number, next, ..InBlock::default() };
        for i in 0..self.config.txs_per_block {
            let record = self.one_record(i, &mut block)?;
            records.push(record);
        }
        let packed = pack_block(number, tip.digest, timestamp, store.difficulty(), &records)?;
        let mut next = block.next;
        next.assets.extend(block.assets);
        Ok((packed, next, miner))
    }

    /// One record for the block being built: a random kind, falling back to a new asset when
    /// the chosen kind has nothing to work on.
    fn one_record(&mut self, index: usize, block: &mut InBlock) -> Result<Vec<u8>> {
        for _ in 0..4 {
            let made = match self.rng.below(8) {
                0 => None,
                1 => self.issue(block)?,
                2 => self.transfer(block, false)?,
                3 => self.transfer(block, true)?,
                4 => self.share(block)?,
                5 => self.grant(block)?,
                6 => self.swap(block)?,
                _ => self.block_transfer(block)?,
            };
            if let Some(record) = made {
                return Ok(record);
            }
        }
        self.asset(index, block)
    }

    fn asset(&mut self, index: usize, block: &mut InBlock) -> Result<Vec<u8>> {
        let who = self.rng.below(TEST_ACCOUNTS);
        let record = AssetData {
            name: format!("asset {}.{index}", block.number).as_str().into(),
            fingerprint: format!("testchain-{}-{}-{index}", self.config.seed, block.number).as_str().into(),
            metadata: "source\u{0}testchain".into(),
            registrant: self.account(who)?.clone(),
            signature: Vec::new(),
        };
        block.assets.push(record.asset_id());
        Ok(sign_record(record.into(), self.key(who)?, None)?)
    }

    fn issue(&mut self, block: &mut InBlock) -> Result<Option<Vec<u8>>> {
        let candidates: Vec<AssetId> = self.model.assets.iter().chain(&block.assets).copied().collect();
        let Some(asset_id) = candidates.get(self.rng.below(candidates.len())).copied() else { return Ok(None) };
        let who = self.rng.below(TEST_ACCOUNTS);
        let record =
            BitmarkIssue { asset_id, owner: self.account(who)?.clone(), nonce: self.rng.next(), signature: Vec::new() };
        let packed = sign_record(record.into(), self.key(who)?, None)?;
        let id = Link::of(&packed);
        block.next.bitmarks.push(Bitmark { tx_id: id, owner: who, issue: id });
        Ok(Some(packed))
    }

    /// A committed bitmark nobody spent in this block yet.
    fn pick_bitmark(&mut self, block: &InBlock) -> Option<Bitmark> {
        let free: Vec<Bitmark> =
            self.model.bitmarks.iter().filter(|b| !block.spent.contains(&b.tx_id)).copied().collect();
        free.get(self.rng.below(free.len())).copied()
    }

    /// Someone other than `who`.
    fn other_than(&mut self, who: usize) -> usize {
        (who + 1 + self.rng.below(TEST_ACCOUNTS - 1)) % TEST_ACCOUNTS
    }

    fn transfer(&mut self, block: &mut InBlock, countersigned: bool) -> Result<Option<Vec<u8>>> {
        let Some(bitmark) = self.pick_bitmark(block) else { return Ok(None) };
        let to = self.other_than(bitmark.owner);
        let owner = self.account(to)?.clone();
        let (tx, counter): (Transaction, _) = if countersigned {
            let r = BitmarkTransferCountersigned {
                link: bitmark.tx_id,
                escrow: None,
                owner,
                signature: Vec::new(),
                countersignature: Vec::new(),
            };
            (r.into(), Some(self.key(to)?))
        } else {
            (BitmarkTransferUnratified { link: bitmark.tx_id, escrow: None, owner, signature: Vec::new() }.into(), None)
        };
        let packed = sign_record(tx, self.key(bitmark.owner)?, counter)?;
        block.spent.push(bitmark.tx_id);
        block.next.bitmarks.retain(|b| b.tx_id != bitmark.tx_id);
        block.next.bitmarks.push(Bitmark { tx_id: Link::of(&packed), owner: to, issue: bitmark.issue });
        Ok(Some(packed))
    }

    fn share(&mut self, block: &mut InBlock) -> Result<Option<Vec<u8>>> {
        let Some(bitmark) = self.pick_bitmark(block) else { return Ok(None) };
        let key = (bitmark.owner, bitmark.issue);
        if block.touched.contains(&key) || self.model.shares.contains_key(&key) {
            return Ok(None);
        }
        let quantity = 1 + self.rng.next() % 1000;
        let record = BitmarkShare { link: bitmark.tx_id, quantity, signature: Vec::new() };
        let packed = sign_record(record.into(), self.key(bitmark.owner)?, None)?;
        block.spent.push(bitmark.tx_id);
        block.touched.push(key);
        block.next.bitmarks.retain(|b| b.tx_id != bitmark.tx_id);
        block.next.shares.insert(key, quantity);
        Ok(Some(packed))
    }

    /// Committed share balances untouched in this block.
    fn free_balances(&self, block: &InBlock) -> Vec<((usize, Link), u64)> {
        self.model.shares.iter().filter(|(k, _)| !block.touched.contains(k)).map(|(k, v)| (*k, *v)).collect()
    }

    fn grant(&mut self, block: &mut InBlock) -> Result<Option<Vec<u8>>> {
        let free = self.free_balances(block);
        let Some(&((from, share_id), balance)) = free.get(self.rng.below(free.len())) else { return Ok(None) };
        let to = self.other_than(from);
        if block.touched.contains(&(to, share_id)) {
            return Ok(None);
        }
        let quantity = 1 + self.rng.next() % balance;
        let record = ShareGrant {
            share_id,
            quantity,
            owner: self.account(from)?.clone(),
            recipient: self.account(to)?.clone(),
            before_block: block.number + 1000,
            signature: Vec::new(),
            countersignature: Vec::new(),
        };
        let packed = sign_record(record.into(), self.key(from)?, Some(self.key(to)?))?;
        block.move_shares(from, to, share_id, quantity);
        Ok(Some(packed))
    }

    fn swap(&mut self, block: &mut InBlock) -> Result<Option<Vec<u8>>> {
        let free = self.free_balances(block);
        let Some(&((one, share_one), b1)) = free.get(self.rng.below(free.len())) else { return Ok(None) };
        let Some(&((two, share_two), b2)) = free.get(self.rng.below(free.len())) else { return Ok(None) };
        if one == two
            || share_one == share_two
            || block.touched.contains(&(one, share_two))
            || block.touched.contains(&(two, share_one))
        {
            return Ok(None);
        }
        let (q1, q2) = (1 + self.rng.next() % b1, 1 + self.rng.next() % b2);
        let record = ShareSwap {
            share_id_one: share_one,
            quantity_one: q1,
            owner_one: self.account(one)?.clone(),
            share_id_two: share_two,
            quantity_two: q2,
            owner_two: self.account(two)?.clone(),
            before_block: block.number + 1000,
            signature: Vec::new(),
            countersignature: Vec::new(),
        };
        let packed = sign_record(record.into(), self.key(one)?, Some(self.key(two)?))?;
        block.move_shares(one, two, share_one, q1);
        block.move_shares(two, one, share_two, q2);
        Ok(Some(packed))
    }

    fn block_transfer(&mut self, block: &mut InBlock) -> Result<Option<Vec<u8>>> {
        let free: Vec<(Link, usize)> =
            self.model.blocks.iter().filter(|(l, _)| !block.spent.contains(l)).copied().collect();
        let Some(&(link, from)) = free.get(self.rng.below(free.len())) else { return Ok(None) };
        let to = self.other_than(from);
        let record = BlockOwnerTransfer {
            link,
            escrow: None,
            version: FOUNDATION_VERSION,
            payments: test_payments(to),
            owner: self.account(to)?.clone(),
            signature: Vec::new(),
            countersignature: Vec::new(),
        };
        let packed = sign_record(record.into(), self.key(from)?, Some(self.key(to)?))?;
        block.spent.push(link);
        block.next.blocks.retain(|(l, _)| *l != link);
        block.next.blocks.push((Link::of(&packed), to));
        Ok(Some(packed))
    }

    fn account(&self, who: usize) -> Result<&Account> {
        Ok(&self.test_account(who)?.account)
    }

    fn key(&self, who: usize) -> Result<&PrivateKey> {
        Ok(&self.test_account(who)?.key)
    }

    fn test_account(&self, who: usize) -> Result<&TestAccount> {
        self.accounts.get(who).ok_or(StorageError::Fault(Fault::InvalidOwnerOrRegistrant))
    }
}
