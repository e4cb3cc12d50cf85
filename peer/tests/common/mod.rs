//! Shared by the integration tests: listener and client set-up, and the protocol conformance
//! table of `docs/protocol.md#requests-and-replies` run over any exchange function.
#![allow(dead_code)]

use bitmark_peer::testing::{FakePool, Fixture, GENESIS};
use bitmark_peer::transport::{
    ClientConfig, CurveKeys, ListenerConfig, ListenerLimits, Service, ZmqClient, ZmqListener,
};
use bitmark_peer::wire::Push;
use bitmark_record::Chain;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub const CHAIN: Chain = Chain::Testing;

/// Long enough for any answer on a loaded 2-core machine.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long we wait to conclude that no answer is coming.
pub const SILENCE: Duration = Duration::from_millis(500);

pub type Frames = Vec<Vec<u8>>;

pub fn frames(parts: &[&[u8]]) -> Frames {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// A loopback address with a free port, v4 or v6.
pub fn loopback(ipv6: bool) -> SocketAddr {
    if ipv6 { "[::1]:0" } else { "127.0.0.1:0" }.parse().unwrap()
}

/// Whether this machine can bind [::1].
pub fn ipv6_available() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

pub struct Server {
    pub context: zmq::Context,
    pub keys: CurveKeys,
    pub fixture: Fixture,
    pub listener: ZmqListener,
}

impl Server {
    /// A listener on `listen` over a fixture with 3 blocks (height 4).
    pub fn start(listen: Vec<SocketAddr>, pool: FakePool, limits: ListenerLimits) -> Server {
        let fixture = Fixture::new(CHAIN, 3, pool);
        Server::serving(listen, fixture.handler.clone(), fixture, limits)
    }

    /// A listener on `listen` answering with `service` (`fixture` is only carried along).
    pub fn serving(
        listen: Vec<SocketAddr>,
        service: Arc<dyn Service>,
        fixture: Fixture,
        limits: ListenerLimits,
    ) -> Server {
        Server::serving_chain(CHAIN, listen, service, fixture, limits)
    }

    /// [`Server::serving`] on `chain`.
    pub fn serving_chain(
        chain: Chain,
        listen: Vec<SocketAddr>,
        service: Arc<dyn Service>,
        fixture: Fixture,
        limits: ListenerLimits,
    ) -> Server {
        let context = zmq::Context::new();
        let keys = CurveKeys::generate().unwrap();
        let config = ListenerConfig { chain, listen, secret_key: keys.secret, limits };
        let listener = ZmqListener::start(&context, config, service).unwrap();
        Server { context, keys, fixture, listener }
    }

    pub fn on(addr: SocketAddr) -> Server {
        Server::start(vec![addr], FakePool::default(), ListenerLimits::default())
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.local_addrs()[0]
    }

    /// A connected CURVE client with the given timeout.
    pub fn client_to(&self, addr: SocketAddr, timeout: Duration) -> ZmqClient {
        self.client_with(addr, &CurveKeys::generate().unwrap(), timeout)
    }

    /// A connected CURVE client with the given keys and timeout.
    pub fn client_with(&self, addr: SocketAddr, keys: &CurveKeys, timeout: Duration) -> ZmqClient {
        let mut config = ClientConfig::new(CHAIN, keys.clone());
        config.send_timeout = timeout;
        config.receive_timeout = timeout;
        let mut client = ZmqClient::new(&self.context, config);
        client.connect(addr, self.keys.public).unwrap();
        client
    }

    pub fn client(&self) -> ZmqClient {
        self.client_to(self.addr(), ANSWER_TIMEOUT)
    }
}

/// Send raw frames and return the reply frames.
pub fn exchange(client: &mut ZmqClient, request: &[Vec<u8>]) -> Frames {
    client.send_unprefixed(request).unwrap();
    client.receive().unwrap()
}

/// Every request and error text of `docs/protocol.md#requests-and-replies` against a fixture with
/// blocks 2..=4, in an order that matters for `R` (the first registrant has nobody else to be told
/// about). `authenticated`: the CURVE key the client connects with, which its `R` must claim
/// (`None` over the in-memory transport, which authenticates nobody: any key is taken).
pub fn conformance(fixture: &Fixture, authenticated: Option<&[u8]>, exchange: &mut dyn FnMut(&[Vec<u8>]) -> Frames) {
    let be = |n: u64| n.to_be_bytes().to_vec();
    let ts = be(1_700_000_000);
    let packed = bitmark_peer::wire::packed_address::pack_all(&["127.0.0.1:2136".parse().unwrap()]);
    let mut check = |request: &[&[u8]], reply: &[&[u8]]| {
        assert_eq!(exchange(&frames(request)), frames(reply), "request {request:?}");
    };
    let t: &[u8] = b"testing";
    let e: &[u8] = b"E";

    // Pre-checks.
    check(&[t], &[e, b"packet too short"]);
    check(&[b"bitmark", b"N"], &[e, br#"invalid chain: actual: "bitmark"  expect: testing"#]);
    check(&[b"\xff\x00te\"st\n", b"I"], &[e, br#"invalid chain: actual: "\xff\x00te\"st\n"  expect: testing"#]);
    check(&[b"", b""], &[e, br#"invalid chain: actual: ""  expect: testing"#]);

    // Queries.
    check(&[t, b"I"], &[b"I", br#"{"version":"zero","chain":"testing","normal":true,"height":4}"#]);
    check(&[t, b"N"], &[b"N", &be(4)]);
    check(&[t, b"N", b"ignored"], &[b"N", &be(4)]);
    check(&[t, b"B", &be(2)], &[b"B", b"block-2"]);
    check(&[t, b"B", &be(4)], &[b"B", b"block-4"]);
    check(&[t, b"B", &be(5)], &[e, b"block not found"]);
    check(&[t, b"B", &be(1)], &[e, b"block not found"]);
    check(&[t, b"B", b"\x00\x02"], &[e, b"block not found"]);
    check(&[t, b"B"], &[e, b"missing parameters"]);
    check(&[t, b"B", &be(2), &be(3)], &[e, b"missing parameters"]);
    check(&[t, b"H", &be(0)], &[b"H", GENESIS.as_bytes()]);
    check(&[t, b"H", &be(1)], &[b"H", GENESIS.as_bytes()]);
    check(&[t, b"H", &be(3)], &[b"H", &[3u8; 32]]);
    check(&[t, b"H", &be(9)], &[e, b"block not found"]);
    check(&[t, b"H", b"123456789"], &[e, b"block not found"]);
    check(&[t, b"H"], &[e, b"missing parameters"]);

    // Registration: alone, then once someone else is known (announced with a `peer` push).
    let me = authenticated.unwrap_or(b"k2");
    check(&[t, b"R"], &[e, b"missing parameters"]);
    check(&[t, b"R", t, me, &packed], &[e, b"missing parameters"]);
    check(&[t, b"R", b"local", me, &packed, &ts], &[e, b"incorrect chain"]);
    check(&[t, b"R", t, me, &packed, b"short"], &[e, b"invalid timestamp"]);
    check(&[t, b"R", t, me, &packed, &ts], &[e, b"invalid public key"]);
    check(&[t, b"peer", b"k1", &packed, &ts], &[b"peer", b"A"]);
    check(&[t, b"R", t, me, b"", &be(7), b"extra"], &[b"R", t, b"k1", &packed, &ts]);
    if authenticated.is_some() {
        // Ours, not bitmarkd's: a key other than the connection's is refused with the text
        // bitmarkd gives an `R` it cannot serve.
        check(&[t, b"R", t, b"k1", &packed, &ts], &[e, b"invalid public key"]);
    }

    // Pushes: always [cmd]["A"].
    let pushes: &[&[&[u8]]] = &[
        &[b"block", b"B"],
        &[b"assets", b"A1"],
        &[b"issues", b"I1", b"\x00"],
        &[b"transfer", b"T1"],
        &[b"proof", b"P1"],
        &[b"rpc", &[0xf0; 32], &packed, &ts],
        &[b"peer", b"k3", &packed, &ts],
        &[b"peer", b"k4", &packed, b"bad ts"],
        &[b"block"],
        &[b"heart"],
        &[b"P"],
        &[b""],
    ];
    for push in pushes {
        let mut request = vec![t];
        request.extend_from_slice(push);
        check(&request, &[push[0], b"A"]);
    }
    let kinds: Vec<_> = fixture.pool.submitted().into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, ["block", "assets", "issues", "transfer", "proof"]);
    let relayed: Vec<Vec<u8>> = fixture.relay.items().iter().map(|p: &Push| p.command().to_vec()).collect();
    assert_eq!(relayed, frames(&[b"peer", b"block", b"assets", b"issues", b"transfer", b"proof", b"rpc", b"peer"]));
}
