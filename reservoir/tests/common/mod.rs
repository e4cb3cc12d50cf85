//! Shared fixtures: keys, signed records, a reservoir over a [`MemoryChain`] in a temporary
//! directory, driven by a manual clock.
#![allow(dead_code)]

use bitmark_record::currency::{bitcoin, litecoin};
use bitmark_record::transaction::{
    AssetData, BitmarkIssue, BitmarkShare, BitmarkTransferCountersigned, BitmarkTransferUnratified, Payment,
    ShareGrant, ShareSwap,
};
use bitmark_record::{Account, AssetId, Chain, CurrencyMap, Fault, Link, PrivateKey, Text, Transaction};
use bitmark_reservoir::{
    AutoVerify, ConfirmedState, ManualClock, MemoryChain, Options, PaymentVerifier, RequirePayment, Reservoir,
    ReservoirError,
};
use std::sync::Arc;

/// The chain every test runs on.
pub const CHAIN: Chain = Chain::Testing;

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

/// A reservoir over a memory chain, in a temporary directory, with a manual clock.
pub struct Fixture {
    pub chain: Arc<MemoryChain>,
    pub clock: Arc<ManualClock>,
    pub verifier: Arc<dyn PaymentVerifier>,
    pub dir: tempfile::TempDir,
    pub reservoir: Reservoir,
    /// The miner of every block appended by [`Fixture::confirm`].
    pub miner: PrivateKey,
}

impl Fixture {
    /// Auto-verifying (bitmarkd's default on `testing`).
    pub fn new() -> Fixture {
        Fixture::with_verifier(Arc::new(AutoVerify))
    }

    /// Payments required.
    pub fn paying() -> Fixture {
        Fixture::with_verifier(Arc::new(RequirePayment))
    }

    pub fn with_verifier(verifier: Arc<dyn PaymentVerifier>) -> Fixture {
        let chain = Arc::new(MemoryChain::new(CHAIN));
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let dir = tempfile::tempdir().unwrap();
        let options = Options::for_chain(CHAIN).verifier(verifier.clone()).clock(clock.clone());
        let (reservoir, _) = Reservoir::open(dir.path(), CHAIN, chain.clone(), options).unwrap();
        Fixture { chain, clock, verifier, dir, reservoir, miner: key(200) }
    }

    /// Close and reopen the reservoir from its directory.
    pub fn reopen(&mut self) -> bitmark_reservoir::LoadReport {
        let options = Options::for_chain(CHAIN).verifier(self.verifier.clone()).clock(self.clock.clone());
        // Release the old database first: sled locks its directory.
        let placeholder = tempfile::tempdir().unwrap();
        let (tmp, _) = Reservoir::open(placeholder.path(), CHAIN, self.chain.clone(), options.clone()).unwrap();
        drop(std::mem::replace(&mut self.reservoir, tmp));
        let (reservoir, report) = Reservoir::open(self.dir.path(), CHAIN, self.chain.clone(), options).unwrap();
        self.reservoir = reservoir;
        report
    }

    /// Append a block mined by `miner` with these records and tell the reservoir.
    pub fn confirm_by(&self, miner: &PrivateKey, miner_payments: u8, records: &[Vec<u8>]) -> u64 {
        let block = self.chain.append_block(&account(miner), &payments(miner_payments), records).unwrap();
        let decoded: Vec<(Link, Transaction)> =
            records.iter().map(|p| (Link::of(p), Transaction::unpack(p, true).unwrap().0)).collect();
        self.reservoir.block_stored(decoded.iter().map(|(l, t)| (l, t))).unwrap();
        block.number
    }

    /// Append a block by the default miner.
    pub fn confirm(&self, records: &[Vec<u8>]) -> u64 {
        self.confirm_by(&self.miner.clone(), 9, records)
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
        self.chain.height()
    }
}
