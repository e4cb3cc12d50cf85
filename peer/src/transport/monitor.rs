//! The incoming-connection counter, fed by libzmq socket monitors as bitmarkd's listener does:
//! ACCEPTED adds one, DISCONNECTED takes one away, never below zero (`listener.go:299-324`).

use crate::error::PeerError;
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
    pub fn start(context: &zmq::Context, socket: &zmq::Socket, endpoint: &str) -> Result<Monitor, PeerError> {
        let events = SocketEvent::ACCEPTED.to_raw() | SocketEvent::DISCONNECTED.to_raw();
        socket.monitor(endpoint, i32::from(events)).map_err(PeerError::Zmq)?;
        let pair = context.socket(zmq::PAIR).map_err(PeerError::Zmq)?;
        pair.set_linger(0).map_err(PeerError::Zmq)?;
        pair.connect(endpoint).map_err(PeerError::Zmq)?;
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
