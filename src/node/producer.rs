//! The built-in block producer of a local network (`--produce-blocks SECS`): bitmarkd's proofer
//! (proof/publisher.go) and a miner in one, for chain `local`, whose blocks need no proof of
//! work.
//!
//! Every interval, in normal mode only, it takes the reservoir's verified items
//! ([`bitmark_reservoir::Reservoir::fetch_verified`], bitmarkd's `FetchVerified` of
//! `MaximumTransactions - 1` records), puts a BlockFoundation record signed by the producer key
//! before them, packs the block on the tip with the time now (never earlier than the tip's),
//! applies it through the node's [`ChainHooks`] (so the reservoir drops what it confirms) and
//! sends it on the bus as a `block` push. Like bitmarkd's proofer it makes no empty blocks: a
//! round with nothing verified is skipped.
//!
//! The producer key is an Ed25519 test-network account key kept in `<data-dir>/producer.private`
//! as one line of bitmarkd's base58 private-key text, created (mode 0600) on first run, so a
//! node's blocks are owned by the same account across restarts. The foundation's payment
//! addresses are test-network BTC and LTC addresses derived from that account's public key:
//! nothing is ever paid on a local chain, but the block store requires both.

use super::metrics::{ErrorSource, Metrics};
use crate::error::{NodeError, Result};
use bitmark_peer::bus::Bus;
use bitmark_peer::connector::ModeHandle;
use bitmark_peer::wire::Push;
use bitmark_record::assemble::{pack_block, sign_record};
use bitmark_record::currency::{bitcoin, litecoin};
use bitmark_record::header::MAXIMUM_TRANSACTIONS;
use bitmark_record::transaction::{BlockFoundation, FOUNDATION_VERSION};
use bitmark_record::{Account, Algorithm, Chain, Currency, CurrencyMap, Link, PrivateKey, Transaction};
use bitmark_reservoir::{ChainHooks, ReservoirError, Selection};
use bitmark_storage::Applied;
use rand::RngCore;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::{debug, error, info, warn};

const TARGET: &str = "node::producer";

/// The producer key's file name in the data directory.
pub const KEY_FILE: &str = "producer.private";

/// Load the producer key from `path`, or make one and write it there (mode 0600, never
/// overwriting) when there is none. The key must be an Ed25519 key of `chain`'s network.
/// Returns the key and whether it was made now.
pub fn load_or_create_key(path: &Path, chain: Chain) -> Result<(PrivateKey, bool)> {
    let named = |what: String| NodeError::Input(format!("{}: {what}", path.display()));
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| NodeError::io(path.display(), e))?;
        let key = PrivateKey::from_base58(text.trim()).map_err(|f| named(f.to_string()))?;
        if key.algorithm() != Algorithm::Ed25519 || key.account().is_none() {
            return Err(named("not an Ed25519 private key".into()));
        }
        if key.is_testnet() != chain.is_testing() {
            return Err(named(format!("a key of the wrong network for chain {chain}")));
        }
        return Ok((key, false));
    }
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = PrivateKey::from_ed25519_seed(seed, chain.is_testing());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| NodeError::io(path.display(), e))?;
    writeln!(file, "{}", key.to_base58()).map_err(|e| NodeError::io(path.display(), e))?;
    Ok((key, true))
}

/// The foundation's payment addresses for `owner`: BTC and LTC addresses of the first 20
/// bytes of its public key, on the chain's network.
fn payments_of(owner: &Account, testing: bool) -> CurrencyMap {
    let mut hash = [0u8; 20];
    for (h, b) in hash.iter_mut().zip(owner.public_key()) {
        *h = *b;
    }
    let (btc, ltc) = if testing {
        (bitcoin::Version::Testnet, litecoin::Version::Testnet)
    } else {
        (bitcoin::Version::Livenet, litecoin::Version::Livenet)
    };
    let mut map = CurrencyMap::new();
    map.insert(Currency::Bitcoin, bitcoin::address(btc, &hash));
    map.insert(Currency::Litecoin, litecoin::address(ltc, &hash));
    map
}

/// Split a selection's concatenated records into one packed record each, checking each
/// against its tx id (a mismatch means the reservoir and we disagree on the format).
fn records_of(selection: &Selection, testing: bool) -> Result<Vec<Vec<u8>>> {
    let mut rest = selection.packed.as_slice();
    let mut records = Vec::with_capacity(selection.tx_ids.len());
    for tx_id in &selection.tx_ids {
        let (_, n) = Transaction::unpack(rest, testing)?;
        let mismatch = || NodeError::Input(format!("selected record {} does not match its tx id", tx_id.raw_hex()));
        let (record, tail) = rest.split_at_checked(n).ok_or_else(mismatch)?;
        if Link::of(record) != *tx_id {
            return Err(mismatch());
        }
        records.push(record.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(NodeError::Input("selected records longer than their tx ids".into()));
    }
    Ok(records)
}

/// Unix seconds now.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Builds and stores blocks of verified items.
pub struct Producer {
    hooks: ChainHooks,
    bus: Bus,
    metrics: Arc<Metrics>,
    key: PrivateKey,
    owner: Account,
    payments: CurrencyMap,
}

impl Producer {
    /// A producer signing with `key`, storing through `hooks`, announcing on `bus`.
    pub fn new(hooks: ChainHooks, key: PrivateKey, bus: Bus, metrics: Arc<Metrics>) -> Result<Producer> {
        let owner = key.account().ok_or_else(|| NodeError::Input("the producer key has no account".into()))?;
        let payments = payments_of(&owner, hooks.store().chain().is_testing());
        Ok(Producer { hooks, bus, metrics, key, owner, payments })
    }

    /// The account that owns the blocks produced.
    pub fn owner(&self) -> &Account {
        &self.owner
    }

    /// The next block on the tip holding the verified items now, stamped `now` (or the tip's
    /// time if later), and how many records it holds; `None` when nothing is verified.
    pub fn build(&self, now: u64) -> Result<Option<(Vec<u8>, usize)>> {
        let store = self.hooks.store();
        let testing = store.chain().is_testing();
        let selection = self
            .hooks
            .reservoir()
            .fetch_verified(usize::from(MAXIMUM_TRANSACTIONS) - 1)
            .map_err(super::reservoir::node_error)?;
        if selection.tx_ids.is_empty() {
            return Ok(None);
        }
        let tip = store.tip();
        let number = tip.height + 1;
        let foundation = BlockFoundation {
            version: FOUNDATION_VERSION,
            payments: self.payments.clone(),
            owner: self.owner.clone(),
            nonce: number,
            signature: Vec::new(),
        };
        let mut records = vec![sign_record(foundation.into(), &self.key, None)?];
        records.extend(records_of(&selection, testing)?);
        let block = pack_block(number, tip.digest, now.max(tip.timestamp), store.difficulty(), &records)?;
        Ok(Some((block, records.len())))
    }

    /// One round: build a block of the verified items, store it through the hooks and send
    /// it on the bus. `None` when there was nothing to put in a block.
    pub fn produce(&self, now: u64) -> Result<Option<Applied>> {
        let Some((block, transactions)) = self.build(now)? else { return Ok(None) };
        let applied = match self.hooks.apply(&block) {
            Ok(applied) => applied,
            Err(ReservoirError::Storage(e)) => return Err(e.into()),
            // The block is stored; only the reservoir missed it (its next rescan catches up).
            Err(e) => {
                self.metrics.error(ErrorSource::Node, "reservoir update failed");
                error!(target: TARGET, error = %e, "stored a produced block but the reservoir update failed");
                let tip = self.hooks.store().tip();
                Applied { number: tip.height, digest: tip.digest, transactions }
            }
        };
        self.metrics.block_applied();
        self.metrics.block_produced();
        self.bus.send(Push::Block(block));
        Ok(Some(applied))
    }
}

/// The producer's thread: a round every interval until stopped.
pub struct ProducerThread {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl ProducerThread {
    /// Run `producer` every `interval` while `mode` is normal.
    pub fn spawn(producer: Producer, interval: Duration, mode: ModeHandle) -> Result<ProducerThread> {
        let (stop, stopped) = mpsc::channel::<()>();
        info!(target: TARGET, interval = ?interval, owner = %producer.owner().to_base58(), "producing blocks");
        let handle = thread::Builder::new()
            .name("block-producer".into())
            .spawn(move || {
                // A round every interval; a stop (or the sender dropped) ends the wait at once.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if !mode.is_normal() {
                        debug!(target: TARGET, "not in normal mode: no block");
                        continue;
                    }
                    match producer.produce(unix_now()) {
                        Ok(Some(applied)) => info!(target: TARGET, height = applied.number,
                                                    digest = %applied.digest.raw_hex(),
                                                    transactions = applied.transactions, "produced a block"),
                        Ok(None) => debug!(target: TARGET, "nothing verified: no block"),
                        Err(e) => {
                            producer.metrics.error(ErrorSource::Node, "block production failed");
                            warn!(target: TARGET, error = %e, "block production failed; trying again next round");
                        }
                    }
                }
            })
            .map_err(|e| NodeError::io("block producer thread", e))?;
        Ok(ProducerThread { stop: Some(stop), handle: Some(handle) })
    }

    /// Stop and wait for a round under way to finish (dropping the handle does the same).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for ProducerThread {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bitmark_record::block::PackedBlock;
    use bitmark_record::transaction::BitmarkIssue;
    use bitmark_storage::testchain::{test_accounts, TestChain, TestChainConfig};
    use bitmark_storage::{BlockStore, ChainDb, StoreOptions};

    const SEED: u64 = 5;

    fn store(height: u64) -> Arc<BlockStore> {
        let store = BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap();
        TestChain::new(TestChainConfig { seed: SEED, txs_per_block: 4, ..Default::default() })
            .extend(&store, height, |_| {})
            .unwrap();
        Arc::new(store)
    }

    #[test]
    fn the_key_is_made_once_private_and_checked() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let (made, created) = load_or_create_key(&path, Chain::Local).unwrap();
        assert!(created && made.is_testnet());
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (read, created) = load_or_create_key(&path, Chain::Local).unwrap();
        assert!(!created);
        assert_eq!(read, made);
        let e = load_or_create_key(&path, Chain::Bitmark).unwrap_err().to_string();
        assert!(e.contains("wrong network"), "{e}");
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(load_or_create_key(&path, Chain::Local).unwrap_err().to_string().contains(KEY_FILE));
    }

    /// A paid issue (nonce ≠ 0) of an asset confirmed in block 2: auto-verified on `local`.
    pub(crate) fn paid_issue(store: &BlockStore) -> Vec<u8> {
        let block = store.block(2).unwrap().unwrap();
        let parsed = PackedBlock::parse(&block, Chain::Local, u64::MAX / 2).unwrap();
        let asset_id = parsed
            .records
            .iter()
            .find_map(|r| match &r.transaction {
                Transaction::AssetData(a) => Some(a.asset_id()),
                _ => None,
            })
            .expect("an asset in block 2");
        let who = &test_accounts(SEED)[3];
        let issue = BitmarkIssue { asset_id, owner: who.account.clone(), nonce: 77, signature: Vec::new() };
        sign_record(issue.into(), &who.key, None).unwrap()
    }

    #[test]
    fn verified_items_become_a_block_on_the_tip_and_nothing_makes_no_block() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(3);
        let (hooks, _) = super::super::reservoir::open(dir.path(), &store).unwrap();
        let bus = Bus::new();
        let heard = bus.subscribe("test", 8);
        let metrics = Arc::new(Metrics::new());
        let (key, _) = load_or_create_key(&dir.path().join(KEY_FILE), Chain::Local).unwrap();
        let producer = Producer::new(hooks.clone(), key, bus.clone(), Arc::clone(&metrics)).unwrap();

        assert_eq!(producer.produce(unix_now()).unwrap(), None);
        assert_eq!(store.height(), 3);

        let issue = paid_issue(&store);
        hooks.reservoir().process_issues(&issue).unwrap();
        assert_eq!(hooks.reservoir().counters(), (0, 1));
        // A clock behind the tip: the block takes the tip's time.
        let tip_time = store.tip().timestamp;
        let applied = producer.produce(tip_time - 100).unwrap().expect("a block");
        assert_eq!((applied.number, applied.transactions), (4, 2));
        assert_eq!(store.height(), 4);
        assert_eq!(store.tip().timestamp, tip_time);
        assert_eq!(hooks.reservoir().counters(), (0, 0));
        assert_eq!((metrics.blocks_applied(), metrics.blocks_produced()), (1, 1));

        let block = store.block(4).unwrap().unwrap();
        let parsed = PackedBlock::parse(&block, Chain::Local, u64::MAX / 2).unwrap();
        assert!(matches!(&parsed.records[0].transaction,
                         Transaction::BlockFoundation(f) if &f.owner == producer.owner() && f.nonce == 4));
        assert_eq!(parsed.records[1].tx_id, Link::of(&issue));
        let sent = heard.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(*sent, Push::Block(block));
        // Nothing left: no empty block.
        assert_eq!(producer.produce(unix_now()).unwrap(), None);
    }

    #[test]
    fn a_round_stops_promptly_and_waits_for_normal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(3);
        let (hooks, _) = super::super::reservoir::open(dir.path(), &store).unwrap();
        let (key, _) = load_or_create_key(&dir.path().join(KEY_FILE), Chain::Local).unwrap();
        let producer = Producer::new(hooks.clone(), key, Bus::new(), Arc::new(Metrics::new())).unwrap();
        hooks.reservoir().process_issues(&paid_issue(&store)).unwrap();
        let mode = ModeHandle::new();
        let thread = ProducerThread::spawn(producer, Duration::from_millis(20), mode.clone()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(store.height(), 3, "no block while resynchronising");
        mode.set(bitmark_peer::connector::Mode::Normal);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.height() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(store.height(), 4);
        let stopping = std::time::Instant::now();
        thread.stop();
        assert!(stopping.elapsed() < Duration::from_secs(2));
    }
}
