//! libzmq socket monitors.
//!
//! * [`Monitor`]: the incoming-connection counter of a listening socket, as bitmarkd's listener
//!   keeps it: ACCEPTED adds one, DISCONNECTED takes one away, never below zero
//!   (`listener.go:299-324`).
//! * [`LinkMonitor`]: what a client's socket saw of its link ([`LinkEvents`]), so that a request
//!   that times out can say why: no TCP connection at all, or a CURVE handshake that failed —
//!   which, against a listening socket, means the server key we hold is not the server's, or
//!   the server is not a bitmarkd node (a wrong `--connect` key looks exactly like this).

use super::TransportError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing::trace;
use zmq::SocketEvent;

const TARGET: &str = "peer::listener";

/// A monitor of one listening socket: the PAIR end that receives its events.
pub(crate) struct Monitor {
    pair: zmq::Socket,
}

impl Monitor {
    /// Start monitoring `socket` for accepts and disconnects on inproc `endpoint`.
    pub fn start(context: &zmq::Context, socket: &zmq::Socket, endpoint: &str) -> Result<Monitor, TransportError> {
        let events = SocketEvent::ACCEPTED.to_raw() | SocketEvent::DISCONNECTED.to_raw();
        socket.monitor(endpoint, i32::from(events)).map_err(TransportError::Zmq)?;
        let pair = context.socket(zmq::PAIR).map_err(TransportError::Zmq)?;
        pair.set_linger(0).map_err(TransportError::Zmq)?;
        pair.connect(endpoint).map_err(TransportError::Zmq)?;
        Ok(Monitor { pair })
    }

    /// The socket to poll for events.
    pub fn socket(&self) -> &zmq::Socket {
        &self.pair
    }

    /// Apply every pending event to `count`.
    pub fn drain(&self, count: &Arc<AtomicU64>) {
        while let Ok(frames) = self.pair.recv_multipart(zmq::DONTWAIT) {
            // Frame 0: u16 event id and u32 value, native byte order; frame 1: the address.
            let Some(&[a, b]) = frames.first().and_then(|f| f.get(..2)) else {
                continue;
            };
            // Compared raw: the crate's `SocketEvent::from_raw` panics on codes it does not know.
            let event = u16::from_ne_bytes([a, b]);
            let delta = if event == SocketEvent::ACCEPTED.to_raw() {
                1
            } else if event == SocketEvent::DISCONNECTED.to_raw() {
                -1
            } else {
                0
            };
            apply(count, delta);
            trace!(target: TARGET, event, connections = count.load(Ordering::SeqCst), "socket event");
        }
    }
}

/// What a client's socket monitor reported since the socket was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkEvents {
    /// A TCP connection was made.
    pub connected: bool,
    /// A connection attempt failed and will be retried (refused, unreachable).
    pub retried: bool,
    /// A CURVE (ZMTP) handshake failed.
    pub handshake_failed: bool,
    /// A handshake succeeded.
    pub handshake_succeeded: bool,
}

impl LinkEvents {
    /// Why a request on this link went unanswered, when the events say: a failed handshake
    /// with none succeeding, or no TCP connection at all.
    pub fn explain(&self) -> Option<&'static str> {
        if self.handshake_failed && !self.handshake_succeeded {
            Some("server key mismatch or peer is not a bitmarkd node (the CURVE handshake failed)")
        } else if !self.connected && self.retried {
            Some("cannot connect (refused or unreachable)")
        } else if !self.connected {
            Some("no connection yet (the peer does not answer)")
        } else {
            None
        }
    }
}

/// The monitor of one client socket.
pub(crate) struct LinkMonitor {
    pair: zmq::Socket,
    seen: LinkEvents,
    /// Connections that went down since the socket was made.
    disconnects: u64,
}

impl LinkMonitor {
    /// Monitor `socket` (before it connects) on a fresh inproc endpoint.
    pub fn start(context: &zmq::Context, socket: &zmq::Socket) -> Result<LinkMonitor, TransportError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let endpoint = format!("inproc://link-monitor-{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let events = [
            SocketEvent::CONNECTED,
            SocketEvent::CONNECT_RETRIED,
            SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
            SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
            SocketEvent::HANDSHAKE_FAILED_AUTH,
            SocketEvent::HANDSHAKE_SUCCEEDED,
            SocketEvent::DISCONNECTED,
        ]
        .iter()
        .fold(0u16, |all, e| all | e.to_raw());
        socket.monitor(&endpoint, i32::from(events)).map_err(TransportError::Zmq)?;
        let pair = context.socket(zmq::PAIR).map_err(TransportError::Zmq)?;
        pair.set_linger(0).map_err(TransportError::Zmq)?;
        pair.connect(&endpoint).map_err(TransportError::Zmq)?;
        Ok(LinkMonitor { pair, seen: LinkEvents::default(), disconnects: 0 })
    }

    /// The socket to poll for events.
    pub fn socket(&self) -> &zmq::Socket {
        &self.pair
    }

    /// How many connections went down so far (pending events read first).
    pub fn disconnects(&mut self) -> u64 {
        self.events();
        self.disconnects
    }

    /// Everything seen so far (pending events read first).
    pub fn events(&mut self) -> LinkEvents {
        while let Ok(frames) = self.pair.recv_multipart(zmq::DONTWAIT) {
            let Some(&[a, b]) = frames.first().and_then(|f| f.get(..2)) else {
                continue;
            };
            let event = u16::from_ne_bytes([a, b]);
            let seen = &mut self.seen;
            if event == SocketEvent::DISCONNECTED.to_raw() {
                self.disconnects += 1;
            } else if event == SocketEvent::CONNECTED.to_raw() {
                seen.connected = true;
            } else if event == SocketEvent::CONNECT_RETRIED.to_raw() {
                seen.retried = true;
            } else if event == SocketEvent::HANDSHAKE_SUCCEEDED.to_raw() {
                seen.handshake_succeeded = true;
            } else if [
                SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
                SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
                SocketEvent::HANDSHAKE_FAILED_AUTH,
            ]
            .iter()
            .any(|e| e.to_raw() == event)
            {
                seen.handshake_failed = true;
            }
        }
        self.seen
    }
}

/// Add `delta` (+1 or -1) to `count`, saturating at zero.
fn apply(count: &AtomicU64, delta: i8) {
    let _ = count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| match delta {
        1 => Some(n.saturating_add(1)),
        -1 => Some(n.saturating_sub(1)),
        _ => None,
    });
}

#[cfg(test)]
mod tests {
    use super::LinkEvents;

    #[test]
    fn link_events_explain_an_unanswered_request() {
        let failed = LinkEvents { connected: true, handshake_failed: true, ..LinkEvents::default() };
        assert!(failed.explain().unwrap().starts_with("server key mismatch or peer is not a bitmarkd node"));
        let refused = LinkEvents { retried: true, ..LinkEvents::default() };
        assert!(refused.explain().unwrap().contains("refused"));
        let fine = LinkEvents { connected: true, handshake_succeeded: true, ..LinkEvents::default() };
        assert_eq!(fine.explain(), None, "a slow peer is not explained by the link");
    }

    #[test]
    fn never_below_zero() {
        let count = std::sync::atomic::AtomicU64::new(0);
        super::apply(&count, -1);
        super::apply(&count, 1);
        super::apply(&count, 1);
        super::apply(&count, -1);
        assert_eq!(count.into_inner(), 1);
    }
}
