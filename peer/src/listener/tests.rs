//! Handler behaviour beyond the wire texts (those are in `peer/tests/protocol.rs`): which pushes
//! reach the pool, in which mode, and what gets relayed; typed requests over the in-memory
//! transport.

use crate::error::PeerError;
use crate::testing::{FakePool, Fixture, GENESIS};
use crate::transport::{MemoryNetwork, PeerInfo, Service, Transport};
use crate::wire::{Push, Reply, Request, ServerInfo};
use bitmark_record::{BlockDigest, Chain, Fault};
use std::net::SocketAddr;

const CHAIN: Chain = Chain::Local;

fn handle(fixture: &Fixture, request: Request) -> Reply {
    fixture.handler.handle(&PeerInfo::default(), request)
}

fn pushes() -> Vec<Push> {
    vec![
        Push::Block(b"blk".to_vec()),
        Push::Assets(b"a".to_vec()),
        Push::Issues(b"i".to_vec()),
        Push::Transfer(b"t".to_vec()),
        Push::Proof(b"p".to_vec()),
    ]
}

#[test]
fn pushes_reach_the_pool_and_are_relayed() {
    let fixture = Fixture::new(CHAIN, 2, FakePool::default());
    for push in pushes() {
        assert_eq!(handle(&fixture, Request::Push(push.clone())), Reply::Ack(push.command().to_vec()));
    }
    let kinds: Vec<_> = fixture.pool.submitted().into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["block", "assets", "issues", "transfer", "proof"]);
    assert_eq!(fixture.relay.items(), pushes());
}

#[test]
fn nothing_reaches_the_pool_while_resynchronising() {
    let fixture = Fixture::new(CHAIN, 2, FakePool::default());
    fixture.chain.set_normal(false);
    for push in pushes() {
        assert_eq!(handle(&fixture, Request::Push(push.clone())), Reply::Ack(push.command().to_vec()));
    }
    assert!(fixture.pool.submitted().is_empty());
    assert!(fixture.relay.items().is_empty());
    // Announcements are taken in any mode.
    let peer = Push::Peer { public_key: b"k".to_vec(), listeners: vec![], timestamp: 1 };
    let rpc = Push::Rpc { fingerprint: b"f".to_vec(), listeners: vec![], timestamp: 1 };
    handle(&fixture, Request::Push(peer.clone()));
    handle(&fixture, Request::Push(rpc.clone()));
    assert_eq!(fixture.relay.items(), [peer, rpc]);
    assert_eq!(fixture.peers.peers().len(), 1);
    assert_eq!(fixture.peers.rpcs().len(), 1);
    assert!(matches!(handle(&fixture, Request::Info), Reply::Info(ServerInfo { normal: false, .. })));
}

#[test]
fn refused_empty_and_known_items_are_not_relayed() {
    let fixture = Fixture::new(CHAIN, 2, FakePool::refusing(Fault::TransactionAlreadyExists));
    handle(&fixture, Request::Push(Push::Transfer(b"t".to_vec())));
    assert_eq!(fixture.pool.submitted().len(), 1);
    // Empty transactions never reach the pool (MissingParameters); an empty block does.
    for push in [Push::Assets(vec![]), Push::Issues(vec![]), Push::Transfer(vec![]), Push::Proof(vec![])] {
        handle(&fixture, Request::Push(push));
    }
    assert_eq!(fixture.pool.submitted().len(), 1);
    handle(&fixture, Request::Push(Push::Block(vec![])));
    assert_eq!(fixture.pool.submitted().len(), 2);
    // A peer announced twice is relayed once (the table says the second is not new).
    let peer = Push::Peer { public_key: b"k".to_vec(), listeners: vec![], timestamp: 1 };
    handle(&fixture, Request::Push(peer.clone()));
    handle(&fixture, Request::Push(peer.clone()));
    // Unknown commands are acknowledged and ignored.
    let other = Push::Other { command: b"heart".to_vec(), params: vec![] };
    assert_eq!(handle(&fixture, Request::Push(other)), Reply::Ack(b"heart".to_vec()));
    assert_eq!(fixture.relay.items(), [peer]);
}

#[test]
fn register_adds_the_requester_and_names_another() {
    let fixture = Fixture::new(CHAIN, 2, FakePool::default());
    let register = |key: &[u8], ts| Request::Register {
        chain: CHAIN,
        public_key: key.to_vec(),
        listeners: b"L".to_vec(),
        timestamp: ts,
    };
    assert_eq!(handle(&fixture, register(b"k1", 10)), Reply::from(Fault::InvalidPublicKey));
    assert_eq!(
        handle(&fixture, register(b"k2", 20)),
        Reply::Registered { chain: CHAIN, public_key: b"k1".to_vec(), listeners: b"L".to_vec(), timestamp: 10 }
    );
    assert_eq!(fixture.peers.peers().len(), 2);
    // Registration is not relayed.
    assert!(fixture.relay.items().is_empty());
}

#[test]
fn register_must_claim_the_key_the_connection_authenticated_with() {
    let fixture = Fixture::new(CHAIN, 2, FakePool::default());
    let register = |key: &[u8]| Request::Register {
        chain: CHAIN,
        public_key: key.to_vec(),
        listeners: b"L".to_vec(),
        timestamp: 10,
    };
    let from = |key: [u8; 32]| PeerInfo { public_key: Some(key.to_vec()), ..PeerInfo::default() };
    let now = std::time::Instant::now();
    // Its own key: taken, and nothing against it (alone in the table: bitmarkd's refusal).
    let honest = [1u8; 32];
    assert_eq!(fixture.handler.handle(&from(honest), register(&honest)), Reply::from(Fault::InvalidPublicKey));
    assert_eq!(fixture.peers.peers().len(), 1);
    assert_eq!(fixture.scores.standing(&honest, now).points, 0.0);
    // Another node's key: refused with the same text, not stored, and its sender banned.
    let impostor = [2u8; 32];
    assert_eq!(fixture.handler.handle(&from(impostor), register(&[3; 32])), Reply::from(Fault::InvalidPublicKey));
    assert_eq!(fixture.handler.handle(&from(impostor), register(&honest)), Reply::from(Fault::InvalidPublicKey));
    assert_eq!(fixture.peers.peers().len(), 1);
    assert!(fixture.scores.standing(&impostor, now).is_banned());
    assert_eq!(fixture.scores.standing(&honest, now).points, 0.0);
    // A transport that authenticates nobody (in memory, a replay from a file) checks nothing.
    assert!(matches!(handle(&fixture, register(&[4; 32])), Reply::Registered { .. }));
}

#[test]
fn typed_requests_over_the_memory_network() {
    let fixture = Fixture::new(CHAIN, 3, FakePool::default());
    let network = MemoryNetwork::new();
    let addr: SocketAddr = "10.0.0.1:22136".parse().unwrap();
    network.listen(addr, CHAIN, fixture.handler.clone());
    let mut client = network.connect(addr, CHAIN, "client-1");
    assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(4));
    assert_eq!(client.request(&Request::Digest(1)).unwrap(), Reply::Digest(GENESIS));
    assert_eq!(client.request(&Request::Digest(3)).unwrap(), Reply::Digest(BlockDigest([3; 32])));
    assert_eq!(client.request(&Request::Block(2)).unwrap(), Reply::Block(b"block-2".to_vec()));
    assert_eq!(client.request(&Request::Block(7)).unwrap(), Reply::from(Fault::BlockNotFound));
    assert_eq!(
        client.request(&Request::Info).unwrap(),
        Reply::Info(ServerInfo { version: "zero".into(), chain: "local".into(), normal: true, height: 4 })
    );
    let push = Request::Push(Push::Proof(b"p".to_vec()));
    assert_eq!(client.request(&push).unwrap(), Reply::Ack(b"proof".to_vec()));

    // A client of another chain gets bitmarkd's error reply.
    let mut stranger = network.connect(addr, Chain::Testing, "client-2");
    assert_eq!(
        stranger.request(&Request::Height).unwrap(),
        Reply::Error(r#"invalid chain: actual: "testing"  expect: local"#.into())
    );
    // Nobody listening: the request times out, as on a socket.
    network.remove(addr);
    assert!(matches!(client.request(&Request::Height), Err(PeerError::Timeout)));
}
