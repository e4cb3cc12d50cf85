//! The listener's second thread: it answers the ZAP handler's requests (`zap.rs`) and counts
//! incoming connections from the socket monitors (`monitor.rs`), so that the socket thread polls
//! only what every request passes through, its ROUTERs and the workers' replies.
//!
//! # Why a thread of its own
//!
//! Both happen once per connection, never per request. On the socket thread they cost every
//! request: each `zmq_poll` asks every socket it polls for its events, and for a libzmq socket
//! that is a `poll` and a `getpid` system call of its own. With the ZAP handler, one monitor and
//! a control socket beside the ROUTER and the replies, that was about 16 system calls per `N`,
//! against 5 for a bare CURVE echo; `bench listener` measures the difference.

use super::monitor::Monitor;
use super::zap::ZapHandler;
use super::TransportError;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::JoinHandle;
use tracing::error;

const TARGET: &str = "peer::listener";

/// The running thread and the socket that stops it.
pub(crate) struct ConnectionEvents {
    stop: zmq::Socket,
    thread: Option<JoinHandle<()>>,
}

impl ConnectionEvents {
    /// Serve `zap` (when this listener holds the context's handler) and apply `monitors`' events
    /// to `connections` on a new thread, stopped through the inproc `control` endpoint (unique
    /// in `context`).
    pub fn start(
        context: &zmq::Context,
        control: &str,
        monitors: Vec<Monitor>,
        zap: Option<ZapHandler>,
        connections: Arc<AtomicU64>,
    ) -> Result<ConnectionEvents, TransportError> {
        let receiver = context.socket(zmq::PAIR).map_err(TransportError::Zmq)?;
        receiver.bind(control).map_err(TransportError::Zmq)?;
        let stop = context.socket(zmq::PAIR).map_err(TransportError::Zmq)?;
        stop.set_linger(0).map_err(TransportError::Zmq)?;
        stop.connect(control).map_err(TransportError::Zmq)?;
        let serving = Serving { control: receiver, monitors, zap, connections };
        let thread = std::thread::Builder::new()
            .name("peer-connects".into())
            .spawn(move || serving.run())
            .map_err(|e| TransportError::Config(format!("cannot start listener thread: {e}")))?;
        Ok(ConnectionEvents { stop, thread: Some(thread) })
    }

    /// Stop the thread and wait for it.
    pub fn shutdown(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        if let Err(e) = self.stop.send("stop", 0) {
            error!(target: TARGET, error = %e, "cannot signal the connection event thread to stop");
            return;
        }
        if thread.join().is_err() {
            error!(target: TARGET, "connection event thread panicked");
        }
    }
}

impl Drop for ConnectionEvents {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What the thread owns.
struct Serving {
    control: zmq::Socket,
    monitors: Vec<Monitor>,
    zap: Option<ZapHandler>,
    connections: Arc<AtomicU64>,
}

impl Serving {
    fn run(self) {
        loop {
            // Poll order: control, monitors, the ZAP handler.
            let sockets = std::iter::once(&self.control)
                .chain(self.monitors.iter().map(Monitor::socket))
                .chain(self.zap.as_ref().map(ZapHandler::socket));
            let mut items: Vec<zmq::PollItem> = sockets.map(|s| s.as_poll_item(zmq::POLLIN)).collect();
            match zmq::poll(&mut items, -1) {
                Ok(_) => {}
                Err(zmq::Error::EINTR) => continue,
                Err(e) => {
                    error!(target: TARGET, error = %e, "poll failed; connection events are no longer served");
                    return;
                }
            }
            let readable: Vec<bool> = items.iter().map(zmq::PollItem::is_readable).collect();
            let is = |k: usize| readable.get(k).copied().unwrap_or(false);
            if is(0) {
                return;
            }
            for (k, monitor) in self.monitors.iter().enumerate() {
                if is(1 + k) {
                    monitor.drain(&self.connections);
                }
            }
            if let Some(zap) = &self.zap {
                if is(1 + self.monitors.len()) {
                    zap.answer();
                }
            }
        }
    }
}
