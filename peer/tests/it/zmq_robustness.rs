//! The libzmq listener under hostile and heavy use: clients without CURVE or with the wrong
//! server key, malformed and oversize messages, raw DEALER clients, a slow push next to `N`,
//! a full push queue, and the incoming-connection counter.

use crate::common::*;
use bitmark_peer::testing::{FakePool, Fixture};
use bitmark_peer::transport::options::MAX_MESSAGE_SIZE;
use bitmark_peer::transport::{CurveKeys, ListenerLimits, PeerInfo, Service, Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_peer::TransportError;
use bitmark_record::BlockDigest;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A fresh CURVE client still gets `N` answered.
fn assert_answers_n(server: &Server) {
    let mut client = server.client();
    assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(4));
}

/// Wait until `condition` holds, for at most 10 s.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A raw socket of `kind` connected to the server, with CURVE when `server_key` is given.
fn raw_socket(server: &Server, kind: zmq::SocketType, server_key: Option<[u8; 32]>) -> zmq::Socket {
    let socket = server.context.socket(kind).unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(SILENCE.as_millis() as i32).unwrap();
    socket.set_sndtimeo(SILENCE.as_millis() as i32).unwrap();
    if let Some(key) = server_key {
        let own = CurveKeys::generate().unwrap();
        socket.set_curve_publickey(&own.public).unwrap();
        socket.set_curve_secretkey(&own.secret).unwrap();
        socket.set_curve_serverkey(&key).unwrap();
    }
    socket.connect(&format!("tcp://{}", server.addr())).unwrap();
    socket
}

#[test]
fn plaintext_client_gets_nothing() {
    let server = Server::on(loopback(false));
    let socket = raw_socket(&server, zmq::REQ, None);
    socket.send_multipart([b"testing".as_slice(), b"N"], 0).unwrap();
    assert_eq!(socket.recv_multipart(0), Err(zmq::Error::EAGAIN));
    assert_answers_n(&server);
}

#[test]
fn wrong_server_key_gets_nothing() {
    let server = Server::on(loopback(false));
    let mut client = server.client_to(server.addr(), SILENCE);
    let wrong = CurveKeys::generate().unwrap().public;
    client.connect(server.addr(), wrong).unwrap();
    // IMMEDIATE: with no completed handshake the send itself times out; either way, no reply.
    assert!(matches!(client.request(&Request::Height), Err(TransportError::Timeout)));
    assert_answers_n(&server);
}

#[test]
fn any_client_key_is_accepted() {
    let server = Server::on(loopback(false));
    for _ in 0..3 {
        assert_answers_n(&server);
    }
}

#[test]
fn dealer_envelopes() {
    let server = Server::on(loopback(false));
    let dealer = raw_socket(&server, zmq::DEALER, Some(server.keys.public));
    // With the empty delimiter a DEALER is answered like a REQ, envelope echoed.
    dealer.send_multipart([b"".as_slice(), b"testing", b"N"], 0).unwrap();
    let mut reply = None;
    for _ in 0..20 {
        if let Ok(frames) = dealer.recv_multipart(0) {
            reply = Some(frames);
            break;
        }
    }
    assert_eq!(reply.unwrap(), frames(&[b"", b"N", &4u64.to_be_bytes()]));
    // A longer envelope is echoed whole.
    dealer.send_multipart([b"hop".as_slice(), b"", b"testing", b"N"], 0).unwrap();
    assert_eq!(dealer.recv_multipart(0).unwrap(), frames(&[b"hop", b"", b"N", &4u64.to_be_bytes()]));
    // Without one it is dropped, as REP drops it.
    dealer.send_multipart([b"testing".as_slice(), b"N"], 0).unwrap();
    assert_eq!(dealer.recv_multipart(0), Err(zmq::Error::EAGAIN));
    // An envelope longer than 8 frames is dropped too.
    let long: Vec<&[u8]> = [&[b"x".as_slice(); 8][..], &[b"", b"testing", b"N"]].concat();
    dealer.send_multipart(long, 0).unwrap();
    assert_eq!(dealer.recv_multipart(0), Err(zmq::Error::EAGAIN));
    assert_answers_n(&server);
}

#[test]
fn malformed_requests_are_answered_and_leave_the_listener_running() {
    let server = Server::on(loopback(false));
    let mut client = server.client();
    let t: &[u8] = b"testing";
    // bitmarkd crashes on this one.
    let short_ts = exchange(&mut client, &frames(&[t, b"R", t, b"key", b"", b"1234"]));
    assert_eq!(short_ts, frames(&[b"E", b"invalid timestamp"]));
    // Truncated packed addresses in R and in a peer announcement are stored as sent (the table
    // decides); decoding them never trusts the length byte.
    let record = bitmark_peer::wire::packed_address::pack(&"[::1]:2136".parse().unwrap());
    let truncated = &record[..10];
    let ts = 1_700_000_000u64.to_be_bytes();
    let r = exchange(&mut client, &frames(&[t, b"R", t, b"key", truncated, &ts]));
    assert_eq!(r, frames(&[b"E", b"invalid public key"]));
    let p = exchange(&mut client, &frames(&[t, b"peer", b"key2", truncated, &ts]));
    assert_eq!(p, frames(&[b"peer", b"A"]));
    assert!(bitmark_peer::wire::packed_address::unpack_all(truncated).is_empty());
    // Many frames: only the first 24 are kept, the answer is bitmarkd's.
    let many: Vec<Vec<u8>> = [frames(&[t, b"B"]), vec![vec![0u8; 8]; 100]].concat();
    assert_eq!(exchange(&mut client, &many), frames(&[b"E", b"missing parameters"]));
    assert_answers_n(&server);
}

#[test]
fn random_frames_are_always_answered() {
    let server = Server::on(loopback(false));
    let mut client = server.client();
    // A small xorshift generator: deterministic, no dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let pieces: [&[u8]; 8] = [b"testing", b"N", b"B", b"H", b"R", b"I", b"peer", b"block"];
    for _ in 0..300 {
        let count = 1 + (next() % 7) as usize;
        let request: Vec<Vec<u8>> = (0..count)
            .map(|_| match next() % 3 {
                0 => pieces[(next() % 8) as usize].to_vec(),
                1 => (0..next() % 12).map(|_| next() as u8).collect(),
                _ => (next() % 3).to_be_bytes().to_vec(),
            })
            .collect();
        let reply = exchange(&mut client, &request);
        assert!((2..=5).contains(&reply.len()), "{request:?} -> {reply:?}");
    }
    assert_answers_n(&server);
}

#[test]
fn oversize_frame_disconnects_only_the_sender() {
    let server = Server::on(loopback(false));
    let mut big = server.client_to(server.addr(), Duration::from_secs(2));
    assert_eq!(big.request(&Request::Height).unwrap(), Reply::Height(4));
    let oversize = vec![0u8; MAX_MESSAGE_SIZE as usize + 1];
    big.send(&[b"block".as_slice(), &oversize]).unwrap();
    assert!(matches!(big.receive(), Err(TransportError::Timeout)));
    assert_answers_n(&server);
    // libzmq checks the size of the frame on the wire, where CURVE adds 33 bytes (command name,
    // nonce, flags, MAC): the largest plaintext frame accepted is 33 bytes under the limit, for
    // bitmarkd too.
    let largest = MAX_MESSAGE_SIZE as usize - 33;
    let mut ok = server.client();
    let limit = vec![0u8; largest];
    assert_eq!(exchange(&mut ok, &frames(&[b"testing", b"block", &limit])), frames(&[b"block", b"A"]));
    let mut refused = server.client_to(server.addr(), Duration::from_secs(2));
    refused.send(&[b"block".as_slice(), &vec![0u8; largest + 1]]).unwrap();
    assert!(matches!(refused.receive(), Err(TransportError::Timeout)));
}

#[test]
fn slow_push_does_not_delay_n() {
    let push_time = Duration::from_secs(2);
    let server = Server::start(vec![loopback(false)], FakePool::slow(push_time), ListenerLimits::default());
    let pool = server.fixture.pool.clone();
    let mut pusher = server.client();
    let started = Instant::now();
    let push = std::thread::spawn(move || pusher.request(&Request::Push(Push::Block(b"slow".to_vec()))).unwrap());
    eventually("the push to start", || pool.started() == 1);

    let mut poller = server.client();
    for _ in 0..5 {
        let asked = Instant::now();
        assert_eq!(poller.request(&Request::Height).unwrap(), Reply::Height(4));
        let took = asked.elapsed();
        println!("N answered in {took:?} while the push runs");
        assert!(took < Duration::from_millis(500), "N took {took:?}");
        assert_eq!(pool.finished(), 0, "the push should still be running");
    }
    assert_eq!(push.join().unwrap(), Reply::Ack(b"block".to_vec()));
    assert!(started.elapsed() >= push_time);
    assert_eq!(pool.finished(), 1);
}

#[test]
fn full_push_queue_acknowledges_and_drops() {
    let limits = ListenerLimits { push_workers: 1, push_queue: 1, ..ListenerLimits::default() };
    let push_time = Duration::from_secs(1);
    let server = Server::start(vec![loopback(false)], FakePool::slow(push_time), limits);
    let pool = server.fixture.pool.clone();
    let spawn_push = |client: ZmqClient, name: &'static [u8]| {
        let mut client = client;
        std::thread::spawn(move || client.request(&Request::Push(Push::Transfer(name.to_vec()))).unwrap())
    };
    let first = spawn_push(server.client(), b"first");
    eventually("the first push to start", || pool.started() == 1);
    let second = spawn_push(server.client(), b"second");
    // Let the second reach the queue (it cannot start: the one worker is busy).
    std::thread::sleep(Duration::from_millis(200));
    let mut third = server.client();
    let asked = Instant::now();
    assert_eq!(
        third.request(&Request::Push(Push::Transfer(b"third".to_vec()))).unwrap(),
        Reply::Ack(b"transfer".to_vec())
    );
    assert!(asked.elapsed() < push_time / 2, "the dropped push was acknowledged at once");
    for handle in [first, second] {
        assert_eq!(handle.join().unwrap(), Reply::Ack(b"transfer".to_vec()));
    }
    let payloads: Vec<Vec<u8>> = pool.submitted().into_iter().map(|(_, p)| p).collect();
    assert_eq!(payloads, frames(&[b"first", b"second"]));
}

#[test]
fn counts_incoming_connections() {
    let server = Server::on(loopback(false));
    assert_eq!(server.listener.incoming_connections(), 0);
    let mut a = server.client();
    let mut b = server.client();
    a.request(&Request::Height).unwrap();
    b.request(&Request::Height).unwrap();
    eventually("two connections", || server.listener.incoming_connections() == 2);
    a.close();
    eventually("one connection", || server.listener.incoming_connections() == 1);
    drop(b);
    eventually("no connection", || server.listener.incoming_connections() == 0);
}

#[test]
fn shutdown_releases_the_port() {
    let server = Server::on(loopback(false));
    let addr = server.addr();
    assert_answers_n(&server);
    let Server { listener, .. } = server;
    listener.shutdown();
    // libzmq closes the descriptor on its own I/O thread, shortly after.
    eventually("the port to be free", || std::net::TcpListener::bind(addr).is_ok());
}

/// A service with scripted behaviour: `H` is slow, `B 666` panics, `N` is quick (and answered
/// at once, without a worker, when `at_once`); it records who asked.
struct Scripted {
    slow: Duration,
    at_once: bool,
    seen: Mutex<Vec<PeerInfo>>,
}

impl Service for Scripted {
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply {
        self.seen.lock().unwrap().push(peer.clone());
        match request {
            Request::Digest(_) => {
                std::thread::sleep(self.slow);
                Reply::Digest(BlockDigest([1; 32]))
            }
            Request::Block(666) => panic!("scripted panic"),
            Request::Height => Reply::Height(4),
            _ => Reply::Error("unexpected".into()),
        }
    }

    fn answers_at_once(&self, request: &Request) -> bool {
        self.at_once && matches!(request, Request::Height)
    }
}

fn scripted(slow: Duration, limits: ListenerLimits) -> (Server, Arc<Scripted>) {
    scripted_with(slow, limits, false)
}

fn scripted_with(slow: Duration, limits: ListenerLimits, at_once: bool) -> (Server, Arc<Scripted>) {
    let service = Arc::new(Scripted { slow, at_once, seen: Mutex::new(vec![]) });
    let fixture = Fixture::new(CHAIN, 0, FakePool::default());
    (Server::serving(vec![loopback(false)], service.clone(), fixture, limits), service)
}

/// The one query worker busy with a slow `H` and a second `H` waiting behind it: an `N` asked
/// meanwhile is answered at once, both `H` in the end, and the service saw each sender's
/// address and routing id. What the service saw.
fn n_beside_two_slow_digests(limits: ListenerLimits, at_once: bool) -> Vec<PeerInfo> {
    let slow = Duration::from_secs(1);
    let (server, service) = scripted_with(slow, limits, at_once);
    let spawn_digest = |mut client: ZmqClient| std::thread::spawn(move || client.request(&Request::Digest(5)).unwrap());
    let first = spawn_digest(server.client());
    eventually("the first H to reach the service", || service.seen.lock().unwrap().len() == 1);
    let second = spawn_digest(server.client());
    std::thread::sleep(Duration::from_millis(200));
    let mut poller = server.client();
    let asked = Instant::now();
    assert_eq!(poller.request(&Request::Height).unwrap(), Reply::Height(4));
    assert!(asked.elapsed() < slow / 2, "N took {:?}", asked.elapsed());
    for handle in [first, second] {
        assert_eq!(handle.join().unwrap(), Reply::Digest(BlockDigest([1; 32])));
    }
    let seen = service.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|p| p.address.as_deref() == Some("127.0.0.1") && !p.routing_id.is_empty()), "{seen:?}");
    seen
}

#[test]
fn full_query_queue_answers_inline() {
    // The queue holds one, the second H: N is answered inline.
    n_beside_two_slow_digests(ListenerLimits { query_workers: 1, query_queue: 1, ..ListenerLimits::default() }, false);
}

#[test]
fn what_the_service_answers_at_once_never_waits_for_a_worker() {
    // The queue has room to spare: an N through the lane would wait for both H (two seconds).
    let limits = ListenerLimits { query_workers: 1, query_queue: 8, ..ListenerLimits::default() };
    let seen = n_beside_two_slow_digests(limits, true);
    assert_eq!(seen.len(), 3, "the N reached the service too");
}

#[test]
fn a_panicking_service_costs_only_that_reply() {
    let (server, _) = scripted(Duration::ZERO, ListenerLimits::default());
    let mut client = server.client_to(server.addr(), SILENCE);
    assert!(matches!(client.request(&Request::Block(666)), Err(TransportError::Timeout)));
    // REQ_RELAXED: the same client can go on.
    assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(4));
    assert_answers_n(&server);
}
