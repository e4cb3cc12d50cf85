//! The protocol conformance table (every request and error text of
//! `docs/protocol.md#requests-and-replies`) over the in-memory transport and over real libzmq CURVE
//! sockets on 127.0.0.1 and [::1].

mod common;

use bitmark_peer::testing::{FakePool, Fixture};
use bitmark_peer::transport::{CurveKeys, ListenerLimits, MemoryNetwork, Transport};
use bitmark_peer::wire::{Reply, Request};
use common::*;

#[test]
fn conformance_in_memory() {
    let fixture = Fixture::new(CHAIN, 3, FakePool::default());
    let network = MemoryNetwork::new();
    let addr = "192.0.2.1:12136".parse().unwrap();
    network.listen(addr, CHAIN, fixture.handler.clone());
    let client = network.connect(addr, CHAIN, "memory-client");
    conformance(&fixture, None, &mut |request| client.exchange(request).unwrap());
}

fn conformance_over_zmq(ipv6: bool) {
    let server = Server::on(loopback(ipv6));
    let keys = CurveKeys::generate().unwrap();
    let mut client = server.client_with(server.addr(), &keys, ANSWER_TIMEOUT);
    conformance(&server.fixture, Some(&keys.public), &mut |request| exchange(&mut client, request));
    // The impersonation is held against the client's own key: banned at once.
    assert!(server.fixture.scores.standing(&keys.public, std::time::Instant::now()).is_banned());
}

#[test]
fn conformance_over_zmq_ipv4() {
    conformance_over_zmq(false);
}

#[test]
fn conformance_over_zmq_ipv6() {
    if !ipv6_available() {
        println!("note: [::1] cannot be bound on this machine; IPv6 conformance skipped");
        return;
    }
    conformance_over_zmq(true);
}

#[test]
fn one_listener_on_both_families() {
    let mut listen = vec![loopback(false)];
    if ipv6_available() {
        listen.push(loopback(true));
    } else {
        println!("note: [::1] cannot be bound on this machine; IPv4 only");
    }
    let server = Server::start(listen.clone(), FakePool::default(), ListenerLimits::default());
    assert_eq!(server.listener.local_addrs().len(), listen.len());
    for &addr in server.listener.local_addrs() {
        assert_ne!(addr.port(), 0);
        let mut client = server.client_to(addr, ANSWER_TIMEOUT);
        assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(4), "{addr}");
    }
}
