//! A node serving a real stored test chain over CURVE on loopback answers `I`, `N`, `H` and `B`
//! from its block store byte for byte, refuses what bitmarkd refuses with bitmarkd's texts, and
//! stores a pushed block when it is in normal mode.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_node::node::views::StoreChainView;
use bitmark_peer::connector::{Mode, ModeHandle};
use bitmark_peer::listener::{ChainView, Handler, NoRelay, PoolView};
use bitmark_peer::testing::FakePeers;
use bitmark_peer::transport::{ClientConfig, CurveKeys, ListenerConfig, ListenerLimits, ZmqClient, ZmqListener};
use bitmark_record::{genesis, Chain, Fault};
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use bitmark_storage::{BlockStore, ChainDb, StoreOptions};
use std::sync::Arc;
use std::time::Duration;

/// A pool that stores pushed blocks in the block store and takes nothing else (the reservoir
/// is not part of this test).
struct BlockPool(Arc<BlockStore>);

impl PoolView for BlockPool {
    fn submit_block(&self, packed: &[u8]) -> Result<(), Fault> {
        self.0.apply(packed).map(|_| ()).map_err(|e| match e {
            bitmark_storage::StorageError::Fault(f) => f,
            _ => Fault::DataInconsistent,
        })
    }
    fn submit_assets(&self, _: &[u8]) -> Result<(), Fault> {
        Err(Fault::NotAvailableDuringSynchronise)
    }
    fn submit_issues(&self, _: &[u8]) -> Result<(), Fault> {
        Err(Fault::NotAvailableDuringSynchronise)
    }
    fn submit_transfer(&self, _: &[u8]) -> Result<(), Fault> {
        Err(Fault::NotAvailableDuringSynchronise)
    }
    fn submit_proof(&self, _: &[u8]) -> Result<(), Fault> {
        Err(Fault::NotAvailableDuringSynchronise)
    }
}

fn store_with_height(height: u64) -> Arc<BlockStore> {
    let store = BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap();
    TestChain::new(TestChainConfig { seed: 3, txs_per_block: 6, ..Default::default() })
        .extend(&store, height, |_| {})
        .unwrap();
    Arc::new(store)
}

/// One request as raw body frames (the client adds the chain frame), the reply frames back.
fn ask(client: &mut ZmqClient, body: &[&[u8]]) -> Vec<Vec<u8>> {
    client.send(body).unwrap();
    client.receive().unwrap()
}

#[test]
fn a_node_serves_its_stored_chain_exactly() {
    // The chain the node serves (height 5), and the same chain one block taller for the push.
    let store = store_with_height(5);
    let taller = store_with_height(6);
    let mode = ModeHandle::new();
    let view = Arc::new(StoreChainView::new(store.clone(), mode.clone()));
    let handler = Handler::new(
        "zero",
        view.clone(),
        Arc::new(BlockPool(store.clone())),
        Arc::new(FakePeers::default()),
        Arc::new(NoRelay),
    );
    let server = CurveKeys::generate().unwrap();
    let ctx = zmq::Context::new();
    let listener = ZmqListener::start(
        &ctx,
        ListenerConfig {
            chain: Chain::Local,
            listen: vec!["127.0.0.1:0".parse().unwrap()],
            secret_key: server.secret,
            limits: ListenerLimits::default(),
        },
        Arc::new(handler),
    )
    .unwrap();
    let mut config = ClientConfig::new(Chain::Local, CurveKeys::generate().unwrap());
    config.receive_timeout = Duration::from_secs(10);
    let mut client = ZmqClient::new(&ctx, config);
    client.connect(listener.local_addrs()[0], server.public).unwrap();

    assert_eq!(ask(&mut client, &[b"N"]), vec![b"N".to_vec(), 5u64.to_be_bytes().to_vec()]);
    assert_eq!(
        ask(&mut client, &[b"I"])[1],
        br#"{"version":"zero","chain":"local","normal":false,"height":5}"#.to_vec()
    );
    for n in 0..=1u64 {
        let reply = ask(&mut client, &[b"H", &n.to_be_bytes()]);
        assert_eq!(reply, vec![b"H".to_vec(), genesis::digest(Chain::Local).as_bytes().to_vec()]);
    }
    for n in 2..=5u64 {
        let reply = ask(&mut client, &[b"H", &n.to_be_bytes()]);
        assert_eq!(reply, vec![b"H".to_vec(), store.digest_for(n).unwrap().as_bytes().to_vec()], "H {n}");
        let reply = ask(&mut client, &[b"B", &n.to_be_bytes()]);
        assert_eq!(reply, vec![b"B".to_vec(), store.block(n).unwrap().unwrap()], "B {n}");
    }
    let not_found = vec![b"E".to_vec(), b"block not found".to_vec()];
    assert_eq!(ask(&mut client, &[b"H", &6u64.to_be_bytes()]), not_found);
    assert_eq!(ask(&mut client, &[b"B", &1u64.to_be_bytes()]), not_found, "genesis is not stored in B");
    assert_eq!(ask(&mut client, &[b"B", &6u64.to_be_bytes()]), not_found);
    assert_eq!(ask(&mut client, &[b"B", &[0u8; 7]]), not_found);
    assert_eq!(ask(&mut client, &[b"B"]), vec![b"E".to_vec(), b"missing parameters".to_vec()]);

    // Block 6 pushed while resynchronising is acknowledged and ignored...
    let block6 = taller.block(6).unwrap().unwrap();
    assert_eq!(ask(&mut client, &[b"block", &block6]), vec![b"block".to_vec(), b"A".to_vec()]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(store.height(), 5);
    // ...and stored once the node is in normal mode.
    mode.set(Mode::Normal);
    assert_eq!(ask(&mut client, &[b"block", &block6]), vec![b"block".to_vec(), b"A".to_vec()]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while store.height() < 6 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(view.height(), 6);
    assert_eq!(store.digest_for(6).unwrap(), taller.digest_for(6).unwrap());
    assert_eq!(ask(&mut client, &[b"N"])[1], 6u64.to_be_bytes().to_vec());
}
