//! Socket options bitmarkd sets (`docs/protocol.md#socket-options`), shared by the listener and the
//! client.

use crate::error::PeerError;
use std::time::Duration;

/// Largest inbound frame libzmq accepts (`ZMQ_MAXMSGSIZE`); a peer sending a larger one is
/// disconnected by libzmq. libzmq checks the frame as it is on the wire, where CURVE adds 33
/// bytes, so the largest plaintext frame is 4 999 967 bytes (for bitmarkd too). bitmarkd's
/// value: a smaller one would cut off large blocks, a larger one lets each peer make us buffer
/// more.
pub const MAX_MESSAGE_SIZE: i64 = 5_000_000;

/// How long unsent messages linger when a socket closes. Longer delays shutdown; zero could
/// drop a reply that is on its way.
pub const LINGER: Duration = Duration::from_millis(100);

/// TCP keep-alive probes before a silent peer is dropped (bitmarkd: 5).
pub const TCP_KEEPALIVE_COUNT: i32 = 5;
/// Idle seconds before the first keep-alive probe (bitmarkd: 60).
pub const TCP_KEEPALIVE_IDLE: i32 = 60;
/// Seconds between keep-alive probes (bitmarkd: 60).
pub const TCP_KEEPALIVE_INTERVAL: i32 = 60;

/// ZAP domain of the peer listener. Our ZAP handler (`zap.rs`) accepts any client key,
/// exactly what bitmarkd's `CURVE_ALLOW_ANY` does, and tells libzmq which key it was.
pub const LISTENER_ZAP_DOMAIN: &str = "listen";

/// bitmarkd's `connectorTimeout`: the send and receive timeout of an upstream request. Shorter
/// gives up on slow peers serving big blocks; longer stalls the connector on dead ones.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// bitmarkd's upstream reconnect interval (`ZMQ_RECONNECT_IVL`, no back-off).
pub const RECONNECT_INTERVAL: Duration = Duration::from_secs(120);

/// Fail unless the linked libzmq can do CURVE (the `zmq` crate's vendored build cannot), since
/// no bitmarkd peer talks anything else.
pub fn require_curve() -> Result<(), PeerError> {
    if zmq::has("curve") == Some(true) {
        Ok(())
    } else {
        let (major, minor, patch) = zmq::version();
        Err(PeerError::Config(format!("libzmq {major}.{minor}.{patch} has no CURVE support")))
    }
}

/// Milliseconds for a libzmq time option, saturating at `i32::MAX`.
pub(crate) fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// The options both sides set: IPv6 for an IPv6 socket, IMMEDIATE, LINGER, TCP keep-alive and
/// MAXMSGSIZE.
pub(crate) fn apply_common(socket: &zmq::Socket, ipv6: bool) -> zmq::Result<()> {
    socket.set_ipv6(ipv6)?;
    socket.set_immediate(true)?;
    socket.set_linger(millis(LINGER))?;
    socket.set_tcp_keepalive(1)?;
    socket.set_tcp_keepalive_cnt(TCP_KEEPALIVE_COUNT)?;
    socket.set_tcp_keepalive_idle(TCP_KEEPALIVE_IDLE)?;
    socket.set_tcp_keepalive_intvl(TCP_KEEPALIVE_INTERVAL)?;
    socket.set_maxmsgsize(MAX_MESSAGE_SIZE)
}

/// `tcp://` endpoint text for an address; port 0 becomes libzmq's wildcard port `*`.
pub(crate) fn endpoint(addr: &std::net::SocketAddr) -> String {
    match addr.port() {
        0 => match addr {
            std::net::SocketAddr::V4(a) => format!("tcp://{}:*", a.ip()),
            std::net::SocketAddr::V6(a) => format!("tcp://[{}]:*", a.ip()),
        },
        _ => format!("tcp://{addr}"),
    }
}
