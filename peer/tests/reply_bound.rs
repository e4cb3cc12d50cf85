//! The reply side of the libzmq listener under a client that asks and never reads: DEALERs
//! pipelining `B` of a block of thousands of records (about a megabyte each reply) must not
//! make the listener hold the replies they owe (libzmq's default would queue 1 000 of them per
//! connection), and an honest client's `N` must keep flowing meanwhile.
//!
//! The chain is real (the storage crate's generator, a block of 4 000 records, served from
//! sled through the simulation's `StoreView`); memory is the test process's resident size,
//! which holds the listener (the attackers' own libzmq buffers are kept to one message each).
//! `make soak` runs the `#[ignore]`d full-size version (more attackers, 9 999 records).

mod common;

use bitmark_peer::connector::mode::{Mode, ModeHandle};
use bitmark_peer::listener::{Handler, NoRelay};
use bitmark_peer::sim::chains;
use bitmark_peer::sim::node::StoreView;
use bitmark_peer::testing::{FakePeers, FakePool, Fixture, Prober};
use bitmark_peer::transport::{ClientConfig, CurveKeys, ListenerLimits, ZmqClient};
use bitmark_record::Chain;
use bitmark_storage::testchain::{TestChain, TestChainConfig};
use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Growth of resident memory one attacking connection may cause.
const MEMORY_BOUND: u64 = 64 << 20;
/// Replies of a connection that never reads that may be in this process: libzmq's queue of
/// two, the one it is writing, one in transit from a worker or waiting in the outbox, and the
/// attacker's own libzmq receiving one and holding another (it runs in this process too);
/// with some slack for the allocator.
const REPLIES_PER_ATTACKER: u64 = 8;
/// What the honest `N` must answer within.
const N_BOUND: Duration = Duration::from_millis(50);

/// A listener on chain `local` serving a store of height 2 whose block 2 holds `records`
/// records, and the size of that block.
fn big_block_server(records: usize) -> (Server, usize) {
    let store = chains::empty_store().unwrap();
    TestChain::new(TestChainConfig { seed: 5, txs_per_block: records, ..TestChainConfig::default() })
        .extend(&store, 2, |_| ())
        .unwrap();
    let block_size = store.block(2).unwrap().unwrap().len();
    let mode = ModeHandle::new();
    mode.set(Mode::Normal);
    let view = Arc::new(StoreView { store: Arc::new(store), mode });
    let handler =
        Handler::new("zero", view, Arc::new(FakePool::default()), Arc::new(FakePeers::default()), Arc::new(NoRelay));
    // The fixture is only carried along; the handler serves the store.
    let fixture = Fixture::new(Chain::Local, 1, FakePool::default());
    let server = Server::serving_chain(
        Chain::Local,
        vec![loopback(false)],
        Arc::new(handler),
        fixture,
        ListenerLimits::default(),
    );
    (server, block_size)
}

/// Resident memory of this process (`VmRSS`), in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// A CURVE DEALER of `server` on `context` that lets libzmq hold one received message at
/// most: once that one is there it stops reading the connection, as a client that never
/// calls `recv` and has no buffer to spare.
fn never_reading(context: &zmq::Context, server: &Server) -> zmq::Socket {
    let socket = context.socket(zmq::DEALER).unwrap();
    let own = CurveKeys::generate().unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvhwm(1).unwrap();
    socket.set_curve_publickey(&own.public).unwrap();
    socket.set_curve_secretkey(&own.secret).unwrap();
    socket.set_curve_serverkey(&server.keys.public).unwrap();
    socket.connect(&format!("tcp://{}", server.addr())).unwrap();
    socket
}

/// An honest REQ client of `server` on a context of its own.
fn honest_client(server: &Server) -> ZmqClient {
    let mut config = ClientConfig::new(Chain::Local, CurveKeys::generate().unwrap());
    config.send_timeout = ANSWER_TIMEOUT;
    config.receive_timeout = ANSWER_TIMEOUT;
    let mut client = ZmqClient::new(&zmq::Context::new(), config);
    client.connect(server.addr(), server.keys.public).unwrap();
    client
}

/// An honest REQ client fetching block 2 over and over until `stop`: how many it got, each
/// checked to be the whole block (a REQ client has one request in flight, so no bound may
/// ever cost it a reply).
fn fetching(server: &Server, size: usize, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    let mut client = honest_client(server);
    std::thread::spawn(move || {
        let mut fetched = 0;
        while !stop.load(Ordering::SeqCst) {
            let reply = exchange(&mut client, &frames(&[b"local", b"B", &2u64.to_be_bytes()]));
            assert_eq!(reply.get(1).map(Vec::len), Some(size), "an honest B answered {} frames", reply.len());
            fetched += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        fetched
    })
}

fn pipelined_blocks_never_read(records: usize, attackers: usize, requests: usize, watch: Duration) {
    let started = Instant::now();
    let (server, block_size) = big_block_server(records);
    eprintln!("block 2: {records} records, {block_size} bytes (built in {:.1?})", started.elapsed());
    // An honest client first fetches the block once, so that whatever a first read costs
    // (sled's cache, allocator arenas) is in the baseline.
    let mut honest = honest_client(&server);
    let block = exchange(&mut honest, &frames(&[b"local", b"B", &2u64.to_be_bytes()]));
    assert_eq!(block.get(1).map(Vec::len), Some(block_size));
    let probe = Prober::start(honest, 2, Duration::from_millis(20));
    let stop = Arc::new(AtomicBool::new(false));
    let syncing = fetching(&server, block_size, Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(200));
    let baseline = resident();

    let context = zmq::Context::new();
    let sockets: Vec<zmq::Socket> = (0..attackers).map(|_| never_reading(&context, &server)).collect();
    let request = frames(&[b"", b"local", b"B", &2u64.to_be_bytes()]);
    let mut peak = baseline;
    let attack = Instant::now();
    for n in 0..requests {
        for socket in &sockets {
            socket.send_multipart(request.iter(), 0).unwrap();
        }
        if n % 500 == 0 {
            peak = peak.max(resident());
        }
    }
    let sent = attack.elapsed();
    while attack.elapsed() < sent + watch {
        peak = peak.max(resident());
        std::thread::sleep(Duration::from_millis(10));
    }
    let report = probe.finish();
    stop.store(true, Ordering::SeqCst);
    let fetched = syncing.join().expect("the honest B client failed");
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "{attackers} x {requests} pipelined B of {block_size} bytes (sent in {sent:.1?}), never read: resident \
         memory grew {:.1} MiB (baseline {:.1} MiB)",
        growth as f64 / f64::from(1 << 20),
        baseline as f64 / f64::from(1 << 20)
    );
    report.assert_all_answered("pipelined B never read", 10);
    eprintln!("an honest client fetched the block {fetched} times meanwhile");
    assert!(fetched > 0);
    // Several attackers: each may hold a few replies (see REPLIES_PER_ATTACKER), never libzmq's
    // default of 1 000.
    let bound = MEMORY_BOUND.max(attackers as u64 * REPLIES_PER_ATTACKER * block_size as u64);
    assert!(growth < bound, "resident memory grew {growth} bytes, over {bound}");
    // The median: one slow probe on a loaded machine says nothing about the listener.
    let median = report.percentile(50.0);
    assert!(median < N_BOUND, "honest N took {median:?} (median) under the attack");
    drop(sockets);
}

#[test]
fn pipelined_blocks_never_read_stay_bounded() {
    pipelined_blocks_never_read(4_000, 1, 10_000, Duration::from_secs(3));
}

#[test]
#[ignore = "soak: make soak"]
fn soak_pipelined_blocks_never_read() {
    pipelined_blocks_never_read(9_999, 8, 10_000, Duration::from_secs(20));
}
