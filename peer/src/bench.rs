//! Listener throughput: requests per second of `N` from concurrent CURVE REQ clients against
//! the real [`ZmqListener`] and [`Handler`](crate::listener::Handler), beside a bare libzmq
//! CURVE ROUTER that echoes each request, measured in the same run on the same machine. The
//! ratio says what the listener's socket thread (parsing, the handler, watching its sockets
//! and the workers' replies) costs over libzmq and CURVE themselves. The node's
//! `bench listener` command and `cargo bench -p bitmark-peer` call [`listener`];
//! [`listener_tapped`] measures what a capture tap costs the same listener.

// Test support (the `test-utils` feature, never in the product): a failed unwrap, expect, index
// or panic is a failed test or benchmark (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::capture::Tap;
use crate::testing::Fixture;
use crate::transport::TransportError;
use crate::transport::{ClientConfig, CurveKeys, ListenerConfig, ListenerLimits, ZmqClient, ZmqListener};
use crate::wire::Request;
use bitmark_record::Chain;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The sync benchmark: the connector's pipeline beside bitmarkd's shape and the Argon2d limit.
pub use crate::sim::bench::sync;

const CHAIN: Chain = Chain::Testing;

/// How long a client waits for one reply before the run is declared failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The outcome of one server's run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Requests answered within the run.
    pub requests: u64,
    /// The time measured, from the start signal to the last client's end (summed over rounds).
    pub elapsed: Duration,
}

impl Measurement {
    fn add(&mut self, other: Measurement) {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
    }

    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }
}

/// The listener beside the echo server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Concurrent clients.
    pub clients: usize,
    /// `N` against the listener and handler.
    pub listener: Measurement,
    /// `N` against a bare CURVE ROUTER echoing every request.
    pub echo: Measurement,
}

impl Report {
    /// Listener requests/s over echo requests/s.
    pub fn ratio(&self) -> f64 {
        let echo = self.echo.per_second();
        if echo > 0.0 {
            self.listener.per_second() / echo
        } else {
            0.0
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} concurrent CURVE REQ clients sending N", self.clients)?;
        for (name, m) in [("listener + handler", self.listener), ("bare CURVE echo", self.echo)] {
            writeln!(
                f,
                "  {name:<20} {:>10.0} requests/s ({} in {:.2} s)",
                m.per_second(),
                m.requests,
                m.elapsed.as_secs_f64()
            )?;
        }
        write!(f, "  ratio                {:>10.2}", self.ratio())
    }
}

/// Measure `N` requests/s from `clients` concurrent CURVE clients for `duration` per server:
/// a [`ZmqListener`] serving a [`Fixture`] handler with default limits, and a bare CURVE
/// ROUTER echo server, both on 127.0.0.1. The time is cut into rounds of about a second that
/// alternate between the two, so that load from elsewhere on the machine falls on both alike.
pub fn listener(clients: usize, duration: Duration) -> Result<Report, TransportError> {
    let clients = clients.max(1);
    let server_context = zmq::Context::new();
    let listener = BenchListener::start(&server_context, None)?;
    let echo = EchoServer::start(&server_context)?;
    let measured = alternate(clients, duration, [(listener.addr, listener.public_key), (echo.addr, echo.public_key)]);
    listener.stop();
    echo.stop();
    measured.map(|[on_listener, on_echo]| Report { clients, listener: on_listener, echo: on_echo })
}

/// The listener without and with a capture tap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TapReport {
    /// Concurrent clients.
    pub clients: usize,
    /// `N` against the listener with no tap.
    pub plain: Measurement,
    /// `N` against the same listener and handler showing every exchange to the tap.
    pub tapped: Measurement,
}

impl TapReport {
    /// Tapped requests/s over plain requests/s: 1 means the tap costs nothing.
    pub fn ratio(&self) -> f64 {
        let plain = self.plain.per_second();
        if plain > 0.0 {
            self.tapped.per_second() / plain
        } else {
            0.0
        }
    }
}

/// What a capture tap costs the listener: `N` requests/s from `clients` concurrent CURVE
/// clients for `duration` per listener, one listener without a tap and one showing every
/// exchange to `tap`, in alternating rounds as in [`listener`]. Each listener has its own
/// libzmq context, since a tapped listener runs the context's ZAP handler.
pub fn listener_tapped(clients: usize, duration: Duration, tap: Arc<dyn Tap>) -> Result<TapReport, TransportError> {
    let clients = clients.max(1);
    let (plain_context, tapped_context) = (zmq::Context::new(), zmq::Context::new());
    let plain = BenchListener::start(&plain_context, None)?;
    let tapped = BenchListener::start(&tapped_context, Some(tap))?;
    let measured = alternate(clients, duration, [(plain.addr, plain.public_key), (tapped.addr, tapped.public_key)]);
    plain.stop();
    tapped.stop();
    measured.map(|[plain, tapped]| TapReport { clients, plain, tapped })
}

/// A [`ZmqListener`] on 127.0.0.1 serving a [`Fixture`] handler with default limits.
struct BenchListener {
    listener: ZmqListener,
    addr: SocketAddr,
    public_key: [u8; 32],
}

impl BenchListener {
    fn start(context: &zmq::Context, tap: Option<Arc<dyn Tap>>) -> Result<BenchListener, TransportError> {
        let keys = CurveKeys::generate()?;
        let fixture = Fixture::new(CHAIN, 3, crate::testing::FakePool::default());
        let config = ListenerConfig {
            chain: CHAIN,
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
            secret_key: keys.secret,
            limits: ListenerLimits::default(),
        };
        let listener = ZmqListener::start_tapped(context, config, fixture.handler.clone(), tap)?;
        let addr = listener.local_addrs().first().copied().ok_or_else(|| TransportError::Config("not bound".into()))?;
        Ok(BenchListener { listener, addr, public_key: keys.public })
    }

    fn stop(self) {
        self.listener.shutdown();
    }
}

/// Measure each server (address, public key) for `duration` in all, in rounds of about a second
/// that alternate between them, so that load from elsewhere on the machine falls on all alike.
fn alternate<const K: usize>(
    clients: usize,
    duration: Duration,
    servers: [(SocketAddr, [u8; 32]); K],
) -> Result<[Measurement; K], TransportError> {
    let client_context = zmq::Context::new();
    let rounds = duration.as_secs().clamp(1, u64::from(u32::MAX)) as u32;
    let round = duration / rounds;
    let mut measured = [Measurement { requests: 0, elapsed: Duration::ZERO }; K];
    for _ in 0..rounds {
        for (total, (addr, key)) in measured.iter_mut().zip(servers) {
            total.add(run_clients(&client_context, addr, key, clients, round)?);
        }
    }
    Ok(measured)
}

/// `clients` threads, each with its own CURVE REQ socket, sending `[chain]["N"]` and reading
/// the reply as fast as they can for `duration` once all are connected.
fn run_clients(
    context: &zmq::Context,
    addr: SocketAddr,
    server_key: [u8; 32],
    clients: usize,
    duration: Duration,
) -> Result<Measurement, TransportError> {
    let request = Request::Height.to_frames(CHAIN);
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut config = ClientConfig::new(CHAIN, CurveKeys::generate()?);
        config.send_timeout = REPLY_TIMEOUT;
        config.receive_timeout = REPLY_TIMEOUT;
        let mut client = ZmqClient::new(context, config);
        client.connect(addr, server_key)?;
        // One exchange before the clock starts: the handshake is not what is measured.
        client.send_unprefixed(&request)?;
        client.receive()?;
        connected.push(client);
    }
    let start = Arc::new(Barrier::new(clients + 1));
    let threads: Vec<JoinHandle<Result<u64, TransportError>>> = connected
        .into_iter()
        .map(|mut client| {
            let start = Arc::clone(&start);
            let request = request.clone();
            std::thread::spawn(move || {
                start.wait();
                let end = Instant::now() + duration;
                let mut answered = 0u64;
                while Instant::now() < end {
                    client.send_unprefixed(&request)?;
                    client.receive()?;
                    answered += 1;
                }
                Ok(answered)
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let mut requests = 0;
    for thread in threads {
        requests += thread.join().map_err(|_| TransportError::Config("bench client panicked".into()))??;
    }
    Ok(Measurement { requests, elapsed: began.elapsed() })
}

/// A bare CURVE ROUTER on 127.0.0.1 that sends every message back as it came: the fastest a
/// REQ client can be answered through libzmq and CURVE on this machine.
struct EchoServer {
    addr: SocketAddr,
    public_key: [u8; 32],
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl EchoServer {
    fn start(context: &zmq::Context) -> Result<EchoServer, TransportError> {
        let keys = CurveKeys::generate()?;
        let router = context.socket(zmq::ROUTER).map_err(TransportError::Zmq)?;
        let setup = || -> zmq::Result<String> {
            router.set_curve_server(true)?;
            router.set_curve_secretkey(&keys.secret)?;
            router.set_linger(0)?;
            router.set_rcvtimeo(50)?;
            router.bind("tcp://127.0.0.1:*")?;
            Ok(router.get_last_endpoint()?.unwrap_or_default())
        };
        let endpoint = setup().map_err(TransportError::Zmq)?;
        let addr = endpoint
            .strip_prefix("tcp://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| TransportError::Config(format!("echo server bound to {endpoint:?}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                if let Ok(frames) = router.recv_multipart(0) {
                    let _ = router.send_multipart(frames, zmq::DONTWAIT);
                }
            }
        });
        Ok(EchoServer { addr, public_key: keys.public, stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_short_run_measures_both() {
        let report = super::listener(2, std::time::Duration::from_millis(200)).unwrap();
        assert!(report.listener.requests > 0 && report.echo.requests > 0, "{report:?}");
        assert!(report.ratio() > 0.0);
        assert!(report.to_string().contains("ratio"));
    }

    #[test]
    fn a_short_tapped_run_measures_both_and_the_tap_sees_the_requests() {
        let tap = std::sync::Arc::new(crate::testing::RecordingTap::default());
        let report = super::listener_tapped(1, std::time::Duration::from_millis(200), tap.clone()).unwrap();
        assert!(report.plain.requests > 0 && report.tapped.requests > 0, "{report:?}");
        // The handshake exchange before each round is not counted.
        assert_eq!(tap.exchanges().len() as u64, report.tapped.requests + 1);
    }
}
