//! The link emulator over real loopback sockets, against an echo server: the delay, the
//! bandwidth, partitions, stalls, resets and injected faults as a connecting program sees them.
//! Timing is checked only from below (what the link must at least cost): a busy machine may
//! always be slower.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_netem::{Faults, Link, Netem, Shape};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// An echo server on a free loopback port; each connection is echoed on its own thread.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buffer = [0u8; 64 * 1024];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 || stream.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn connect(link: &Link) -> TcpStream {
    let stream = TcpStream::connect(link.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Send `bytes` and read them back.
fn echo(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    stream.write_all(bytes)?;
    let mut back = vec![0u8; bytes.len()];
    stream.read_exact(&mut back)?;
    assert_eq!(back, bytes);
    Ok(())
}

#[test]
fn a_round_trip_costs_at_least_the_links_rtt() {
    let netem = Netem::new().unwrap();
    let rtt = Duration::from_millis(40);
    let link = netem.link(echo_server(), Shape::rtt(rtt).with_jitter(Duration::from_millis(5))).unwrap();
    let mut stream = connect(&link);
    let first = Instant::now();
    echo(&mut stream, b"hello").unwrap();
    // The handshake's round trip, then the echo's.
    assert!(first.elapsed() >= 2 * rtt, "{:?}", first.elapsed());
    let started = Instant::now();
    for i in 0..5u8 {
        echo(&mut stream, &[i; 100]).unwrap();
    }
    assert!(started.elapsed() >= 5 * rtt, "{:?}", started.elapsed());
    let stats = link.stats();
    assert_eq!((stats.connections, stats.open, stats.bytes_up, stats.bytes_down), (1, 1, 505, 505));
}

#[test]
fn bandwidth_limits_a_transfer() {
    let netem = Netem::new().unwrap();
    let link = netem.link(echo_server(), Shape::default().with_bandwidth(256 * 1024)).unwrap();
    let mut stream = connect(&link);
    let started = Instant::now();
    echo(&mut stream, &vec![7u8; 64 * 1024]).unwrap();
    // 64 KiB at 256 KiB/s up (the echo comes back as it arrives, down overlapping up).
    assert!(started.elapsed() >= Duration::from_millis(245), "{:?}", started.elapsed());
}

#[test]
fn a_cut_link_delivers_nothing_until_healed() {
    let netem = Netem::new().unwrap();
    let link = netem.link(echo_server(), Shape::rtt(Duration::from_millis(2))).unwrap();
    let mut open = connect(&link);
    echo(&mut open, b"before").unwrap();
    link.cut();
    assert!(link.is_cut());
    // An open connection and a new one: both accepted, neither answered.
    let mut fresh = connect(&link);
    for stream in [&mut open, &mut fresh] {
        stream.write_all(b"during").unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut byte = [0u8; 1];
        let err = stream.read(&mut byte).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err:?}");
    }
    link.heal();
    for stream in [&mut open, &mut fresh] {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut back = [0u8; 6];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"during");
        echo(stream, b"after").unwrap();
    }
}

#[test]
fn a_stall_holds_delivery_and_a_reset_breaks_connections() {
    let netem = Netem::new().unwrap();
    let link = netem.link(echo_server(), Shape::default()).unwrap();
    let mut stream = connect(&link);
    echo(&mut stream, b"warm").unwrap();
    link.stall(Duration::from_millis(300));
    let started = Instant::now();
    echo(&mut stream, b"stalled").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(290), "{:?}", started.elapsed());

    link.reset();
    let mut byte = [0u8; 1];
    let err = stream.read(&mut byte).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    // The link itself carries on.
    let mut again = connect(&link);
    echo(&mut again, b"again").unwrap();
    assert_eq!((link.stats().resets, link.stats().stalls), (1, 1));
}

#[test]
fn injected_faults_happen_and_dropping_the_link_closes_it() {
    let netem = Netem::new().unwrap();
    let faults = Faults {
        stall_every: Some(Duration::from_millis(100)),
        stall_for: Duration::from_millis(20),
        reset_every: Some(Duration::from_millis(150)),
        seed: 3,
    };
    let link = netem.link(echo_server(), Shape::default().with_faults(faults)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while (link.stats().stalls < 3 || link.stats().resets < 3) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(link.stats().stalls >= 3 && link.stats().resets >= 3, "{:?}", link.stats());
    // Faults off again: a connection lives.
    link.set_shape(Shape::default());
    std::thread::sleep(Duration::from_millis(50));
    let mut stream = connect(&link);
    echo(&mut stream, b"calm").unwrap();

    let addr = link.addr();
    drop(link);
    let mut byte = [0u8; 1];
    let ended = stream.read(&mut byte);
    assert!(matches!(ended, Ok(0)) || ended.is_err(), "{ended:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}
