//! The capture hook on real sockets: a tapped listener shows every exchange — answered by a
//! worker, refused on the socket thread, or a push dropped from a full queue — with the frames
//! as they were on the wire and the client's CURVE key (from the listener's ZAP handler); a
//! tapped client shows its requests, their replies, and failures.

mod common;

use bitmark_peer::capture::{Direction, Tap};
use bitmark_peer::testing::{FakePool, Fixture, RecordingTap};
use bitmark_peer::transport::{
    ClientConfig, CurveKeys, ListenerConfig, ListenerLimits, Transport, ZmqClient, ZmqListener,
};
use bitmark_peer::wire::{Reply, Request};
use common::{conformance, exchange, loopback, Frames, ANSWER_TIMEOUT, CHAIN};
use std::sync::Arc;
use std::time::Duration;

struct Tapped {
    context: zmq::Context,
    keys: CurveKeys,
    fixture: Fixture,
    listener: ZmqListener,
    tap: Arc<RecordingTap>,
}

impl Tapped {
    fn start(pool: FakePool, limits: ListenerLimits) -> Tapped {
        let context = zmq::Context::new();
        let keys = CurveKeys::generate().unwrap();
        let fixture = Fixture::new(CHAIN, 3, pool);
        let tap = Arc::new(RecordingTap::default());
        let config = ListenerConfig { chain: CHAIN, listen: vec![loopback(false)], secret_key: keys.secret, limits };
        let listener = ZmqListener::start_tapped(
            &context,
            config,
            fixture.handler.clone(),
            Some(Arc::clone(&tap) as Arc<dyn Tap>),
        )
        .unwrap();
        Tapped { context, keys, fixture, listener, tap }
    }

    fn client(&self, keys: &CurveKeys) -> ZmqClient {
        let mut config = ClientConfig::new(CHAIN, keys.clone());
        config.send_timeout = ANSWER_TIMEOUT;
        config.receive_timeout = ANSWER_TIMEOUT;
        let mut client = ZmqClient::new(&self.context, config);
        client.connect(self.listener.local_addrs()[0], self.keys.public).unwrap();
        client
    }
}

#[test]
fn every_exchange_of_the_listener_is_shown_with_the_wire_frames_and_the_client_key() {
    let server = Tapped::start(FakePool::default(), ListenerLimits::default());
    let keys = CurveKeys::generate().unwrap();
    let mut client = server.client(&keys);
    let mut seen: Vec<(Frames, Frames)> = Vec::new();
    conformance(&server.fixture, Some(&keys.public), &mut |request| {
        let reply = exchange(&mut client, request);
        seen.push((request.to_vec(), reply.clone()));
        reply
    });
    // More frames than the listener keeps (24 with the REQ envelope of routing id, correlation
    // id and delimiter): the record holds the 21 request frames it read.
    let long: Frames = std::iter::repeat_n(b"x".to_vec(), 30).collect();
    let reply = exchange(&mut client, &long);
    seen.push((long[..21].to_vec(), reply));

    let tapped = server.tap.exchanges();
    assert_eq!(tapped.len(), seen.len());
    for (exchange, (request, reply)) in tapped.iter().zip(&seen) {
        assert_eq!(exchange.direction, Direction::In);
        assert_eq!(&exchange.request, request);
        assert_eq!(exchange.reply.as_ref(), Some(reply), "{request:?}");
        assert_eq!((&exchange.error, exchange.dropped), (&None, false));
        assert_eq!(exchange.peer.address.as_deref(), Some("127.0.0.1"));
        assert!(!exchange.peer.routing_id.is_empty());
        assert_eq!(exchange.peer.public_key.as_deref(), Some(keys.public.as_slice()), "the client's CURVE key");
    }
    // Refused on the socket thread (bad chain) and answered by workers alike.
    assert!(tapped.iter().any(|e| e.request.first().is_some_and(|c| c == b"bitmark")));
}

#[test]
fn a_push_dropped_from_a_full_queue_is_shown_as_dropped() {
    let limits = ListenerLimits { push_workers: 1, push_queue: 1, ..ListenerLimits::default() };
    let server = Tapped::start(FakePool::slow(Duration::from_millis(300)), limits);
    let mut clients: Vec<ZmqClient> = (0..4).map(|_| server.client(&CurveKeys::generate().unwrap())).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        client.send(&[b"transfer".to_vec(), vec![i as u8]]).unwrap();
    }
    for client in &mut clients {
        assert_eq!(client.receive().unwrap(), vec![b"transfer".to_vec(), b"A".to_vec()]);
    }
    // Each push is shown once, after it was processed or dropped.
    assert!(common_eventually(|| server.tap.exchanges().len() == 4));
    let tapped = server.tap.exchanges();
    let dropped = tapped.iter().filter(|e| e.dropped).count();
    assert!(dropped >= 1, "{tapped:?}");
    assert_eq!(server.fixture.pool.submitted().len(), 4 - dropped, "dropped pushes were never processed");
    assert!(tapped.iter().all(|e| e.reply == Some(vec![b"transfer".to_vec(), b"A".to_vec()])));
}

#[test]
fn a_tapped_client_shows_its_requests_replies_and_failures() {
    let server = Tapped::start(FakePool::default(), ListenerLimits::default());
    let tap = Arc::new(RecordingTap::default());
    let mut client = server.client(&CurveKeys::generate().unwrap());
    client.set_tap(Some(Arc::clone(&tap) as Arc<dyn Tap>));
    assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(4));
    assert_eq!(client.request(&Request::Block(9)).unwrap(), Reply::Error("block not found".into()));

    // Nobody listens here: the send waits for a connection and times out.
    let mut config = ClientConfig::new(CHAIN, CurveKeys::generate().unwrap());
    config.send_timeout = Duration::from_millis(200);
    let mut dead = ZmqClient::new(&server.context, config);
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    dead.connect(nowhere, [7; 32]).unwrap();
    dead.set_tap(Some(Arc::clone(&tap) as Arc<dyn Tap>));
    assert!(dead.request(&Request::Info).is_err());

    let tapped = tap.exchanges();
    assert_eq!(tapped.len(), 3);
    let addr = server.listener.local_addrs()[0].to_string();
    assert_eq!(tapped[0].direction, Direction::Out);
    assert_eq!(tapped[0].peer.address.as_deref(), Some(addr.as_str()));
    assert_eq!(tapped[0].peer.public_key.as_deref(), Some(server.keys.public.as_slice()));
    assert_eq!(tapped[0].request, Request::Height.to_frames(CHAIN));
    assert_eq!(tapped[0].reply, Some(Reply::Height(4).to_frames()));
    assert_eq!(tapped[1].reply, Some(vec![b"E".to_vec(), b"block not found".to_vec()]));
    assert_eq!(tapped[2].request, Request::Info.to_frames(CHAIN));
    assert_eq!((tapped[2].reply.as_ref(), tapped[2].error.as_deref()), (None, Some("timed out")));
    assert_eq!(tapped[2].peer.public_key.as_deref(), Some([7u8; 32].as_slice()));
    // The listener saw the two that reached it.
    assert_eq!(server.tap.exchanges().len(), 2);
}

fn common_eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + ANSWER_TIMEOUT;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
