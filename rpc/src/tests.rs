//! The services over a fake node (a real reservoir over an in-memory chain): modes, read-only,
//! broadcasts and reply shapes that the end-to-end tests do not reach.

use crate::backend::{Backend, Connection, NodeInfo, OwnedEntry, PeerEntry, Read, RpcServer};
use crate::codec::Request;
use crate::server::{Rpc, RpcOptions};
use bitmark_record::assemble::sign_record;
use bitmark_record::transaction::AssetData;
use bitmark_record::{Account, AssetId, BlockDigest, Chain, Fault, Link, Transaction};
use bitmark_reservoir::{MemoryChain, Options, Reservoir};
use bitmark_storage::testchain::test_accounts;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

struct Fake {
    normal: AtomicBool,
    reservoir: Reservoir,
    sent: Mutex<Vec<(String, Vec<Vec<u8>>)>>,
}

impl Backend for Fake {
    fn chain(&self) -> Chain {
        Chain::Local
    }
    fn is_normal(&self) -> bool {
        self.normal.load(Ordering::Relaxed)
    }
    fn info(&self) -> NodeInfo {
        NodeInfo {
            chain: Chain::Local,
            normal: self.is_normal(),
            height: 1,
            digest: BlockDigest::default(),
            remote_height: 0,
            incoming: 1,
            outgoing: 2,
            pending: 0,
            verified: 0,
            difficulty: 1.0,
            public_key: [7; 32],
            mined: 0,
        }
    }
    fn block(&self, _: u64) -> Read<Option<Vec<u8>>> {
        Ok(None)
    }
    fn block_digest(&self, _: u64) -> Read<Option<BlockDigest>> {
        Ok(None)
    }
    fn transaction(&self, _: &Link) -> Read<Option<(u64, Vec<u8>)>> {
        Ok(None)
    }
    fn asset(&self, _: &AssetId) -> Read<Option<(u64, Vec<u8>)>> {
        Ok(None)
    }
    fn currently_owns(&self, _: &Account, _: &Link) -> Read<bool> {
        Ok(false)
    }
    fn owned(&self, _: &Account, _: u64, _: usize) -> Read<Vec<OwnedEntry>> {
        Ok(Vec::new())
    }
    fn holder_of_issue(&self, _: &Link) -> Read<Option<Link>> {
        Ok(None)
    }
    fn reservoir(&self) -> &Reservoir {
        &self.reservoir
    }
    fn broadcast(&self, command: &str, frames: Vec<Vec<u8>>) {
        self.sent.lock().unwrap().push((command.to_string(), frames));
    }
    fn rpc_servers(&self, start: u64, count: usize) -> Result<(Vec<RpcServer>, u64), Fault> {
        if count == 0 {
            return Err(Fault::InvalidCount);
        }
        let one = RpcServer { fingerprint: [1; 32], addresses: vec!["[::ffff:1.2.3.4]:2130".parse().unwrap()] };
        Ok(if start == 0 { (vec![one], 1) } else { (Vec::new(), 0) })
    }
    fn peers_after(&self, _: &[u8], _: usize) -> Vec<PeerEntry> {
        Vec::new()
    }
    fn connections(&self) -> Vec<Connection> {
        Vec::new()
    }
}

fn rpc(normal: bool, read_only: bool) -> (Arc<Rpc>, Arc<Fake>) {
    let tree = sled::Config::new().temporary(true).open().unwrap().open_tree("r").unwrap();
    let state = Arc::new(MemoryChain::new(Chain::Local));
    let (reservoir, _) = Reservoir::with_tree(tree, Chain::Local, state, Options::for_chain(Chain::Local)).unwrap();
    let fake = Arc::new(Fake { normal: AtomicBool::new(normal), reservoir, sent: Mutex::new(Vec::new()) });
    let options = RpcOptions { version: "test".into(), read_only, unlimited: false };
    (Rpc::new(Arc::clone(&fake) as Arc<dyn Backend>, options), fake)
}

async fn call(rpc: &Arc<Rpc>, method: &str, args: Value) -> Result<Value, String> {
    rpc.call(&Request { method: method.into(), params: Some(json!([args])), id: json!(1) }).await
}

fn asset_json() -> Value {
    let who = &test_accounts(3)[0];
    let asset = AssetData {
        name: "a".into(),
        fingerprint: "rpc unit test".into(),
        metadata: "".into(),
        registrant: who.account.clone(),
        signature: Vec::new(),
    };
    let packed = sign_record(asset.into(), &who.key, None).unwrap();
    Transaction::unpack(&packed, true).unwrap().0.to_json()
}

#[tokio::test]
async fn writes_are_refused_read_only_and_while_resynchronising() {
    let (read_only, _) = rpc(true, true);
    let refused = Err(Fault::NotAvailableInReadOnlyMode.to_string());
    assert_eq!(call(&read_only, "Bitmarks.Create", json!({"assets": [asset_json()]})).await, refused);
    assert_eq!(call(&read_only, "Bitmarks.Proof", json!({"nonce": "00"})).await, refused);
    assert_eq!(
        call(&read_only, "Bitmark.Transfer", json!({"owner": test_accounts(3)[1].account.to_base58()})).await,
        refused
    );
    assert_eq!(call(&read_only, "Node.Info", json!({})).await.unwrap()["mode"], "Normal");

    let (syncing, fake) = rpc(false, false);
    let resynchronising = Err(Fault::NotAvailableDuringSynchronise.to_string());
    assert_eq!(call(&syncing, "Bitmarks.Create", json!({"assets": [asset_json()]})).await, resynchronising);
    assert_eq!(call(&syncing, "Assets.Get", json!({"fingerprints": ["x"]})).await, resynchronising);
    let info = call(&syncing, "Node.Info", json!({})).await.unwrap();
    assert_eq!((info["mode"].as_str(), &info["peers"]), (Some("Resynchronise"), &json!(3)));
    assert!(fake.sent.lock().unwrap().is_empty(), "nothing broadcast");
}

#[tokio::test]
async fn new_assets_are_broadcast_once_and_duplicates_flagged() {
    let (rpc, fake) = rpc(true, false);
    let first = call(&rpc, "Bitmarks.Create", json!({"assets": [asset_json()]})).await.unwrap();
    let id = first["assets"][0]["id"].clone();
    assert_eq!(first["assets"], json!([{"id": id, "duplicate": false}]));
    assert_eq!((first["issues"].clone(), first["payId"].as_str().map(str::len)), (Value::Null, Some(96)));
    assert_eq!(first["payNonce"], "0000000000000000");
    assert!(first.get("payments").is_none() && first.get("difficulty").is_none(), "omitempty");
    let again = call(&rpc, "Bitmarks.Create", json!({"assets": [asset_json()]})).await.unwrap();
    assert_eq!(again["assets"], json!([{"id": id, "duplicate": true}]));
    let sent: Vec<String> = fake.sent.lock().unwrap().iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(sent, ["assets"]);
    let too_many: Vec<Value> = (0..101).map(|_| asset_json()).collect();
    assert_eq!(
        call(&rpc, "Bitmarks.Create", json!({"assets": too_many})).await,
        Err(Fault::TooManyItemsToProcess.to_string())
    );
}

#[tokio::test]
async fn node_list_pages_the_rpc_table() {
    let (rpc, _) = rpc(true, false);
    let page = call(&rpc, "Node.List", json!({"start": "0", "count": 10})).await.unwrap();
    assert_eq!(
        page,
        json!({"nodes": [{"fingerprint": hex::encode([1u8; 32]), "connections": ["1.2.3.4:2130"]}], "nextStart": "1"})
    );
    let past = call(&rpc, "Node.List", json!({"start": "5", "count": 10})).await.unwrap();
    assert_eq!(past, json!({"nodes": null, "nextStart": "0"}));
    assert_eq!(call(&rpc, "Node.List", json!({"count": 0})).await, Err(Fault::InvalidCount.to_string()));
    assert_eq!(call(&rpc, "Node.BlockDump", json!({"height": "9"})).await, Err(Fault::BlockNotFound.to_string()));
    assert_eq!(
        call(&rpc, "Transaction.Status", json!({"txId": Link::default().raw_hex()})).await.unwrap(),
        json!({"status": "Unknown"})
    );
}
