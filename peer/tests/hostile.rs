//! Hostile peers against the libzmq listener (real sockets, CURVE) and the request handler:
//! garbage, empty and overlong messages, oversize frames, plaintext and raw-TCP connections,
//! other chains, registration floods and reconnect storms. Throughout each attack an honest
//! client asks `N` every 20 ms ([`Prober`]); every probe must get the right height within the
//! client's timeout, and the latencies are printed (`--nocapture`) for the README's figures.
//!
//! Counts are small so the file runs in seconds; `make soak` runs the `#[ignore]`d larger ones.
//! Floods against a whole node (pushes into the real reservoir, silent and forging upstreams)
//! are in `tests/tests/hostile.rs`.

mod common;

use bitmark_peer::announce::{Announcer, TableLimits};
use bitmark_peer::clock::{Clock, SystemClock};
use bitmark_peer::listener::Handler;
use bitmark_peer::testing::{FakePool, Fixture, Prober};
use bitmark_peer::transport::{ClientConfig, CurveKeys, ListenerLimits, Transport, ZmqClient};
use bitmark_peer::wire::packed_address::pack;
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_peer::PeerError;
use bitmark_record::Chain;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The fixture's height: genesis and 3 blocks.
const HEIGHT: u64 = 4;
/// How often the honest client asks.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// Default and soak sizes of an attack.
fn scale(default: usize, soak: usize, soaking: bool) -> usize {
    if soaking {
        soak
    } else {
        default
    }
}

/// The attackers' libzmq context: its own I/O thread, as on another machine (a client on the
/// server's context would share the server's I/O thread, and encrypting a 16 MiB frame there
/// would hold up the server's other connections, which a remote attacker cannot do).
fn attackers() -> &'static zmq::Context {
    static CONTEXT: OnceLock<zmq::Context> = OnceLock::new();
    CONTEXT.get_or_init(zmq::Context::new)
}

/// A CURVE client of `server` running `chain`, on `context`.
fn client_on(context: &zmq::Context, server: &Server, chain: Chain, timeout: Duration) -> ZmqClient {
    client_of(context, server, chain, timeout, &CurveKeys::generate().unwrap())
}

/// An attacker's CURVE client with the key pair `keys`.
fn client_on_with(context: &zmq::Context, server: &Server, keys: &CurveKeys) -> ZmqClient {
    client_of(context, server, CHAIN, ANSWER_TIMEOUT, keys)
}

fn client_of(context: &zmq::Context, server: &Server, chain: Chain, timeout: Duration, keys: &CurveKeys) -> ZmqClient {
    let mut config = ClientConfig::new(chain, keys.clone());
    config.send_timeout = timeout;
    config.receive_timeout = timeout;
    let mut client = ZmqClient::new(context, config);
    client.connect(server.addr(), server.keys.public).unwrap();
    client
}

/// An attacker's CURVE REQ client (it may also behave).
fn attacker(server: &Server) -> ZmqClient {
    client_on(attackers(), server, CHAIN, ANSWER_TIMEOUT)
}

/// An honest client of `server` probing `N`, on a context of its own.
fn prober(server: &Server) -> Prober {
    Prober::start(client_on(&zmq::Context::new(), server, CHAIN, ANSWER_TIMEOUT), HEIGHT, PROBE_INTERVAL)
}

/// Run `attack` on `threads` threads at once (each gets its index) and wait for all.
fn in_parallel(threads: usize, attack: impl Fn(usize) + Send + Sync) {
    std::thread::scope(|scope| {
        let attack = &attack;
        let handles: Vec<_> = (0..threads).map(|i| scope.spawn(move || attack(i))).collect();
        for handle in handles {
            handle.join().expect("an attacker thread panicked");
        }
    });
}

/// Wait until `condition` holds, for at most [`ANSWER_TIMEOUT`].
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A CURVE DEALER of `server`: it can send anything, envelope or not, without waiting.
fn dealer(server: &Server) -> zmq::Socket {
    let socket = attackers().socket(zmq::DEALER).unwrap();
    let own = CurveKeys::generate().unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(ANSWER_TIMEOUT.as_millis() as i32).unwrap();
    socket.set_curve_publickey(&own.public).unwrap();
    socket.set_curve_secretkey(&own.secret).unwrap();
    socket.set_curve_serverkey(&server.keys.public).unwrap();
    socket.connect(&format!("tcp://{}", server.addr())).unwrap();
    socket
}

fn random_frames(rng: &mut StdRng) -> Frames {
    let pieces: [&[u8]; 10] = [b"testing", b"N", b"B", b"H", b"R", b"I", b"peer", b"block", b"issues", b""];
    (0..rng.gen_range(1..8))
        .map(|_| match rng.gen_range(0..4) {
            0 => pieces[rng.gen_range(0..pieces.len())].to_vec(),
            1 => rng.gen_range(0u64..6).to_be_bytes().to_vec(),
            _ => {
                let mut bytes = vec![0u8; rng.gen_range(0..64)];
                rng.fill_bytes(&mut bytes);
                bytes
            }
        })
        .collect()
}

fn random_garbage(soaking: bool) {
    let server = Server::on(loopback(false));
    let probe = prober(&server);
    let per_client = scale(1_000, 25_000, soaking);
    in_parallel(4, |i| {
        let mut rng = StdRng::seed_from_u64(i as u64);
        let mut client = attacker(&server);
        for _ in 0..per_client {
            let request = random_frames(&mut rng);
            let reply = exchange(&mut client, &request);
            assert!((2..=5).contains(&reply.len()), "{request:?} -> {reply:?}");
        }
    });
    probe.finish().assert_all_answered(&format!("random garbage ({} messages)", 4 * per_client), 1);
}

#[test]
fn random_garbage_is_answered_and_n_keeps_flowing() {
    random_garbage(false);
}

#[test]
#[ignore = "soak: make soak"]
fn soak_random_garbage() {
    random_garbage(true);
}

#[test]
fn empty_and_overlong_messages() {
    let server = Server::on(loopback(false));
    let probe = prober(&server);
    let too_short = |envelope: &[&[u8]]| [frames(envelope), frames(&[b"E", b"packet too short"])].concat();
    // Pipelined from DEALERs: empty bodies, one empty frame, and 1000-frame requests, 200 each
    // per connection, sent before reading any reply.
    let rounds = 200;
    in_parallel(3, |_| {
        let socket = dealer(&server);
        for _ in 0..rounds {
            socket.send_multipart([b"".as_slice()], 0).unwrap();
            socket.send_multipart([b"".as_slice(), b""], 0).unwrap();
            let mut many = frames(&[b"", b"testing", b"N"]);
            many.extend(std::iter::repeat_n(vec![7u8; 16], 997));
            socket.send_multipart(many, 0).unwrap();
        }
        // Refusals are answered on the socket thread, `N` by a worker: a pipelining DEALER
        // may see them in another order (a REQ, which cannot pipeline, never does).
        let mut replies: Vec<Frames> = (0..3 * rounds).map(|_| socket.recv_multipart(0).unwrap()).collect();
        replies.sort();
        let mut expected = vec![too_short(&[b""]); 2 * rounds];
        expected.extend(vec![frames(&[b"", b"N", &HEIGHT.to_be_bytes()]); rounds]);
        expected.sort();
        assert!(replies == expected, "replies differ from 2 x {rounds} refusals and {rounds} heights");
    });
    // 1000 frames with no envelope delimiter are dropped as REP drops them: no reply, and the
    // same connection is answered afterwards.
    let socket = dealer(&server);
    socket.send_multipart(vec![vec![1u8; 1024]; 1000], 0).unwrap();
    socket.send_multipart([b"".as_slice(), b"testing", b"N"], 0).unwrap();
    assert_eq!(socket.recv_multipart(0).unwrap(), frames(&[b"", b"N", &HEIGHT.to_be_bytes()]));
    // A REQ sending one empty frame, and 1000 empty frames.
    let mut client = attacker(&server);
    assert_eq!(exchange(&mut client, &frames(&[b""])), too_short(&[]));
    let reply = exchange(&mut client, &vec![vec![]; 1000]);
    assert_eq!(reply, frames(&[b"E", br#"invalid chain: actual: ""  expect: testing"#]));
    probe.finish().assert_all_answered("empty and 1000-frame messages (1800 pipelined)", 1);
}

#[test]
fn oversize_frames_cost_only_their_senders() {
    const SIXTEEN_MIB: usize = 16 << 20;
    let server = Server::on(loopback(false));
    let probe = prober(&server);
    eventually("the prober's connection", || server.listener.incoming_connections() == 1);
    in_parallel(3, |_| {
        let mut big = client_on(attackers(), &server, CHAIN, Duration::from_secs(3));
        assert_eq!(big.request(&Request::Height).unwrap(), Reply::Height(HEIGHT));
        big.send(&[b"block".as_slice(), &vec![0x5a; SIXTEEN_MIB]]).unwrap();
        // libzmq's MAXMSGSIZE drops the connection: no reply.
        assert!(matches!(big.receive(), Err(PeerError::Timeout)));
    });
    // The dropped senders leave nothing behind.
    eventually("only the prober connected", || server.listener.incoming_connections() == 1);
    assert!(server.fixture.pool.submitted().is_empty());
    probe.finish().assert_all_answered("16 MiB frames from 3 clients", 1);
}

/// A ZMTP 3.0 greeting offering `mechanism` (the first 64 bytes of any libzmq connection).
fn zmtp_greeting(mechanism: &[u8]) -> Vec<u8> {
    let mut greeting = vec![0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0];
    let mut name = mechanism.to_vec();
    name.resize(20, 0);
    greeting.extend(name);
    greeting.push(0); // as-server
    greeting.resize(64, 0);
    greeting
}

/// Whether the server closes `stream` (EOF or reset) within [`ANSWER_TIMEOUT`], reading and
/// discarding whatever it sends first (its own greeting).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn plaintext_and_raw_tcp_are_refused() {
    let server = Server::on(loopback(false));
    let probe = prober(&server);
    eventually("the prober's connection", || server.listener.incoming_connections() == 1);
    // ZMQ without CURVE: the handshake fails, nothing reaches the handler.
    in_parallel(4, |_| {
        let socket = attackers().socket(zmq::REQ).unwrap();
        socket.set_linger(0).unwrap();
        socket.set_sndtimeo(SILENCE.as_millis() as i32).unwrap();
        socket.set_rcvtimeo(SILENCE.as_millis() as i32).unwrap();
        socket.connect(&format!("tcp://{}", server.addr())).unwrap();
        let _ = socket.send_multipart([b"testing".as_slice(), b"block", b"plain"], 0);
        assert_eq!(socket.recv_multipart(0), Err(zmq::Error::EAGAIN));
    });
    // Raw TCP: random bytes, a NULL-mechanism greeting, a CURVE greeting followed by garbage
    // instead of HELLO. The server hangs up on every one.
    let mut rng = StdRng::seed_from_u64(9);
    let mut openings: Vec<Vec<u8>> = (0..20)
        .map(|_| {
            let mut junk = vec![0u8; rng.gen_range(64..4096)];
            rng.fill_bytes(&mut junk);
            junk
        })
        .collect();
    openings.push(zmtp_greeting(b"NULL"));
    openings.push(zmtp_greeting(b"PLAIN"));
    openings.push([zmtp_greeting(b"CURVE"), vec![0x04; 300]].concat());
    for opening in &openings {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        // The server may hang up before all of it is written.
        let _ = stream.write_all(opening);
        assert!(closed_by_server(&mut stream), "connection kept open after {:?}", &opening[..16]);
    }
    // Silent connections are held until libzmq's handshake timeout; N flows meanwhile.
    let silent: Vec<TcpStream> = (0..50).map(|_| TcpStream::connect(server.addr()).unwrap()).collect();
    eventually("50 silent connections counted", || server.listener.incoming_connections() == 51);
    assert!(server.fixture.pool.submitted().is_empty());
    std::thread::sleep(Duration::from_millis(300));
    let report = probe.finish();
    drop(silent);
    eventually("no connection left", || server.listener.incoming_connections() == 0);
    report.assert_all_answered("plaintext ZMQ and raw TCP (4 + 23 refused, 50 silent)", 1);
}

#[test]
fn other_chains_get_bitmarkds_refusal() {
    let server = Server::on(loopback(false));
    let probe = prober(&server);
    in_parallel(2, |i| {
        let chain = [Chain::Bitmark, Chain::Local][i];
        let mut client = client_on(attackers(), &server, chain, ANSWER_TIMEOUT);
        let refusal = Reply::Error(format!("invalid chain: actual: {:?}  expect: testing", chain.name()));
        for request in [Request::Height, Request::Info, Request::Block(2), Request::Push(Push::Block(vec![1]))]
            .iter()
            .cycle()
            .take(500)
        {
            assert_eq!(client.request(request).unwrap(), refusal);
        }
    });
    // An `R` from our chain naming another in its parameters.
    let mut client = attacker(&server);
    let ts = SystemClock.unix_seconds().to_be_bytes();
    let reply = exchange(&mut client, &frames(&[b"testing", b"R", b"bitmark", &[1; 32], b"", &ts]));
    assert_eq!(reply, frames(&[b"E", b"incorrect chain"]));
    // Nothing was pushed or registered.
    assert!(server.fixture.pool.submitted().is_empty() && server.fixture.peers.peers().is_empty());
    probe.finish().assert_all_answered("other chains (1000 requests)", 1);
}

/// A server whose handler keeps peers in a real announce table bounded to `max_peers`, and
/// reports offences to the fixture's score board.
fn server_with_table(max_peers: usize) -> (Server, Arc<Announcer>) {
    let fixture = Fixture::new(CHAIN, 3, FakePool::default());
    let limits = TableLimits { max_peers, ..TableLimits::default() };
    let own = CurveKeys::generate().unwrap().public;
    let table = Arc::new(Announcer::new(own, &[], limits, Arc::new(SystemClock)));
    let handler =
        Handler::new("zero", fixture.chain.clone(), fixture.pool.clone(), table.clone(), fixture.relay.clone())
            .with_scores(fixture.scores.clone(), Arc::new(SystemClock));
    (Server::serving(vec![loopback(false)], Arc::new(handler), fixture, ListenerLimits::default()), table)
}

fn registration_flood(soaking: bool) {
    const MAX_PEERS: usize = 64;
    let (server, table) = server_with_table(MAX_PEERS);
    let scores = server.fixture.scores.clone();
    let probe = prober(&server);
    let largest = Arc::new(AtomicUsize::new(0));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (table, largest, sampling) = (table.clone(), largest.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                largest.fetch_max(table.peer_count(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let per_connection = scale(200, 2_000, soaking);
    let connections = scale(25, 50, soaking);
    let registered = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    in_parallel(connections, |i| {
        let mut rng = StdRng::seed_from_u64(1000 + i as u64);
        let own = CurveKeys::generate().unwrap();
        let mut client = client_on_with(attackers(), &server, &own);
        // Its own key first: taken (or alone in the table, bitmarkd's refusal).
        let own_registration = Request::Register {
            chain: CHAIN,
            public_key: own.public.to_vec(),
            listeners: pack(&SocketAddr::from(([127, 0, 1, i as u8], 2136))).to_vec(),
            timestamp: SystemClock.unix_seconds(),
        };
        assert!(matches!(client.request(&own_registration).unwrap(), Reply::Registered { .. } | Reply::Error(_)));
        for n in 0..per_connection {
            let mut key = vec![0u8; 32];
            rng.fill_bytes(&mut key);
            let addr = SocketAddr::from(([127, 0, rng.gen(), rng.gen_range(1..255)], rng.gen_range(1024..65535)));
            let timestamp = SystemClock.unix_seconds();
            let request = if n % 4 == 3 {
                Request::Push(Push::Peer { public_key: key, listeners: pack(&addr).to_vec(), timestamp })
            } else {
                Request::Register { chain: CHAIN, public_key: key, listeners: pack(&addr).to_vec(), timestamp }
            };
            match client.request(&request).unwrap() {
                Reply::Registered { .. } => {
                    registered.fetch_add(1, Ordering::SeqCst);
                }
                Reply::Ack(command) => assert_eq!(command, b"peer"),
                // Every R here claims another key than the connection's.
                Reply::Error(text) if text == "invalid public key" => {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
                other => panic!("{request:?} -> {other:?}"),
            }
        }
    });
    sampling.store(false, Ordering::SeqCst);
    sampler.join().unwrap();
    let total = per_connection * connections;
    let largest = largest.load(Ordering::SeqCst).max(table.peer_count());
    eprintln!("registration flood: {total} R and peer pushes; table peaked at {largest} of {MAX_PEERS}");
    assert!(largest <= MAX_PEERS, "the table grew to {largest}, over its bound of {MAX_PEERS}");
    // The flood filled it (the `peer` announcements, which relay other nodes' entries and
    // cannot be bound to the sender): the bound, not a shortage of entries, is what held.
    assert_eq!(table.peer_count(), MAX_PEERS);
    // No R claiming another key than the connection's was taken, and every sender of one is
    // banned.
    assert_eq!(registered.load(Ordering::SeqCst), 0);
    assert_eq!(refused.load(Ordering::SeqCst), connections * (per_connection - per_connection / 4));
    let now = std::time::Instant::now();
    assert_eq!(scores.banned(now).len(), connections);
    probe.finish().assert_all_answered(&format!("registration flood ({total} from {connections} connections)"), 1);
}

#[test]
fn registration_flood_keeps_the_table_bounded() {
    registration_flood(false);
}

#[test]
#[ignore = "soak: make soak"]
fn soak_registration_flood() {
    registration_flood(true);
}

fn reconnect_storm(soaking: bool) {
    let server = Server::on(loopback(false));
    let probe = prober(&server);
    eventually("the prober's connection", || server.listener.incoming_connections() == 1);
    let per_thread = scale(75, 2_500, soaking);
    in_parallel(4, |_| {
        for _ in 0..per_thread {
            let mut client = attacker(&server);
            assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(HEIGHT));
        }
    });
    // Every one of them has gone: back to the prober's connection alone.
    eventually("the count back to the baseline", || server.listener.incoming_connections() == 1);
    probe.finish().assert_all_answered(&format!("reconnect storm ({} clients)", 4 * per_thread), 1);
}

#[test]
fn reconnect_storm_leaves_no_connection_behind() {
    reconnect_storm(false);
}

#[test]
#[ignore = "soak: make soak"]
fn soak_reconnect_storm() {
    reconnect_storm(true);
}
