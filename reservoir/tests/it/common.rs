//! Shared fixtures: keys, signed records, and a reservoir in a temporary directory, driven by
//! a manual clock, over either chain backend: the in-memory [`MemoryChain`] (chain `testing`)
//! or the real block store (chain `local`, blocks really validated and stored, told to the
//! reservoir through [`ChainHooks`]).
#![allow(dead_code)]

use bitmark_record::assemble::{pack_block, sign_record};
use bitmark_record::currency::{bitcoin, litecoin};
use bitmark_record::header::foundation_tx_id;
use bitmark_record::transaction::{
    AssetData, BitmarkIssue, BitmarkShare, BitmarkTransferCountersigned, BitmarkTransferUnratified, Payment,
    ShareGrant, ShareSwap,
};
use bitmark_record::transaction::{BlockFoundation, FOUNDATION_VERSION};
use bitmark_record::{
    Account, AssetId, BlockDigest, Chain, CurrencyMap, Difficulty, Fault, Link, PrivateKey, Text, Transaction,
};
use bitmark_reservoir::{
    AutoVerify, ChainHooks, ConfirmedState, ManualClock, MemoryChain, Options, PaymentVerifier, RequirePayment,
    Reservoir, ReservoirError,
};
use bitmark_storage::testchain::{BLOCK_SPACING_SECONDS, DEFAULT_START_TIME};
use bitmark_storage::{BlockStore, ChainDb, StoreOptions};
use std::sync::Arc;

/// The chain of the in-memory backend (the one tests run on unless they run on both).
pub const CHAIN: Chain = Chain::Testing;

/// The chain of the block-store backend: `local`, whose blocks need no proof of work. For the
/// reservoir it is the same as `testing` (test-network accounts, testing genesis, difficulties).
pub const STORE_CHAIN: Chain = Chain::Local;

/// A deterministic test-network key.
pub fn key(seed: u8) -> PrivateKey {
    PrivateKey::from_ed25519_seed([seed; 32], true)
}

/// The account of a key.
pub fn account(k: &PrivateKey) -> Account {
    k.account().unwrap()
}

/// Valid test-network BTC and LTC addresses derived from `n`.
pub fn payments(n: u8) -> CurrencyMap {
    let mut m = CurrencyMap::new();
    m.insert(bitmark_record::Currency::Bitcoin, bitcoin::address(bitcoin::Version::Testnet, &[n; 20]));
    m.insert(bitmark_record::Currency::Litecoin, litecoin::address(litecoin::Version::Testnet, &[n; 20]));
    m
}

/// Sign a record in place with `k`.
pub fn sign(tx: &mut Transaction, k: &PrivateKey) {
    let sig = k.sign(&tx.signing_message().unwrap()).unwrap();
    tx.set_signature(sig.to_vec());
}

/// Countersign a record in place with `k`.
pub fn countersign(tx: &mut Transaction, k: &PrivateKey) {
    let sig = k.sign(&tx.countersigning_message().unwrap()).unwrap();
    tx.set_countersignature(sig.to_vec()).unwrap();
}

/// A signed asset.
pub fn asset(registrant: &PrivateKey, fingerprint: &str) -> AssetData {
    let mut tx = Transaction::AssetData(AssetData {
        name: Text::from("name"),
        fingerprint: Text::from(fingerprint),
        metadata: Text::from("k\0v"),
        registrant: account(registrant),
        signature: vec![],
    });
    sign(&mut tx, registrant);
    let Transaction::AssetData(a) = tx else { unreachable!() };
    a
}

/// A signed issue.
pub fn issue(owner: &PrivateKey, asset_id: AssetId, nonce: u64) -> BitmarkIssue {
    let mut tx = Transaction::BitmarkIssue(BitmarkIssue { asset_id, owner: account(owner), nonce, signature: vec![] });
    sign(&mut tx, owner);
    let Transaction::BitmarkIssue(i) = tx else { unreachable!() };
    i
}

/// `count` signed issues of one asset with nonces `first..`.
pub fn issues(owner: &PrivateKey, asset_id: AssetId, first: u64, count: u64) -> Vec<BitmarkIssue> {
    (first..first + count).map(|n| issue(owner, asset_id, n)).collect()
}

/// A signed unratified transfer of `link` from `from` to `to`.
pub fn transfer(link: Link, from: &PrivateKey, to: &Account, escrow: Option<Payment>) -> Transaction {
    let mut tx = Transaction::BitmarkTransferUnratified(BitmarkTransferUnratified {
        link,
        escrow,
        owner: to.clone(),
        signature: vec![],
    });
    sign(&mut tx, from);
    tx
}

/// A signed and countersigned transfer.
pub fn countersigned(link: Link, from: &PrivateKey, to: &PrivateKey) -> Transaction {
    let mut tx = Transaction::BitmarkTransferCountersigned(BitmarkTransferCountersigned {
        link,
        escrow: None,
        owner: account(to),
        signature: vec![],
        countersignature: vec![],
    });
    sign(&mut tx, from);
    countersign(&mut tx, to);
    tx
}

/// A signed share conversion.
pub fn share(link: Link, owner: &PrivateKey, quantity: u64) -> Transaction {
    let mut tx = Transaction::BitmarkShare(BitmarkShare { link, quantity, signature: vec![] });
    sign(&mut tx, owner);
    tx
}

/// A signed and countersigned grant.
pub fn grant(
    share_id: Link,
    quantity: u64,
    owner: &PrivateKey,
    recipient: &PrivateKey,
    before_block: u64,
) -> ShareGrant {
    let mut tx = Transaction::ShareGrant(ShareGrant {
        share_id,
        quantity,
        owner: account(owner),
        recipient: account(recipient),
        before_block,
        signature: vec![],
        countersignature: vec![],
    });
    sign(&mut tx, owner);
    countersign(&mut tx, recipient);
    let Transaction::ShareGrant(g) = tx else { unreachable!() };
    g
}

/// A signed and countersigned swap.
pub fn swap(one: (Link, u64, &PrivateKey), two: (Link, u64, &PrivateKey), before_block: u64) -> ShareSwap {
    let mut tx = Transaction::ShareSwap(ShareSwap {
        share_id_one: one.0,
        quantity_one: one.1,
        owner_one: account(one.2),
        share_id_two: two.0,
        quantity_two: two.1,
        owner_two: account(two.2),
        before_block,
        signature: vec![],
        countersignature: vec![],
    });
    sign(&mut tx, one.2);
    countersign(&mut tx, two.2);
    let Transaction::ShareSwap(s) = tx else { unreachable!() };
    s
}

/// Packed bytes of a record (signature not re-checked).
pub fn packed(tx: &Transaction) -> Vec<u8> {
    tx.pack_unverified().unwrap()
}

/// The fault inside an error.
pub fn fault<T: std::fmt::Debug>(r: Result<T, ReservoirError>) -> Fault {
    match r {
        Err(e) => e.fault().unwrap_or_else(|| panic!("not a fault: {e}")),
        Ok(v) => panic!("expected a fault, got {v:?}"),
    }
}

/// A packed version-5 block for chain `local` (difficulty one, which the store accepts below
/// the first adjustment): a foundation by `miner` paid at `payments(miner_payments)`, then
/// `records` (or a filler asset when there are none: a block holds at least two records).
pub fn block_on(
    number: u64,
    previous: BlockDigest,
    timestamp: u64,
    miner: &PrivateKey,
    miner_payments: u8,
    records: &[Vec<u8>],
) -> Vec<u8> {
    let foundation = BlockFoundation {
        version: FOUNDATION_VERSION,
        payments: payments(miner_payments),
        owner: account(miner),
        nonce: number,
        signature: vec![],
    };
    let mut all = vec![sign_record(foundation.into(), miner, None).unwrap()];
    all.extend_from_slice(records);
    if all.len() < usize::from(bitmark_record::header::MINIMUM_TRANSACTIONS) {
        all.push(packed(&Transaction::AssetData(asset(miner, &format!("filler of block {number}")))));
    }
    pack_block(number, previous, timestamp, Difficulty::ONE, &all).unwrap()
}

/// The records of a concatenation of packed records (a [`bitmark_reservoir::Selection`]).
pub fn split_records(mut packed: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !packed.is_empty() {
        let (_, n) = Transaction::unpack(packed, true).unwrap();
        out.push(packed[..n].to_vec());
        packed = &packed[n..];
    }
    out
}

/// Which confirmed chain a fixture's reservoir reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// [`MemoryChain`]: blocks are not validated, digests are synthetic; cheap.
    Memory,
    /// A real [`BlockStore`] in a temporary sled database: each block is validated and stored
    /// (one Argon2d digest, ~0.35 s) and reaches the reservoir through [`ChainHooks`].
    Store,
}

/// What [`Fixture::append_block`] stored.
#[derive(Clone, Copy, Debug)]
pub struct Appended {
    /// The block number.
    pub number: u64,
    /// Tx id of its foundation record (what a block-owner transfer links to).
    pub foundation_tx_id: Link,
}

/// Runs test functions `fn name(f: Fixture)` on both backends, as `name::memory` and
/// `name::store`, each with the fixture `$make(backend)` builds.
#[allow(unused_macros)]
macro_rules! on_each_backend {
    ($($name:ident: $make:expr;)*) => {$(
        mod $name {
            use super::*;
            #[test]
            fn memory() {
                super::$name(($make)(Backend::Memory))
            }
            #[test]
            fn store() {
                super::$name(($make)(Backend::Store))
            }
        }
    )*};
}
#[allow(unused_imports)]
pub(crate) use on_each_backend;

/// A reservoir over one chain backend, in a temporary directory, with a manual clock.
pub struct Fixture {
    /// Which backend.
    pub backend: Backend,
    /// The chain the reservoir and the backend serve.
    pub network: Chain,
    /// The backend as the reservoir reads it.
    pub state: Arc<dyn ConfirmedState>,
    memory: Option<Arc<MemoryChain>>,
    store: Option<Arc<BlockStore>>,
    pub clock: Arc<ManualClock>,
    pub verifier: Arc<dyn PaymentVerifier>,
    pub dir: tempfile::TempDir,
    pub reservoir: Arc<Reservoir>,
    /// The miner of every block appended by [`Fixture::confirm`].
    pub miner: PrivateKey,
}

impl Fixture {
    /// Auto-verifying (bitmarkd's default on `testing`), in memory.
    pub fn new() -> Fixture {
        Fixture::auto(Backend::Memory)
    }

    /// Payments required, in memory.
    pub fn paying() -> Fixture {
        Fixture::paying_on(Backend::Memory)
    }

    /// Auto-verifying, on `backend`.
    pub fn auto(backend: Backend) -> Fixture {
        Fixture::on(backend, Arc::new(AutoVerify))
    }

    /// Payments required, on `backend`.
    pub fn paying_on(backend: Backend) -> Fixture {
        Fixture::on(backend, Arc::new(RequirePayment))
    }

    pub fn with_verifier(verifier: Arc<dyn PaymentVerifier>) -> Fixture {
        Fixture::on(Backend::Memory, verifier)
    }

    pub fn on(backend: Backend, verifier: Arc<dyn PaymentVerifier>) -> Fixture {
        let (network, state, memory, store): (Chain, Arc<dyn ConfirmedState>, _, _) = match backend {
            Backend::Memory => {
                let m = Arc::new(MemoryChain::new(CHAIN));
                (CHAIN, m.clone(), Some(m), None)
            }
            Backend::Store => {
                let db = ChainDb::temporary().unwrap();
                let s = Arc::new(BlockStore::open(db, STORE_CHAIN, StoreOptions::default()).unwrap());
                (STORE_CHAIN, s.clone(), None, Some(s))
            }
        };
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let dir = tempfile::tempdir().unwrap();
        let options = Options::for_chain(network).verifier(verifier.clone()).clock(clock.clone());
        let (reservoir, _) = Reservoir::open(dir.path(), network, state.clone(), options).unwrap();
        Fixture {
            backend,
            network,
            state,
            memory,
            store,
            clock,
            verifier,
            dir,
            reservoir: Arc::new(reservoir),
            miner: key(200),
        }
    }

    /// The in-memory chain (panics on the block-store backend).
    pub fn memory(&self) -> &Arc<MemoryChain> {
        self.memory.as_ref().expect("test runs on the memory backend only")
    }

    /// The block store (panics on the memory backend).
    pub fn store(&self) -> &Arc<BlockStore> {
        self.store.as_ref().expect("test runs on the block-store backend only")
    }

    /// Hooks over the block store and the current reservoir.
    pub fn hooks(&self) -> ChainHooks {
        ChainHooks::new(self.store().clone(), self.reservoir.clone()).unwrap()
    }

    /// Options the reservoir was opened with.
    pub fn options(&self) -> Options {
        Options::for_chain(self.network).verifier(self.verifier.clone()).clock(self.clock.clone())
    }

    /// Close and reopen the reservoir from its directory.
    pub fn reopen(&mut self) -> bitmark_reservoir::LoadReport {
        // Release the old database first: sled locks its directory.
        let placeholder = tempfile::tempdir().unwrap();
        let (tmp, _) = Reservoir::open(placeholder.path(), self.network, self.state.clone(), self.options()).unwrap();
        drop(std::mem::replace(&mut self.reservoir, Arc::new(tmp)));
        let (reservoir, report) =
            Reservoir::open(self.dir.path(), self.network, self.state.clone(), self.options()).unwrap();
        self.reservoir = Arc::new(reservoir);
        report
    }

    /// The packed next block for the store: see [`block_on`]; on top of the tip, 2 minutes
    /// after it.
    pub fn next_store_block(&self, miner: &PrivateKey, miner_payments: u8, records: &[Vec<u8>]) -> Vec<u8> {
        let tip = self.store().tip();
        let timestamp = if tip.height <= 1 { DEFAULT_START_TIME } else { tip.timestamp + BLOCK_SPACING_SECONDS };
        block_on(tip.height + 1, tip.digest, timestamp, miner, miner_payments, records)
    }

    /// Store a block mined by `miner` with these records WITHOUT telling the reservoir (as when
    /// the node stored blocks while the reservoir was closed).
    pub fn append_block(&self, miner: &PrivateKey, miner_payments: u8, records: &[Vec<u8>]) -> Appended {
        match self.backend {
            Backend::Memory => {
                let b = self.memory().append_block(&account(miner), &payments(miner_payments), records).unwrap();
                Appended { number: b.number, foundation_tx_id: b.foundation_tx_id }
            }
            Backend::Store => {
                let block = self.next_store_block(miner, miner_payments, records);
                let applied = self.store().apply(&block).unwrap();
                Appended { number: applied.number, foundation_tx_id: foundation_tx_id(applied.number, &applied.digest) }
            }
        }
    }

    /// Store a block mined by `miner` with these records and tell the reservoir.
    pub fn confirm_by(&self, miner: &PrivateKey, miner_payments: u8, records: &[Vec<u8>]) -> u64 {
        match self.backend {
            Backend::Memory => {
                let number = self.append_block(miner, miner_payments, records).number;
                let decoded: Vec<(Link, Transaction)> =
                    records.iter().map(|p| (Link::of(p), Transaction::unpack(p, true).unwrap().0)).collect();
                self.reservoir.block_stored(decoded.iter().map(|(l, t)| (l, t))).unwrap();
                number
            }
            Backend::Store => {
                let block = self.next_store_block(miner, miner_payments, records);
                self.hooks().apply(&block).unwrap().number
            }
        }
    }

    /// Append a block by the default miner.
    pub fn confirm(&self, records: &[Vec<u8>]) -> u64 {
        self.confirm_by(&self.miner.clone(), 9, records)
    }

    /// Remove every block above `height` and tell the reservoir; returns the tx ids of the
    /// undone records, foundations excluded, highest block first.
    pub fn rollback_to(&self, height: u64) -> Vec<Link> {
        match self.backend {
            Backend::Memory => {
                let undone = self.memory().rollback_to(height);
                self.reservoir.blocks_rolled_back(undone.iter().map(|(l, t)| (l, t))).unwrap();
                undone.into_iter().map(|(l, _)| l).collect()
            }
            Backend::Store => self
                .hooks()
                .rollback_to(height)
                .unwrap()
                .iter()
                .flat_map(|b| &b.records)
                .filter(|r| !matches!(r.transaction, Transaction::BlockFoundation(_) | Transaction::BaseData(_)))
                .map(|r| r.tx_id)
                .collect(),
        }
    }

    /// Confirm an asset and one issue of it owned by `owner`; returns (asset id, issue tx id).
    pub fn confirmed_bitmark(&self, registrant: &PrivateKey, owner: &PrivateKey, fingerprint: &str) -> (AssetId, Link) {
        let a = asset(registrant, fingerprint);
        let i = Transaction::BitmarkIssue(issue(owner, a.asset_id(), 7));
        let pi = packed(&i);
        self.confirm(&[packed(&Transaction::AssetData(a.clone())), pi.clone()]);
        (a.asset_id(), Link::of(&pi))
    }

    /// The current height.
    pub fn height(&self) -> u64 {
        self.state.height()
    }
}
